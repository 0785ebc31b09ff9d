import { z } from 'zod';
import { AaeError } from '../../errors.js';
import { MAX_BRANCH_COUNT, LEAVES_PER_BRANCH } from '../../tictac/index.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';
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
  /** Ascending, distinct, each below segmentCount / width. */
  ids: number[];
}
/** The words of the ids, in their order, XORed over every tree seen; null before the first. */
export type WordsAcc = Uint32Array | null;

/** The largest tree (xlarge) has this many segments. */
const MAX_SEGMENTS = MAX_BRANCH_COUNT * LEAVES_PER_BRANCH;

const schema = z.strictObject({
  width: z
    .number()
    .int()
    .min(1)
    .max(MAX_SEGMENTS)
    .refine((w) => (w & (w - 1)) === 0, 'must be a power of two'),
  ids: z.array(z.number().int().min(0).max(MAX_SEGMENTS - 1)).min(1).max(MAX_SEGMENTS),
});

export const mergeWordsNval: FoldModule<MergeWordsQuery, WordsAcc> = {
  name: 'merge_words_nval',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: "words of the cluster's tree at any width, XOR of the cached IndexN trees' words (no scan, no branch copies)",
  parseQuery(input) {
    const q = parseWith('merge_words_nval', schema, input);
    for (let i = 1; i < q.ids.length; i++) {
      if (q.ids[i]! <= q.ids[i - 1]!) throw new AaeError('FOLD_QUERY_INVALID', 'merge_words_nval: ids must ascend, each once');
    }
    return { width: q.width, ids: q.ids };
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
