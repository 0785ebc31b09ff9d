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

/** The sketch so far: two words (64 bits). */
export type SketchAcc = Uint32Array;

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
  generateAcc: () => new Uint32Array(2),
  generateMergeFun: () => (a, b) => Uint32Array.of(a[0]! ^ b[0]!, a[1]! ^ b[1]!),
  generateObjectFoldFun: (q) => (acc: SketchAcc, input: FoldInput) => {
    if (input.kind !== 'words') return acc;
    if (input.words.length !== q.ids.length) throw new AaeError('INTERNAL', `sketch_words_nval: ${input.words.length} words for ${q.ids.length} ids`);
    sketchWordsInto(acc, input.words, q.ids, q.seed);
    return acc;
  },
  accBound: () => 2,
  accSize: (acc) => acc.length,
  /** Two little-endian words: 8 bytes. */
  accCodec: {
    encode: (acc) => {
      const out = new Uint8Array(8);
      const v = new DataView(out.buffer);
      v.setUint32(0, acc[0]!, true);
      v.setUint32(4, acc[1]!, true);
      return out;
    },
    decode: (bytes) => {
      if (bytes.length !== 8) throw new AaeError('FOLD_ACC_CORRUPT', `a sketch of ${bytes.length} bytes, expected 8`);
      const v = new DataView(bytes.buffer, bytes.byteOffset, 8);
      return Uint32Array.of(v.getUint32(0, true), v.getUint32(4, true));
    },
  },
  summarize: (acc) => {
    const hex = (acc[1]!.toString(16).padStart(8, '0') + acc[0]!.toString(16).padStart(8, '0'));
    return { json: { sketch: hex }, table: { head: ['sketch'], rows: [[hex]] } };
  },
};
