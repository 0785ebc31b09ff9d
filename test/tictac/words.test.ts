import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isAaeError } from '../../src/errors.js';
import { TicTacTree } from '../../src/tictac/index.js';
import { build, entries, smallSize } from './arbitraries.js';

/** xorWordsInto: the word of id i at width w is the XOR of the leaves of segments [i·w, (i+1)·w). */
describe('tree words', () => {
  test('law: every word is the XOR of its segments, XORed into what out held', () => {
    fc.assert(
      fc.property(smallSize, entries, fc.nat(20), fc.array(fc.nat(), { maxLength: 12 }), fc.integer(), (size, xs, log2, picks, seed) => {
        const tree = build(size, xs);
        const width = 2 ** (log2 % (Math.log2(tree.segmentCount) + 1));
        const count = tree.segmentCount / width;
        const ids = [...new Set(picks.map((p) => p % count))].sort((a, b) => a - b);
        const before = Uint32Array.from(ids, (_, i) => (seed * (i + 7)) >>> 0);
        const out = before.slice();
        tree.xorWordsInto(width, ids, out);
        ids.forEach((id, i) => {
          let x = 0;
          for (let s = id * width; s < (id + 1) * width; s++) x ^= tree.getSegment(s);
          expect(out[i]).toBe((before[i]! ^ x) >>> 0);
        });
      }),
      { numRuns: 80 },
    );
  });

  test('the words of a merge are the XOR of the words of its parts', () => {
    fc.assert(
      fc.property(smallSize, entries, entries, fc.nat(8), (size, xs, ys, log2) => {
        const a = build(size, xs);
        const b = build(size, ys);
        const width = 2 ** log2;
        const ids = Array.from({ length: Math.min(16, a.segmentCount / width) }, (_, i) => i);
        const parts = new Uint32Array(ids.length);
        a.xorWordsInto(width, ids, parts);
        b.xorWordsInto(width, ids, parts);
        const whole = new Uint32Array(ids.length);
        a.merge(b).xorWordsInto(width, ids, whole);
        expect(parts).toEqual(whole);
      }),
      { numRuns: 60 },
    );
  });

  test('a width that is not a power of two in range, or an id past the end, is TREE_SEGMENT_INVALID', () => {
    const t = TicTacTree.create('xxsmall');
    const out = new Uint32Array(4);
    for (const [width, ids] of [[3, [0]], [0, [0]], [t.segmentCount * 2, [0]], [16, [t.segmentCount / 16]], [1, [-1]]] as const) {
      let err: unknown;
      try {
        t.xorWordsInto(width, ids, out);
      } catch (e) {
        err = e;
      }
      expect(isAaeError(err, 'TREE_SEGMENT_INVALID'), `${width} ${ids.join()}`).toBe(true);
    }
  });
});
