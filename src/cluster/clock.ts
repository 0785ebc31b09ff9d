import { AaeError, quote } from '../errors.js';
import type { ClockEntry } from '../hash/index.js';

/**
 * Vector clocks: which writes a version has seen.
 *
 * A clock is a list of (actor, counter) pairs plus the time of the last write (`lastModified`, ms).
 * Version A has seen everything B has (A *descends* B) when every actor's counter in A is at least
 * its counter in B; an actor missing from a clock counts as 0. That makes clocks a partial order:
 * two versions are equal, one is ahead (it *dominates*), or they are concurrent (each saw a write
 * the other did not) — the case repair hands to its conflict policy. `mergeClocks` is the least upper
 * bound: the smallest clock that descends both, which a repair writes when it resolves a conflict.
 *
 * The normal form is the one `canonicalClock` hashes: entries sorted by actor in code-point order
 * (the same as the order of their UTF-8 bytes), no zero counters, no actor twice. Every function
 * here returns normal-form clocks, and the comparisons walk two sorted lists once: O(a + b).
 * `lastModified` is metadata, never part of the order or of equality.
 */

export interface Clock {
  /** Sorted by actor (code-point order), no zero counters, no duplicate actors. */
  readonly entries: ReadonlyArray<ClockEntry>;
  /** Time of the last write, ms since the epoch. Not part of the order. */
  readonly lastModified: number;
}

export type ClockOrder = 'equal' | 'left' | 'right' | 'concurrent';

/**
 * Code-point order of two strings, which equals the byte order of their UTF-8 encodings (the order
 * `canonicalClock` sorts by). Plain `<` compares UTF-16 code units and would put U+FFFD after an
 * astral character.
 */
export function compareActors(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Lifts surrogates (which encode code points above U+FFFF) above the rest of the BMP. */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

function validateActor(actor: unknown): asserts actor is string {
  if (typeof actor !== 'string' || actor.length === 0) {
    throw new AaeError('CLOCK_INVALID', 'clock actor must be a non-empty string');
  }
  if (!actor.isWellFormed()) throw new AaeError('CLOCK_INVALID', `clock actor must be well-formed UTF-16`);
}

function validateCounter(actor: string, counter: unknown): asserts counter is number {
  if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 0) {
    // quote: a string counter shows as '1', not as 1; a list only by its kind (it may nest deeper than the stack).
    throw new AaeError('CLOCK_INVALID', `clock counter for ${quote(actor)} must be a non-negative safe integer, got ${quote(counter)}`);
  }
}

/** The latest time a JavaScript Date can hold (ms since the epoch, year 275760): later times could be stored but never shown. */
export const MAX_TIME_MS = 8.64e15;

/** A time in ms since the epoch that a Date can hold: an integer in 0..MAX_TIME_MS. */
export function isValidTime(t: unknown): t is number {
  return typeof t === 'number' && Number.isSafeInteger(t) && t >= 0 && t <= MAX_TIME_MS;
}

function validateTime(lastModified: unknown): asserts lastModified is number {
  if (!isValidTime(lastModified)) {
    throw new AaeError('CLOCK_INVALID', `clock lastModified must be an integer in 0..${MAX_TIME_MS} (ms since the epoch), got ${quote(lastModified)}`);
  }
}

/**
 * Validates and normalises: sorts by actor, drops zero counters. A duplicate actor, a counter that
 * is not a non-negative safe integer, or a bad time is CLOCK_INVALID.
 */
export function makeClock(entries: Iterable<ClockEntry>, lastModified: number): Clock {
  validateTime(lastModified);
  if (Array.isArray(entries) && isNormalForm(entries)) {
    // Every write carries a clock and nearly all are already in normal form: copied as they are,
    // without a sort. Pairs of our own: the caller may change theirs after a put is queued.
    return { entries: entries.map(([actor, counter]): ClockEntry => [actor, counter]), lastModified };
  }
  const out: ClockEntry[] = [];
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new AaeError('CLOCK_INVALID', 'a clock entry must be an [actor, counter] pair');
    }
    const [actor, counter] = entry;
    validateActor(actor);
    validateCounter(actor, counter);
    if (counter !== 0) out.push([actor, counter]);
  }
  out.sort((x, y) => compareActors(x[0], y[0]));
  for (let i = 1; i < out.length; i++) {
    // A duplicate with a zero counter was dropped above, so only live duplicates are caught here.
    if (out[i - 1]![0] === out[i]![0]) {
      throw new AaeError('CLOCK_INVALID', `clock names actor ${quote(out[i]![0])} twice`);
    }
  }
  return { entries: out, lastModified };
}

/**
 * Checks a clock a caller built itself (a direct vnode write): CLOCK_INVALID unless it is in
 * normal form with a valid time. Stored clocks are compared by walking sorted lists, so one out of
 * order would compare wrongly for ever after.
 */
export function validateClock(clock: Clock): void {
  if (typeof clock !== 'object' || clock === null) throw new AaeError('CLOCK_INVALID', 'clock must be an object');
  validateTime(clock.lastModified);
  if (!Array.isArray(clock.entries) || !isNormalForm(clock.entries)) {
    throw new AaeError('CLOCK_INVALID', 'clock entries must be [actor, counter] pairs sorted by actor, without zero counters or a repeated actor');
  }
}

