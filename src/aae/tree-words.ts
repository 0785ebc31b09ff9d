/**
 * Tree words for `fetchHashes` when a source holds its tree in parts (a root and branches fetched
 * from several vnodes and XORed) rather than as one TicTacTree: the word of id `i` at width `w` is
 * the XOR of segments [i·w, (i+1)·w). Widths of a branch or more XOR root words; smaller widths
 * XOR the leaves of the one branch that holds them, fetched once per branch.
 */
import { checkHashesRequest, type HashesRequest } from '../exchange/index.js';
import { LEAVES_PER_BRANCH } from '../tictac/index.js';

export interface TreeParts {
  segmentCount: number;
  root(): Promise<Uint32Array>;
  branches(ids: readonly number[]): Promise<ReadonlyMap<number, Uint32Array>>;
}

export async function wordsFromParts(parts: TreeParts, request: HashesRequest): Promise<Uint32Array> {
  checkHashesRequest(request, parts.segmentCount);
  const { width, ids } = request;
  const out = new Uint32Array(ids.length);
  if (width >= LEAVES_PER_BRANCH) {
    const root = await parts.root();
    const perWord = width / LEAVES_PER_BRANCH;
    ids.forEach((id, i) => {
      let x = 0;
      for (let b = id * perWord; b < (id + 1) * perWord; b++) x ^= root[b]!;
      out[i] = x >>> 0;
    });
    return out;
  }
  const branchIds = [...new Set(ids.map((id) => Math.floor((id * width) / LEAVES_PER_BRANCH)))];
  const branches = await parts.branches(branchIds);
  ids.forEach((id, i) => {
    const first = id * width;
    const leaves = branches.get(Math.floor(first / LEAVES_PER_BRANCH))!;
    const offset = first % LEAVES_PER_BRANCH;
    let x = 0;
    for (let s = offset; s < offset + width; s++) x ^= leaves[s]!;
    out[i] = x >>> 0;
  });
  return out;
}

export function xorInto(target: Uint32Array, other: Uint32Array): void {
  for (let i = 0; i < target.length; i++) target[i]! ^= other[i]!;
}
