import type { Command } from 'commander';
import { CONFLICT_POLICIES, REPAIR_DIRECTIONS, type ConflictPolicy, type RepairDirection } from '../repair/index.js';
import { parseChoice, parseIntOption } from './parse.js';

/** The flags that tune a repair loop, shared by `aae repair` and `aae sync` (each check is one). */
export interface RepairTuningOptions {
  conflict: ConflictPolicy;
  maxLoops: number;
  maxKeysPerSecond?: number;
  range: boolean;
  direction: RepairDirection;
}

export function addRepairTuningOptions(cmd: Command): Command {
  return cmd
    .option('--conflict <policy>', `concurrent versions: ${CONFLICT_POLICIES.join(' | ')} (lww keeps the later; losers go to the conflict log)`, parseChoice('--conflict', CONFLICT_POLICIES), 'lww')
    .option('--max-loops <n>', 'exchange → repair rounds at most', parseIntOption('--max-loops', 1, 10_000), 20)
    .option('--max-keys-per-second <n>', 'throttle: keys repaired per second at most', parseIntOption('--max-keys-per-second', 1, 10_000_000))
    .option('--no-range', 'never switch to range replication, even when most of the tree differs')
    .option('--direction <way>', `which side may be written: ${REPAIR_DIRECTIONS.join(' | ')} (to-sink never writes the source)`, parseChoice('--direction', REPAIR_DIRECTIONS), 'both' as RepairDirection);
}

/** The repair loop's options from those flags. */
export function repairTuning(opts: RepairTuningOptions) {
  return {
    policy: opts.conflict,
    maxLoops: opts.maxLoops,
    rangeReplication: opts.range,
    direction: opts.direction,
    ...(opts.maxKeysPerSecond === undefined ? {} : { maxKeysPerSecond: opts.maxKeysPerSecond }),
  };
}
