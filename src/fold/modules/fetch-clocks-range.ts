import { z } from 'zod';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { keyClocksCodec } from '../acc-codecs.js';
import { parseWith } from '../parse-query.js';
import { mergeClockLists, pushClock, summarizeClocks, type ClockList } from './clock-list.js';
import { maxResultsSchema, rangeFilter, rangeWithSegmentsFields, type RangeQuery } from './query-parts.js';

/**
 * fetch_clocks_range: the keys and clocks in a bucket / key range / modified range, optionally only
 * some segments of a tree of a chosen size — the clock step of a partial (range) exchange. A head
 * fold: it reads no values. Results are bounded by maxResults (FOLD_ACC_OVERFLOW beyond it).
 */

export interface FetchClocksRangeQuery extends RangeQuery {
  maxResults: number;
}

const schema = z.strictObject({ ...rangeWithSegmentsFields, maxResults: maxResultsSchema });

export const fetchClocksRange: FoldModule<FetchClocksRangeQuery, ClockList> = {
  name: 'fetch_clocks_range',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: 'keys and clocks in a bucket / key range / modified range, optionally some segments (head fold)',
  parseQuery: (input) => parseWith('fetch_clocks_range', schema, input),
  stateNeeds: () => 'heads',
  generateFilter: rangeFilter,
  generateAcc: () => [],
  generateMergeFun: () => mergeClockLists,
  generateObjectFoldFun: (q) => (acc: ClockList, input: FoldInput) =>
    input.kind === 'head' ? pushClock('fetch_clocks_range', acc, input.head, q.maxResults) : acc,
  accBound: (q) => q.maxResults,
  accSize: (acc) => acc.length,
  accCodec: keyClocksCodec(),
  summarize: (acc) => summarizeClocks(acc),
};
