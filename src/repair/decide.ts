/**
 * Deciding a repair: given the versions several places hold of one key (two clusters, or the
 * replicas of a preflist), which version every place should end up with.
 *
 * Vector clocks settle most cases without a policy. The *maximal* versions are those no other
 * version dominates. One maximal version (several places may hold it): it wins, with its own
 * clock, and is copied to every place that lacks it or holds something older — a tombstone like
 * any version, so a delete wins over the value it deleted. Several maximal versions are concurrent
 * (each saw a write the others did not), and only then does the conflict policy speak:
 *
 * - `lww`: the later lastModified wins; on a tie the later clock in entry order (actor by actor,
 *   then counter), so every place picks the same winner; on equal clocks, the tombstone (lwwLater).
 * - `source` / `sink`: a version held on the preferred side wins (the first side compared is the
 *   source, the second the sink); a side may be several places (its replicas), and of its concurrent versions lww picks.
 * - `report`: nothing is written; the conflict is reported.
 *
 * A resolved conflict writes the winner's value with the *merged* clock, which dominates every
 * version seen: a replica still holding a loser can then never look concurrent again, and the
 * result is idempotent. Each loser is handed to the conflict log, so nothing is lost.
 *
 * Everything here is pure; the repair loop fetches, writes and logs.
 */
import { compareActors, compareClocks, equalClocks, increment, mergeClocks, type Clock } from '../cluster/clock.js';

/** The actor of the only version a repair ever mints (see resolveVersions). */
export const REPAIR_ACTOR = 'aae-repair';

export type ConflictPolicy = 'lww' | 'source' | 'sink' | 'report';
export const CONFLICT_POLICIES: readonly ConflictPolicy[] = ['lww', 'source', 'sink', 'report'];

/**
 * What a place holds of a key: enough to decide. `hash` is the object hash the trees are built from
 * (of the clock, or of the value under hash method `value`): two places hold the same version when
 * their hashes (and tombstone flags) agree, whatever their clocks say — the same rule as the trees
 * and the exchange's clock stage, so a repair never writes what a compare calls equal, and never
 * calls equal what a compare reports.
 */
export interface Version {
  clock: Clock;
  deleted: boolean;
  hash: number;
}

export type Resolution =
  /** Every place holds the same version (or none holds the key). */
  | { kind: 'in_sync' }
  /**
   * Write the version held at `winner`, with `clock`, to `targets` (positions). `losers` are the
   * positions of concurrent versions the winner replaces (empty when clocks decided alone).
   */
  | { kind: 'write'; winner: number; clock: Clock; targets: number[]; losers: number[] }
  /** Concurrent versions at `concurrent`, and the policy is `report`. */
  | { kind: 'report'; concurrent: number[] };

/**
 * `preferred`: the positions whose versions win a conflict under `source`/`sink` (the caller maps
 * the policy to the places of that side); ignored by `lww` and `report`. When no maximal version
 * is held there (the side holds nothing, or only versions others dominate), lww decides.
 */
