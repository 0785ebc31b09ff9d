/**
 * What each kind of check compares, and what a check leaves for the next one.
 *
 * - `all`: the whole data set, by the cached trees. Its cost does not grow with the data while the
 *   clusters agree (a 16 KiB root each side, then a confirmation), so it is the check to run most
 *   often when it is affordable to walk many segments on the day something breaks.
 * - `day`, `hour`: only objects last modified in the last 24 hours or hour, by trees a fold builds
 *   over those objects. They catch fresh drift (a replication queue that dropped writes) and say
 *   nothing about older data. A fold reads every head, so their cost grows with the data.
 * - `range`: the span of lastModified times an unfinished check left differing, if there is one;
 *   else objects modified since the sync's watermark (plus five seconds past now, so consecutive
 *   ranges overlap rather than leave a gap). Without either the slice is skipped.
 * - `auto`: the span when there is one; a full check (inside the operator's window of hours, a
 *   day check outside it) when the last unfinished check left damage it could not place, or when
 *   there is no watermark; otherwise a range check since the watermark.
 * - `none`: nothing; the slice stays empty (a quiet period).
 *
 * The state a check leaves (afterCheck):
 * - The watermark (`previousSuccess`) is a time before which every object was found to agree. A
 *   check that ends in sync moves it up only as far as the check looked without a gap from the old
 *   watermark: a full check moves it to the check's start; a range or day check whose window
 *   starts at or before the watermark moves it to the window's end; a check over a left span, a
 *   bucket, or a window that starts after the watermark leaves it where it was (it did not look
 *   at everything since). Unlike Riak's manager, whose repairs are queued replication it cannot
 *   wait for, a check here repairs and exchanges again until the sides agree, so a check that
 *   repaired keys and ended in sync counts.
 * - A check that ends with differences left keeps the watermark, records the span of what it
 *   found (for the next range check to look at first), and marks a full check due: it may have
 *   left damage it never listed, anywhere. Only a full check that ends in sync clears that mark.
 * - A check that failed (a locked or failing store) verified nothing and disproved nothing: the
 *   state stays as it was.
 *
 * Everything here is pure.
 */
import type { Difference } from '../aae/index.js';
import type { ExchangeScope } from '../exchange/index.js';
import { AaeError, quote } from '../errors.js';
import { DAY_MS, type WorkItem } from './schedule.js';

const HOUR_MS = 3_600_000;
/** Riak's range check reaches 5 s past now, so the next one's start (this check's) overlaps it. */
const RANGE_OVERLAP_MS = 5_000;
/** A found span is widened by a second each way: lastModified is often rounded to seconds upstream. */
const SPAN_MARGIN_MS = 1_000;

