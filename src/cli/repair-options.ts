import type { Command } from 'commander';
import { CONFLICT_POLICIES, REPAIR_DIRECTIONS, type ConflictPolicy, type RepairDirection } from '../repair/index.js';
import { parseChoice, parseIntOption } from './parse.js';

/** The flags that tune a repair loop, shared by `aae repair` and `aae sync` (each check is one). */
export interface RepairTuningOptions {
  /** Unset: lww, or source when a keystore is involved (see repairTuning). */
  conflict?: ConflictPolicy;
  /** Unset: both, or to-sink when a keystore is involved. */
  direction?: RepairDirection;
  maxLoops: number;
  maxKeysPerSecond?: number;
  range: boolean;
}

export function addRepairTuningOptions(cmd: Command): Command {
  return cmd
    .option('--conflict <policy>', `concurrent versions: ${CONFLICT_POLICIES.join(' | ')} (lww keeps the later; losers go to the conflict log). Default lww; source when a side is a keystore`, parseChoice('--conflict', CONFLICT_POLICIES))
    .option('--direction <way>', `which side may be written: ${REPAIR_DIRECTIONS.join(' | ')} (to-sink never writes the source). Default both; to-sink when a side is a keystore`, parseChoice('--direction', REPAIR_DIRECTIONS))
    .option('--max-loops <n>', 'exchange → repair rounds at most', parseIntOption('--max-loops', 1, 10_000), 20)
    .option('--max-keys-per-second <n>', 'throttle: keys repaired per second at most', parseIntOption('--max-keys-per-second', 1, 10_000_000))
    .option('--no-range', 'never switch to range replication, even when most of the tree differs');
}

/**
 * The repair loop's options from those flags. Between two sides of which one is a keystore (an
 * external database's rows, which carry no causality across databases), the defaults are one-way:
 * the source wins a conflict and only the sink is written (`--conflict source --direction
 * to-sink`). An explicit flag always wins.
 */
export function repairTuning(opts: RepairTuningOptions, context: { external?: boolean } = {}) {
  const external = context.external === true;
  return {
    policy: opts.conflict ?? (external ? 'source' : 'lww'),
    direction: opts.direction ?? (external ? 'to-sink' : 'both'),
    maxLoops: opts.maxLoops,
    rangeReplication: opts.range,
    ...(opts.maxKeysPerSecond === undefined ? {} : { maxKeysPerSecond: opts.maxKeysPerSecond }),
  };
}
