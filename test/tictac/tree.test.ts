import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { canonicalKey, contribution, initHash, keyHash, objectHashOfClock, utf8 } from '../../src/hash/index.js';
import { TicTacTree, branchCountOf, type TreeSize } from '../../src/tictac/index.js';
import { build, entries, entry, model, smallSize, uint32 } from './arbitraries.js';

const RUNS = { numRuns: 60 };

function xorOfBranch(tree: TicTacTree, id: number): number {
  let x = 0;
  for (const w of tree.branch(id)) x ^= w;
  return x >>> 0;
}

describe('TicTacTree laws', () => {
  test('every root word is the XOR of its 256 leaves, and leaves match the naive model', () => {
    fc.assert(
      fc.property(smallSize, entries, (size, list) => {
        const tree = build(size, list);
        const root = tree.root();
        expect(root.length).toBe(branchCountOf(size));
        for (let b = 0; b < root.length; b++) expect(root[b]).toBe(xorOfBranch(tree, b));
        const leaves = model(size, list);
        for (const [s, leaf] of leaves) expect(tree.getSegment(s)).toBe(leaf);
        expect(tree.stats().nonEmptySegments).toBe([...leaves.values()].filter((v) => v !== 0).length);
      }),
      RUNS,
    );
  });

  test('insertion order does not matter', () => {
    fc.assert(
      fc.property(smallSize, entries, fc.infiniteStream(fc.nat()), (size, list, rand) => {
        const shuffled = [...list];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = rand.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        expect(build(size, shuffled).equals(build(size, list))).toBe(true);
      }),
      RUNS,
    );
  });

  test('adding a contribution twice removes it', () => {
    fc.assert(
      fc.property(smallSize, entries, entry, (size, list, e) => {
        const tree = build(size, list);
        tree.add(e.segment32, e.contribution);
        tree.add(e.segment32, e.contribution);
        expect(tree.equals(build(size, list))).toBe(true);
      }),
      RUNS,
    );
  });

  test('remove undoes add, and the key count follows adds minus removes', () => {
    fc.assert(
      fc.property(smallSize, entries, entry, (size, list, e) => {
        const tree = build(size, list);
        tree.add(e.segment32, e.contribution);
        expect(tree.stats().keys).toBe(list.length + 1);
        tree.remove(e.segment32, e.contribution);
        expect(tree.stats().keys).toBe(list.length);
        expect(tree.equals(build(size, list))).toBe(true);
      }),
      RUNS,
    );
  });

  test('alter then alter back is the identity; alter equals remove old + add new', () => {
    fc.assert(
      fc.property(smallSize, entries, entry, uint32, (size, list, e, next) => {
        const tree = build(size, [...list, e]);
        const before = tree.clone();
        tree.alter(e.segment32, e.contribution, next);
        expect(tree.equals(build(size, [...list, { segment32: e.segment32, contribution: next }]))).toBe(true);
        tree.alter(e.segment32, next, e.contribution);
        expect(tree.equals(before)).toBe(true);
      }),
      RUNS,
    );
  });

  test('merge(a, b) equals one tree built from both key sets, and leaves a and b alone', () => {
    fc.assert(
      fc.property(smallSize, entries, entries, (size, xs, ys) => {
        const a = build(size, xs);
        const b = build(size, ys);
        const merged = a.merge(b);
        expect(merged.equals(build(size, [...xs, ...ys]))).toBe(true);
        expect(merged.stats().keys).toBe(xs.length + ys.length);
        expect(a.equals(build(size, xs))).toBe(true);
        expect(b.equals(build(size, ys))).toBe(true);
        expect(a.clone().mergeInPlace(b).equals(merged)).toBe(true);
        expect(b.merge(a).equals(merged)).toBe(true);
      }),
      RUNS,
    );
  });

  test('alterSegment overwrites one leaf and keeps its root word the XOR of its leaves', () => {
    fc.assert(
      fc.property(smallSize, entries, fc.nat(), uint32, (size, list, n, value) => {
        const tree = build(size, list);
        const segment = n % tree.segmentCount;
        tree.alterSegment(segment, value);
        expect(tree.getSegment(segment)).toBe(value);
        const b = segment >>> 8;
        expect(tree.root()[b]).toBe(xorOfBranch(tree, b));
        expect(tree.stats().keys).toBeNull();
      }),
      RUNS,
    );
  });

  test('clone is deep: changing the clone leaves the original alone', () => {
    fc.assert(
      fc.property(smallSize, entries, entry, (size, list, e) => {
        fc.pre(e.contribution !== 0);
        const tree = build(size, list);
        const copy = tree.clone();
        copy.add(e.segment32, e.contribution);
        expect(tree.equals(build(size, list))).toBe(true);
        expect(copy.equals(tree)).toBe(false);
      }),
      RUNS,
    );
  });
});

