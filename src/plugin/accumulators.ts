/**
 * Bounded accumulators for plugins, as plain data (they cross from the node to the coordinator as
 * msgpack without a codec). Each is a value plus pure functions: `add` may mutate the accumulator
 * it is given (a fold function owns it), `merge` never mutates its arguments, and every function
 * keeps the declared bound or throws FOLD_ACC_OVERFLOW — a plugin's accumulator cannot grow without
 * limit, whatever the data.
 *
 * - `counts`: a count per key (a bucket, a tenant, a key prefix), at most `max` keys.
 * - `histogram`: counts by power-of-two magnitude of a non-negative number (sizes, ages): 54
 *   fixed buckets, bucket b holding values in [2^(b-1), 2^b), bucket 0 holding 0.
 */
import { AaeError } from '../errors.js';

/** The error a module throws when its accumulator would pass its bound. */
export function overflow(module: string, size: number, bound: number): AaeError {
  return new AaeError('FOLD_ACC_OVERFLOW', `fold ${module}: its accumulator reached ${size}, over its bound of ${bound}; narrow the query or raise its limit`, {
    details: { size, bound },
  });
}

/** A count per key: a plain object, `{[key]: count}`, with at most `max` keys. */
export interface Counts {
  readonly max: number;
  readonly keys: number;
  readonly counts: Record<string, number>;
}

export const counts = {
  empty(max: number): Counts {
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError(`counts.empty: max must be a positive integer, got ${max}`);
    return { max, keys: 0, counts: Object.create(null) as Record<string, number> };
  },
  /** Adds `n` to `key` (mutating `acc`); FOLD_ACC_OVERFLOW naming `module` when a new key would pass `max`. */
  add(acc: Counts, key: string, n: number, module: string): Counts {
    const c = acc.counts;
    const had = c[key];
    if (had === undefined) {
      if (acc.keys >= acc.max) throw overflow(module, acc.keys + 1, acc.max);
      (acc as { keys: number }).keys++;
      c[key] = n;
    } else c[key] = had + n;
    return acc;
  },
  /** The sum of two (neither mutated). */
  merge(a: Counts, b: Counts, module: string): Counts {
    const out = counts.empty(Math.max(a.max, b.max));
    for (const src of [a, b]) for (const [k, v] of Object.entries(src.counts)) counts.add(out, k, v, module);
    return out;
  },
  size(acc: Counts): number {
    return acc.keys;
  },
};

/** Power-of-two buckets: 0, then [1, 2), [2, 4), … up to 2^53 (every safe integer). */
export const HISTOGRAM_BUCKETS = 54;

export const histogram = {
  empty(): number[] {
    return new Array<number>(HISTOGRAM_BUCKETS).fill(0);
  },
  /** The bucket of a non-negative number: 0 for 0, else 1 + floor(log2 v). */
  bucketOf(value: number): number {
    if (!(value >= 1)) return 0;
    const b = value < 2 ** 32 ? 32 - Math.clz32(value) : Math.floor(Math.log2(value)) + 1;
    return Math.min(HISTOGRAM_BUCKETS - 1, b);
  },
  add(acc: number[], value: number, n = 1): number[] {
    acc[histogram.bucketOf(value)]! += n;
    return acc;
  },
  merge(a: readonly number[], b: readonly number[]): number[] {
    return a.map((x, i) => x + (b[i] ?? 0));
  },
  /** The lower bound of bucket b. */
  lowerBound(b: number): number {
    return b === 0 ? 0 : 2 ** (b - 1);
  },
};
