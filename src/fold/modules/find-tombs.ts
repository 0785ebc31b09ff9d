import { z } from 'zod';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule, type KeyClock } from '../contract.js';
import { parseWith } from '../parse-query.js';
import { clockCell, clockTie, emptyCapped, finishCapped, keyCell, keyClockJson, mergeCapped, pushCapped, type CappedList } from './key-list.js';
import { maxResultsSchema, rangeFilter, rangeWithSegmentsFields, type RangeQuery } from './query-parts.js';

/**
 * find_tombs: the tombstones in a bucket / key range / modified range (optionally some segments),
 * with their clocks. A head fold. maxResults caps the list: past it, the result holds the first
 * maxResults tombstones in key order and says `truncated` (a cap is not a failure: the operator
 * asked for a few and gets them). reap_tombs does the same walk and removes what it finds.
 */

export interface FindTombsQuery extends RangeQuery {
  maxResults: number;
}

const schema = z.strictObject({ ...rangeWithSegmentsFields, maxResults: maxResultsSchema });

export const findTombs: FoldModule<FindTombsQuery, CappedList<KeyClock>> = {
  name: 'find_tombs',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: 'tombstones (keys and clocks) in a bucket / key range / modified range; the first maxResults, marked truncated past it',
  parseQuery: (input) => parseWith('find_tombs', schema, input),
  stateNeeds: () => 'heads',
  generateFilter: rangeFilter,
  generateAcc: () => emptyCapped(),
  generateMergeFun: (q) => (a, b) => mergeCapped(a, b, q.maxResults, clockTie),
  generateObjectFoldFun: (q) => (acc, input: FoldInput) => {
    if (input.kind !== 'head' || !input.head.deleted) return acc;
    const h = input.head;
    return pushCapped(acc, { bucket: h.bucket, key: h.key, clock: h.clock, deleted: h.deleted, hash: h.hash }, q.maxResults, clockTie);
  },
  accBound: (q) => 2 * q.maxResults,
  accSize: (acc) => acc.items.length,
  summarize(acc, q) {
    const { items, truncated } = finishCapped(acc, q.maxResults, clockTie);
    return {
      json: { count: items.length, truncated, ...(truncated ? { maxResults: q.maxResults } : {}), keys: items.map(keyClockJson) },
      table: {
        head: ['bucket', 'key', 'clock', 'last modified', 'deleted'],
        rows: items.map((k) => [k.bucket, keyCell(k.key), clockCell(k.clock), new Date(k.clock.lastModified).toISOString(), 'yes']),
      },
    };
  },
};