export function resolveVersions(versions: ReadonlyArray<Version | null>, policy: ConflictPolicy, preferred: readonly number[] = []): Resolution {
  const present: number[] = [];
  for (let i = 0; i < versions.length; i++) if (versions[i] !== null) present.push(i);
  if (present.length === 0) return { kind: 'in_sync' };

  // Maximal versions, one position per distinct version.
  const maximal: number[] = [];
  for (const i of present) {
    const v = versions[i]!;
    let dominated = false;
    for (const j of present) {
      if (j === i) continue;
      if (compareClocks(versions[j]!.clock, v.clock) === 'left') {
        dominated = true;
        break;
      }
    }
    if (dominated) continue;
    // One position per distinct version; of equal versions, the one with the latest time stands
    // for them all, so the choice does not depend on the order of the places.
    const same = maximal.findIndex((m) => sameVersion(versions[m]!, v));
    if (same < 0) maximal.push(i);
    else if (v.clock.lastModified > versions[maximal[same]!]!.clock.lastModified) maximal[same] = i;
  }

  if (maximal.length === 1) {
    const winner = maximal[0]!;
    const w = versions[winner]!;
    const targets = versions.flatMap((v, i) => (v === null || !sameVersion(v, w) ? [i] : []));
    return targets.length === 0 ? { kind: 'in_sync' } : { kind: 'write', winner, clock: w.clock, targets, losers: [] };
  }

  if (policy === 'report') return { kind: 'report', concurrent: maximal };
  // A maximal version is the preferred side's if any of its places holds it: equal versions were
  // folded into one position above, which may be a place on the other side.
  const held = (m: number) => preferred.some((p) => versions[p] != null && sameVersion(versions[p]!, versions[m]!));
  const onPreferred = policy === 'source' || policy === 'sink' ? maximal.filter(held) : [];
  const candidates = onPreferred.length > 0 ? onPreferred : maximal;
  const winner = candidates.reduce((best, i) => (lwwLater(versions[i]!, versions[best]!) ? i : best));
  let clock = versions[maximal[0]!]!.clock;
  for (const m of maximal.slice(1)) clock = mergeClocks(clock, versions[m]!.clock);
  // Concurrent clocks merge to a clock above all of them. Equal clocks that disagree (on deletion,
  // or on the value under hash method `value`) merge to that same clock, which would dominate
  // nothing, and a conditional write would never land: the repair then mints one step of its own
  // actor, at the same time, so it does.
  if (maximal.some((m) => equalClocks(versions[m]!.clock, clock))) clock = increment(clock, REPAIR_ACTOR, clock.lastModified);
  // The resulting clock differs from every maximal version's, so every place is written.
  const targets = versions.map((_v, i) => i);
  return { kind: 'write', winner, clock, targets, losers: maximal.filter((m) => m !== winner) };
}

export function sameVersion(a: Version, b: Version): boolean {
  return a.hash === b.hash && a.deleted === b.deleted;
}

/**
 * lww: is `a` later than `b`? Later lastModified; then the later clock in entry order; then, for
 * equal clocks that disagree on deletion, the tombstone: a tombstone carrying exactly a value's
 * clock (and time) is a delete of that version by someone who read it (`delete` with the clock it
 * read), so it came after the value: the delete stands and the value goes to the conflict log
 * (hash format 2 makes such a pair a difference every exchange sees; docs/FORMAT.md); then the
 * higher object hash (two values under equal clocks and times, as data without clocks has: any
 * fixed choice, so every place picks the same one).
 */
export function lwwLater(a: Version, b: Version): boolean {
  if (a.clock.lastModified !== b.clock.lastModified) return a.clock.lastModified > b.clock.lastModified;
  const byEntries = compareEntries(a.clock, b.clock);
  if (byEntries !== 0) return byEntries > 0;
  if (a.deleted !== b.deleted) return a.deleted;
  return a.hash >>> 0 > b.hash >>> 0;
}

/** A total order on clock entries: actor by actor (code-point order), then counter; longer wins a tie. */
function compareEntries(a: Clock, b: Clock): number {
  const n = Math.min(a.entries.length, b.entries.length);
  for (let i = 0; i < n; i++) {
    const [aa, ac] = a.entries[i]!;
    const [ba, bc] = b.entries[i]!;
    const byActor = compareActors(aa, ba);
    if (byActor !== 0) return byActor;
    if (ac !== bc) return ac - bc;
  }
  return a.entries.length - b.entries.length;
}

/**
 * Which side of a two-sided difference is ahead: the one whose version dominates, or neither
 * (concurrent). Inside one cluster, a replica pair's first vnode stands as the source.
 */
export type Ahead = 'source' | 'sink' | 'concurrent' | 'equal';

export function aheadOf(source: Version | null, sink: Version | null): Ahead {
  if (source === null && sink === null) return 'equal';
  if (sink === null) return 'source';
  if (source === null) return 'sink';
  if (sameVersion(source, sink)) return 'equal';
  const order = compareClocks(source.clock, sink.clock);
  if (order === 'left') return 'source';
  if (order === 'right') return 'sink';
  // Concurrent clocks, or equal clocks over different versions (two values under one clock).
  return 'concurrent';
}
