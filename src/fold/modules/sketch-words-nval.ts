import { z } from 'zod';
import { AaeError } from '../../errors.js';
import { sketchWordsInto } from '../../tictac/index.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';
import { idsFields, idsOf, widthSchema } from './merge-words-nval.js';

/**
 * sketch_words_nval: the 64-bit linear sketch (src/tictac/sketch.ts) of the words merge_words_nval
 * would answer. Because the sketch is linear over XOR, each tree's sketch XORs into the node's and
 * each node's into the cluster's, exactly as the words would: an exchange asks both sides for the
 * sketch of their tops first, and two clusters in sync are known to be so from 8 bytes a node
 * (docs/PROTOCOL.md, "In sync in one round trip"). Not in Riak's catalogue.
 */

export interface SketchWordsQuery {
  width: number;
  ids: number[];
  /** Picks the sketch's masks; a fresh one per exchange. */
  seed: number;
}

/**
 * On the node, the XOR of the words of every tree folded (one word per id; null before the
 * first): the sketch is taken once, when the accumulator is encoded to cross. After crossing, the
 * sketch itself: two words (64 bits), which merge by XOR.
 */
export type SketchAcc = Uint32Array | null;

const schema = z.strictObject({ width: widthSchema, ...idsFields, seed: z.number().int().min(0).max(0xffff_ffff) });

export const sketchWordsNval: FoldModule<SketchWordsQuery, SketchAcc> = {
  name: 'sketch_words_nval',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: "a 64-bit linear sketch of the cluster's tree words (equal sketches: equal words, but for a 2^-64 chance)",
  parseQuery(input) {
    const q = parseWith('sketch_words_nval', schema, input);
    return { width: q.width, ids: idsOf('sketch_words_nval', q), seed: q.seed };
  },
  stateNeeds: () => 'tree_cache',
  generateFilter: (q) => ({ cache: { read: 'words', width: q.width, ids: q.ids } }),
  generateAcc: () => null,
  generateMergeFun: () => (a, b) => {
    if (a === null || b === null) return a ?? b;
    if (a.length !== b.length) throw new AaeError('INTERNAL', `sketch_words_nval: merging ${a.length} and ${b.length} words`);
    return a.map((w, i) => w ^ b[i]!);
  },
  generateObjectFoldFun: (q) => (acc: SketchAcc, input: FoldInput) => {
    if (input.kind !== 'words') return acc;
    if (input.words.length !== q.ids.length) throw new AaeError('INTERNAL', `sketch_words_nval: ${input.words.length} words for ${q.ids.length} ids`);
    if (acc === null) return input.words.slice();
    for (let i = 0; i < acc.length; i++) acc[i]! ^= input.words[i]!;
    return acc;
  },
  accBound: (q) => Math.max(2, q.ids.length),
  accSize: (acc) => acc?.length ?? 0,
  /** The sketch of the node's words (sketched once, not once a tree): two little-endian words, 8 bytes. */
  accCodec: {
    encode: (acc, q) => {
      const sketch = new Uint32Array(2);
      if (acc !== null) sketchWordsInto(sketch, acc, q.ids, q.seed);
      const out = new Uint8Array(8);
      const v = new DataView(out.buffer);
      v.setUint32(0, sketch[0]!, true);
      v.setUint32(4, sketch[1]!, true);
      return out;
    },
    decode: (bytes) => {
      if (bytes.length !== 8) throw new AaeError('FOLD_ACC_CORRUPT', `a sketch of ${bytes.length} bytes, expected 8`);
      const v = new DataView(bytes.buffer, bytes.byteOffset, 8);
      return Uint32Array.of(v.getUint32(0, true), v.getUint32(4, true));
    },
  },
  summarize: (acc) => {
    const a = acc ?? new Uint32Array(2);
    const hex = a[1]!.toString(16).padStart(8, '0') + a[0]!.toString(16).padStart(8, '0');
    return { json: { sketch: hex }, table: { head: ['sketch'], rows: [[hex]] } };
  },
};
