import { z } from 'zod';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type CoverageSummary, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';
import { rangeFilter, rangeFields, type RangeQuery } from './query-parts.js';

/**
 * object_stats: how many objects a range holds, how many bytes, and how their sizes spread by
 * power of ten (Riak's object_stats, less the sibling histogram: the store keeps one version per
 * key). Magnitude m counts values of m decimal digits, i.e. sizes in [10^(m−1), 10^m); magnitude 0
 * is the empty value. Tombstones are counted apart and are not in the histogram.
 *
 * A sampled run (coverage fraction f < 1) also reports estimates for the whole cluster: each count
 * divided by f — sound because keys spread evenly over keyspaces by the partition hash.
 * Needs size only (hash_size_only); the accumulator is a fixed handful of numbers.
 */

/** Sizes are safe integers: at most 16 decimal digits, so magnitudes 0..16. */
export const MAX_MAGNITUDE = 16;

export type ObjectStatsQuery = RangeQuery;

export interface ObjectStatsAcc {
  count: number;
  totalBytes: number;
  tombstones: number;
  /** Index m: values of m decimal digits. Length MAX_MAGNITUDE + 1. */
  sizes: number[];
}

const schema = z.strictObject(rangeFields);

/** Decimal digits of a size (0 for 0), without floating-point log. */
export function magnitudeOf(size: number): number {
  let m = 0;
  for (let p = 1; size >= p && m < MAX_MAGNITUDE; p *= 10) m++;
  return m;
}

function emptyAcc(): ObjectStatsAcc {
  return { count: 0, totalBytes: 0, tombstones: 0, sizes: new Array<number>(MAX_MAGNITUDE + 1).fill(0) };
}

function label(m: number): string {
  return m === 0 ? '0 B' : `${10 ** (m - 1)}..${10 ** m - 1} B`;
}

export const objectStats: FoldModule<ObjectStatsQuery, ObjectStatsAcc> = {
  name: 'object_stats',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: 'object count, total bytes and a size histogram by power of ten (estimates when sampled)',
  parseQuery: (input) => parseWith('object_stats', schema, input),
  stateNeeds: () => 'hash_size_only',
  generateFilter: rangeFilter,
  generateAcc: emptyAcc,
  generateMergeFun: () => (a, b) => ({
    count: a.count + b.count,
    totalBytes: a.totalBytes + b.totalBytes,
    tombstones: a.tombstones + b.tombstones,
    sizes: a.sizes.map((n, i) => n + (b.sizes[i] ?? 0)),
  }),
  generateObjectFoldFun: () => (acc: ObjectStatsAcc, input: FoldInput) => {
    if (input.kind !== 'hash_size') return acc;
    const e = input.entry;
    if (e.deleted) {
      acc.tombstones++;
      return acc;
    }
    acc.count++;
    acc.totalBytes += e.size;
    acc.sizes[magnitudeOf(e.size)]!++;
    return acc;
  },
  /** Numbers held: three counters and the histogram. */
  accBound: () => MAX_MAGNITUDE + 4,
  accSize: (acc) => acc.sizes.length + 3,
  summarize(acc, _q, coverage: CoverageSummary) {
    const sizes = acc.sizes.flatMap((count, magnitude) => (count === 0 ? [] : [{ magnitude, range: label(magnitude), count }]));
    const sampled = coverage.fraction < 1;
    const scale = (n: number): number => Math.round(n / coverage.fraction);
    const json: Record<string, unknown> = {
      count: acc.count,
      totalBytes: acc.totalBytes,
      tombstones: acc.tombstones,
      sizes,
      fraction: coverage.fraction,
    };
    if (sampled) {
      json['estimate'] = { count: scale(acc.count), totalBytes: scale(acc.totalBytes), tombstones: scale(acc.tombstones), sizes: sizes.map((s) => ({ ...s, count: scale(s.count) })) };
    }
    const rows: Array<Array<string | number>> = [
      ['objects', acc.count, sampled ? scale(acc.count) : '-'],
      ['bytes', acc.totalBytes, sampled ? scale(acc.totalBytes) : '-'],
      ['tombstones', acc.tombstones, sampled ? scale(acc.tombstones) : '-'],
      ...sizes.map((s) => [`size ${s.range}`, s.count, sampled ? scale(s.count) : '-']),
    ];
    return { json, table: { head: ['', 'counted', sampled ? `estimate (covered ${Math.round(coverage.fraction * 1000) / 10}%)` : 'estimate'], rows } };
  },
};
