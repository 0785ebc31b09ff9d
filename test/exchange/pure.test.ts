import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeClock } from '../../src/cluster/clock.js';
import { isAaeError } from '../../src/errors.js';
import {
  compareBranches,
  compareClocks,
  compareRoots,
  compareWords,
  hashesOfTree,
  confirmByChildren,
  costBelow,
  estimateDifferences,
  expectedDirty,
  intersectConfirmed,
  keyClockBytes,
  planChildWidth,
  planTopWidth,
  selectIds,
  type KeyClock,
} from '../../src/exchange/index.js';
import { initHash, utf8 } from '../../src/hash/index.js';
import { TicTacTree } from '../../src/tictac/index.js';
import { seeded } from './helpers.js';
import { versionHashOf } from '../support/versions.js';

beforeAll(async () => {
  await initHash();
});

const root16 = fc.uint32Array({ minLength: 16, maxLength: 16 });

describe('compareRoots', () => {
  it('is exact: an id is returned iff its words differ', () => {
    fc.assert(
      fc.property(root16, root16, (a, b) => {
        const dirty = compareRoots(a, b);
        const expected = [...a.keys()].filter((i) => a[i] !== b[i]);
        expect(dirty).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });
  it('is symmetric and empty on equal roots', () => {
    fc.assert(
      fc.property(root16, root16, (a, b) => {
        expect(compareRoots(a, b)).toEqual(compareRoots(b, a));
        expect(compareRoots(a, a.slice())).toEqual([]);
      }),
      { numRuns: 50 },
    );
  });
  it('refuses roots of different sizes', () => {
    expect(() => compareRoots(new Uint32Array(16), new Uint32Array(64))).toThrow(/cannot compare/);
  });
});

describe('compareBranches', () => {
  it('finds exactly the differing leaves, as segment ids', () => {
    const blue = new Map([
      [2, new Uint32Array(256)],
      [5, new Uint32Array(256)],
    ]);
    const pink = new Map([
      [2, new Uint32Array(256)],
      [5, new Uint32Array(256)],
    ]);
    blue.get(2)![7] = 1;
    pink.get(5)![255] = 9;
    expect(compareBranches(blue, pink)).toEqual([2 * 256 + 7, 5 * 256 + 255]);
    expect(compareBranches(pink, blue)).toEqual([2 * 256 + 7, 5 * 256 + 255]);
  });
  it('refuses payloads that do not hold the same branches', () => {
    const blue = new Map([[1, new Uint32Array(256)]]);
    const pink = new Map([[2, new Uint32Array(256)]]);
    expect(() => compareBranches(blue, pink)).toThrow(/missing/);
  });
});

const clockArb = fc
  .uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 3 })), {
    selector: (e) => e[0],
    minLength: 1,
    maxLength: 3,
  })
  .map((entries) => makeClock(entries, 1000));
const keyArb = fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4', 'k5');
const sideArb = fc.uniqueArray(
  fc.record({ bucket: fc.constantFrom('b1', 'b2'), key: keyArb, clock: clockArb, deleted: fc.boolean() }),
  { selector: (r) => `${r.bucket}/${r.key}`, maxLength: 12 },
);
const toKeyClocks = (side: Array<{ bucket: string; key: string; clock: ReturnType<typeof makeClock>; deleted: boolean }>): KeyClock[] =>
  side.map((r) => ({ ...r, key: utf8(r.key), hash: versionHashOf(r.clock.entries, r.deleted) }));

