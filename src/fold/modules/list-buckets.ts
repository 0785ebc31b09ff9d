import { z } from 'zod';
import { AaeError } from '../../errors.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';

/**
 * list_buckets: the buckets that hold any key (tombstones included, as Riak's AAE store lists
 * them). The store keeps no bucket index, so this is a scan of every head of the covered
 * keyspaces, reading only keys (hash_size_only); the accumulator is the set of names, bounded by
 * maxBuckets.
 */

/** Buckets a listing holds by default; a cluster with more is better listed by a dedicated index. */
export const DEFAULT_MAX_BUCKETS = 10_000;

export interface ListBucketsQuery {
  maxBuckets: number;
}

const schema = z.strictObject({ maxBuckets: z.number().int().min(1).max(1_000_000).default(DEFAULT_MAX_BUCKETS) });

export const listBuckets: FoldModule<ListBucketsQuery, ReadonlySet<string>> = {
  name: 'list_buckets',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: 'the buckets that hold keys (a scan of key names)',
  parseQuery: (input) => parseWith('list_buckets', schema, input),
  stateNeeds: () => 'hash_size_only',
  generateFilter: () => ({}),
  generateAcc: () => new Set<string>(),
  generateMergeFun: () => (a, b) => new Set([...a, ...b]),
  generateObjectFoldFun: (q) => (acc: ReadonlySet<string>, input: FoldInput) => {
    if (input.kind !== 'hash_size' || acc.has(input.entry.bucket)) return acc;
    if (acc.size >= q.maxBuckets) {
      throw new AaeError('FOLD_ACC_OVERFLOW', `fold list_buckets: more than ${q.maxBuckets} buckets; raise maxBuckets`, {
        details: { size: acc.size + 1, bound: q.maxBuckets },
      });
    }
    (acc as Set<string>).add(input.entry.bucket); // the fold owns its accumulator
    return acc;
  },
  accBound: (q) => q.maxBuckets,
  accSize: (acc) => acc.size,
  summarize(acc) {
    const buckets = [...acc].sort();
    return { json: { buckets }, table: { head: ['bucket'], rows: buckets.map((b) => [b]) } };
  },
};
