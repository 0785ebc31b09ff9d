/**
 * The levels an exchange walks, from coarse to fine, as widths in segments (a word at width w is
 * the XOR of w consecutive leaves; see source.ts).
 *
 * classic: the original's two levels — the root (width 256: one word per branch) and the leaves of
 *   dirty branches (width 1, fetched as whole 1 KiB branches). For sources that only answer
 *   fetchRoot and fetchBranches.
 * fine: for sources that declare the `hashes` capability, a walk with fan-out 16: a top of at most
 *   256 words, then down by 16 to the branch words (width 256), then groups of 16 leaves, then
 *   leaves. A large tree: 4096 → 256 → 16 → 1, i.e. 256 words, then 16 words per dirty parent.
 */
import { LEAVES_PER_BRANCH, branchCountOf, type TreeSize } from '../tictac/index.js';

/**
 * Children per parent in a fine walk. A level costs FAN_OUT × 4 bytes per dirty parent and a tree
 * of 2^20 segments needs log_FAN_OUT(2^20) levels: 16 makes a lone difference cost 64 bytes a level
 * over four levels (~256 B a side) instead of a 1 KiB branch, at one extra round trip or two.
 */
export const FAN_OUT = 16;

/** At most this many words at the top of a fine walk: 1 KiB, the price of "are we in sync?". */
export const TOP_WORDS = 256;

export type TreeStage = 'root_compare' | 'branch_compare';
export type WalkMode = 'fine' | 'classic';

export interface Level {
  readonly width: number;
  /** Widths of a branch or more belong to root compare; finer ones to branch compare. */
  readonly stage: TreeStage;
}

export function planLevels(treeSize: TreeSize, walk: WalkMode): Level[] {
  const level = (width: number): Level => ({
    width,
    stage: width >= LEAVES_PER_BRANCH ? 'root_compare' : 'branch_compare',
  });
  if (walk === 'classic') return [level(LEAVES_PER_BRANCH), level(1)];
  const branches = branchCountOf(treeSize);
  let width = LEAVES_PER_BRANCH * Math.max(1, branches / TOP_WORDS);
  const out = [level(width)];
  while (width > LEAVES_PER_BRANCH) {
    width = Math.max(LEAVES_PER_BRANCH, width / FAN_OUT);
    out.push(level(width));
  }
  for (width = LEAVES_PER_BRANCH / FAN_OUT; width >= 1; width /= FAN_OUT) out.push(level(width));
  return out;
}
