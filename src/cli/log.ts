/**
 * The CLI's logs: JSON lines on stderr (pino), one format for people grepping codes and for
 * machines. The library never prints; it hands coded lines to loggers it is given (the exchange's
 * EX codes, src/exchange/log.ts), and this file turns them into pino calls.
 *
 * Two loggers share stderr:
 * - `log`, at `--log-level` (default warn: an operator sees large deltas, timeouts and failures;
 *   `--log-level info` adds every exchange's start, stages and end);
 * - the progress records of a long command on a non-TTY stderr (progress.ts), at info whatever the
 *   level, silenced only by `--quiet`: a job under cron or CI should show it is alive.
 * stdout is never written here, so `--json` output stays JSON only.
 */
import { pino, type Logger } from 'pino';
import type { ExchangeLogger } from '../exchange/index.js';
import type { LogSink } from '../net/index.js';
import type { OutStream } from './out-stream.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = 'warn';

export type { Logger };

/** A pino logger writing JSON lines to `out` (synchronously: a line is whole before the next). */
export function createLogger(out: OutStream, level: LogLevel): Logger {
  return pino(
    {
      level,
      // No pid or hostname: a CLI run is one process on the operator's machine.
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names, not numbers: `grep '"level":"warn"'` is what an operator types.
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: (line: string) => void out.write(line) },
  );
}

/** The exchange's coded lines as pino lines: `{"level", "time", "code": "EX004", …fields, "msg"}`. */
export function exchangeLogger(log: Logger): ExchangeLogger {
  return (line) => {
    if (!log.isLevelEnabled(line.level)) return;
    log[line.level]({ code: line.code, ...line.fields }, line.message);
  };
}

/** The library's log lines (a LogSink: the node server's NS codes) through a pino logger. */
export function pinoSink(logger: Logger): LogSink {
  return (line) => logger[line.level]({ code: line.code, ...line.fields }, line.message);
}
