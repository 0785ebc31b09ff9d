import fc from 'fast-check';
import { TicTacTree, type TreeSize } from '../../src/tictac/index.js';

/** Small sizes keep property runs fast; the laws do not depend on the size. */
export const smallSize = fc.constantFrom<TreeSize>('xxsmall', 'xsmall', 'small');

export const uint32 = fc.nat({ max: 0xffff_ffff });

/** A key as the tree sees it: its segment32 and its contribution. */
export interface Entry {
  segment32: number;
  contribution: number;
}

export const entry: fc.Arbitrary<Entry> = fc.record({ segment32: uint32, contribution: uint32 });

/** Entries that crowd a few segments, so leaves hold several keys and XORs interact. */
export const crowdedEntry: fc.Arbitrary<Entry> = fc.record({
  segment32: fc.nat({ max: 40 }).map((n) => n * 97),
  contribution: fc.oneof(uint32, fc.nat({ max: 7 })),
});

export const entries = fc.array(fc.oneof(entry, crowdedEntry), { maxLength: 60 });

export function build(size: TreeSize, list: readonly Entry[]): TicTacTree {
  const tree = TicTacTree.create(size);
  for (const e of list) tree.add(e.segment32, e.contribution);
  return tree;
}

/** The naive model: segment → leaf, built with plain numbers. */
export function model(size: TreeSize, list: readonly Entry[]): Map<number, number> {
  const segments = TicTacTree.create(size).segmentCount;
  const leaves = new Map<number, number>();
  for (const e of list) {
    const s = e.segment32 & (segments - 1);
    leaves.set(s, ((leaves.get(s) ?? 0) ^ e.contribution) >>> 0);
  }
  return leaves;
}
