/**
 * Branch compare: which segments differ, given the branch payloads each side sent (branch id →
 * 256 leaves). Both payloads must hold the same branches: a branch one side did not send cannot be
 * compared, and treating it as zeros would invent differences.
 */
import { AaeError } from '../errors.js';
import { dirtySegments, type BranchMap } from '../tictac/index.js';

/** Dirty segment ids (branch × 256 + leaf), ascending. */
export function compareBranches(blue: BranchMap, pink: BranchMap): number[] {
  for (const id of blue.keys()) {
    if (!pink.has(id)) throw new AaeError('TREE_ROOT_INVALID', `branch ${id} is missing from the pink payload`);
  }
  for (const id of pink.keys()) {
    if (!blue.has(id)) throw new AaeError('TREE_ROOT_INVALID', `branch ${id} is missing from the blue payload`);
  }
  return dirtySegments(blue, pink, blue.keys());
}
