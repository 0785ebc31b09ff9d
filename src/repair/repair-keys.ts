/**
 * Repairing a list of keys: read what every place holds, decide (decide.ts), log the losers of
 * conflicts, write. The places are behind a `RepairBackend`: two clusters (a source and a sink), or
 * the replicas of each key's preflist inside one cluster — the loop is the same.
 *
 * Reading is by version (clock, tombstone flag, object hash: heads, no values). Only a key that
 * must be written has its winning object read, from one place that holds it; only a conflict's
 * losers are read for the conflict log. A dry run therefore reads no value at all, and makes exactly
 * the decisions the real run makes: the real run is the dry run plus the writes.
 *
 * The backend is stateless between calls: every place a read lists carries its own `ref` (where it
 * is), and a write names the refs to write, so no backend remembers one call for the next.
 *
 * Safety against live writes: the exchange only nominates keys; the decision is made on the
 * versions read now, and every write is a compare-and-set (`write` must store an object at a place
 * only while that place still holds the version the decision saw there, atomically with respect to
 * other writes there). A write that lands between our read and our write is therefore never
 * overwritten — whether or not clocks could tell, so data without clocks is as safe — the write
 * skips, and the next exchange round sees the key again if it still differs. If the winner itself
 * changed between the read and the fetch of its object, the key is skipped too.
 *
 * Direction: `both` writes wherever a place lacks the winner; `to-sink` writes only the sink's
 * places and `to-source` only the source's, so a one-way repair never writes the other side (a
 * winner held only on the side not written is reported as held back).
 *
 * Throttle: at most `maxKeysPerSecond` keys a second (a pause after each batch), so a repair does
 * not starve the clusters' own traffic. Batches bound memory: `batchSize` keys at a time.
 */
import { equalClocks, increment, mergeClocks, type AaeObject, type ObjectKey } from '../cluster/index.js';
import { throwIfAborted } from '../errors.js';
import type { ConflictEntry, ConflictSink } from './conflict-log.js';
import { REPAIR_ACTOR, resolveVersions, sameVersion, type ConflictPolicy, type Version } from './decide.js';

/** Where a place is: which side (0 the source, 1 the sink; 0 inside one cluster) and which vnode. Plain data. */
export interface PlaceRef {
  readonly side: 0 | 1;
  readonly vnode: number;
}

export interface PlaceVersion {
  /**
   * A label for logs and reports: a cluster's name, "vnode 12@n2". Several places may share a
   * label (the replicas of one cluster in a repair between two); reports name each label once.
   */
  place: string;
  version: Version | null;
  /** In a repair between two sides, the side the place belongs to: 0 the source, 1 the sink. */
  side?: 0 | 1;
  ref: PlaceRef;
  /**
   * The place's store erases a deleted key instead of keeping a tombstone (a keystore: its table
   * simply has no such row), so holding nothing there means the key was deleted, not that a write
   * never arrived.
   */
  erases?: boolean;
}

/** 'skipped': the place held a version the object does not dominate (a write raced ours). */
export type WriteOutcome = 'written' | 'skipped';

export interface RepairBackend {
  /** For each key, what each of its places holds, with where each place is. */
  read(keys: readonly ObjectKey[], options: { signal?: AbortSignal }): Promise<PlaceVersion[][]>;
  /** The whole object each ref holds of its key, with its object hash (null where it holds none). */
  fetch(items: ReadonlyArray<{ key: ObjectKey; ref: PlaceRef }>, options: { signal?: AbortSignal }): Promise<Array<FetchedObject | null>>;
  /**
   * Compare-and-set writes for a batch of keys at once: for each key, its object to each target
   * place, each only while that place still holds exactly the version the decision saw there
   * (`held`; null: none), decided atomically with the place's other writes. One outcome per target,
   * in order. Batching lets a backend make one write request per vnode for many keys.
   */
  write(batch: ReadonlyArray<{ object: AaeObject; targets: ReadonlyArray<{ ref: PlaceRef; held: Version | null }> }>, options: { signal?: AbortSignal }): Promise<WriteOutcome[][]>;
}

/** An object as a place holds it, and its object hash (by the hash method of the place's cluster). */
export interface FetchedObject {
  object: AaeObject;
  hash: number;
}

export type RepairDirection = 'both' | 'to-sink' | 'to-source';
export const REPAIR_DIRECTIONS: readonly RepairDirection[] = ['both', 'to-sink', 'to-source'];

