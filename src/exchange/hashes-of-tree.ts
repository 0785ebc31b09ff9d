/**
 * `fetchHashes` for a source that holds a TicTacTree: the word of id `i` at width `w` is the XOR of
 * the leaves of segments `[i·w, (i+1)·w)`. Widths of a branch or more XOR root words; smaller
 * widths XOR the leaves of one branch. Costs O(ids × min(width, 256)) word reads, never a whole
 * tree walk.
 */
import { AaeError } from '../errors.js';
import { LEAVES_PER_BRANCH, type TicTacTree } from '../tictac/index.js';
import type { HashesRequest } from './source.js';

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

/** Validates a request against a tree of `segmentCount` segments (TREE_SEGMENT_INVALID if bad). */
export function checkHashesRequest(request: HashesRequest, segmentCount: number): void {
  const { width, ids } = request;
  if (!isPowerOfTwo(width) || width > segmentCount) {
    throw new AaeError('TREE_SEGMENT_INVALID', `width ${width} is not a power of two in 1..${segmentCount}`);
  }
  const limit = segmentCount / width;
  let previous = -1;
  for (const id of ids) {
    if (!Number.isInteger(id) || id <= previous || id >= limit) {
      throw new AaeError('TREE_SEGMENT_INVALID', `ids must ascend within 0..${limit - 1} at width ${width}`);
    }
    previous = id;
  }
}

export function hashesOfTree(tree: TicTacTree, request: HashesRequest): Uint32Array {
  checkHashesRequest(request, tree.segmentCount);
  const { width, ids } = request;
  const out = new Uint32Array(ids.length);
  if (width >= LEAVES_PER_BRANCH) {
    const root = tree.root();
    const perWord = width / LEAVES_PER_BRANCH;
    ids.forEach((id, i) => {
      let x = 0;
      for (let b = id * perWord; b < (id + 1) * perWord; b++) x ^= root[b]!;
      out[i] = x >>> 0;
    });
    return out;
  }
  let cachedBranch = -1;
  let leaves: Uint32Array = new Uint32Array(0);
  ids.forEach((id, i) => {
    const first = id * width;
    const branch = Math.floor(first / LEAVES_PER_BRANCH);
    if (branch !== cachedBranch) {
      leaves = tree.branch(branch);
      cachedBranch = branch;
    }
    const offset = first % LEAVES_PER_BRANCH;
    let x = 0;
    for (let s = offset; s < offset + width; s++) x ^= leaves[s]!;
    out[i] = x >>> 0;
  });
  return out;
}
