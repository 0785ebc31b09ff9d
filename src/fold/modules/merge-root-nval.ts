import { z } from 'zod';
import { AaeError } from '../../errors.js';
import { MAX_BRANCH_COUNT, encodeRoot, treeSizeOfBranchCount } from '../../tictac/index.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';

/**
 * merge_root_nval: the root of the cluster's tree, from the cached trees alone.
 *
 * Each planned vnode hands over the roots of the IndexN trees of the keyspaces it answers for; their
 * XOR is the root of one tree over every key of those keyspaces. Over a whole cluster that is a tree
 * over all its keys — keyed by segment, not partition, so it compares with another cluster's of any
 * ring size. Cost is independent of the data: ringSize roots of branchCount words (16 KiB each for a
 * large tree), no scan.
 */

export type MergeRootQuery = Record<string, never>;
/** The XOR of the roots seen so far; null before the first (the identity of merge). */
export type RootAcc = Uint32Array | null;

const schema = z.strictObject({});

export function xorWords(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length !== b.length) throw new AaeError('TREE_SIZE_MISMATCH', `cannot merge roots of ${a.length} and ${b.length} words`);
  const out = new Uint32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Words as little-endian bytes, base64. */
export function wordsBase64(words: Uint32Array): string {
  const out = Buffer.alloc(words.length * 4);
  for (let i = 0; i < words.length; i++) out.writeUInt32LE(words[i]!, i * 4);
  return out.toString('base64');
}

function xorInto(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length !== b.length) throw new AaeError('TREE_SIZE_MISMATCH', `cannot merge roots of ${a.length} and ${b.length} words`);
  for (let i = 0; i < a.length; i++) a[i]! ^= b[i]!;
  return a;
}

export const mergeRootNval: FoldModule<MergeRootQuery, RootAcc> = {
  name: 'merge_root_nval',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: "the root of the cluster's tree, XOR of the cached IndexN roots (no scan)",
  parseQuery: (input) => parseWith('merge_root_nval', schema, input) as MergeRootQuery,
  stateNeeds: () => 'tree_cache',
  generateFilter: () => ({ cache: { read: 'root' } }),
  generateAcc: () => null,
  generateMergeFun: () => (a, b) => (a === null ? (b === null ? null : b.slice()) : b === null ? a.slice() : xorWords(a, b)),
  generateObjectFoldFun: () => (acc: RootAcc, input: FoldInput) => {
    if (input.kind !== 'root') return acc;
    // Inputs are read-only: the first root is copied before later ones are XORed into it.
    return acc === null ? input.root.slice() : xorInto(acc, input.root);
  },
  accBound: () => MAX_BRANCH_COUNT,
  accSize: (acc) => acc?.length ?? 0,
  summarize(acc) {
    const root = acc ?? new Uint32Array(0);
    let nonZero = 0;
    for (const w of root) if (w !== 0) nonZero++;
    const treeSize = treeSizeOfBranchCount(root.length) ?? null;
    return {
      json: { treeSize, branches: root.length, nonZeroBranches: nonZero, root: acc === null ? null : Buffer.from(encodeRoot(root)).toString('base64') },
      table: { head: ['tree size', 'branches', 'non-zero branches'], rows: [[treeSize ?? '-', root.length, nonZero]] },
    };
  },
};
