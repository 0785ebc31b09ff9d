/**
 * Repairing a list of keys: read what every place holds, decide (decide.ts), log the losers of
 * conflicts, write. The places are behind a `RepairBackend`: two clusters (blue and pink), or the
 * replicas of each key's preflist inside one cluster — the loop is the same.
 *
 * Safety against live writes: the exchange only nominates keys; the decision is made on the
 * versions read now, and every write is conditional (`write` must store an object at a place only
 * if it dominates what that place holds at that moment, atomically with respect to other writes
 * there). A write that lands between our read and our write is therefore never overwritten: the
 * conditional write skips, and the next exchange round sees the key again if it still differs.
 *
 * Throttle: at most `maxKeysPerSecond` keys a second (a pause after each batch), so a repair does
 * not starve the clusters' own traffic. Batches bound memory: `batchSize` keys' objects at a time.
 */
import type { AaeObject, ObjectKey } from '../cluster/index.js';
import { throwIfAborted } from '../errors.js';
import type { ConflictEntry, ConflictSink } from './conflict-log.js';
import { resolveVersions, type ConflictPolicy } from './decide.js';

export interface PlaceVersion {
  /**
   * A label for logs and reports: "blue", "pink", "vnode 12@n2". Several places may share a label
   * (the replicas of one cluster in a repair between two); reports name each label once.
   */
  place: string;
  object: AaeObject | null;
  /** In a repair between two sides, the side the place belongs to: 0 the source, 1 the sink. */
  side?: 0 | 1;
}

export interface PlaceWrite {
  /** Index into the key's list of places, as `read` returned them. */
  place: number;
  object: AaeObject;
}

/** 'skipped': the place held a version the object does not dominate (a write raced ours). */
export type WriteOutcome = 'written' | 'skipped';

export interface RepairBackend {
  /**
   * For each key, what each of its places holds (the same order of places on every call). The
   * repair calls read and write in turn, batch by batch: a read starts the next batch, so a
   * backend may forget what it kept for the last one.
   */
  read(keys: readonly ObjectKey[], options: { signal?: AbortSignal }): Promise<PlaceVersion[][]>;
  /**
   * Conditional writes (see the file comment) for a batch of keys at once: for each key, one
   * outcome per write, in order. Batching lets a backend make one flush per replica for many keys.
   */
  write(batch: ReadonlyArray<{ key: ObjectKey; writes: readonly PlaceWrite[] }>, options: { signal?: AbortSignal }): Promise<WriteOutcome[][]>;
}

export interface RepairOptions {
  policy: ConflictPolicy;
  dryRun?: boolean;
  conflictLog?: ConflictSink;
  /** Keys read and decided together. */
  batchSize?: number;
  maxKeysPerSecond?: number;
  /** Actions kept in the result for reporting (the counts are always complete). */
  maxActionsReported?: number;
  signal?: AbortSignal;
  onProgress?: (p: { keys: number; total: number }) => void;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export type RepairActionKind = 'in_sync' | 'copy' | 'resolve' | 'report';

export interface RepairAction {
  bucket: string;
  key: Uint8Array;
  kind: RepairActionKind;
  /** The place whose version won (copy / resolve). */
  from?: string;
  /** Places written (or, in a dry run, that would be). */
  to: string[];
  /** Places whose writes were skipped because a newer or concurrent version arrived meanwhile. */
  skipped: string[];
}

export interface RepairStats {
  keys: number;
  inSync: number;
  copied: number;
  resolved: number;
  reported: number;
  placesWritten: number;
  placesSkipped: number;
  conflictsLogged: number;
  dryRun: boolean;
  actions: RepairAction[];
  actionsTruncated: boolean;
}

/** 500 keys a batch: one read round per batch, objects of a few hundred KiB at typical sizes. */
const DEFAULT_BATCH = 500;
/** Enough to show what happened; counts stay complete beyond it. */
const DEFAULT_MAX_ACTIONS = 1000;

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function repairKeys(backend: RepairBackend, keys: readonly ObjectKey[], options: RepairOptions): Promise<RepairStats> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const maxActions = options.maxActionsReported ?? DEFAULT_MAX_ACTIONS;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const signalOpt = options.signal === undefined ? {} : { signal: options.signal };
  const stats: RepairStats = {
    keys: 0,
    inSync: 0,
    copied: 0,
    resolved: 0,
    reported: 0,
    placesWritten: 0,
    placesSkipped: 0,
    conflictsLogged: 0,
    dryRun: options.dryRun ?? false,
    actions: [],
    actionsTruncated: false,
  };
  // The side whose versions win a conflict under `source` / `sink`.
  const preferredSide = options.policy === 'source' ? 0 : options.policy === 'sink' ? 1 : undefined;
  const started = now();

