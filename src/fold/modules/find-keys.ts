import { z } from 'zod';
import { keyToJson } from '../../cluster/index.js';
import { AaeError } from '../../errors.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';
import { keyCell, mergeKeyed, sortKeyed } from './key-list.js';
import { maxResultsSchema, rangeFilter, rangeFields, type RangeQuery } from './query-parts.js';

/**
 * find_keys: the live objects in a range whose value is larger than `objectSize` bytes, with their
 * sizes (hash_size_only: no clocks, no values). Riak's find_keys can also look for keys with more
 * than N siblings; this store keeps one version per key (concurrent writes are resolved on write,
 * not kept as siblings), so a `siblingCount` query is refused rather than always answering "none".
 * Run object_stats first to pick a threshold that keeps the list under maxResults.
 */

export interface FindKeysQuery extends RangeQuery {
  objectSize: number;
  maxResults: number;
}

export interface FoundKey {
  bucket: string;
  key: Uint8Array;
  size: number;
}

const schema = z
  .strictObject({
    ...rangeFields,
    objectSize: z.number().int().nonnegative().optional(),
    siblingCount: z.number().int().positive().optional(),
    maxResults: maxResultsSchema,
  })
  .refine((q) => q.siblingCount === undefined, {
    error: 'siblingCount is not supported: this store keeps one version per key, so no object has siblings',
    path: ['siblingCount'],
  })
  .refine((q) => q.objectSize !== undefined, { error: 'objectSize (bytes) is required', path: ['objectSize'] });

const sizeTie = (k: FoundKey): string => String(k.size);

export const findKeys: FoldModule<FindKeysQuery, FoundKey[]> = {
  name: 'find_keys',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: 'live objects larger than objectSize bytes, with their sizes (siblings: not kept by this store)',
  parseQuery(input) {
    const { siblingCount: _unused, objectSize, ...rest } = parseWith('find_keys', schema, input);
    return { ...rest, objectSize: objectSize! };
  },
  stateNeeds: () => 'hash_size_only',
  generateFilter: rangeFilter,
  generateAcc: () => [],
  generateMergeFun: () => (a, b) => mergeKeyed(a, b, sizeTie),
  generateObjectFoldFun: (q) => (acc: FoundKey[], input: FoldInput) => {
    if (input.kind !== 'hash_size') return acc;
    const e = input.entry;
    if (e.deleted || e.size <= q.objectSize) return acc;
    if (acc.length >= q.maxResults) {
      throw new AaeError('FOLD_ACC_OVERFLOW', `fold find_keys: more than ${q.maxResults} keys match; raise objectSize or maxResults`, {
        details: { size: acc.length + 1, bound: q.maxResults },
      });
    }
    acc.push({ bucket: e.bucket, key: e.key, size: e.size });
    return acc;
  },
  accBound: (q) => q.maxResults,
  accSize: (acc) => acc.length,
  summarize(acc) {
    const sorted = sortKeyed(acc, sizeTie);
    return {
      json: { count: sorted.length, keys: sorted.map((k) => ({ bucket: k.bucket, key: keyToJson(k.key), size: k.size })) },
      table: { head: ['bucket', 'key', 'size'], rows: sorted.map((k) => [k.bucket, keyCell(k.key), k.size]) },
    };
  },
};