describe('TicTacTree examples', () => {
  beforeAll(async () => {
    await initHash();
  });

  test('a key from src/hash lands in its frozen segment with its contribution', () => {
    const h = keyHash(canonicalKey('b', utf8('k')), 0);
    const c = contribution(h.alt, objectHashOfClock([['a', 1]], 0));
    expect(c).toBe(726397292); // fmix32(alt XOR objectHash): see docs/FORMAT.md
    const tree = TicTacTree.create();
    expect(tree.size).toBe('large');
    tree.add(h.segment32, c);
    expect(tree.getSegment(1027500)).toBe(726397292);
    expect(tree.root()[4013]).toBe(726397292);
    expect(tree.branch(4013)[172]).toBe(726397292);
    expect(tree.stats()).toEqual({
      size: 'large',
      branchCount: 4096,
      segmentCount: 1_048_576,
      keys: 1,
      nonEmptyBranches: 1,
      nonEmptySegments: 1,
    });
  });

  test('an empty tree is empty; a tree whose XORs cancel has allocated but empty branches', () => {
    const tree = TicTacTree.create('xsmall');
    expect(tree.stats()).toMatchObject({ keys: 0, nonEmptyBranches: 0, nonEmptySegments: 0 });
    tree.add(5, 0xdead_beef);
    tree.add(5, 0xdead_beef);
    expect(tree.stats()).toMatchObject({ keys: 2, nonEmptyBranches: 0, nonEmptySegments: 0 });
    expect(tree.equals(TicTacTree.create('xsmall'))).toBe(true);
    expect(tree.equals(TicTacTree.create('xxsmall'))).toBe(false);
  });

  test('two keys of one segment with the same object hash do not cancel', () => {
    const tree = TicTacTree.create('xxsmall');
    const objectHash = 0x1234_5678;
    tree.add(7, contribution(0xaaaa_0000, objectHash));
    tree.add(7 + 4096, contribution(0x5555_0000, objectHash));
    const leaf = (contribution(0xaaaa_0000, objectHash) ^ contribution(0x5555_0000, objectHash)) >>> 0;
    expect(leaf).not.toBe(0);
    expect(tree.getSegment(7)).toBe(leaf);
  });

  test('branches(ids) returns copies of exactly the branches asked for', () => {
    const tree = TicTacTree.create('xxsmall');
    tree.add(256 * 3 + 9, 42);
    const got = tree.branches([3, 0]);
    expect([...got.keys()]).toEqual([3, 0]);
    expect(got.get(3)![9]).toBe(42);
    expect(got.get(0)!.every((w) => w === 0)).toBe(true);
    got.get(3)![9] = 0;
    expect(tree.getSegment(256 * 3 + 9)).toBe(42);
    const root = tree.root();
    root[3] = 0;
    expect(tree.root()[3]).toBe(42);
  });

  test('an empty large tree does not allocate its 4 MiB of leaves', () => {
    const before = process.memoryUsage().arrayBuffers;
    const trees = Array.from({ length: 32 }, () => TicTacTree.create('large'));
    const grown = process.memoryUsage().arrayBuffers - before;
    // 32 × 4 MiB would be 128 MiB; 32 × (16 KiB root + 16 KiB offsets) is 1 MiB.
    expect(grown).toBeLessThan(8 * 2 ** 20);
    expect(trees.length).toBe(32);
  });

  test('a large tree keeps every leaf as its pool grows, doubling and then taking every branch', () => {
    const tree = TicTacTree.create('large');
    // One leaf in every branch, branches in a scattered order, so the pool grows through every step.
    const order = Array.from({ length: 4096 }, (_, i) => (i * 2654435761) % 4096 >>> 0);
    order.forEach((b, i) => tree.add(b * 256 + (i % 256), (i * 7919 + 1) >>> 0));
    order.forEach((b, i) => {
      expect(tree.getSegment(b * 256 + (i % 256))).toBe((i * 7919 + 1) >>> 0);
      expect(tree.root()[b]).toBe((i * 7919 + 1) >>> 0);
    });
    expect(tree.stats().nonEmptyBranches).toBe(4096);
    expect(tree.clone().equals(tree)).toBe(true);
  });

  test('a large tree of a few hundred keys stays a few hundred KiB', () => {
    const before = process.memoryUsage().arrayBuffers;
    const trees = Array.from({ length: 8 }, (_, t) => {
      const tree = TicTacTree.create('large');
      for (let i = 0; i < 200; i++) tree.add(((i + 1) * 2654435761 * (t + 1)) >>> 0, i + 1);
      return tree;
    });
    const grown = process.memoryUsage().arrayBuffers - before;
    // 200 keys touch about 200 of 4096 branches: a pool of 256 branches (256 KiB) each, not 4 MiB.
    expect(grown).toBeLessThan(8 * 2 ** 20);
    expect(trees.every((t) => t.stats().keys === 200)).toBe(true);
  });

  test('the add path takes its numbers as uint32', () => {
    const tree = TicTacTree.create('xxsmall');
    tree.add(-1, -1); // segment32 0xffffffff → segment 4095; contribution 0xffffffff
    expect(tree.getSegment(4095)).toBe(0xffff_ffff);
    expect(tree.root()[15]).toBe(0xffff_ffff);
  });
});