export interface RepairOptions {
  policy: ConflictPolicy;
  dryRun?: boolean;
  /** Which sides may be written (default both). */
  direction?: RepairDirection;
  conflictLog?: ConflictSink;
  /** Keys read and decided together. */
  batchSize?: number;
  maxKeysPerSecond?: number;
  /** Actions kept in the result for reporting (the counts are always complete; `onAction` sees every one). */
  maxActionsReported?: number;
  /** Every action, as it is decided (dry run) or done: the complete listing, uncapped. */
  onAction?: (action: RepairAction) => void;
  signal?: AbortSignal;
  onProgress?: (p: { keys: number; total: number }) => void;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * - `in_sync`: every place holds the same version;
 * - `copy` / `resolve`: the winner (by clocks, or by the policy for a conflict) is written where it
 *   is missing (in a dry run: would be);
 * - `report`: a conflict under policy `report`, nothing written;
 * - `held_back`: the places that lack the winner are all on the side the direction does not write.
 */
export type RepairActionKind = 'in_sync' | 'copy' | 'resolve' | 'report' | 'held_back';

export interface RepairAction {
  bucket: string;
  key: Uint8Array;
  kind: RepairActionKind;
  /** The place whose version won (copy / resolve / held_back). */
  from?: string;
  /** Places written (or, in a dry run, that would be). */
  to: string[];
  /** Places whose writes were skipped because a newer or concurrent version arrived meanwhile. */
  skipped: string[];
  /** For resolve and report: concurrent clocks, or equal clocks over different versions (values differ under one clock). */
  conflict?: 'concurrent' | 'same_clock';
  /** The winner is a deletion (a tombstone, or an absence on a side that erases deletes): the writes delete the key. */
  deletes?: true;
}

export interface RepairStats {
  keys: number;
  inSync: number;
  copied: number;
  resolved: number;
  reported: number;
  /** Keys whose winner is held only on the side the direction does not write. */
  heldBack: number;
  placesWritten: number;
  placesSkipped: number;
  conflictsLogged: number;
  dryRun: boolean;
  actions: RepairAction[];
  actionsTruncated: boolean;
}

/** 500 keys a batch: one read round per batch, objects of a few hundred KiB at typical sizes. */
const DEFAULT_BATCH = 500;
/** Enough to show what happened; counts stay complete beyond it (and onAction sees every action). */
const DEFAULT_MAX_ACTIONS = 1000;

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function emptyStats(dryRun: boolean): RepairStats {
  return { keys: 0, inSync: 0, copied: 0, resolved: 0, reported: 0, heldBack: 0, placesWritten: 0, placesSkipped: 0, conflictsLogged: 0, dryRun, actions: [], actionsTruncated: false };
}

interface Pending {
  key: ObjectKey;
  places: PlaceVersion[];
  /** The place whose version wins (its object is fetched), or −1 when a deletion wins (`tombstone`). */
  winner: number;
  tombstone?: AaeObject;
  /**
   * With a tombstone: the places whose absence is the deletion. Their objects are fetched before
   * it is written (a keystore reads its source), so a key the source still holds, which its
   * keystore has not applied yet, is never deleted on the other side.
   */
  absentAt?: number[];
  clock: AaeObject['clock'];
  targets: number[];
  losers: number[];
  action: RepairAction;
}

export async function repairKeys(backend: RepairBackend, keys: readonly ObjectKey[], options: RepairOptions): Promise<RepairStats> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const maxActions = options.maxActionsReported ?? DEFAULT_MAX_ACTIONS;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const signalOpt = options.signal === undefined ? {} : { signal: options.signal };
  const stats = emptyStats(options.dryRun ?? false);
  const direction = options.direction ?? 'both';
  // The side whose versions win a conflict under `source` / `sink`.
  const preferredSide = options.policy === 'source' ? 0 : options.policy === 'sink' ? 1 : undefined;
  const writable = (p: PlaceVersion): boolean => p.side === undefined || direction === 'both' || (direction === 'to-sink' ? p.side === 1 : p.side === 0);
  const record = (action: RepairAction): void => {
    options.onAction?.(action);
    if (stats.actions.length < maxActions) stats.actions.push(action);
    else stats.actionsTruncated = true;
  };
  const started = now();

