/**
 * Log lines of the node server, with stable codes an operator can grep (and alert on). The server
 * only calls a LogSink: the CLI hands it a pino logger's adapter (pinoSink in src/cli), a test a
 * list, the library nothing. One line is `{ code, level, message, fields }`, the shape of the
 * exchange's own log lines (src/exchange/log.ts).
 */
import type { LogLevel, LogLine } from '../log-line.js';

export { silent, type LogLevel, type LogLine, type LogSink } from '../log-line.js';

export const NET_LOG_CODES = {
  NS001: 'node server listening',
  NS002: 'connection dropped: its bytes are not gRPC',
  NS003: 'request refused: it does not decode or is not valid',
  NS004: 'request refused: over a limit',
  NS005: 'draining: no new connections, waiting for requests in flight',
  NS006: 'node server stopped',
  NS007: 'request failed on the node',
  NS008: 'connection opened',
  NS009: 'connection closed with an error (a failed TLS handshake, a reset, a protocol error)',
  NS010: 'metrics and health listening',
  NS011: 'node closed, its trees saved',
} as const;

export type NetLogCode = keyof typeof NET_LOG_CODES;

export function logLine(code: NetLogCode, level: LogLevel, fields: LogLine['fields'] = {}): LogLine {
  return { code, level, message: NET_LOG_CODES[code], fields };
}
