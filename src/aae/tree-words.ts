/**
 * Tree words for `fetchHashes` when a source holds its tree in parts (a root and branches fetched
 * from several vnodes and XORed) rather than as one TicTacTree: the word of id `i` at width `w` is
 * the XOR of segments [i·w, (i+1)·w). The arithmetic is the exchange's (wordsOfRequest); this only
 * fetches the root, or each branch the request reads, once.
 */
import { branchesOfRequest, checkHashesRequest, wordsOfRequest, type HashesRequest } from '../exchange/index.js';
import { LEAVES_PER_BRANCH } from '../tictac/index.js';

export interface TreeParts {
  segmentCount: number;
  root(): Promise<Uint32Array>;
  branches(ids: readonly number[]): Promise<ReadonlyMap<number, Uint32Array>>;
}

export async function wordsFromParts(parts: TreeParts, request: HashesRequest): Promise<Uint32Array> {
  checkHashesRequest(request, parts.segmentCount);
  if (request.width >= LEAVES_PER_BRANCH) {
    const root = await parts.root();
    return wordsOfRequest(request, { root: () => root });
  }
  const branches = await parts.branches(branchesOfRequest(request));
  return wordsOfRequest(request, { branch: (id) => branches.get(id)! });
}

export function xorInto(target: Uint32Array, other: Uint32Array): void {
  for (let i = 0; i < target.length; i++) target[i]! ^= other[i]!;
}