  for (let start = 0; start < keys.length; start += batchSize) {
    throwIfAborted(options.signal);
    const batch = keys.slice(start, start + batchSize);
    const read = await backend.read(batch, signalOpt);
    const pending: Pending[] = [];
    // The batch's actions in key order; those of writes are completed once the writes land.
    const decided: RepairAction[] = [];
    for (let k = 0; k < batch.length; k++) {
      const places = read[k]!;
      const versions = places.map((p) => p.version);
      const preferred = preferredSide === undefined ? [] : places.flatMap((p, i) => (p.side === preferredSide ? [i] : []));
      const key = batch[k]!;
      const deletion = preferredSide === undefined ? null : deletionWins(places, preferredSide, writable);
      if (deletion !== null) {
        // The preferred side deleted the key (it erases: it holds nothing); that deletion is its version.
        stats.keys++;
        const from = places.find((p) => p.side === preferredSide)!.place;
        if (deletion.kind === 'in_sync') {
          stats.inSync++;
          decided.push({ bucket: key.bucket, key: key.key, kind: 'in_sync', to: [], skipped: [] });
          continue;
        }
        if (deletion.kind === 'held_back') {
          stats.heldBack++;
          decided.push({ bucket: key.bucket, key: key.key, kind: 'held_back', from, to: [], skipped: [] });
          continue;
        }
        stats.resolved++;
        const action: RepairAction = { bucket: key.bucket, key: key.key, kind: 'resolve', from, to: [], skipped: [], conflict: 'concurrent', deletes: true };
        decided.push(action);
        if (stats.dryRun) {
          action.to = labels(places, deletion.targets);
          continue;
        }
        const tombstone: AaeObject = { bucket: key.bucket, key: key.key, clock: deletion.clock, value: new Uint8Array(0), deleted: true, indexes: [] };
        const absentAt = places.flatMap((p, i) => (p.side === preferredSide ? [i] : []));
        pending.push({ key, places, winner: -1, tombstone, absentAt, clock: deletion.clock, targets: deletion.targets, losers: deletion.targets, action });
        continue;
      }
      const r = resolveVersions(versions, options.policy, preferred);
      stats.keys++;
      if (r.kind === 'in_sync') {
        stats.inSync++;
        decided.push({ bucket: key.bucket, key: key.key, kind: 'in_sync', to: [], skipped: [] });
        continue;
      }
      if (r.kind === 'report') {
        stats.reported++;
        decided.push({ bucket: key.bucket, key: key.key, kind: 'report', to: labels(places, r.concurrent), skipped: [], conflict: conflictKind(versions, r.concurrent) });
        continue;
      }
      const targets = r.targets.filter((t) => writable(places[t]!));
      const from = places[r.winner]!.place;
      if (targets.length === 0) {
        stats.heldBack++;
        decided.push({ bucket: key.bucket, key: key.key, kind: 'held_back', from, to: [], skipped: [] });
        continue;
      }
      const kind: RepairActionKind = r.losers.length > 0 ? 'resolve' : 'copy';
      if (kind === 'resolve') stats.resolved++;
      else stats.copied++;
      const action: RepairAction = { bucket: key.bucket, key: key.key, kind, from, to: [], skipped: [] };
      if (kind === 'resolve') action.conflict = conflictKind(versions, [r.winner, ...r.losers]);
      if (versions[r.winner]?.deleted === true) action.deletes = true;
      decided.push(action);
      if (stats.dryRun) {
        action.to = labels(places, targets);
        continue;
      }
      pending.push({ key, places, winner: r.winner, clock: r.clock, targets, losers: r.losers, action });
    }
    if (pending.length > 0) await writePending(backend, pending, options, stats, signalOpt);
    for (const a of decided) record(a);
    options.onProgress?.({ keys: stats.keys, total: keys.length });
    if (options.maxKeysPerSecond !== undefined && options.maxKeysPerSecond > 0) {
      const due = started + (stats.keys / options.maxKeysPerSecond) * 1000;
      const wait = due - now();
      if (wait > 0) await sleep(wait);
    }
  }
  return stats;
}

