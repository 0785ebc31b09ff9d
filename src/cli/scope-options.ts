import type { Command } from 'commander';
import { MAX_N_VAL, TREE_SIZE_NAMES, type ClusterSpec } from '../cluster/index.js';
import { AaeError, quote } from '../errors.js';
import type { ExchangeScope } from '../exchange/index.js';
import type { TreeSize } from '../tictac/index.js';
import { parseChoice, parseIntOption } from './parse.js';

/** The options compare, repair and inspect share: what to compare, and how the exchange runs. */
export interface ScopeOptions {
  nVal?: number;
  bucket?: string;
  keyRange?: { start: Uint8Array; end: Uint8Array };
  modifiedRange?: { from: number; to: number };
  rangeTreeSize: TreeSize;
  maxResults?: number;
  pauseMs: number;
  offset?: number;
  sinkOffset?: number;
  json?: boolean;
}

const encoder = new TextEncoder();

function parseKeyRange(raw: string): { start: Uint8Array; end: Uint8Array } {
  const i = raw.indexOf('..');
  if (i < 0) throw new AaeError('USAGE', `--key-range takes A..B (inclusive), got ${quote(raw)}`);
  const start = encoder.encode(raw.slice(0, i));
  const end = encoder.encode(raw.slice(i + 2));
  if (Buffer.compare(start, end) > 0) throw new AaeError('USAGE', `--key-range: ${quote(raw.slice(0, i))} sorts after ${quote(raw.slice(i + 2))}`);
  return { start, end };
}

function parseTime(s: string, what: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new AaeError('USAGE', `${what}: ${quote(s)} is neither milliseconds nor an ISO date`);
  return t;
}

function parseModifiedRange(raw: string): { from: number; to: number } {
  const i = raw.indexOf('..');
  if (i < 0) throw new AaeError('USAGE', `--modified-range takes T1..T2 (ms or ISO dates, inclusive), got ${quote(raw)}`);
  const from = parseTime(raw.slice(0, i), '--modified-range');
  const to = parseTime(raw.slice(i + 2), '--modified-range');
  if (from > to) throw new AaeError('USAGE', '--modified-range: the start is after the end');
  return { from, to };
}

/** Help texts a command words its own way (compare's --max-results means one exchange only). */
export interface ScopeHelp {
  maxResults?: string;
  /** Without the exchange's tuning flags (inspect looks once, without pauses or caps). */
  noTuning?: boolean;
}

export function addScopeOptions(cmd: Command, help: ScopeHelp = {}): Command {
  const scoped = cmd
    .option('--n-val <n>', "compare this nVal's trees (each cluster holds one nVal: it must match)", parseIntOption('--n-val', 1, MAX_N_VAL))
    .option('--bucket <bucket>', 'a partial exchange: only this bucket (trees built by a fold)')
    .option('--key-range <A..B>', 'a partial exchange: only keys from A to B inclusive (with --bucket)', parseKeyRange)
    .option('--modified-range <T1..T2>', 'a partial exchange: only objects last modified in [T1, T2] (ms or ISO dates)', parseModifiedRange)
    .option('--range-tree-size <size>', `tree size of a partial exchange: ${TREE_SIZE_NAMES.join(', ')}`, parseChoice('--range-tree-size', TREE_SIZE_NAMES), 'small');
  return (help.noTuning === true ? scoped : addExchangeTuningOptions(scoped, help))
    .option('--offset <k>', "the source's coverage offset (fixes which replicas answer; default random)", parseIntOption('--offset', 0, 1024 * MAX_N_VAL - 1))
    .option('--sink-offset <k>', "the sink's coverage offset", parseIntOption('--sink-offset', 0, 1024 * MAX_N_VAL - 1));
}

/** --max-results and --pause-ms: how each exchange runs (compare, repair, inspect, sync). */
export function addExchangeTuningOptions(cmd: Command, help: ScopeHelp = {}): Command {
  return cmd
    .option('--max-results <n>', help.maxResults ?? 'segments one exchange forwards to the clock compare (default 128; a repair widens it up to 8× when damage outruns it)', parseIntOption('--max-results', 1, 1_000_000))
    .option('--pause-ms <ms>', 'pause between an exchange stage and its confirmation (writes in flight are not differences)', parseIntOption('--pause-ms', 0, 600_000), 500);
}

export function scopeOf(opts: ScopeOptions): ExchangeScope {
  if (opts.keyRange !== undefined && opts.bucket === undefined) throw new AaeError('USAGE', '--key-range needs --bucket');
  if (opts.bucket === undefined && opts.modifiedRange === undefined) return { kind: 'full' };
  return {
    kind: 'range',
    treeSize: opts.rangeTreeSize,
    ...(opts.bucket === undefined ? {} : { bucket: opts.bucket }),
    ...(opts.keyRange === undefined ? {} : { keyRange: opts.keyRange }),
    ...(opts.modifiedRange === undefined ? {} : { modifiedRange: opts.modifiedRange }),
  };
}

export function checkNVal(opts: ScopeOptions, specs: readonly ClusterSpec[]): void {
  if (opts.nVal === undefined) return;
  for (const s of specs) {
    if (s.nVal !== opts.nVal) throw new AaeError('USAGE', `--n-val ${opts.nVal}: cluster '${s.name}' holds nVal ${s.nVal}`);
  }
}

/** Exchange options from the CLI flags (offsets are the caller's: they differ per side). */
export function exchangeTuning(opts: ScopeOptions, signal?: AbortSignal) {
  return {
    ...(signal === undefined ? {} : { signal }),
    scope: scopeOf(opts),
    pauseMs: opts.pauseMs,
    ...(opts.maxResults === undefined ? {} : { maxResults: opts.maxResults }),
    ...(opts.offset === undefined ? {} : { sourceOffset: opts.offset }),
    ...(opts.sinkOffset === undefined ? {} : { sinkOffset: opts.sinkOffset }),
  };
}
