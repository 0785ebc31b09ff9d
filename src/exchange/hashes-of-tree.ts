/**
 * `fetchHashes` for a source that holds a TicTacTree: the word of id `i` at width `w` is the XOR of
 * the leaves of segments `[i·w, (i+1)·w)` (TicTacTree.xorWordsInto: widths of a branch or more XOR
 * root words, smaller widths the leaves of one branch). Costs O(ids × min(width, 256)) word reads,
 * never a whole tree walk or a branch copy. Sources that hold their tree in parts (a cluster's
 * IndexN trees) XOR each part's words the same way (merge_words_nval).
 */
import { AaeError } from '../errors.js';
import type { TicTacTree } from '../tictac/index.js';
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
  const out = new Uint32Array(request.ids.length);
  tree.xorWordsInto(request.width, request.ids, out);
  return out;
}
