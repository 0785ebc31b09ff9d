import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { TicTacTree, dirtyBranches, dirtySegments, type TreeSize } from '../../src/tictac/index.js';
import { build, entries, model, smallSize } from './arbitraries.js';

const RUNS = { numRuns: 60 };

/** The naive answer: every segment id whose leaves differ, ascending. */
function naiveDiff(size: TreeSize, a: ReturnType<typeof model>, b: ReturnType<typeof model>): number[] {
  const ids = new Set([...a.keys(), ...b.keys()]);
  return [...ids].filter((s) => (a.get(s) ?? 0) !== (b.get(s) ?? 0)).sort((x, y) => x - y);
}

function allBranches(tree: TicTacTree): number[] {
  return Array.from({ length: tree.branchCount }, (_, i) => i);
}

describe('dirtyBranches and dirtySegments laws', () => {
  test('over all branches, dirtySegments finds exactly the leaves that differ, and is symmetric', () => {
    fc.assert(
      fc.property(smallSize, entries, entries, (size, xs, ys) => {
        const a = build(size, xs);
        const b = build(size, ys);
        const expected = naiveDiff(size, model(size, xs), model(size, ys));
        expect(dirtySegments(a, b, allBranches(a))).toEqual(expected);
        expect(dirtySegments(b, a, allBranches(a))).toEqual(expected);
      }),
      RUNS,
    );
  });

  test('from the roots, dirtySegments finds the differing leaves of every branch whose root word differs', () => {
    fc.assert(
      fc.property(smallSize, entries, entries, (size, xs, ys) => {
        const a = build(size, xs);
        const b = build(size, ys);
        const dirty = new Set(dirtyBranches(a.root(), b.root()));
        const expected = naiveDiff(size, model(size, xs), model(size, ys)).filter((s) => dirty.has(s >>> 8));
        expect(dirtySegments(a, b)).toEqual(expected);
        expect(dirtySegments(b, a)).toEqual(expected);
        // Without cancellation inside a branch (the 2^-32 case), that is every differing leaf.
        const missed = naiveDiff(size, model(size, xs), model(size, ys)).filter((s) => !dirty.has(s >>> 8));
        for (const s of missed) expect(a.root()[s >>> 8]).toBe(b.root()[s >>> 8]);
      }),
      RUNS,
    );
  });

  test('dirtyBranches finds exactly the differing root words, symmetrically', () => {
    fc.assert(
      fc.property(smallSize, entries, entries, (size, xs, ys) => {
        const ra = build(size, xs).root();
        const rb = build(size, ys).root();
        const expected = [...ra.keys()].filter((i) => ra[i] !== rb[i]);
        expect(dirtyBranches(ra, rb)).toEqual(expected);
        expect(dirtyBranches(rb, ra)).toEqual(expected);
        expect(dirtyBranches(ra, ra)).toEqual([]);
      }),
      RUNS,
    );
  });

  test('branch payloads give the same answer as trees, alone or mixed with a tree', () => {
    fc.assert(
      fc.property(smallSize, entries, entries, (size, xs, ys) => {
        const a = build(size, xs);
        const b = build(size, ys);
        const ids = dirtyBranches(a.root(), b.root());
        const fromTrees = dirtySegments(a, b);
        expect(dirtySegments(a.branches(ids), b.branches(ids))).toEqual(fromTrees);
        expect(dirtySegments(a, b.branches(ids))).toEqual(fromTrees);
        expect(dirtySegments(a.branches(ids), b, ids)).toEqual(fromTrees);
      }),
      RUNS,
    );
  });
});

describe('dirty examples', () => {
  test('two large trees differing in three known segments', () => {
    const a = TicTacTree.create('large');
    const b = TicTacTree.create('large');
    for (let i = 0; i < 5000; i++) {
      const s32 = Math.imul(i, 0x9e37_79b1) >>> 0;
      a.add(s32, i + 1);
      b.add(s32, i + 1);
    }
    b.add(1027500, 7); // branch 4013, leaf 172
    b.add(494876, 8); // branch 1933, leaf 28
    a.add(494877, 9); // branch 1933, leaf 29
    expect(dirtyBranches(a.root(), b.root())).toEqual([1933, 4013]);
    expect(dirtySegments(a, b)).toEqual([494876, 494877, 1027500]);
    expect(dirtySegments(a, b, [4013])).toEqual([1027500]);
    expect(dirtySegments(a, b, [4013, 4013, 0])).toEqual([1027500]);
  });

  test('a branch whose differences cancel in its root word is found only when asked for', () => {
    const a = TicTacTree.create('xxsmall');
    const b = TicTacTree.create('xxsmall');
    b.add(3, 0x55);
    b.add(4, 0x55);
    expect(dirtyBranches(a.root(), b.root())).toEqual([]);
    expect(dirtySegments(a, b)).toEqual([]);
    expect(dirtySegments(a, b, [0])).toEqual([3, 4]);
  });
});

describe('dirty bad input', () => {
  test('roots of no tree size, or of two sizes, are TREE_ROOT_INVALID', () => {
    const code = expect.objectContaining({ code: 'TREE_ROOT_INVALID' });
    expect(() => dirtyBranches(new Uint32Array(16), new Uint32Array(64))).toThrowError(code);
    expect(() => dirtyBranches(new Uint32Array(15), new Uint32Array(15))).toThrowError(code);
    expect(() => dirtyBranches(new Uint32Array(0), new Uint32Array(0))).toThrowError(code);
  });

  test('trees of two sizes are TREE_SIZE_MISMATCH', () => {
    expect(() => dirtySegments(TicTacTree.create('xxsmall'), TicTacTree.create('xsmall'))).toThrowError(
      expect.objectContaining({ code: 'TREE_SIZE_MISMATCH' }),
    );
  });

  test('branch ids outside the tree are TREE_SEGMENT_INVALID', () => {
    const a = TicTacTree.create('xxsmall');
    const code = expect.objectContaining({ code: 'TREE_SEGMENT_INVALID' });
    expect(() => dirtySegments(a, a, [16])).toThrowError(code);
    expect(() => dirtySegments(a, a, [-1])).toThrowError(code);
    expect(() => dirtySegments(a, a, [1.5])).toThrowError(code);
    const leaves = new Uint32Array(256);
    expect(() => dirtySegments(new Map([[16384, leaves]]), new Map([[16384, leaves]]))).toThrowError(code);
    expect(() => dirtySegments(a, new Map([[16, leaves]]))).toThrowError(code);
  });

  test('a payload missing a branch, or with a branch of the wrong length, is TREE_ROOT_INVALID', () => {
    const code = expect.objectContaining({ code: 'TREE_ROOT_INVALID' });
    const leaves = new Uint32Array(256);
    expect(() => dirtySegments(new Map([[1, leaves]]), new Map([[2, leaves]]))).toThrowError(code);
    expect(() => dirtySegments(new Map([[1, leaves]]), new Map([[1, new Uint32Array(255)]]))).toThrowError(code);
    expect(() => dirtySegments(TicTacTree.create('xxsmall'), new Map(), [0])).toThrowError(code);
  });
});
