/**
 * The sync loop: keeps two clusters agreeing on a schedule, until its signal fires or it has run
 * the checks it was asked for.
 *
 * Period after period it deals the schedule's checks to slices (schedule.ts), waits for each
 * slice, decides what the check compares from what the last one left (checks.ts), runs it
 * (run-check.ts) and hands the report and the new state to the caller, who persists it before the
 * next wait. A slice whose time has passed when the loop reaches it, or when its wait ends (the
 * host slept), is skipped and reported as late: a manager running late should shed load, not run
 * its backlog back to back. Unlike Riak's manager, a late slice keeps the span the last check
 * left: a range check over it is the cheapest check there is, and nothing else would cover it.
 *
 * Time, sleeping and randomness are injected, so a test can run a week of schedule in a second.
 */
import { AaeError, throwIfAborted } from '../errors.js';
import { resolveCheck, type CheckWindow, type SyncState } from './checks.js';
import { runCheck, type CheckReport, type RunCheckOptions } from './run-check.js';
import { DAY_MS, firstPeriodStart, planPeriod, sliceCount, validateWants, type ScheduledCheck, type ScheduleWants } from './schedule.js';

export interface SyncLoopOptions extends RunCheckOptions {
  wants: ScheduleWants;
  /** The schedule's period (default a day). */
  periodMs?: number;
  /** When `auto` may choose a full check (default always). */
  window?: CheckWindow;
  /** Limit every check to one bucket (default: all buckets). */
  bucket?: string;
  state: SyncState;
  /** Called after every slice, before the next wait: persist here (a rejection stops the loop). */
  onCheck?: (report: CheckReport, scheduled: ScheduledCheck) => void | Promise<void>;
  /** Called when the loop starts waiting for a slice. */
  onWait?: (next: ScheduledCheck) => void;
  /** Stop after this many checks have run (skipped slices do not count; default: never). */
  maxChecks?: number;
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  random?: () => number;
  /** Runs one check (default runCheck); injected by tests of the loop alone. */
  check?: typeof runCheck;
}

export interface SyncLoopResult {
  checks: number;
  /** The report of the last check that ran, if any. */
  last: CheckReport | undefined;
  state: SyncState;
}

/** A slice is late once its start time is this far behind: the loop woke late, not the check. */
const LATE_AFTER_MS = 1_000;

export async function runSyncLoop(options: SyncLoopOptions): Promise<SyncLoopResult> {
  const wants = validateWants(options.wants);
  const periodMs = options.periodMs ?? DAY_MS;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const window = options.window ?? 'always';
  const check = options.check ?? runCheck;
  let state = options.state;
  let checks = 0;
  let last: CheckReport | undefined;
  const done = (): boolean => options.maxChecks !== undefined && checks >= options.maxChecks;

  for (let start = firstPeriodStart(now(), periodMs, sliceCount(wants)); !done(); start += periodMs) {
    for (const slot of planPeriod(wants, start, periodMs, random)) {
      throwIfAborted(options.signal);
      let report: CheckReport;
      if (now() - slot.at > LATE_AFTER_MS) {
        report = lateReport(slot, now(), state);
      } else {
        options.onWait?.(slot);
        await sleep(Math.max(0, slot.at - now()), options.signal);
        if (now() - slot.at > LATE_AFTER_MS) {
          report = lateReport(slot, now(), state);
        } else {
          report = await check(resolveCheck(slot.item, state, now(), window, options.bucket === undefined ? {} : { bucket: options.bucket }), state, options);
          state = report.state;
          if (report.outcome !== 'skipped') {
            checks++;
            last = report;
          }
        }
      }
      await options.onCheck?.(report, slot);
      if (done()) break;
    }
  }
  return { checks, last, state };
}

function lateReport(slot: ScheduledCheck, now: number, state: SyncState): CheckReport {
  const behind = Math.round((now - slot.at) / 1000);
  return {
    item: slot.item,
    why: `late: its slice began ${behind} s ago (the previous check ran long, or the host slept); skipped to shed load`,
    startedAt: now,
    durationMs: 0,
    outcome: 'skipped',
    differences: 0,
    repaired: { keys: 0, writes: 0, conflicts: 0 },
    loops: 0,
    state,
  };
}

/** setTimeout's longest wait (a signed 32-bit count of ms, about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves after `ms`, or rejects ABORTED as soon as the signal fires; any length of wait. */
export async function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  let left = Math.max(0, ms);
  do {
    const step = Math.min(left, MAX_TIMER_MS);
    await timer(step, signal);
    left -= step;
  } while (left > 0);
}

function timer(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = (): void => {
      clearTimeout(timer);
      reject(new AaeError('ABORTED', 'operation aborted', { cause: signal?.reason }));
    };
    if (signal?.aborted) return abort();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', abort, { once: true });
  });
}
