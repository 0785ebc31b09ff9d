import { z } from 'zod';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';
import { mergeClockLists, pushClock, summarizeClocks, type ClockList } from './clock-list.js';
import { maxResultsSchema, rangeFilter, rangeWithSegmentsFields, type RangeQuery } from './query-parts.js';

/**
 * find_tombs: the tombstones in a bucket / key range / modified range (optionally some segments),
 * with their clocks. A head fold; maxResults bounds the list. reap_tombs does the same walk and
 * removes what it finds.
 */

export interface FindTombsQuery extends RangeQuery {
  maxResults: number;
}

const schema = z.strictObject({ ...rangeWithSegmentsFields, maxResults: maxResultsSchema });

export const findTombs: FoldModule<FindTombsQuery, ClockList> = {
  name: 'find_tombs',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: 'tombstones (keys and clocks) in a bucket / key range / modified range',
  parseQuery: (input) => parseWith('find_tombs', schema, input),
  stateNeeds: () => 'heads',
  generateFilter: rangeFilter,
  generateAcc: () => [],
  generateMergeFun: () => mergeClockLists,
  generateObjectFoldFun: (q) => (acc: ClockList, input: FoldInput) =>
    input.kind === 'head' && input.head.deleted ? pushClock('find_tombs', acc, input.head, q.maxResults) : acc,
  accBound: (q) => q.maxResults,
  accSize: (acc) => acc.length,
  summarize: (acc) => summarizeClocks(acc),
};
