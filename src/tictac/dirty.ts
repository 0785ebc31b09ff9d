/**
 * The pure compare functions of an exchange.
 *
 * `dirtyBranches` compares two roots word by word: the branches whose XOR summaries differ.
 * `dirtySegments` compares the leaves of those branches: the segment ids whose keys must then be
 * fetched. It takes whole trees, or the branch payloads an exchange receives (branch id → 256
 * leaves, as `tree.branches(ids)` or `decodeBranches` return them), or one of each, so the
 * exchange never needs a whole remote tree.
 *
 * Between two large trees differing in 100 segments this reads two 16 KiB roots and at most 100
 * pairs of 1 KiB branches, instead of 2 × 4 MiB of leaves.
 */
import { AaeError } from '../errors.js';
import { LEAF_BITS, LEAVES_PER_BRANCH, MAX_BRANCH_COUNT, treeSizeOfBranchCount } from './sizes.js';
import { TicTacTree } from './tree.js';

/** Branch payloads as an exchange receives them: branch id → its 256 leaves. */
export type BranchMap = ReadonlyMap<number, Uint32Array>;

/** The ids of the branches whose root words differ, ascending. */
export function dirtyBranches(rootA: Uint32Array, rootB: Uint32Array): number[] {
  checkRoot(rootA);
  checkRoot(rootB);
  if (rootA.length !== rootB.length) {
    throw new AaeError('TREE_ROOT_INVALID', `cannot compare a root of ${rootA.length} words with one of ${rootB.length}`);
  }
  const out: number[] = [];
  for (let i = 0; i < rootA.length; i++) if (rootA[i] !== rootB[i]) out.push(i);
  return out;
}

/**
 * The segment ids (branch × 256 + leaf), ascending, whose leaves differ within `branches`.
 *
 * `branches` defaults to `dirtyBranches` of the two roots when both sides are trees, and to every
 * branch id either payload holds otherwise. A payload must hold every branch compared
 * (TREE_ROOT_INVALID if not); ids must lie inside the tree (TREE_SEGMENT_INVALID); two trees must
 * be of one size (TREE_SIZE_MISMATCH). Pass every branch id to compare leaf by leaf regardless of
 * the roots.
 */
export function dirtySegments(
  a: TicTacTree | BranchMap,
  b: TicTacTree | BranchMap,
  branches?: Iterable<number>,
): number[] {
  let limit = MAX_BRANCH_COUNT;
  if (a instanceof TicTacTree && b instanceof TicTacTree && a.size !== b.size) {
    throw new AaeError('TREE_SIZE_MISMATCH', `cannot compare a ${a.size} tree with a ${b.size} tree`);
  }
  if (a instanceof TicTacTree) limit = a.branchCount;
  else if (b instanceof TicTacTree) limit = b.branchCount;

  let ids: number[];
  if (branches !== undefined) {
    ids = [...branches];
  } else if (a instanceof TicTacTree && b instanceof TicTacTree) {
    ids = dirtyBranches(a.root(), b.root());
  } else {
    const union = new Set<number>();
    if (!(a instanceof TicTacTree)) for (const id of a.keys()) union.add(id);
    if (!(b instanceof TicTacTree)) for (const id of b.keys()) union.add(id);
    ids = [...union];
  }
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= limit) {
      throw new AaeError('TREE_SEGMENT_INVALID', `branch ${id} is outside 0..${limit - 1}`);
    }
  }
  ids.sort((x, y) => x - y);

  const out: number[] = [];
  let previous = -1;
  for (const id of ids) {
    if (id === previous) continue;
    previous = id;
    const la = leavesOf(a, id);
    const lb = leavesOf(b, id);
    if (la === undefined && lb === undefined) continue;
    const base = id << LEAF_BITS;
    for (let i = 0; i < LEAVES_PER_BRANCH; i++) {
      if ((la?.[i] ?? 0) !== (lb?.[i] ?? 0)) out.push(base + i);
    }
  }
  return out;
}

/** A branch's leaves, or undefined for a tree branch that is all zeros. */
function leavesOf(side: TicTacTree | BranchMap, id: number): Uint32Array | undefined {
  if (side instanceof TicTacTree) return side.peekBranch(id);
  const leaves = side.get(id);
  if (leaves === undefined) throw new AaeError('TREE_ROOT_INVALID', `branch ${id} is missing from a payload`);
  if (!(leaves instanceof Uint32Array) || leaves.length !== LEAVES_PER_BRANCH) {
    throw new AaeError('TREE_ROOT_INVALID', `branch ${id} must have 256 leaves`);
  }
  return leaves;
}

function checkRoot(root: Uint32Array): void {
  if (!(root instanceof Uint32Array) || treeSizeOfBranchCount(root.length) === undefined) {
    throw new AaeError(
      'TREE_ROOT_INVALID',
      `a root has the branch count of a tree size (16, 64, 256, 1024, 4096 or 16384 words)`,
    );
  }
}
