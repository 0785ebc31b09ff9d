/**
 * The plugin host's log lines, with stable codes an operator can grep: the same `{code, level,
 * message, fields}` shape as the node server's lines (src/net/log.ts), so one sink serves both.
 */
import type { LogLevel, LogLine } from '../log-line.js';

export { silent, type LogLevel, type LogLine, type LogSink } from '../log-line.js';

export const PLUGIN_LOG_CODES = {
  PL001: 'plugin loaded: serving',
  PL002: 'plugin refused: built for another plugin API (never loaded)',
  PL003: 'plugin refused: its manifest or module is invalid, or it failed to load (a previous version keeps serving)',
  PL004: 'plugin removed from the plugin directory: retiring',
  PL005: 'plugin version retired: its last fold finished, its workers stopped',
  PL006: 'plugin call failed: its worker was replaced (a deadline passed, or the worker died)',
  PL007: 'plugin directory watched',
  PL008: 'plugin refused: it mutates, and this node does not allow mutating plugins',
  PL009: 'plugin directory rescan failed',
} as const;

export type PluginLogCode = keyof typeof PLUGIN_LOG_CODES;

export function pluginLine(code: PluginLogCode, level: LogLevel, fields: LogLine['fields'] = {}): LogLine {
  return { code, level, message: PLUGIN_LOG_CODES[code], fields };
}
