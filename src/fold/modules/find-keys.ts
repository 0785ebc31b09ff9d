import { z } from 'zod';
import { keyToJson } from '../../cluster/index.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';
import { emptyCapped, finishCapped, keyCell, mergeCapped, pushCapped, type CappedList } from './key-list.js';
import { maxResultsSchema, rangeFilter, rangeFields, type RangeQuery } from './query-parts.js';

/**
 * find_keys: the live objects in a range whose value is larger than `objectSize` bytes, with their
 * sizes (hash_size_only: no clocks, no values). Riak's find_keys can also look for keys with more
 * than N siblings; this store keeps one version per key (concurrent writes are resolved on write,
 * not kept as siblings), so a `siblingCount` query is refused rather than always answering "none".
 * maxResults caps the list: past it, the first maxResults keys in key order, marked `truncated`.
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

export const findKeys: FoldModule<FindKeysQuery, CappedList<FoundKey>> = {
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
  generateAcc: () => emptyCapped(),
  generateMergeFun: (q) => (a, b) => mergeCapped(a, b, q.maxResults, sizeTie),
  generateObjectFoldFun: (q) => (acc, input: FoldInput) => {
    if (input.kind !== 'hash_size') return acc;
    const e = input.entry;
    if (e.deleted || e.size <= q.objectSize) return acc;
    return pushCapped(acc, { bucket: e.bucket, key: e.key, size: e.size }, q.maxResults, sizeTie);
  },
  accBound: (q) => 2 * q.maxResults,
  accSize: (acc) => acc.items.length,
  summarize(acc, q) {
    const { items, truncated } = finishCapped(acc, q.maxResults, sizeTie);
    return {
      json: { count: items.length, truncated, ...(truncated ? { maxResults: q.maxResults } : {}), keys: items.map((k) => ({ bucket: k.bucket, key: keyToJson(k.key), size: k.size })) },
      table: { head: ['bucket', 'key', 'size'], rows: items.map((k) => [k.bucket, keyCell(k.key), k.size]) },
    };
  },
};
