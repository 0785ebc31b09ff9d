import { z } from 'zod';
import { contribution } from '../../hash/index.js';
import { DEFAULT_TREE_SIZE, HASH_BYTES, TicTacTree, branchCountOf, segmentCountOf, type TreeSize } from '../../tictac/index.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { treeCodec } from '../acc-codecs.js';
import { parseWith } from '../parse-query.js';
import { rangeFilter, rangeWithSegmentsFields, treeSizeSchema, type RangeQuery } from './query-parts.js';
import { wordsBase64 } from './merge-root-nval.js';

/**
 * merge_tree_range: a TicTac tree of a chosen size over the keys in a bucket / key range / modified
 * range, optionally only some segments — the tree of a partial exchange. It needs each key's
 * segment, `alt` and object hash only (hash_size_only), so it never reads clocks or values, and
 * adds each key in O(1). Trees of disjoint vnode slices merge by XOR.
 *
 * A smaller tree is cheaper to build and ship but folds more keys into each segment; a segment
 * filter (the segments a previous comparison found dirty) keeps the tree's leaves zero elsewhere,
 * so a second pass confirms differences without being confused by keys changed in other segments.
 * Its accumulator is the tree: at most root + every leaf, 4 × (branches + segments) bytes
 * (≈ 4 MiB for large), fixed by the query, never growing with the data.
 */

export interface MergeTreeRangeQuery extends RangeQuery {
  treeSize: TreeSize;
}

const schema = z.strictObject({ ...rangeWithSegmentsFields, treeSize: treeSizeSchema.default(DEFAULT_TREE_SIZE) });

function treeBytes(size: TreeSize): number {
  return HASH_BYTES * (branchCountOf(size) + segmentCountOf(size));
}

export const mergeTreeRange: FoldModule<MergeTreeRangeQuery, TicTacTree> = {
  name: 'merge_tree_range',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: 'a TicTac tree of a chosen size over a bucket / key range / modified range (hash and size only)',
  parseQuery: (input) => parseWith('merge_tree_range', schema, input),
  stateNeeds: () => 'hash_size_only',
  generateFilter: rangeFilter,
  generateAcc: (q) => TicTacTree.create(q.treeSize),
  accCodec: treeCodec<MergeTreeRangeQuery>(),
  generateMergeFun: () => (a, b) => a.merge(b),
  generateObjectFoldFun: () => (acc: TicTacTree, input: FoldInput) => {
    if (input.kind === 'hash_size') acc.add(input.entry.segment32, contribution(input.entry.alt, input.entry.hash));
    return acc;
  },
  /** Bytes: the full tree, root and all leaves. */
  accBound: (q) => treeBytes(q.treeSize),
  /** A tree never outgrows its size: its bound is its worst case (computing its live bytes would cost a scan per batch). */
  accSize: (acc) => treeBytes(acc.size),
  summarize(acc) {
    const stats = acc.stats();
    return {
      json: { treeSize: acc.size, stats, root: wordsBase64(acc.root()), tree: Buffer.from(acc.export()).toString('base64') },
      table: {
        head: ['tree size', 'keys', 'non-empty branches', 'non-empty segments'],
        rows: [[acc.size, stats.keys ?? '-', stats.nonEmptyBranches, stats.nonEmptySegments]],
      },
    };
  },
};
