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

/** The branches a request at `width` < 256 reads (ids ascending, so the branches come out sorted). */
export function branchesOfRequest(request: HashesRequest): number[] {
  const out: number[] = [];
  for (const id of request.ids) {
    const b = Math.floor((id * request.width) / LEAVES_PER_BRANCH);
    if (out[out.length - 1] !== b) out.push(b);
  }
  return out;
}

/**
 * The words of a (checked) request, from a root (widths of a branch or more) or from the leaves of
 * the branches it reads (smaller widths). Shared by trees held whole and trees held in parts.
 */
export function wordsOfRequest(
  request: HashesRequest,
  from: { root?: () => Uint32Array; branch?: (id: number) => Uint32Array },
): Uint32Array {
  const { width, ids } = request;
  const { root, branch } = from;
  const out = new Uint32Array(ids.length);
  if (width >= LEAVES_PER_BRANCH) {
    if (root === undefined) throw new AaeError('INTERNAL', `words of width ${width} need the root`);
    const words = root();
    const perWord = width / LEAVES_PER_BRANCH;
    ids.forEach((id, i) => {
      let x = 0;
      for (let b = id * perWord; b < (id + 1) * perWord; b++) x ^= words[b]!;
      out[i] = x >>> 0;
    });
    return out;
  }
  if (branch === undefined) throw new AaeError('INTERNAL', `words of width ${width} need the branches`);
  let cachedBranch = -1;
  let leaves: Uint32Array = new Uint32Array(0);
  ids.forEach((id, i) => {
    const first = id * width;
    const b = Math.floor(first / LEAVES_PER_BRANCH);
    if (b !== cachedBranch) {
      leaves = branch(b);
      cachedBranch = b;
    }
    const offset = first % LEAVES_PER_BRANCH;
    let x = 0;
    for (let s = offset; s < offset + width; s++) x ^= leaves[s]!;
    out[i] = x >>> 0;
  });
  return out;
}

export function hashesOfTree(tree: TicTacTree, request: HashesRequest): Uint32Array {
  checkHashesRequest(request, tree.segmentCount);
  return wordsOfRequest(request, { root: () => tree.root(), branch: (id) => tree.branch(id) });
}
