import { z } from 'zod';
import { AaeError } from '../../errors.js';
import { syndromeInto, syndromeWords } from '../../tictac/index.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { plainCodec } from '../acc-codecs.js';
import { parseWith } from '../parse-query.js';
import { idsFields, idsOf, widthSchema } from './merge-words-nval.js';

/**
 * syndrome_words_nval: for each group (a word at width `width·fanout`), the syndrome of its
 * `fanout` child words at `width` (src/tictac/syndrome.ts): k + 2 words that locate a single
 * difference among 2^k children. Linear over XOR like the words, so trees, nodes and sides
 * combine by XOR. The exchange asks for the syndromes of its dirty top words instead of their
 * leaves (docs/PROTOCOL.md, "Finding the leaf"). Not in Riak's catalogue.
 */

export interface SyndromeQuery {
  /** The children's width (1: leaves). */
  width: number;
  /** Children per group: a power of two, 2 … 4096. */
  fanout: number;
  /** The groups, ids at width·fanout, ascending (the input may give them as runs). */
  ids: number[];
  seed: number;
}

/**
 * On the node, the XOR of the children's words of every tree folded (fanout words a group; null
 * before the first): the syndromes are taken once, when the accumulator is encoded to cross. After
 * crossing, the syndromes: syndromeWords(fanout) words a group, which merge by XOR.
 */
export type SyndromeAcc = Uint32Array | null;

/** A group of more children than this is not a syndrome's job (a whole tree is a sketch's). */
const MAX_FANOUT = 4096;
/** Children read per request at most: 200 groups of 512 leaves is 100k. */
const MAX_CHILDREN = 1 << 20;

const schema = z.strictObject({
  width: widthSchema,
  fanout: z.number().int().min(2).max(MAX_FANOUT).refine((f) => (f & (f - 1)) === 0, 'must be a power of two'),
  ...idsFields,
  seed: z.number().int().min(0).max(0xffff_ffff),
});

const words = plainCodec<SyndromeQuery, Uint32Array | null>();

export const syndromeWordsNval: FoldModule<SyndromeQuery, SyndromeAcc> = {
  name: 'syndrome_words_nval',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: "syndromes of groups of the cluster's tree words: where a group's single difference is, in log2(group) + 2 words",
  parseQuery(input) {
    const q = parseWith('syndrome_words_nval', schema, input);
    const ids = idsOf('syndrome_words_nval', q);
    if (ids.length * q.fanout > MAX_CHILDREN) throw new AaeError('FOLD_QUERY_INVALID', `syndrome_words_nval: more than ${MAX_CHILDREN} children asked`);
    return { width: q.width, fanout: q.fanout, ids, seed: q.seed };
  },
  stateNeeds: () => 'tree_cache',
  generateFilter: (q) => {
    const children: number[] = [];
    for (const g of q.ids) for (let i = 0; i < q.fanout; i++) children.push(g * q.fanout + i);
    return { cache: { read: 'words', width: q.width, ids: children } };
  },
  generateAcc: () => null,
  generateMergeFun: () => (a, b) => {
    if (a === null || b === null) return a ?? b;
    if (a.length !== b.length) throw new AaeError('INTERNAL', `syndrome_words_nval: merging ${a.length} and ${b.length} words`);
    const out = a.slice();
    for (let i = 0; i < out.length; i++) out[i]! ^= b[i]!;
    return out;
  },
  generateObjectFoldFun: (q) => (acc: SyndromeAcc, input: FoldInput) => {
    if (input.kind !== 'words') return acc;
    if (input.words.length !== q.ids.length * q.fanout) throw new AaeError('INTERNAL', `syndrome_words_nval: ${input.words.length} words for ${q.ids.length} groups`);
    if (acc === null) return input.words.slice();
    for (let i = 0; i < acc.length; i++) acc[i]! ^= input.words[i]!;
    return acc;
  },
  accBound: (q) => q.ids.length * Math.max(q.fanout, syndromeWords(q.fanout)),
  accSize: (acc) => acc?.length ?? 0,
  /** The syndromes of the node's children words (taken once, not once a tree), as msgpack words. */
  accCodec: {
    encode: (acc, q) => {
      const s = syndromeWords(q.fanout);
      const out = new Uint32Array(q.ids.length * s);
      if (acc !== null) q.ids.forEach((g, j) => syndromeInto(out, j * s, acc, j * q.fanout, q.fanout, g, q.seed));
      return words.encode(out, q);
    },
    decode: (bytes, q) => {
      const out = words.decode(bytes, q);
      if (!(out instanceof Uint32Array) || out.length !== q.ids.length * syndromeWords(q.fanout)) throw new AaeError('FOLD_ACC_CORRUPT', `syndrome_words_nval: an accumulator that is not ${q.ids.length * syndromeWords(q.fanout)} words`);
      return out;
    },
  },
  summarize: (acc, q) => ({
    json: { groups: q.ids.length, words: acc?.length ?? 0 },
    table: { head: ['groups', 'words'], rows: [[q.ids.length, acc?.length ?? 0]] },
  }),
};
