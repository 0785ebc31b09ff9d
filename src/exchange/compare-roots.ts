/**
 * Root compare: which branches differ. A root is one word per branch, the XOR of the branch's 256
 * leaves; two equal words mean (but for a 2^-32 chance) equal branches.
 */
import { AaeError } from '../errors.js';
import { dirtyBranches } from '../tictac/index.js';

/** The ids of the branches whose root words differ, ascending. Roots of different sizes are refused. */
export function compareRoots(blueRoot: Uint32Array, pinkRoot: Uint32Array): number[] {
  return dirtyBranches(blueRoot, pinkRoot);
}

/**
 * The same compare at any level of a walk: `blue[i]` and `pink[i]` are the two sides' words for
 * `ids[i]`; returns the ids whose words differ, in the order of `ids`.
 */
export function compareWords(ids: readonly number[], blue: Uint32Array, pink: Uint32Array): number[] {
  if (blue.length !== ids.length || pink.length !== ids.length) {
    throw new AaeError(
      'TREE_ROOT_INVALID',
      `expected ${ids.length} words from each side, got ${blue.length} and ${pink.length}`,
    );
  }
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) if (blue[i] !== pink[i]) out.push(ids[i]!);
  return out;
}
