import { SingleBar } from 'cli-progress';
import type { OutStream } from './out-stream.js';
import type { Logger } from './log.js';

/**
 * Progress for long work (load, compare, repair, sync checks, folds, inspect), on stderr:
 * - on a TTY, a bar (cli-progress) that redraws in place;
 * - otherwise (a pipe, a log file, cron, CI), a progress record: a pino line
 *   `{"level":"info","code":"PR001","task":"compare","done":…,"total":…,"msg":"progress"}` when
 *   the task starts and one every `everyMs` while it runs, so a job that runs for minutes shows it
 *   is alive, in the same format as the logs; then one record of how the command ended: `PR002`
 *   ("done") when it succeeded, `PR003` ("failed", with the error's code) when it failed;
 * - nothing with `--quiet`.
 * stdout is never touched: `--json` output stays JSON only.
 *
 * A command stops its task when the work ends (`stop`, usually in a `finally`: the bar must be gone
 * before a table is printed), but only the runner knows whether the command then succeeded, so the
 * last record waits for `end` (program.ts calls it with the command's outcome). A stream that says
 * "done" and is followed by an error would tell a machine reading stderr the opposite of the exit code.
 *
 * Codes: PR001 progress (a task's start and each period), PR002 the command succeeded, PR003 it failed.
 */
export interface Progress {
  /** Work done so far, in the task's unit; `fields` are figures for the record (segments, writes…). */
  update(done: number, fields?: ProgressFields): void;
  /** The total, once it is known (a compare learns it as it walks). */
  setTotal(total: number): void;
  /** The work has ended (succeeded or not): the bar and the timer stop, `fields` are the final figures. */
  stop(fields?: ProgressFields): void;
}

/** How the command a task belonged to ended; `code` is the error's, when it had one. */
export type ProgressOutcome = { ok: true } | { ok: false; code?: string };

/** A task as its runner holds it: `end` writes the last record, once (stopping the task first if its command did not). */
export interface ProgressTask extends Progress {
  end(outcome: ProgressOutcome): void;
}

export type ProgressFields = Readonly<Record<string, string | number | boolean>>;

export interface ProgressSink {
  out: OutStream;
  /** `--quiet`: no bar, no records. */
  quiet: boolean;
  /** Where the records go on a non-TTY (a pino logger at info, whatever --log-level says). */
  records: Logger;
  /** Injected for tests. */
  now?: () => number;
  /** The period of records on a non-TTY (default 2 s: often enough to show life, rare enough for a log). */
  everyMs?: number;
  /** Injected for tests: runs `tick` every `ms` until the returned function is called (default setInterval, unref'd). */
  every?: (tick: () => void, ms: number) => () => void;
}

export const PROGRESS_EVERY_MS = 2000;
/**
 * A period with nothing new prints nothing, up to this long: then one record shows life. A
 * scheduled sync waiting an hour for its next check wrote 1,800 identical records an hour (43,000
 * a day into journald); a pass that moves prints every period as before.
 */
export const PROGRESS_QUIET_MS = 60_000;

const NONE: ProgressTask = { update() {}, setTotal() {}, stop() {}, end() {} };

export function startProgress(sink: ProgressSink, task: string, total?: number, unit = 'items'): ProgressTask {
  if (sink.quiet) return NONE;
  return sink.out.isTTY ? bar(sink.out, task, total, unit) : records(sink, task, total, unit);
}

/** A timer that does not keep the process alive: progress must never hold a finished command open. */
function interval(tick: () => void, ms: number): () => void {
  const t = setInterval(tick, ms);
  t.unref();
  return () => clearInterval(t);
}

function records(sink: ProgressSink, task: string, total: number | undefined, unit: string): ProgressTask {
  const now = sink.now ?? Date.now;
  const started = now();
  let done = 0;
  let known = total;
  let extra: ProgressFields = {};
  /** When the work stopped: the last record's elapsedMs is the work's, not the time to print its results. */
  let stoppedAt: number | undefined;
  let ended = false;
  /** Whether anything changed since the last record, and when that was. */
  let fresh = false;
  let lastAt = started;
  const emit = (code: 'PR001' | 'PR002' | 'PR003', msg: string, more: ProgressFields = {}): void => {
    const elapsedMs = (stoppedAt ?? now()) - started;
    fresh = false;
    lastAt = now();
    sink.records.info({ code, task, done, ...(known === undefined ? {} : { total: known }), unit, elapsedMs, ...extra, ...more }, msg);
  };
  emit('PR001', 'progress');
  // On a clock, not on updates: a long phase that reports nothing (a range pass) still shows
  // life, once a PROGRESS_QUIET_MS; one that moves, every period.
  const tick = (): void => {
    if (fresh || now() - lastAt >= PROGRESS_QUIET_MS) emit('PR001', 'progress');
  };
  const cancel = (sink.every ?? interval)(tick, sink.everyMs ?? PROGRESS_EVERY_MS);
  const stop = (fields?: ProgressFields): void => {
    if (stoppedAt !== undefined) return;
    stoppedAt = now();
    cancel();
    if (fields !== undefined) extra = { ...extra, ...fields };
  };
  return {
    update(n, fields) {
      done = n;
      fresh = true;
      if (fields !== undefined) extra = { ...extra, ...fields };
    },
    setTotal(n) {
      known = n;
      fresh = true;
    },
    stop,
    end(outcome) {
      if (ended) return;
      ended = true;
      stop();
      if (outcome.ok) emit('PR002', 'done');
      else emit('PR003', 'failed', outcome.code === undefined ? {} : { error: outcome.code });
    },
  };
}

function bar(out: OutStream, task: string, total: number | undefined, unit: string): ProgressTask {
  // A bar needs its total: until a task knows it (a compare learns it from the tree rounds), nothing is drawn.
  let b: SingleBar | undefined;
  let done = 0;
  let stopped = false;
  const begin = (n: number): void => {
    b = new SingleBar({
      format: `${task} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`,
      stream: out as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: false,
    });
    b.start(n, done);
  };
  if (total !== undefined && total > 0) begin(total);
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    b?.stop();
  };
  return {
    update(n) {
      done = n;
      b?.update(n);
    },
    setTotal(n) {
      if (n <= 0 || stopped) return;
      if (b === undefined) begin(n);
      else b.setTotal(n);
    },
    stop,
    // A bar claims nothing: the error (or the result) is printed after it.
    end: stop,
  };
}
