import { z } from 'zod';
import { AaeError } from '../../errors.js';
import { MAX_BRANCH_COUNT, LEAVES_PER_BRANCH } from '../../tictac/index.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';
import { fromRuns } from './id-runs.js';
import { wordsBase64, xorWords } from './merge-root-nval.js';

/**
 * merge_words_nval: words of the cluster's tree at any power-of-two width, from the cached trees
 * alone: the word of id `i` at width `w` is the XOR of the leaves of segments [i·w, (i+1)·w), over
 * every covered IndexN tree. It is what the exchange's fine walk asks for at its middle and leaf
 * levels. merge_branch_nval answers the same question by copying whole 1 KiB branches and XORing
 * them; reading the words in place costs ids × min(width, 256) reads per tree, and at the leaves
 * (width 1) that is a word per id instead of a branch per id. Not in Riak's catalogue, whose
 * exchange only walks root → branches.
 */

export interface MergeWordsQuery {
  /** A power of two, 1 ≤ width ≤ the tree's segment count (checked against each tree). */
  width: number;
  /** Ascending, distinct, each below segmentCount / width (the input may give them as `runs`). */
  ids: number[];
}
/** The words of the ids, in their order, XORed over every tree seen; null before the first. */
export type WordsAcc = Uint32Array | null;

/** The largest tree (xlarge) has this many segments. */
const MAX_SEGMENTS = MAX_BRANCH_COUNT * LEAVES_PER_BRANCH;

export const widthSchema = z
  .number()
  .int()
  .min(1)
  .max(MAX_SEGMENTS)
  .refine((w) => (w & (w - 1)) === 0, 'must be a power of two');

/** `ids` as a list, or as `runs` ([start, length] pairs: id-runs.ts), exactly one of them. */
export const idsFields = {
  ids: z.array(z.number().int().min(0).max(MAX_SEGMENTS - 1)).min(1).max(MAX_SEGMENTS).optional(),
  runs: z.array(z.number().int().min(0).max(MAX_SEGMENTS)).min(2).max(2 * MAX_SEGMENTS).optional(),
};

/** The ids a query names (checked ascending and distinct), from `ids` or `runs`. */
export function idsOf(module: string, q: { ids?: number[] | undefined; runs?: number[] | undefined }): number[] {
  if ((q.ids === undefined) === (q.runs === undefined)) throw new AaeError('FOLD_QUERY_INVALID', `${module}: give ids or runs, one of them`);
  if (q.runs !== undefined) return fromRuns(module, q.runs, MAX_SEGMENTS, MAX_SEGMENTS);
  const ids = q.ids!;
  for (let i = 1; i < ids.length; i++) {
    if (ids[i]! <= ids[i - 1]!) throw new AaeError('FOLD_QUERY_INVALID', `${module}: ids must ascend, each once`);
  }
  return ids;
}

const schema = z.strictObject({ width: widthSchema, ...idsFields });

export const mergeWordsNval: FoldModule<MergeWordsQuery, WordsAcc> = {
  name: 'merge_words_nval',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: "words of the cluster's tree at any width, XOR of the cached IndexN trees' words (no scan, no branch copies)",
  parseQuery(input) {
    const q = parseWith('merge_words_nval', schema, input);
    return { width: q.width, ids: idsOf('merge_words_nval', q) };
  },
  stateNeeds: () => 'tree_cache',
  generateFilter: (q) => ({ cache: { read: 'words', width: q.width, ids: q.ids } }),
  generateAcc: () => null,
  generateMergeFun: () => (a, b) => (a === null ? (b === null ? null : b.slice()) : b === null ? a.slice() : xorWords(a, b)),
  generateObjectFoldFun: () => (acc: WordsAcc, input: FoldInput) => {
    if (input.kind !== 'words') return acc;
    if (acc === null) return input.words.slice();
    if (acc.length !== input.words.length) throw new AaeError('INTERNAL', `merge_words_nval: ${input.words.length} words for ${acc.length} ids`);
    for (let i = 0; i < acc.length; i++) acc[i]! ^= input.words[i]!;
    return acc;
  },
  /** One word per id asked. */
  accBound: (q) => q.ids.length,
  accSize: (acc) => acc?.length ?? 0,
  summarize(acc, q) {
    const words = acc ?? new Uint32Array(q.ids.length);
    let nonZero = 0;
    for (const w of words) if (w !== 0) nonZero++;
    return {
      json: { width: q.width, ids: q.ids, words: wordsBase64(words) },
      table: { head: ['width', 'ids', 'non-zero words'], rows: [[q.width, q.ids.length, nonZero]] },
    };
  },
};
