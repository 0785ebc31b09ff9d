import { AaeError } from '../errors.js';

/**
 * Tree sizes, as in leveled_tictac: every size has 256 leaves per branch and 4-byte hashes; the
 * sizes differ only in their number of branches. A tree's segment count is `branches × 256`.
 *
 * | size    | branches | segments | root bytes | all leaves |
 * |---------|---------:|---------:|-----------:|-----------:|
 * | xxsmall |       16 |     4096 |       64 B |     16 KiB |
 * | xsmall  |       64 |    16384 |      256 B |     64 KiB |
 * | small   |      256 |    65536 |      1 KiB |    256 KiB |
 * | medium  |     1024 |   262144 |      4 KiB |      1 MiB |
 * | large   |     4096 |  1048576 |     16 KiB |      4 MiB |
 * | xlarge  |    16384 |  4194304 |     64 KiB |     16 MiB |
 */

export type TreeSize = 'xxsmall' | 'xsmall' | 'small' | 'medium' | 'large' | 'xlarge';

/** Smallest first; a size's index here is its code in the export format (docs/FORMAT.md). */
export const TREE_SIZES: readonly TreeSize[] = ['xxsmall', 'xsmall', 'small', 'medium', 'large', 'xlarge'];

export const DEFAULT_TREE_SIZE: TreeSize = 'large';

/** Leaves per branch, for every size: one branch is exactly 1 KiB of leaves. */
export const LEAVES_PER_BRANCH = 256;
/** log2(LEAVES_PER_BRANCH): `branch = segment >>> LEAF_BITS`, `leaf = segment & LEAF_MASK`. */
export const LEAF_BITS = 8;
export const LEAF_MASK = LEAVES_PER_BRANCH - 1;
/** Every root word and every leaf is an unsigned 32-bit integer. */
export const HASH_BYTES = 4;

const BRANCHES: Readonly<Record<TreeSize, number>> = {
  xxsmall: 16,
  xsmall: 64,
  small: 256,
  medium: 1024,
  large: 4096,
  xlarge: 16384,
};

/** The most branches any size has: a branch id is always below this. */
export const MAX_BRANCH_COUNT = BRANCHES.xlarge;

export function isTreeSize(s: unknown): s is TreeSize {
  return typeof s === 'string' && Object.hasOwn(BRANCHES, s);
}

export function parseTreeSize(s: string): TreeSize {
  if (isTreeSize(s)) return s;
  throw new AaeError('TREE_SIZE_UNKNOWN', `unknown tree size '${String(s)}' (expected one of ${TREE_SIZES.join(', ')})`);
}

export function branchCountOf(size: TreeSize): number {
  return BRANCHES[size];
}

export function segmentCountOf(size: TreeSize): number {
  return BRANCHES[size] * LEAVES_PER_BRANCH;
}

/** The size whose root has `branchCount` words, or undefined if no size does. */
export function treeSizeOfBranchCount(branchCount: number): TreeSize | undefined {
  return TREE_SIZES.find((s) => BRANCHES[s] === branchCount);
}

/** A key's segment in a tree of `size`: the low bits of its segment32. */
export function segmentOf(segment32: number, size: TreeSize): number {
  return segment32 & (segmentCountOf(size) - 1);
}

export function branchOfSegment(segment: number): number {
  return segment >>> LEAF_BITS;
}

export function leafOfSegment(segment: number): number {
  return segment & LEAF_MASK;
}