/** Valid entries, sorted, without zero counters or a repeated actor (throws CLOCK_INVALID on a bad entry). */
function isNormalForm(entries: readonly unknown[]): boolean {
  let prev: string | null = null;
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2) return false; // the general path names the error
    const [actor, counter] = entry as [unknown, unknown];
    validateActor(actor);
    validateCounter(actor, counter);
    if (counter === 0 || (prev !== null && compareActors(prev, actor) >= 0)) return false;
    prev = actor;
  }
  return true;
}

export function emptyClock(): Clock {
  return { entries: [], lastModified: 0 };
}

/** A clock with no entries: the state before any write. */
export function isEmptyClock(clock: Clock): boolean {
  return clock.entries.length === 0;
}

/** The counter of one actor (0 when absent). */
export function counterOf(clock: Clock, actor: string): number {
  for (const [a, c] of clock.entries) if (a === actor) return c;
  return 0;
}

/**
 * The clock of a new write by `actor` at `now` on top of `clock` (null: a first write).
 * lastModified becomes max(clock.lastModified, now): a descendant never looks older than its
 * ancestor, even when the actor's wall clock is behind.
 */
export function increment(clock: Clock | null, actor: string, now: number): Clock {
  validateActor(actor);
  validateTime(now);
  const base = clock ?? emptyClock();
  const entries: ClockEntry[] = [];
  let placed = false;
  for (const entry of base.entries) {
    const d = placed ? -1 : compareActors(entry[0], actor);
    if (d === 0) {
      if (entry[1] >= Number.MAX_SAFE_INTEGER) {
        throw new AaeError('CLOCK_INVALID', `clock counter for ${quote(actor)} would overflow`);
      }
      entries.push([actor, entry[1] + 1]);
      placed = true;
    } else if (d > 0) {
      entries.push([actor, 1], entry);
      placed = true;
    } else {
      entries.push(entry);
    }
  }
  if (!placed) entries.push([actor, 1]);
  return { entries, lastModified: Math.max(base.lastModified, now) };
}

/**
 * One walk over both sorted entry lists. Returns two flags: does a have a counter above b's, and
 * does b have one above a's.
 */
function aheadFlags(a: Clock, b: Clock): { aAhead: boolean; bAhead: boolean } {
  const ea = a.entries;
  const eb = b.entries;
  let i = 0;
  let j = 0;
  let aAhead = false;
  let bAhead = false;
  while (i < ea.length && j < eb.length && !(aAhead && bAhead)) {
    const [actA, ca] = ea[i]!;
    const [actB, cb] = eb[j]!;
    const d = compareActors(actA, actB);
    if (d === 0) {
      if (ca > cb) aAhead = true;
      else if (cb > ca) bAhead = true;
      i++;
      j++;
    } else if (d < 0) {
      aAhead = true; // actor only in a (counters are never 0 in normal form)
      i++;
    } else {
      bAhead = true;
      j++;
    }
  }
  if (i < ea.length) aAhead = true;
  if (j < eb.length) bAhead = true;
  return { aAhead, bAhead };
}

/** a ≥ b: a has seen every write b has. */
export function descends(a: Clock, b: Clock): boolean {
  return !aheadFlags(a, b).bAhead;
}

/** a > b: a descends b and differs from it. */
export function dominates(a: Clock, b: Clock): boolean {
  const { aAhead, bAhead } = aheadFlags(a, b);
  return aAhead && !bAhead;
}

/** Same entries; lastModified is ignored. */
export function equalClocks(a: Clock, b: Clock): boolean {
  if (a.entries.length !== b.entries.length) return false;
  for (let i = 0; i < a.entries.length; i++) {
    const x = a.entries[i]!;
    const y = b.entries[i]!;
    if (x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
}

/** Neither descends the other: each has seen a write the other has not. */
export function concurrent(a: Clock, b: Clock): boolean {
  const { aAhead, bAhead } = aheadFlags(a, b);
  return aAhead && bAhead;
}

/** 'left' when a dominates b, 'right' when b dominates a. Exactly one outcome holds. */
export function compareClocks(a: Clock, b: Clock): ClockOrder {
  const { aAhead, bAhead } = aheadFlags(a, b);
  if (aAhead) return bAhead ? 'concurrent' : 'left';
  return bAhead ? 'right' : 'equal';
}

/** The least upper bound: pointwise max of counters, max of lastModified. */
export function mergeClocks(a: Clock, b: Clock): Clock {
  const ea = a.entries;
  const eb = b.entries;
  const out: ClockEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < ea.length && j < eb.length) {
    const x = ea[i]!;
    const y = eb[j]!;
    const d = compareActors(x[0], y[0]);
    if (d === 0) {
      out.push(x[1] >= y[1] ? x : y);
      i++;
      j++;
    } else if (d < 0) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  while (i < ea.length) out.push(ea[i++]!);
  while (j < eb.length) out.push(eb[j++]!);
  return { entries: out, lastModified: Math.max(a.lastModified, b.lastModified) };
}

/** JSON form used by the CLI and JSONL files: `[["actor", counter], …]`. */
export function clockEntriesToJson(clock: Clock): Array<[string, number]> {
  return clock.entries.map(([a, c]) => [a, c]);
}
