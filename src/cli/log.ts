import { pino, type Logger } from 'pino';
import type { LogSink } from '../net/index.js';
import type { OutStream } from './io.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type CliLogLevel = (typeof LOG_LEVELS)[number];

/** A pino logger writing JSON lines to `out` (stderr): one object a line, with the line's stable `code`. */
export function jsonLogger(out: OutStream, level: CliLogLevel, base: Record<string, string> = {}): Logger {
  return pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, { write: (s: string) => void out.write(s) });
}

/** The library's log lines (LogSink) through a pino logger. */
export function pinoSink(logger: Logger): LogSink {
  return (line) => logger[line.level]({ code: line.code, ...line.fields }, line.message);
}
