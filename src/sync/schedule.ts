/**
 * The sync schedule: which check runs when, over a repeating period (a day by default).
 *
 * As Riak's full-sync manager (riak_kv_ttaaefs_manager) does it: an operator says how many checks
 * of each kind a period should hold ("all=1,hour=23": one full check and 23 checks of the last
 * hour a day). The period is cut into that many equal slices; each period the checks are dealt to
 * the slices in a fresh random order, so a full check does not always land at the same hour and
 * two managers started together drift apart. A check starts at its slice's beginning plus a jitter
 * of up to a minute (never more than a tenth of a slice), so that several syncs on one host do not
 * start their folds in the same second.
 *
 * The first period starts at the next slice boundary, counted from midnight UTC (for a period that
 * divides a day; from the epoch otherwise), so a restart keeps the same grid of start times. A
 * check whose time has already passed when the manager reaches it (the previous one ran long, or
 * the host slept) is skipped, not run late: late checks would pile onto the next ones.
 *
 * Everything here is pure; the manager sleeps, runs and persists.
 */
import { AaeError, quote } from '../errors.js';

/** The kinds of check (see checks.ts for what each compares). */
export const WORK_ITEMS = ['all', 'day', 'hour', 'range', 'auto', 'none'] as const;
export type WorkItem = (typeof WORK_ITEMS)[number];

/** How many checks of each kind one period holds. */
export type ScheduleWants = Readonly<Record<WorkItem, number>>;

export interface ScheduledCheck {
  /** When it starts (ms since the epoch). */
  at: number;
  item: WorkItem;
  /** 1-based slice of its period. */
  slice: number;
}

export const DAY_MS = 86_400_000;
/** Riak's SCHEDULE_JITTER: up to a minute after the slice boundary. */
const MAX_JITTER_MS = 60_000;
/** A slice of a few seconds (tests, demos) jitters by at most a tenth of itself. */
const JITTER_SHARE = 0.1;
/** Checks a period may hold: one a minute over a day is already far more than a sync needs. */
export const MAX_SLICES = 1440;

/** `"all=1,hour=23"` → wants (kinds not named are 0). Order and spaces do not matter. */
export function parseSchedule(text: string): ScheduleWants {
  const wants: Record<WorkItem, number> = { all: 0, day: 0, hour: 0, range: 0, auto: 0, none: 0 };
  const seen = new Set<string>();
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([a-z]+)\s*=\s*(\d+)$/.exec(part);
    if (m === null) throw new AaeError('INVALID_ARGUMENT', `schedule: ${quote(part)} is not kind=count (kinds: ${WORK_ITEMS.join(', ')})`);
    const kind = m[1]!;
    if (!(WORK_ITEMS as readonly string[]).includes(kind)) {
      throw new AaeError('INVALID_ARGUMENT', `schedule: unknown check ${quote(kind)} (kinds: ${WORK_ITEMS.join(', ')})`);
    }
    if (seen.has(kind)) throw new AaeError('INVALID_ARGUMENT', `schedule: '${kind}' is given twice`);
    seen.add(kind);
    wants[kind as WorkItem] = Number(m[2]);
  }
  return validateWants(wants);
}

export function validateWants(wants: ScheduleWants): ScheduleWants {
  const total = sliceCount(wants);
  for (const item of WORK_ITEMS) {
    const n = wants[item];
    if (!Number.isSafeInteger(n) || n < 0) throw new AaeError('INVALID_ARGUMENT', `schedule: '${item}' must be a count ≥ 0, got ${n}`);
  }
  if (total - wants.none < 1) throw new AaeError('INVALID_ARGUMENT', 'schedule: at least one check a period besides none (e.g. all=1,hour=23)');
  if (total > MAX_SLICES) throw new AaeError('INVALID_ARGUMENT', `schedule: ${total} checks a period; at most ${MAX_SLICES}`);
  return { ...wants };
}

export function sliceCount(wants: ScheduleWants): number {
  return WORK_ITEMS.reduce((n, item) => n + wants[item], 0);
}

/** `"all=1,hour=23"`: the kinds with a count, in WORK_ITEMS order. */
export function formatSchedule(wants: ScheduleWants): string {
  return WORK_ITEMS.filter((i) => wants[i] > 0)
    .map((i) => `${i}=${wants[i]}`)
    .join(',');
}

/** The checks of one period, dealt to its slices in a random order: slice i+1 runs `order[i]`. */
export function dealSlices(wants: ScheduleWants, random: () => number): WorkItem[] {
  const order = WORK_ITEMS.flatMap((item) => Array.from({ length: wants[item] }, () => item));
  // Fisher–Yates: every order equally likely.
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * The first period's start: the next slice boundary after `now`, on a grid anchored at midnight
 * UTC when the period divides a day, at the epoch otherwise.
 */
export function firstPeriodStart(now: number, periodMs: number, slices: number): number {
  const sliceMs = periodMs / slices;
  const anchor = DAY_MS % periodMs === 0 ? Math.floor(now / DAY_MS) * DAY_MS : 0;
  return anchor + (Math.floor((now - anchor) / sliceMs) + 1) * sliceMs;
}

/** The checks of the period starting at `start`, in time order. */
export function planPeriod(wants: ScheduleWants, start: number, periodMs: number, random: () => number): ScheduledCheck[] {
  const order = dealSlices(wants, random);
  const sliceMs = periodMs / order.length;
  const jitterMs = Math.min(MAX_JITTER_MS, sliceMs * JITTER_SHARE);
  return order.map((item, i) => ({ at: Math.floor(start + i * sliceMs + random() * jitterMs), item, slice: i + 1 }));
}

export interface DurationUnits {
  ms: number;
  s: number;
  m: number;
  h: number;
  d: number;
}

const UNIT_MS: DurationUnits = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };

/** `"24h"`, `"90m"`, `"10s"`, `"500ms"` → ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (m === null) throw new AaeError('INVALID_ARGUMENT', `${quote(text)} is not a duration (e.g. 24h, 90m, 30s, 500ms)`);
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof DurationUnits];
  if (!Number.isFinite(ms) || ms < 1) throw new AaeError('INVALID_ARGUMENT', `${quote(text)} is not a positive duration`);
  return Math.round(ms);
}
