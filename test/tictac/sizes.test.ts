import { beforeAll, describe, expect, test } from 'vitest';
import { isAaeError } from '../../src/errors.js';
import { canonicalKey, initHash, keyHash, utf8 } from '../../src/hash/index.js';
import {
  TREE_SIZES,
  branchCountOf,
  branchOfSegment,
  leafOfSegment,
  parseTreeSize,
  segmentCountOf,
  segmentOf,
  treeSizeOfBranchCount,
} from '../../src/tictac/index.js';

beforeAll(async () => {
  await initHash();
});

describe('tree sizes', () => {
  test('branch and segment counts are those of leveled_tictac', () => {
    expect(TREE_SIZES.map(branchCountOf)).toEqual([16, 64, 256, 1024, 4096, 16384]);
    expect(segmentCountOf('large')).toBe(1_048_576);
    expect(segmentCountOf('xxsmall')).toBe(4096);
    for (const s of TREE_SIZES) expect(treeSizeOfBranchCount(branchCountOf(s))).toBe(s);
    expect(treeSizeOfBranchCount(100)).toBeUndefined();
  });

  test('parseTreeSize accepts the six names and rejects anything else', () => {
    for (const s of TREE_SIZES) expect(parseTreeSize(s)).toBe(s);
    for (const bad of ['', 'Large', 'huge', 'toString', '__proto__', 'large ']) {
      expect(() => parseTreeSize(bad)).toThrowError(expect.objectContaining({ code: 'TREE_SIZE_UNKNOWN' }));
    }
    let refused: unknown;
    try {
      parseTreeSize('huge');
    } catch (e) {
      refused = e;
    }
    expect(isAaeError(refused, 'TREE_SIZE_UNKNOWN'), `expected TREE_SIZE_UNKNOWN, got ${String(refused)}`).toBe(true);
  });

  test('segment, branch and leaf of known keys (frozen: these numbers must never change)', () => {
    const cases = [
      // bucket, key, segment32, large segment, its branch, its leaf, xsmall segment
      ['b', 'k', 2814356908, 1027500, 4013, 172, 11692],
      ['bucket', 'key1', 2323090716, 494876, 1933, 28, 3356],
      ['users', 'alice', 2889590474, 763594, 2982, 202, 9930],
    ] as const;
    for (const [bucket, key, segment32, large, branch, leaf, xsmall] of cases) {
      const h = keyHash(canonicalKey(bucket, utf8(key)), 0);
      expect(h.segment32).toBe(segment32);
      expect(segmentOf(h.segment32, 'large')).toBe(large);
      expect(branchOfSegment(large)).toBe(branch);
      expect(leafOfSegment(large)).toBe(leaf);
      expect(segmentOf(h.segment32, 'xsmall')).toBe(xsmall);
    }
    const h = keyHash(canonicalKey('b', utf8('k')), 0);
    expect(TREE_SIZES.map((s) => segmentOf(h.segment32, s))).toEqual([3500, 11692, 44460, 241068, 1027500, 4173228]);
  });
});