describe('compareClocks', () => {
  it('finds exactly the keys whose versions differ, missing on either side included', () => {
    fc.assert(
      fc.property(sideArb, sideArb, (b, p) => {
        const deltas = compareClocks(toKeyClocks(b), toKeyClocks(p));
        const show = (v: { clock: { entries: readonly unknown[] }; deleted: boolean } | undefined): string =>
          v === undefined ? 'none' : JSON.stringify([v.clock.entries, v.deleted]);
        const blueBy = new Map(b.map((r) => [`${r.bucket}/${r.key}`, r]));
        const pinkBy = new Map(p.map((r) => [`${r.bucket}/${r.key}`, r]));
        const expected = [...new Set([...blueBy.keys(), ...pinkBy.keys()])]
          .filter((id) => show(blueBy.get(id)) !== show(pinkBy.get(id)))
          .sort();
        const got = deltas.map((d) => `${d.bucket}/${new TextDecoder().decode(d.key)}`);
        expect(got).toEqual(expected);
        for (const d of deltas) {
          const id = `${d.bucket}/${new TextDecoder().decode(d.key)}`;
          expect(d.blue).toEqual(blueBy.get(id)?.clock ?? null);
          expect(d.pink).toEqual(pinkBy.get(id)?.clock ?? null);
          expect(d.blueDeleted).toEqual(blueBy.get(id)?.deleted);
          expect(d.pinkDeleted).toEqual(pinkBy.get(id)?.deleted);
        }
      }),
      { numRuns: 200 },
    );
  });
  it('is symmetric up to swapping the sides', () => {
    fc.assert(
      fc.property(sideArb, sideArb, (b, p) => {
        const ab = compareClocks(toKeyClocks(b), toKeyClocks(p));
        const ba = compareClocks(toKeyClocks(p), toKeyClocks(b));
        expect(ba.map((d) => [d.bucket, d.key, d.pink, d.blue])).toEqual(ab.map((d) => [d.bucket, d.key, d.blue, d.pink]));
      }),
      { numRuns: 100 },
    );
  });
  it('ignores lastModified, but not a tombstone flag (the original examples)', () => {
    const kc = (key: string, entries: Array<[string, number]>, t = 1, deleted = false): KeyClock => ({
      bucket: 'B1',
      key: utf8(key),
      clock: makeClock(entries, t),
      deleted,
      hash: versionHashOf(entries, deleted),
    });
    const bl1 = [kc('K1', [['a', 1]]), kc('K2', [['b', 1]]), kc('K3', [['a', 2]])];
    expect(compareClocks(bl1, [kc('K1', [['a', 1]], 99), kc('K2', [['b', 1]]), kc('K3', [['a', 2]])])).toEqual([]);
    const pl2 = [kc('K1', [['a', 1], ['b', 2]]), kc('K2', [['b', 1], ['c', 1]])];
    const d = compareClocks(bl1, pl2);
    expect(d.map((x) => [new TextDecoder().decode(x.key), x.blue?.entries, x.pink?.entries ?? null])).toEqual([
      ['K1', [['a', 1]], [['a', 1], ['b', 2]]],
      ['K2', [['b', 1]], [['b', 1], ['c', 1]]],
      ['K3', [['a', 2]], null],
    ]);
    expect(compareClocks([kc('K1', [['a', 1]])], [kc('K1', [['a', 1]], 1, true)])).toHaveLength(1);
  });
  it('law: a key is a delta exactly when its object hashes differ (or one side lacks it), whatever the clocks say', () => {
    // Hash method `value`: the hash is the value's, so equal clocks over different values are a
    // delta and equal values under different clocks are not — as the trees see it.
    const entry = fc.record({ key: keyArb, clock: clockArb, value: fc.constantFrom(1, 2, 3) });
    const side = fc.uniqueArray(entry, { selector: (r) => r.key, maxLength: 6 });
    fc.assert(
      fc.property(side, side, (b, p) => {
        const kcs = (s: typeof b): KeyClock[] => s.map((r) => ({ bucket: 'b', key: utf8(r.key), clock: r.clock, deleted: false, hash: r.value }));
        const got = compareClocks(kcs(b), kcs(p)).map((d) => new TextDecoder().decode(d.key));
        const bv = new Map(b.map((r) => [r.key, r.value]));
        const pv = new Map(p.map((r) => [r.key, r.value]));
        const expected = [...new Set([...bv.keys(), ...pv.keys()])].filter((k) => bv.get(k) !== pv.get(k)).sort();
        expect(got).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe('selectIds', () => {
  const idsArb = fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { maxLength: 300 });
  it('returns at most maxResults ids, all from the input, one window of the sorted input', () => {
    fc.assert(
      fc.property(idsArb, fc.integer({ min: 1, max: 64 }), fc.integer(), (ids, max, seed) => {
        const out = selectIds(ids, max, seeded(seed));
        const sorted = [...ids].sort((a, b) => a - b);
        expect(out.length).toBe(Math.min(max, ids.length));
        const start = sorted.indexOf(out[0] ?? -1);
        if (out.length > 0) expect(sorted.slice(start, start + out.length)).toEqual(out);
      }),
      { numRuns: 100 },
    );
  });
  it('picks a tightest window, and the same one for the same seed', () => {
    fc.assert(
      fc.property(idsArb, fc.integer({ min: 1, max: 32 }), fc.integer(), (ids, max, seed) => {
        fc.pre(ids.length > max);
        const out = selectIds(ids, max, seeded(seed));
        const sorted = [...ids].sort((a, b) => a - b);
        let best = Infinity;
        for (let i = 0; i + max <= sorted.length; i++) best = Math.min(best, sorted[i + max - 1]! - sorted[i]!);
        expect(out[out.length - 1]! - out[0]!).toBe(best);
        expect(selectIds(ids, max, seeded(seed))).toEqual(out);
      }),
      { numRuns: 100 },
    );
  });
  it('matches the original select_ids examples', () => {
    const first = (): number => 0;
    expect(selectIds([1, 2, 3], 3, first)).toEqual([1, 2, 3]);
    expect(selectIds([1, 2, 3, 5], 3, first)).toEqual([1, 2, 3]);
    expect(selectIds([1, 2, 3, 5, 6, 7, 8], 3, first)).toEqual([1, 2, 3]);
    expect(selectIds([1, 2, 3, 5, 6, 7, 8], 4, first)).toEqual([5, 6, 7, 8]);
    expect(selectIds([8, 7, 1, 3, 2, 5, 6], 4, first)).toEqual([5, 6, 7, 8]);
  });
  it('breaks ties at random, so dense dirt does not always yield the first window', () => {
    const ids = Array.from({ length: 100 }, (_, i) => i);
    const starts = new Set(Array.from({ length: 20 }, (_, s) => selectIds(ids, 10, seeded(s))[0]));
    expect(starts.size).toBeGreaterThan(5);
  });
});

describe('intersectConfirmed', () => {
  it('keeps exactly the ids in both lists, ascending', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(50)), fc.array(fc.nat(50)), (a, b) => {
        const out = intersectConfirmed(a, b);
        expect(out).toEqual([...new Set(a)].filter((x) => b.includes(x)).sort((x, y) => x - y));
        expect(out).toEqual(intersectConfirmed(b, a));
      }),
      { numRuns: 100 },
    );
  });
});

describe('hashesOfTree', () => {
  it('a word at width w is the XOR of its w leaves', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 4095 }), fc.integer({ min: 1, max: 0xffff_ffff })), { maxLength: 60 }),
        fc.constantFrom(1, 4, 16, 256, 1024, 4096),
        (adds, width) => {
          const tree = TicTacTree.create('xxsmall');
          for (const [s, c] of adds) tree.add(s, c);
          const ids = Array.from({ length: 4096 / width }, (_, i) => i);
          const words = hashesOfTree(tree, { width, ids });
          ids.forEach((id, i) => {
            let x = 0;
            for (let s = id * width; s < (id + 1) * width; s++) x ^= tree.getSegment(s);
            expect(words[i]).toBe(x >>> 0);
          });
        },
      ),
      { numRuns: 40 },
    );
  });
  it('refuses a width that is not a power of two, and ids out of order or range', () => {
    const tree = TicTacTree.create('xxsmall');
    expect(() => hashesOfTree(tree, { width: 3, ids: [0] })).toThrow(expect.objectContaining({ code: 'TREE_SEGMENT_INVALID' }));
    expect(() => hashesOfTree(tree, { width: 256, ids: [16] })).toThrow(/ascend/);
    expect(() => hashesOfTree(tree, { width: 1, ids: [2, 1] })).toThrow(/ascend/);
    // A width of 0 is not a power of two: refused, with its code, even when no id is asked.
    let refused: unknown;
    try {
      hashesOfTree(tree, { width: 0, ids: [] });
    } catch (e) {
      refused = e;
    }
    expect(isAaeError(refused, 'TREE_SEGMENT_INVALID'), `expected TREE_SEGMENT_INVALID, got ${String(refused)}`).toBe(true);
  });
});

