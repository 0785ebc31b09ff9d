/**
 * One structured log line, the shape every layer that logs hands to its caller: a stable code an
 * operator can grep and alert on, a level, a fixed message per code, and fields. Where the lines
 * go (pino's JSON on stderr, a test's array) is the caller's `LogSink`; a library writes nothing
 * by itself.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogLine {
  code: string;
  level: LogLevel;
  message: string;
  fields: Record<string, string | number | boolean>;
}

export type LogSink = (line: LogLine) => void;

export const silent: LogSink = () => undefined;
