import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { TicTacTree, type TreeSize } from '../../src/tictac/index.js';
import { uint32 as u32 } from './arbitraries.js';

/**
 * Branches start small ((leaf, value) pairs) and become dense at their ninth leaf. Every operation
 * must read the same whichever form a branch is in: trees here are crowded into few branches, so
 * branches of 0 to 40 leaves, both forms and every promotion, are all exercised.
 */
const crowded = fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 39 }), u32), { maxLength: 400 });

function build(size: TreeSize, entries: ReadonlyArray<[number, number, number]>): TicTacTree {
  const t = TicTacTree.create(size);
  for (const [branch, leaf, c] of entries) t.add((branch << 8) | leaf, c);
  return t;
}

/** The model: segment → XOR of its contributions. */
function model(entries: ReadonlyArray<[number, number, number]>): Map<number, number> {
  const m = new Map<number, number>();
  for (const [branch, leaf, c] of entries) {
    const s = (branch << 8) | leaf;
    m.set(s, ((m.get(s) ?? 0) ^ c) >>> 0);
  }
  return m;
}

describe('small and dense branches', () => {
  test('law: leaves, root words, words, branches, export/import and clone agree with the model', () => {
    fc.assert(
      fc.property(crowded, (entries) => {
        const t = build('xxsmall', entries);
        const m = model(entries);
        for (let s = 0; s < t.segmentCount; s++) expect(t.getSegment(s)).toBe(m.get(s) ?? 0);
        const root = t.root();
        for (let b = 0; b < t.branchCount; b++) {
          const leaves = t.branch(b);
          expect(root[b]).toBe(leaves.reduce((x, w) => (x ^ w) >>> 0, 0));
        }
        const ids = Array.from({ length: t.segmentCount / 4 }, (_, i) => i);
        const words = new Uint32Array(ids.length);
        t.xorWordsInto(4, ids, words);
        ids.forEach((id, i) => expect(words[i]).toBe([0, 1, 2, 3].reduce((x, k) => (x ^ (m.get(id * 4 + k) ?? 0)) >>> 0, 0)));
        expect(TicTacTree.import(t.export()).equals(t)).toBe(true);
        const copy = t.clone();
        copy.add(5, 0xdeadbeef);
        expect(t.getSegment(5)).toBe(m.get(5) ?? 0);
      }),
      { numRuns: 150 },
    );
  });

  test('law: merge equals one tree of both key sets, whatever form each side is in; alterSegment overwrites a leaf', () => {
    fc.assert(
      fc.property(crowded, crowded, fc.integer({ min: 0, max: 4095 }), u32, (xs, ys, seg, value) => {
        const whole = build('xxsmall', [...xs, ...ys]);
        expect(build('xxsmall', xs).merge(build('xxsmall', ys)).equals(whole)).toBe(true);
        whole.alterSegment(seg, value);
        expect(whole.getSegment(seg)).toBe(value);
        expect(whole.root()[seg >>> 8]).toBe(whole.branch(seg >>> 8).reduce((x, w) => (x ^ w) >>> 0, 0));
      }),
      { numRuns: 100 },
    );
  });

  test('a tree of one key a branch stays small: its export round trip and stats are exact', () => {
    const t = TicTacTree.create('large');
    for (let b = 0; b < t.branchCount; b++) t.add((b << 8) | (b & 255), b + 1);
    expect(t.stats()).toMatchObject({ nonEmptyBranches: 4096, nonEmptySegments: 4096, keys: 4096 });
    const back = TicTacTree.import(t.export());
    expect(back.equals(t)).toBe(true);
    expect(back.stats()).toEqual(t.stats());
  });
});