describe('confirmByChildren', () => {
  it('a parent is confirmed iff its children XOR differently: the same answer as re-fetching its word', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 4095 }), fc.integer({ min: 1, max: 0xffff_ffff })), { maxLength: 30 }),
        fc.array(fc.tuple(fc.nat({ max: 4095 }), fc.integer({ min: 1, max: 0xffff_ffff })), { maxLength: 30 }),
        fc.constantFrom(1, 16, 256),
        fc.constantFrom(2, 16),
        (addsB, addsP, child, fanOut) => {
          const blue = TicTacTree.create('xxsmall');
          const pink = TicTacTree.create('xxsmall');
          for (const [s, c] of addsB) blue.add(s, c);
          for (const [s, c] of addsP) pink.add(s, c);
          const width = child * fanOut;
          const parents = Array.from({ length: 4096 / width }, (_, i) => i);
          const ids = parents.flatMap((p) => Array.from({ length: fanOut }, (_, k) => p * fanOut + k));
          const b = hashesOfTree(blue, { width: child, ids });
          const p = hashesOfTree(pink, { width: child, ids });
          const out = confirmByChildren(parents, fanOut, b, p);
          const refetched = compareWords(parents, hashesOfTree(blue, { width, ids: parents }), hashesOfTree(pink, { width, ids: parents }));
          expect(out.confirmed).toEqual(refetched);
          const expectedDirtyChildren = ids.filter((id, i) => b[i] !== p[i] && out.confirmed.includes(Math.floor(id / fanOut)));
          expect(out.dirty).toEqual(expectedDirtyChildren);
        },
      ),
      { numRuns: 40 },
    );
  });
  it('drops a parent whose children agree, with its children', () => {
    const b = Uint32Array.from([1, 2, 3, 4]);
    const p = Uint32Array.from([1, 2, 3, 9]);
    expect(confirmByChildren([5, 8], 2, b, p)).toEqual({ confirmed: [8], dirty: [17] });
    // Two children that differ but cancel: the parent word is equal, as a re-fetch would see it.
    expect(confirmByChildren([5], 2, Uint32Array.from([1, 2]), Uint32Array.from([2, 1]))).toEqual({ confirmed: [], dirty: [] });
    expect(() => confirmByChildren([1], 4, new Uint32Array(4), new Uint32Array(3))).toThrow(/child words/);
  });
});

