import { z } from 'zod';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { keyClocksCodec } from '../acc-codecs.js';
import { parseWith } from '../parse-query.js';
import { mergeClockLists, pushClock, summarizeClocks, type ClockList } from './clock-list.js';
import { maxResultsSchema, modifiedRangeSchema, treeSizeSchema } from './query-parts.js';
import { segmentCountOf, type TreeSize } from '../../tictac/index.js';

/**
 * fetch_clocks_nval: every key and clock in some segments of the cluster's tree — the last step of
 * a full exchange, after the branches showed which segments differ. Each vnode seeks to each
 * segment of each keyspace it answers for (Vnode.fetchClocks), so the cost follows the number of
 * segments asked (ideally tens), not the data size.
 *
 * With a modifiedRange it becomes, as in Riak, a head fold filtered by segment and time (the cached
 * trees know nothing of time); then `treeSize` must say which tree the segment ids belong to.
 */

export interface FetchClocksNvalQuery {
  segments: number[];
  /** The tree the ids are segments of; absent: the cluster's own tree size. */
  treeSize?: TreeSize | undefined;
  modifiedRange?: { start: number; end: number } | undefined;
  maxResults: number;
}

const schema = z
  .strictObject({
    segments: z.array(z.number().int().nonnegative()).min(1),
    treeSize: treeSizeSchema.optional(),
    modifiedRange: modifiedRangeSchema.optional(),
    maxResults: maxResultsSchema,
  })
  .refine((q) => q.modifiedRange === undefined || q.treeSize !== undefined, {
    error: 'with a modifiedRange, treeSize must name the tree the segments belong to',
    path: ['treeSize'],
  })
  .refine((q) => q.treeSize === undefined || q.segments.every((s) => s < segmentCountOf(q.treeSize!)), {
    error: 'every segment must be below the tree size\'s segment count',
    path: ['segments'],
  });

export const fetchClocksNval: FoldModule<FetchClocksNvalQuery, ClockList> = {
  name: 'fetch_clocks_nval',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: 'keys and clocks of chosen segments of the cluster tree (one seek per segment and keyspace)',
  parseQuery(input) {
    const q = parseWith('fetch_clocks_nval', schema, input);
    return { ...q, segments: [...new Set(q.segments)].sort((a, b) => a - b) };
  },
  stateNeeds: (q) => (q.modifiedRange === undefined ? 'tree_cache' : 'heads'),
  generateFilter(q) {
    if (q.modifiedRange !== undefined) return { segments: { ids: q.segments, treeSize: q.treeSize! }, modifiedRange: q.modifiedRange };
    return { cache: q.treeSize === undefined ? { read: 'clocks', segments: q.segments } : { read: 'clocks', segments: q.segments, treeSize: q.treeSize } };
  },
  generateAcc: () => [],
  generateMergeFun: () => mergeClockLists,
  generateObjectFoldFun: (q) => (acc: ClockList, input: FoldInput) => {
    if (input.kind === 'clocks') for (const k of input.clocks) pushClock('fetch_clocks_nval', acc, k, q.maxResults);
    else if (input.kind === 'head') pushClock('fetch_clocks_nval', acc, input.head, q.maxResults);
    return acc;
  },
  accBound: (q) => q.maxResults,
  accSize: (acc) => acc.length,
  accCodec: keyClocksCodec(),
  summarize: (acc) => summarizeClocks(acc),
};
