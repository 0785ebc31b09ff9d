/**
 * The widths an exchange walks, in segments (a word at width w is the XOR of w consecutive leaves;
 * see source.ts), and the cost model that picks them.
 *
 * classic: the original's two levels — the root (width 256: one word per branch) and the leaves of
 *   dirty branches (width 1, fetched as whole 1 KiB branches). For sources that only answer
 *   fetchRoot and fetchBranches.
 *
 * fine: at most three levels — a top of S/w1 words, the children of its dirty words at width w2,
 *   the leaves of the dirty ones — so that tree data takes at most three round trips. Per side it
 *   costs about
 *       S/w1  +  D1·w1/w2  +  D2·w2          words,
 *   D1 and D2 being the dirty words at the top and the middle. For S = 2^20 segments and D ≈ 100
 *   differences that is least at w1 = 512 and w2 = 32: 2048 + 98·16 + ~97·32 words, ≈ 27 KB a
 *   side (w2 = 16 costs within 1% of it).
 *   The top is chosen before anything is known, from an expected number of differences; the middle
 *   is chosen after the top has been compared, from the differences the dirty fraction implies.
 *
 * All pure; the engine sequences them.
 */
import { LEAVES_PER_BRANCH } from '../tictac/index.js';

export type TreeStage = 'root_compare' | 'branch_compare';
export type WalkMode = 'fine' | 'classic';

/**
 * The differences a fine walk plans its top level for when the caller says nothing: the issue's
 * "100 differences in 1M keys", a few lost writes between two syncs. Fewer makes the top coarser (an
 * in-sync check cheaper); more makes it finer. A caller that loops knows better and passes
 * `expectedDifferences`.
 */
export const DEFAULT_EXPECTED_DIFFERENCES = 100;

/**
 * The top is never coarser than this many branches a word. Large-delta detection reads the number
 * of differences off the top's dirty fraction, and "half the branches dirty" means ≈ 0.69·B
 * differences: at B/4 top words those still leave ~6% of the top clean, enough to estimate from;
 * a coarser top would be all dirty long before the threshold and could not tell.
 */
export const MAX_BRANCHES_PER_TOP_WORD = 4;

/** Nor has the top fewer words than this (where the tree allows): a fraction of 64 words is a fraction. */
export const MIN_TOP_WORDS = 64;

/** Widths of a branch or more belong to root compare; finer ones to branch compare. */
export function stageOf(width: number): TreeStage {
  return width >= LEAVES_PER_BRANCH ? 'root_compare' : 'branch_compare';
}

/** Expected distinct dirty ids when `d` differences fall at random among `n` ids. */
export function expectedDirty(n: number, d: number): number {
  if (n <= 0 || d <= 0) return 0;
  return -n * Math.expm1(-d / n);
}

/**
 * The differences that `dirty` dirty ids among `n` imply (the inverse of expectedDirty). When
 * every id is dirty the count is unbounded; the estimate is then that of n − ½ dirty ids, ≈ n·ln 2n.
 */
export function estimateDifferences(dirty: number, n: number): number {
  if (dirty <= 0 || n <= 0) return 0;
  const seen = Math.min(dirty, n - 0.5);
  return -n * Math.log1p(-seen / n);
}

/**
 * Words one side sends for the rest of a walk: `parents` dirty ids at `width` hold `d` differences
 * among their parents·width segments; their children at `child` are fetched, then (unless the
 * children are leaves) the leaves of the dirty children, at most `cap` of them going on.
 */
export function costBelow(parents: number, width: number, child: number, d: number, cap: number): number {
  const children = parents * (width / child);
  if (child === 1) return children;
  const dirtyChildren = Math.min(cap, expectedDirty(children, d));
  return children + dirtyChildren * child;
}

/** The child width (a power of two below `width`) that costBelow finds cheapest. */
export function planChildWidth(parents: number, width: number, d: number, cap: number): number {
  let best = 1;
  let bestCost = Infinity;
  for (let child = 1; child < width; child *= 2) {
    const cost = costBelow(parents, width, child, d, cap);
    if (cost < bestCost) {
      bestCost = cost;
      best = child;
    }
  }
  return best;
}

/**
 * The top width for a tree of `segments` segments, expecting `d` differences, with at most `cap`
 * ids going on from a level. Never finer than a branch: an in-sync check then costs at most one
 * root (the bound is two), and a source answers it from root words alone. Never coarser
 * than MAX_BRANCHES_PER_TOP_WORD branches or fewer than MIN_TOP_WORDS words (large deltas must
 * show).
 */
export function planTopWidth(segments: number, d: number, cap: number): number {
  const floor = Math.min(LEAVES_PER_BRANCH, segments);
  const ceiling = Math.max(floor, Math.min(LEAVES_PER_BRANCH * MAX_BRANCHES_PER_TOP_WORD, segments / MIN_TOP_WORDS));
  let best = floor;
  let bestCost = Infinity;
  for (let width = floor; width <= ceiling; width *= 2) {
    const n = segments / width;
    const dirty = Math.min(cap, expectedDirty(n, d));
    const inParents = dirty === 0 ? 0 : (d * dirty) / expectedDirty(n, d);
    const below = width === 1 ? 0 : costBelow(dirty, width, planChildWidth(dirty, width, inParents, cap), inParents, cap);
    const cost = n + below;
    if (cost < bestCost) {
      bestCost = cost;
      best = width;
    }
  }
  return best;
}