/** What a sync remembers between checks (and across restarts, in its state file). */
export interface SyncState {
  /** The watermark: every object modified before it was found to agree (ms); null: none yet. */
  previousSuccess: number | null;
  /** The lastModified span (and bucket, when one) the last unfinished check found differing. */
  range: CheckRange | null;
  /** An unfinished check may have left damage it could not place: auto runs a full check next. */
  fullCheckDue?: boolean;
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
  | {
      run: true;
      item: WorkItem;
      kind: 'all' | 'day' | 'hour' | 'range';
      scope: ExchangeScope;
      why: string;
      /** The one bucket the whole sync is limited to, when it is (every check's scope names it). */
      syncBucket?: string;
    }
  | { run: false; item: WorkItem; why: string };

/** What the sync as a whole covers: every bucket (default), or one. */
export interface SyncScope {
  bucket?: string;
}

/**
 * Decides what the check of kind `item`, starting at `now`, compares. A sync limited to one
 * bucket limits every check to it; its full check is then a tree a fold builds over the bucket
 * (every head is read: heads are kept in segment order, not by bucket), as Riak's bucket scope.
 */
export function resolveCheck(item: WorkItem, state: SyncState, now: number, window: CheckWindow, sync: SyncScope = {}): ResolvedCheck {
  const b = sync.bucket;
  /** The full check, its `why` prefixed by what chose it (auto). */
  const full = (chosenBy = ''): ResolvedCheck =>
    b === undefined
      ? { run: true, item, kind: 'all', scope: { kind: 'full' }, why: `${chosenBy}every object, by the cached trees` }
      : { run: true, item, kind: 'all', scope: { kind: 'range', treeSize: 'large', bucket: b }, why: `${chosenBy}every object of bucket '${b}', by a tree folded over it`, syncBucket: b };
  switch (item) {
    case 'none':
      return { run: false, item, why: 'a quiet slice' };
    case 'all':
      return full();
    case 'day':
      return modified(item, 'day', now - DAY_MS, now, 'medium', 'objects modified in the last 24 hours', b);
    case 'hour':
      return modified(item, 'hour', now - HOUR_MS, now, 'small', 'objects modified in the last hour', b);
    case 'range':
      return spanCheck(item, state, b) ?? sinceCheck(item, state, now, b) ?? { run: false, item, why: 'no range: no watermark yet and no span left to look at' };
    case 'auto': {
      const span = spanCheck(item, state, b);
      if (span !== undefined) return span;
      const since = state.fullCheckDue === true ? undefined : sinceCheck(item, state, now, b);
      if (since !== undefined) return since;
      const reason = state.fullCheckDue === true ? 'the last unfinished check may have left damage elsewhere' : 'no watermark yet';
      if (inWindow(now, window)) return full(`auto: ${reason}; inside the full-check window: `);
      return modified(item, 'day', now - DAY_MS, now, 'medium', `auto: ${reason}; outside the full-check window: the last 24 hours`, b);
    }
  }
}

function spanCheck(item: WorkItem, state: SyncState, syncBucket: string | undefined): ResolvedCheck | undefined {
  if (state.range === null) return undefined;
  const { bucket, from, to } = state.range;
  const where = bucket === undefined ? '' : ` in bucket '${bucket}'`;
  return modified(item, 'range', from, to, 'small', `the span the last unfinished check left differing${where}`, syncBucket, bucket);
}

function sinceCheck(item: WorkItem, state: SyncState, now: number, syncBucket: string | undefined): ResolvedCheck | undefined {
  // A watermark ahead of the clock (the clock was set back, or the state came from a host whose
  // clock ran fast) vouches for nothing here: act as if there were none, so a full check runs.
  if (state.previousSuccess === null || state.previousSuccess > now) return undefined;
  return modified(item, 'range', state.previousSuccess, now + RANGE_OVERLAP_MS, 'small', 'objects modified since the watermark (the last check that looked at everything)', syncBucket);
}

function modified(
  item: WorkItem,
  kind: 'day' | 'hour' | 'range',
  from: number,
  to: number,
  treeSize: 'small' | 'medium',
  why: string,
  syncBucket: string | undefined,
  spanBucket?: string,
): ResolvedCheck {
  const bucket = syncBucket ?? spanBucket;
  const scope: ExchangeScope = { kind: 'range', treeSize, ...(bucket === undefined ? {} : { bucket }), modifiedRange: { from: Math.max(0, from), to } };
  return { run: true, item, kind, scope, why, ...(syncBucket === undefined ? {} : { syncBucket }) };
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
    throw new AaeError('INVALID_ARGUMENT', `window: ${quote(text)} is not always, never or H1-H2 (UTC hours 0-23)`);
  }
  return { startHour, endHour };
}

export interface CheckOutcome {
  startedAt: number;
  /** The check ran to the end and the sides agreed over its scope. */
  inSync: boolean;
  /** What its first exchange found (empty when it found nothing it could list). */
  differences: readonly Difference[];
}

/** The state after a check that ran to its end (a failed check leaves the state as it was). */
export function afterCheck(check: Extract<ResolvedCheck, { run: true }>, before: SyncState, outcome: CheckOutcome): SyncState {
  if (!outcome.inSync) {
    return { previousSuccess: before.previousSuccess, range: spanOf(outcome.differences) ?? before.range, fullCheckDue: true };
  }
  const scope = check.scope;
  // Everything the sync covers: all buckets, or its one bucket.
  const everything = check.kind === 'all';
  // A bucket narrower than the sync's: the check did not look at everything.
  const bucket = scope.kind === 'range' && scope.bucket !== check.syncBucket ? scope.bucket : undefined;
  const from = scope.kind === 'range' ? scope.modifiedRange?.from ?? 0 : 0;
  const to = scope.kind === 'range' ? scope.modifiedRange?.to ?? Infinity : Infinity;
  const w = before.previousSuccess;
  // Looked at every object modified from the watermark (or from the beginning) up to `to`?
  const gapless = scope.kind === 'range' && scope.keyRange === undefined && bucket === undefined && (w === null ? from === 0 : from <= w);
  const watermark = everything ? outcome.startedAt : gapless ? Math.max(w ?? 0, Math.min(to, outcome.startedAt)) : w;
  const span = before.range;
  const coversSpan = span !== null && (everything || (from <= span.from && to >= span.to && (bucket === undefined || bucket === span.bucket)));
  return {
    previousSuccess: watermark,
    range: coversSpan ? null : span,
    ...(before.fullCheckDue === true && !everything ? { fullCheckDue: true } : {}),
  };
}

export function spanOf(differences: readonly Difference[]): CheckRange | null {
  let from = Infinity;
  let to = -Infinity;
  const buckets = new Set<string>();
  for (const d of differences) {
    buckets.add(d.bucket);
    for (const v of [d.source, d.sink]) {
      if (v === null) continue;
      from = Math.min(from, v.clock.lastModified);
      to = Math.max(to, v.clock.lastModified);
    }
  }
  if (from > to) return null;
  const span = { from: Math.max(0, from - SPAN_MARGIN_MS), to: to + SPAN_MARGIN_MS };
  return buckets.size === 1 ? { bucket: [...buckets][0]!, ...span } : span;
}
