import { z } from 'zod';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';

/**
 * list_buckets: the buckets that hold any key (tombstones included, as Riak's AAE store lists
 * them). The store keeps no bucket index, so this is a scan of every head of the covered
 * keyspaces, reading only keys (hash_size_only); the accumulator is the set of names. maxBuckets
 * caps the listing: past it, the first maxBuckets names in order, marked `truncated` (the set is
 * trimmed once it holds 2·maxBuckets names, so the declared bound is 2·maxBuckets).
 */

export interface BucketNames {
  readonly names: ReadonlySet<string>;
  readonly truncated: boolean;
}

/** The first `max` names in order, and whether there were more. */
function firstNames(names: Iterable<string>, max: number, truncated: boolean): BucketNames {
  const sorted = [...new Set(names)].sort();
  return sorted.length > max ? { names: new Set(sorted.slice(0, max)), truncated: true } : { names: new Set(sorted), truncated };
}

/** Buckets a listing holds by default; a cluster with more is better listed by a dedicated index. */
export const DEFAULT_MAX_BUCKETS = 10_000;

export interface ListBucketsQuery {
  maxBuckets: number;
}

const schema = z.strictObject({ maxBuckets: z.number().int().min(1).max(1_000_000).default(DEFAULT_MAX_BUCKETS) });

export const listBuckets: FoldModule<ListBucketsQuery, BucketNames> = {
  name: 'list_buckets',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: 'the buckets that hold keys (a scan of key names); the first maxBuckets, marked truncated past it',
  parseQuery: (input) => parseWith('list_buckets', schema, input),
  stateNeeds: () => 'hash_size_only',
  generateFilter: () => ({}),
  generateAcc: () => ({ names: new Set<string>(), truncated: false }),
  generateMergeFun: (q) => (a, b) => firstNames([...a.names, ...b.names], q.maxBuckets, a.truncated || b.truncated),
  generateObjectFoldFun: (q) => (acc: BucketNames, input: FoldInput) => {
    if (input.kind !== 'hash_size' || acc.names.has(input.entry.bucket)) return acc;
    (acc.names as Set<string>).add(input.entry.bucket); // the fold owns its accumulator
    return acc.names.size >= 2 * q.maxBuckets ? firstNames(acc.names, q.maxBuckets, acc.truncated) : acc;
  },
  accBound: (q) => 2 * q.maxBuckets,
  accSize: (acc) => acc.names.size,
  summarize(acc, q) {
    const { names, truncated } = firstNames(acc.names, q.maxBuckets, acc.truncated);
    const buckets = [...names];
    return {
      json: { buckets, truncated, ...(truncated ? { maxBuckets: q.maxBuckets } : {}) },
      table: { head: ['bucket'], rows: buckets.map((b) => [b]) },
    };
  },
};
