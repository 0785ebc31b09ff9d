/**
 * What each kind of check compares, and what a check leaves for the next one.
 *
 * - `all`: the whole data set, by the cached trees. Its cost does not grow with the data while the
 *   clusters agree (a 16 KiB root each side, then a confirmation), so it is the check to run most
 *   often when it is affordable to walk many segments on the day something breaks.
 * - `day`, `hour`: only objects last modified in the last 24 hours or hour, by trees a fold builds
 *   over those objects. They catch fresh drift (a replication queue that dropped writes) and say
 *   nothing about older data. A fold reads every head, so their cost grows with the data.
 * - `range`: objects modified since the start of the last check that ended in sync (plus five
 *   seconds past now, so that consecutive ranges overlap rather than leave a gap), or, when the
 *   last check did not end in sync, the span of lastModified times it found differing. Without
 *   either there is nothing to narrow to, and the slice is skipped.
 * - `auto`: a range check whenever one is possible; otherwise a full check inside the operator's
 *   window of hours, and a day check outside it.
 * - `none`: nothing; the slice stays empty (a quiet period).
 *
 * Unlike Riak's manager, whose repairs are queued replication that it cannot wait for, a check here
 * repairs and exchanges again until the sides agree (or the loop limit): a check that ends in sync
 * has verified its whole scope, and is the next range check's starting point.
 *
 * Everything here is pure.
 */
import type { Difference } from '../aae/index.js';
import type { ExchangeScope } from '../exchange/index.js';
import { AaeError } from '../errors.js';
import { DAY_MS, type WorkItem } from './schedule.js';

const HOUR_MS = 3_600_000;
/** Riak's range check reaches 5 s past now, so the next one's start (this check's) overlaps it. */
const RANGE_OVERLAP_MS = 5_000;
/** A found span is widened by a second each way: lastModified is often rounded to seconds upstream. */
const SPAN_MARGIN_MS = 1_000;

/** What a sync remembers between checks (and across restarts, in its state file). */
export interface SyncState {
  /** When the last check that ended in sync started (ms); null when the last check did not. */
  previousSuccess: number | null;
  /** The lastModified span (and bucket, when one) the last unfinished check found differing. */
  range: CheckRange | null;
}

export interface CheckRange {
  bucket?: string;
  from: number;
  to: number;
}

export const INITIAL_STATE: SyncState = { previousSuccess: null, range: null };

/** Hours of the day (UTC) when `auto` may run a full check: [startHour, endHour), wrapping midnight. */
export type CheckWindow = 'always' | 'never' | { startHour: number; endHour: number };

export type ResolvedCheck =
  | { run: true; item: WorkItem; kind: 'all' | 'day' | 'hour' | 'range'; scope: ExchangeScope; why: string }
  | { run: false; item: WorkItem; why: string };

/** Decides what the check of kind `item`, starting at `now`, compares. */
export function resolveCheck(item: WorkItem, state: SyncState, now: number, window: CheckWindow): ResolvedCheck {
  switch (item) {
    case 'none':
      return { run: false, item, why: 'a quiet slice' };
    case 'all':
      return { run: true, item, kind: 'all', scope: { kind: 'full' }, why: 'every object, by the cached trees' };
    case 'day':
      return modified(item, 'day', now - DAY_MS, now, 'medium', 'objects modified in the last 24 hours');
    case 'hour':
      return modified(item, 'hour', now - HOUR_MS, now, 'small', 'objects modified in the last hour');
    case 'range':
      return rangeCheck(item, state, now) ?? { run: false, item, why: 'no range: the last check did not end in sync and found no span' };
    case 'auto': {
      const range = rangeCheck(item, state, now);
      if (range !== undefined) return range;
      if (inWindow(now, window)) return { run: true, item, kind: 'all', scope: { kind: 'full' }, why: 'auto: no range known, inside the full-check window' };
      return modified(item, 'day', now - DAY_MS, now, 'medium', 'auto: no range known, outside the full-check window: the last 24 hours');
    }
  }
}

function rangeCheck(item: WorkItem, state: SyncState, now: number): ResolvedCheck | undefined {
  if (state.range !== null) {
    const { bucket, from, to } = state.range;
    const where = bucket === undefined ? '' : ` in bucket '${bucket}'`;
    return modified(item, 'range', from, to, 'small', `the span the last check left differing${where}`, bucket);
  }
  if (state.previousSuccess !== null) {
    return modified(item, 'range', state.previousSuccess, now + RANGE_OVERLAP_MS, 'small', 'objects modified since the last check that ended in sync');
  }
  return undefined;
}

function modified(
  item: WorkItem,
  kind: 'day' | 'hour' | 'range',
  from: number,
  to: number,
  treeSize: 'small' | 'medium',
  why: string,
  bucket?: string,
): ResolvedCheck {
  const scope: ExchangeScope = { kind: 'range', treeSize, ...(bucket === undefined ? {} : { bucket }), modifiedRange: { from: Math.max(0, from), to } };
  return { run: true, item, kind, scope, why };
}

export function inWindow(now: number, window: CheckWindow): boolean {
  if (window === 'always') return true;
  if (window === 'never') return false;
  const hour = new Date(now).getUTCHours();
  const { startHour: s, endHour: e } = window;
  if (s === e) return hour === s;
  return s < e ? hour >= s && hour < e : hour >= s || hour < e;
}

/** `"always"`, `"never"`, or `"H1-H2"` (UTC hours 0–23; `22-4` wraps midnight; `3-3` is the hour 3:00–3:59). */
export function parseWindow(text: string): CheckWindow {
  if (text === 'always' || text === 'never') return text;
  const m = /^(\d{1,2})-(\d{1,2})$/.exec(text.trim());
  const startHour = Number(m?.[1]);
  const endHour = Number(m?.[2]);
  if (m === null || startHour > 23 || endHour > 23) {
    throw new AaeError('INVALID_ARGUMENT', `window: '${text}' is not always, never or H1-H2 (UTC hours 0-23)`);
  }
  return { startHour, endHour };
}

export interface CheckOutcome {
  startedAt: number;
  /** The check ran to the end and the sides agreed over its scope. */
  inSync: boolean;
  /** What its first exchange found (empty when it failed before one ended). */
  differences: readonly Difference[];
}

/**
 * The state after a check: a check that ended in sync is the next range check's start; one that
 * did not leaves the lastModified span of what it found (with its bucket, when all were in one).
 * A skipped slice changes nothing.
 */
export function afterCheck(outcome: CheckOutcome): SyncState {
  if (outcome.inSync) return { previousSuccess: outcome.startedAt, range: null };
  return { previousSuccess: null, range: spanOf(outcome.differences) };
}

export function spanOf(differences: readonly Difference[]): CheckRange | null {
  let from = Infinity;
  let to = -Infinity;
  const buckets = new Set<string>();
  for (const d of differences) {
    buckets.add(d.bucket);
    for (const c of [d.blue, d.pink]) {
      if (c === null) continue;
      from = Math.min(from, c.lastModified);
      to = Math.max(to, c.lastModified);
    }
  }
  if (from > to) return null;
  const span = { from: Math.max(0, from - SPAN_MARGIN_MS), to: to + SPAN_MARGIN_MS };
  return buckets.size === 1 ? { bucket: [...buckets][0]!, ...span } : span;
}
