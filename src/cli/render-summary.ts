import type { BucketSummary, DifferenceKind, SideCounts, SummaryJson } from '../aae/index.js';
import type { OutStream } from './out-stream.js';
import { printTable } from './output.js';

/**
 * The summary that opens compare, inspect and repair: differences by bucket and kind, and by the
 * side ahead, in the clusters' own names. JSON keeps `source` / `sink` as keys (stable for
 * scripts, whatever the clusters are called) and names the clusters beside them.
 */

/** How the two sides are called: the clusters' names, or replica A and B inside one cluster. */
export interface SideNames {
  source: string;
  sink: string;
  /**
   * Whether each side erases deletes (a keystore keeps no tombstone): a key absent there may have
   * been deleted there rather than never written, so "the other side is ahead" says too much.
   */
  erases?: { source: boolean; sink: boolean };
}

/** Bucket rows a screen shows; the JSON has them all. */
export const SHOWN_BUCKETS = 20;

const n = (x: number): string => x.toLocaleString('en-US');

export function aheadText(ahead: SideCounts, names: SideNames): string {
  const parts = [`${names.source} ahead ${n(ahead.source)}`, `${names.sink} ahead ${n(ahead.sink)}`];
  if (ahead.both > 0) parts.push(`concurrent ${n(ahead.both)}`);
  return parts.join(' · ');
}

function kindTotal(k: SideCounts): number {
  return k.source + k.sink + k.both;
}

function row(b: BucketSummary): Array<string | number> {
  const k = b.kinds;
  return [b.bucket, n(b.total), n(k.missing.source), n(k.missing.sink), n(k.newer.source), n(k.newer.sink), n(kindTotal(k.concurrent)), n(kindTotal(k.tombstone))];
}

/**
 * `what` names the set ("differences", "differences found by the first exchange"); `partial`,
 * when set, says why the counts are not the whole picture and how to get it.
 */
export function printSummary(out: OutStream, s: SummaryJson, names: SideNames, what = 'differences', partial?: string): void {
  if (s.total === 0) return;
  out.write(`${what}: ${n(s.total)} (${aheadText(s.ahead, names)})${partial === undefined ? '' : ` — ${partial}`}\n`);
  const head = ['bucket', what === 'differences' ? 'differences' : 'found', `missing on ${names.sink}`, `missing on ${names.source}`, `${names.source} newer`, `${names.sink} newer`, 'concurrent', 'tombstone vs value'];
  const rows = s.buckets.slice(0, SHOWN_BUCKETS).map(row);
  if (s.buckets.length > 1) rows.push(row({ bucket: '(all buckets)', total: s.total, kinds: s.kinds }));
  printTable(out, head, rows);
  if (s.buckets.length > SHOWN_BUCKETS) out.write(`… and ${s.buckets.length - SHOWN_BUCKETS} more bucket(s) (--json lists them all)\n`);
}

/** The summary as JSON, with the sides renamed for replica comparisons (a / b). */
export function summaryJson(s: SummaryJson, keys: { source: string; sink: string } = { source: 'source', sink: 'sink' }) {
  const side = (c: SideCounts) => ({ [keys.source]: c.source, [keys.sink]: c.sink, both: c.both });
  const kinds = (k: Record<DifferenceKind, SideCounts>) => ({
    missing: side(k.missing),
    tombstone: side(k.tombstone),
    concurrent: kindTotal(k.concurrent),
    newer: side(k.newer),
  });
  return {
    total: s.total,
    ahead: side(s.ahead),
    kinds: kinds(s.kinds),
    buckets: s.buckets.map((b) => ({ bucket: b.bucket, total: b.total, kinds: kinds(b.kinds) })),
  };
}