describe('the width planner', () => {
  it('estimateDifferences inverts expectedDirty', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.integer({ min: 1, max: 100_000 }), (n, d) => {
        const dirty = expectedDirty(n, d);
        expect(dirty).toBeLessThanOrEqual(Math.min(n, d) + 1e-9);
        if (dirty < n - 0.5) expect(estimateDifferences(dirty, n)).toBeCloseTo(d, 3);
      }),
      { numRuns: 100 },
    );
    expect(estimateDifferences(0, 100)).toBe(0);
    expect(estimateDifferences(100, 100)).toBeCloseTo(100 * Math.log(200), 6);
  });
  it('picks the cheapest child width, and the top within its bounds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.constantFrom(256, 512, 1024), fc.integer({ min: 1, max: 5000 }), (parents, width, d) => {
        const chosen = planChildWidth(parents, width, d, 128);
        for (let c = 1; c < width; c *= 2) expect(costBelow(parents, width, chosen, d, 128)).toBeLessThanOrEqual(costBelow(parents, width, c, d, 128));
      }),
      { numRuns: 60 },
    );
    for (const segments of [4096, 16384, 65536, 262144, 1 << 20, 1 << 22]) {
      for (const d of [1, 100, 10_000]) {
        const w = planTopWidth(segments, d, 128);
        expect(w).toBeGreaterThanOrEqual(256);
        expect(w).toBeLessThanOrEqual(Math.max(256, Math.min(1024, segments / 64)));
      }
    }
  });
  it('plans the issue\'s case: 100 differences among 2^20 segments → top 512, middle 32', () => {
    expect(planTopWidth(1 << 20, 100, 128)).toBe(512);
    const dirty = Math.round(expectedDirty(2048, 100));
    expect(planChildWidth(dirty, 512, estimateDifferences(dirty, 2048), 128)).toBe(32);
    // One dirty top word: 16 children of 32, then 32 leaves (48 words; 32 children of 16 would
    // cost the same were the one difference sure to leave 31 children clean).
    expect(planChildWidth(1, 512, 1, 128)).toBe(32);
    // Heavy damage makes the middle finer; a tiny tree has a top of its 16 branches.
    expect(planChildWidth(2000, 512, 10_000, Infinity)).toBeLessThan(16);
    expect(planTopWidth(4096, 100, 128)).toBe(256);
  });
});

describe('keyClockBytes', () => {
  it('counts a key clock by its packed bytes (test/net/codecs.test.ts checks the model against the codec)', () => {
    // 1 (bucket index) + 1+3 (key) + 1+1+1 (clock: count, actor index, counter) + 1 (time delta) + 1 (flags) + 4 (hash)
    expect(keyClockBytes({ bucket: 'b1', key: utf8('k01'), clock: makeClock([['a', 1]], 1000), deleted: false, hash: 7 })).toBe(14);
  });
});
