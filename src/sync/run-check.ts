/**
 * One sync check: open both clusters, repair over the check's scope (exchange → repair until the
 * sides agree or the loop limit), close them, and say what happened.
 *
 * The clusters are opened for the check only. An embedded cluster is one process's at a time (its
 * LevelDBs are locked), so a sync that held them between checks would shut out every `aae load`,
 * `put` or `repair` for as long as it runs. A check that finds a cluster busy fails with
 * STORE_LOCKED and the next one runs as scheduled.
 *
 * A failure while running (a locked or failing store, an exchange that failed) is reported in the
 * result: a scheduled sync must outlive a bad hour. Input errors (clusters that can never be
 * compared, a missing directory) and an abort are thrown: no later check would do better.
 */
import { repairClusters, type RepairRunOptions } from '../aae/index.js';
import type { Cluster } from '../coordinator/index.js';
import { isAaeError } from '../errors.js';
import { afterCheck, type ResolvedCheck, type SyncState } from './checks.js';

/** Both clusters, opened for one check; `close` saves and releases them. */
export interface OpenPair {
  source: Cluster;
  sink: Cluster;
  close(): Promise<void>;
}

export const CHECK_OUTCOMES = ['in_sync', 'repaired', 'differences_left', 'skipped', 'failed'] as const;
export type CheckOutcomeKind = (typeof CHECK_OUTCOMES)[number];

export interface CheckReport {
  item: ResolvedCheck['item'];
  /** What the slice ran ('all', 'day', 'hour', 'range'), absent when it was skipped. */
  kind?: 'all' | 'day' | 'hour' | 'range';
  /** Why this scope (or why nothing ran). */
  why: string;
  /** The modified range compared, for day, hour and range checks. */
  modifiedRange?: { from: number; to: number };
  bucket?: string;
  startedAt: number;
  durationMs: number;
  outcome: CheckOutcomeKind;
  /**
   * Keys the first exchange found differing. Damage too large to list key by key (an empty sink)
   * is repaired by range replication instead (`byRange`), and counts 0 here.
   */
  differences: number;
  /** Some of the repair went by range replication: `repaired` counts what it copied. */
  byRange?: boolean;
  /** Keys given a version (copied or resolved), replica writes, conflicts resolved. */
  repaired: { keys: number; writes: number; conflicts: number };
  /** Conflicts left as they were at the end because the policy is `report` (set by every check that ran). */
  reported?: number;
  /** A full check: the writes that repaired each cluster's own replicas first. */
  replicaWrites?: number;
  loops: number;
  error?: { code: string; message: string };
  /** The sync's state after this check. */
  state: SyncState;
}

export interface RunCheckOptions {
  open: () => Promise<OpenPair>;
  /** Repair tuning (policy, loops, pause, throttle, conflict log); the scope is the check's. */
  repair?: Omit<RepairRunOptions, 'scope' | 'signal' | 'dryRun'>;
  signal?: AbortSignal;
  now?: () => number;
}

export async function runCheck(check: ResolvedCheck, state: SyncState, options: RunCheckOptions): Promise<CheckReport> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const base = { item: check.item, why: check.why, startedAt, differences: 0, repaired: { keys: 0, writes: 0, conflicts: 0 }, loops: 0 };
  if (!check.run) return { ...base, durationMs: 0, outcome: 'skipped', state };
  const scope = check.scope;
  const described = {
    ...base,
    kind: check.kind,
    ...(scope.kind === 'range' && scope.modifiedRange !== undefined ? { modifiedRange: { ...scope.modifiedRange } } : {}),
    ...(scope.kind === 'range' && scope.bucket !== undefined ? { bucket: scope.bucket } : {}),
  };
  let pair: OpenPair | undefined;
  try {
    pair = await options.open();
    const report = await repairClusters(pair.source, pair.sink, {
      ...options.repair,
      scope,
      // A full check covers each cluster's own replicas too: the exchange between them reads one
      // replica per keyspace, and a key on only some replicas would otherwise go unseen.
      healReplicas: scope.kind === 'full',
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    await closeOnce();
    const t = report.totals;
    const repairedKeys = t.copied + t.resolved;
    const inside = (report.replicas ?? []).reduce((n, r) => n + r.report.totals.placesWritten, 0);
    const outcome: CheckOutcomeKind = !report.inSync ? 'differences_left' : report.loops.length > 0 || inside > 0 ? 'repaired' : 'in_sync';
    // Conflicts still standing at the end, between the clusters and inside each (totals.reported).
    const reported = t.reported + (report.replicas ?? []).reduce((n, r) => n + r.report.totals.reported, 0);
    return {
      ...described,
      durationMs: now() - startedAt,
      outcome,
      differences: report.firstDifferences.length,
      repaired: { keys: repairedKeys, writes: t.placesWritten, conflicts: t.resolved },
      reported,
      ...(report.replicas === undefined ? {} : { replicaWrites: inside }),
      loops: report.loops.length,
      byRange: report.loops.some((l) => l.mode === 'range'),
      state: afterCheck(check, state, { startedAt, inSync: report.inSync, differences: report.firstDifferences }),
    };
  } catch (e) {
    await closeOnce().catch(() => undefined);
    if (isAaeError(e, 'ABORTED') || (isAaeError(e) && e.kind === 'input') || !isAaeError(e)) throw e;
    return {
      ...described,
      durationMs: now() - startedAt,
      outcome: 'failed',
      error: { code: e.code, message: e.message },
      // It verified nothing and disproved nothing: the state stays as it was.
      state,
    };
  }

  async function closeOnce(): Promise<void> {
    const p = pair;
    pair = undefined;
    await p?.close();
  }
}