/** Reads the winners (and, for the conflict log, the losers), logs, writes, and records each action. */
async function writePending(
  backend: RepairBackend,
  pending: Pending[],
  options: RepairOptions,
  stats: RepairStats,
  signalOpt: { signal?: AbortSignal },
): Promise<void> {
  const logging = options.conflictLog !== undefined;
  const wanted: Array<{ key: ObjectKey; ref: PlaceRef }> = [];
  for (const p of pending) {
    if (p.tombstone === undefined) wanted.push({ key: p.key, ref: p.places[p.winner]!.ref });
    else for (const a of p.absentAt ?? []) wanted.push({ key: p.key, ref: p.places[a]!.ref });
    if (logging) for (const l of p.losers) wanted.push({ key: p.key, ref: p.places[l]!.ref });
  }
  const fetched = wanted.length === 0 ? [] : await backend.fetch(wanted, signalOpt);
  let at = 0;
  const writes: Array<{ p: Pending; object: AaeObject }> = [];
  const conflicts: ConflictEntry[] = [];
  for (const p of pending) {
    const winner = p.tombstone === undefined ? (fetched[at++] ?? null) : null;
    const stillThere = p.tombstone === undefined ? false : (p.absentAt ?? []).map(() => fetched[at++] ?? null).some((o) => o !== null);
    const losers = logging ? p.losers.map((l) => ({ l, object: fetched[at++] ?? null })) : [];
    if (stillThere) {
      // The deletion's side holds the key after all (its source has it; its keystore lagged): the
      // next round decides again.
      stats.placesSkipped += p.targets.length;
      p.action.skipped = labels(p.places, p.targets);
      continue;
    }
    if (p.tombstone === undefined) {
      const decided = p.places[p.winner]!.version!;
      if (winner === null || !sameVersion({ clock: winner.object.clock, deleted: winner.object.deleted, hash: winner.hash }, decided)) {
        // The winner changed since it was read: a write raced the repair; the next round decides again.
        stats.placesSkipped += p.targets.length;
        p.action.skipped = labels(p.places, p.targets);
        continue;
      }
    }
    for (const { l, object } of losers) {
      if (object !== null) conflicts.push({ loser: object.object, replacedBy: p.clock, policy: options.policy, where: p.places[l]!.place });
    }
    writes.push({ p, object: p.tombstone ?? { ...winner!.object, clock: p.clock } });
  }
  if (writes.length === 0) return;
  // Losers are logged (and synced) before anything is written over them.
  if (conflicts.length > 0 && options.conflictLog !== undefined) {
    await options.conflictLog.append(conflicts);
    stats.conflictsLogged += conflicts.length;
  }
  const outcomes = await backend.write(
    writes.map(({ p, object }) => ({ object, targets: p.targets.map((t) => ({ ref: p.places[t]!.ref, held: p.places[t]!.version })) })),
    signalOpt,
  );
  writes.forEach(({ p }, i) => {
    outcomes[i]!.forEach((o, j) => {
      const label = p.places[p.targets[j]!]!.place;
      if (o === 'written') {
        stats.placesWritten++;
        if (!p.action.to.includes(label)) p.action.to.push(label);
      } else {
        stats.placesSkipped++;
        if (!p.action.skipped.includes(label)) p.action.skipped.push(label);
      }
    });
  });
}

function conflictKind(versions: ReadonlyArray<Version | null>, at: readonly number[]): 'concurrent' | 'same_clock' {
  const vs = at.map((i) => versions[i]!);
  return vs.every((v) => equalClocks(v.clock, vs[0]!.clock)) && !vs.every((v) => sameVersion(v, vs[0]!)) ? 'same_clock' : 'concurrent';
}

/** The labels of some places, each once, in order. */
function labels(places: readonly PlaceVersion[], at: readonly number[]): string[] {
  return [...new Set(at.map((i) => places[i]!.place))];
}

/**
 * A deletion on the preferred side (source or sink): every place of the preferred side holds
 * nothing and erases deletes (a keystore: its table has no such row, so the key was deleted
 * there, not merely never written). Under source or sink that deletion is the preferred side's
 * version and wins like any other: each place of the other side holding the key live gets a
 * tombstone (which a place that erases deletes, and a place that keeps tombstones keeps), where
 * the direction lets us write; where it does not, the deletion is held back, and the other side's
 * version is never copied over it. Tombstones on the other side already agree with it. Null when
 * this is not the case (the ordinary decision applies).
 */
function deletionWins(
  places: readonly PlaceVersion[],
  preferredSide: 0 | 1,
  writable: (p: PlaceVersion) => boolean,
): { kind: 'write'; targets: number[]; clock: AaeObject['clock'] } | { kind: 'in_sync' } | { kind: 'held_back' } | null {
  const preferred = places.filter((p) => p.side === preferredSide);
  if (preferred.length === 0 || !preferred.every((p) => p.version === null && p.erases === true)) return null;
  const live = places.flatMap((p, i) => (p.side !== preferredSide && p.version !== null && !p.version.deleted ? [i] : []));
  if (live.length === 0) return { kind: 'in_sync' };
  const targets = live.filter((i) => writable(places[i]!));
  if (targets.length === 0) return { kind: 'held_back' };
  // A clock above every version it replaces (what a resolved conflict writes), one step of the repair's own actor.
  let clock = places[targets[0]!]!.version!.clock;
  for (const t of targets.slice(1)) clock = mergeClocks(clock, places[t]!.version!.clock);
  return { kind: 'write', targets, clock: increment(clock, REPAIR_ACTOR, clock.lastModified) };
}