describe('TicTacTree bad input', () => {
  const sizes: TreeSize[] = ['xxsmall', 'large'];

  test('create with an unknown size is TREE_SIZE_UNKNOWN', () => {
    expect(() => TicTacTree.create('huge' as TreeSize)).toThrowError(expect.objectContaining({ code: 'TREE_SIZE_UNKNOWN' }));
  });

  test.each(sizes)('segment and branch ids out of range are TREE_SEGMENT_INVALID (%s)', (size) => {
    const tree = TicTacTree.create(size);
    const code = { code: 'TREE_SEGMENT_INVALID' };
    for (const bad of [-1, tree.segmentCount, 1.5, Number.NaN]) {
      expect(() => tree.getSegment(bad)).toThrowError(expect.objectContaining(code));
      expect(() => tree.alterSegment(bad, 1)).toThrowError(expect.objectContaining(code));
    }
    for (const bad of [-1, tree.branchCount, 0.5]) {
      expect(() => tree.branch(bad)).toThrowError(expect.objectContaining(code));
      expect(() => tree.branches([0, bad])).toThrowError(expect.objectContaining(code));
    }
  });

  test('alterSegment with a leaf value that is not a uint32 is INVALID_ARGUMENT', () => {
    const tree = TicTacTree.create('xxsmall');
    for (const bad of [-1, 2 ** 32, 0.5]) {
      expect(() => tree.alterSegment(0, bad)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  test('merging trees of different sizes is TREE_SIZE_MISMATCH', () => {
    const a = TicTacTree.create('xxsmall');
    const b = TicTacTree.create('xsmall');
    expect(() => a.merge(b)).toThrowError(expect.objectContaining({ code: 'TREE_SIZE_MISMATCH' }));
    expect(() => a.mergeInPlace(b)).toThrowError(expect.objectContaining({ code: 'TREE_SIZE_MISMATCH' }));
  });
});