  for (let start = 0; start < keys.length; start += batchSize) {
    throwIfAborted(options.signal);
    const batch = keys.slice(start, start + batchSize);
    const read = await backend.read(batch, signalOpt);
    const pending: Array<{ key: ObjectKey; writes: PlaceWrite[]; places: PlaceVersion[]; action: RepairAction }> = [];
    const conflicts: ConflictEntry[] = [];
    for (let k = 0; k < batch.length; k++) {
      const places = read[k]!;
      const versions = places.map((p) => (p.object === null ? null : { clock: p.object.clock, deleted: p.object.deleted }));
      const preferred = preferredSide === undefined ? [] : places.flatMap((p, i) => (p.side === preferredSide ? [i] : []));
      const r = resolveVersions(versions, options.policy, preferred);
      const key = batch[k]!;
      stats.keys++;
      if (r.kind === 'in_sync') {
        stats.inSync++;
        record(stats, maxActions, { bucket: key.bucket, key: key.key, kind: 'in_sync', to: [], skipped: [] });
        continue;
      }
      if (r.kind === 'report') {
        stats.reported++;
        record(stats, maxActions, { bucket: key.bucket, key: key.key, kind: 'report', to: labels(places, r.concurrent), skipped: [] });
        continue;
      }
      const winner = places[r.winner]!.object!;
      const object: AaeObject = { ...winner, clock: r.clock };
      const kind: RepairActionKind = r.losers.length > 0 ? 'resolve' : 'copy';
      if (kind === 'resolve') stats.resolved++;
      else stats.copied++;
      const action: RepairAction = { bucket: key.bucket, key: key.key, kind, from: places[r.winner]!.place, to: [], skipped: [] };
      if (stats.dryRun) {
        action.to = labels(places, r.targets);
        record(stats, maxActions, action);
        continue;
      }
      for (const l of r.losers) conflicts.push({ loser: places[l]!.object!, replacedBy: r.clock, policy: options.policy, where: places[l]!.place });
      pending.push({ key, writes: r.targets.map((place) => ({ place, object })), places, action });
    }
    if (pending.length > 0) {
      // Losers are logged (and synced) before anything is written over them.
      if (conflicts.length > 0 && options.conflictLog !== undefined) {
        await options.conflictLog.append(conflicts);
        stats.conflictsLogged += conflicts.length;
      }
      const outcomes = await backend.write(
        pending.map((p) => ({ key: p.key, writes: p.writes })),
        signalOpt,
      );
      pending.forEach((p, i) => {
        outcomes[i]!.forEach((o, j) => {
          const label = p.places[p.writes[j]!.place]!.place;
          if (o === 'written') {
            stats.placesWritten++;
            if (!p.action.to.includes(label)) p.action.to.push(label);
          } else {
            stats.placesSkipped++;
            if (!p.action.skipped.includes(label)) p.action.skipped.push(label);
          }
        });
        record(stats, maxActions, p.action);
      });
    }
    options.onProgress?.({ keys: stats.keys, total: keys.length });
    if (options.maxKeysPerSecond !== undefined && options.maxKeysPerSecond > 0) {
      const due = started + (stats.keys / options.maxKeysPerSecond) * 1000;
      const wait = due - now();
      if (wait > 0) await sleep(wait);
    }
  }
  return stats;
}

/** The labels of some places, each once, in order. */
function labels(places: readonly PlaceVersion[], at: readonly number[]): string[] {
  return [...new Set(at.map((i) => places[i]!.place))];
}

function record(stats: RepairStats, max: number, action: RepairAction): void {
  if (stats.actions.length < max) stats.actions.push(action);
  else stats.actionsTruncated = true;
}
