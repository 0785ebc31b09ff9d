/**
 * What an operator reads first about a set of differences: how many, in which buckets, of which
 * kind, and which side is ahead — counted as the differences stream past (a complete compare of
 * millions of keys holds only these counters, never the keys).
 *
 * Kinds, one per difference:
 *   missing     one side does not hold the key at all (it is "ahead" on the side that holds it);
 *   tombstone   one side holds a tombstone and the other a value (a delete that did not travel,
 *               or a write after a delete);
 *   concurrent  both hold versions and neither clock dominates the other;
 *   newer       both hold values and one side's clock dominates (it is ahead).
 * Sides are `source` (the first side of a compare) and `sink` (the second);
 * `both` is concurrent.
 */
import type { Difference } from './compare.js';

export const DIFFERENCE_KINDS = ['missing', 'tombstone', 'concurrent', 'newer'] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];
export type AheadSide = 'source' | 'sink' | 'both';

export interface Classified {
  kind: DifferenceKind;
  /** The side whose version wins by clock ('both': neither does). */
  ahead: AheadSide;
}

export function classifyDifference(d: Difference): Classified {
  const ahead: AheadSide = d.ahead === 'source' || d.ahead === 'sink' ? d.ahead : 'both';
  if (d.source === null || d.sink === null) return { kind: 'missing', ahead };
  if (d.source.deleted !== d.sink.deleted) return { kind: 'tombstone', ahead };
  return { kind: ahead === 'both' ? 'concurrent' : 'newer', ahead };
}

export interface SideCounts {
  source: number;
  sink: number;
  both: number;
}

export interface BucketSummary {
  bucket: string;
  total: number;
  kinds: Record<DifferenceKind, SideCounts>;
}

export interface SummaryJson {
  total: number;
  ahead: SideCounts;
  kinds: Record<DifferenceKind, SideCounts>;
  /** Buckets with the most differences first; past MAX_SUMMARY_BUCKETS, one row '(other buckets)'. */
  buckets: BucketSummary[];
}

/**
 * Buckets counted by name; differences in further buckets are counted together. A thousand rows
 * is more than any screen or report shows, and bounds the summary's memory whatever the data.
 */
export const MAX_SUMMARY_BUCKETS = 1000;
export const OTHER_BUCKETS = '(other buckets)';

const zero = (): SideCounts => ({ source: 0, sink: 0, both: 0 });
const zeroKinds = (): Record<DifferenceKind, SideCounts> => ({ missing: zero(), tombstone: zero(), concurrent: zero(), newer: zero() });

export class DifferenceSummary {
  private readonly buckets = new Map<string, BucketSummary>();
  private readonly all: BucketSummary = { bucket: '', total: 0, kinds: zeroKinds() };

  add(d: Difference): Classified {
    const c = classifyDifference(d);
    const name = this.buckets.has(d.bucket) || this.buckets.size < MAX_SUMMARY_BUCKETS ? d.bucket : OTHER_BUCKETS;
    let row = this.buckets.get(name);
    if (row === undefined) this.buckets.set(name, (row = { bucket: name, total: 0, kinds: zeroKinds() }));
    for (const r of [row, this.all]) {
      r.total++;
      r.kinds[c.kind][c.ahead]++;
    }
    return c;
  }

  get total(): number {
    return this.all.total;
  }

  /** Differences by kind over every bucket. */
  kinds(): Record<DifferenceKind, SideCounts> {
    return this.all.kinds;
  }

  /** Differences by the side ahead, over every kind. */
  ahead(): SideCounts {
    const out = zero();
    for (const k of DIFFERENCE_KINDS) for (const s of ['source', 'sink', 'both'] as const) out[s] += this.all.kinds[k][s];
    return out;
  }

  /** Buckets by differences, most first (ties by name); the '(other buckets)' row last. */
  byBucket(): BucketSummary[] {
    return [...this.buckets.values()].sort(
      (a, b) => Number(a.bucket === OTHER_BUCKETS) - Number(b.bucket === OTHER_BUCKETS) || b.total - a.total || (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0),
    );
  }

  toJSON(): SummaryJson {
    return { total: this.total, ahead: this.ahead(), kinds: this.kinds(), buckets: this.byBucket() };
  }
}
