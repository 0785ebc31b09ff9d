import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { TicTacTree, decodeBranches, decodeRoot, encodeBranches, encodeRoot } from '../../src/tictac/index.js';
import { build, entries, smallSize } from './arbitraries.js';

describe('root and branch payloads', () => {
  test('decode(encode(x)) = x for roots and branches', () => {
    fc.assert(
      fc.property(smallSize, entries, fc.array(fc.nat(), { maxLength: 8 }), (size, list, picks) => {
        const tree = build(size, list);
        expect(decodeRoot(encodeRoot(tree.root()), size)).toEqual(tree.root());
        const ids = picks.map((n) => n % tree.branchCount);
        const branches = tree.branches(ids);
        const back = decodeBranches(encodeBranches(branches), size);
        expect([...back.keys()]).toEqual([...new Set(ids)].sort((x, y) => x - y));
        for (const [id, leaves] of branches) expect(back.get(id)).toEqual(leaves);
      }),
      { numRuns: 40 },
    );
  });

  test('bytes are little-endian: exact payloads', () => {
    const tree = TicTacTree.create('xxsmall');
    tree.add(256 * 2 + 1, 0x0102_0304);
    const root = encodeRoot(tree.root());
    expect(root.length).toBe(64);
    expect([...root.subarray(8, 12)]).toEqual([0x04, 0x03, 0x02, 0x01]);
    const branches = encodeBranches(tree.branches([2]));
    expect(branches.length).toBe(4 + 1028);
    expect([...branches.subarray(0, 8)]).toEqual([1, 0, 0, 0, 2, 0, 0, 0]);
    expect([...branches.subarray(8, 16)]).toEqual([0, 0, 0, 0, 0x04, 0x03, 0x02, 0x01]);
    expect(encodeBranches(new Map())).toEqual(new Uint8Array(4));
  });

  test('wrong lengths are TREE_ROOT_INVALID', () => {
    const code = expect.objectContaining({ code: 'TREE_ROOT_INVALID' });
    expect(() => encodeRoot(new Uint32Array(17))).toThrowError(code);
    expect(() => decodeRoot(new Uint8Array(64), 'xsmall')).toThrowError(code);
    expect(() => decodeRoot(new Uint8Array(63), 'xxsmall')).toThrowError(code);
    expect(() => encodeBranches(new Map([[0, new Uint32Array(255)]]))).toThrowError(code);
    expect(() => decodeBranches(new Uint8Array(3), 'xxsmall')).toThrowError(code);
    const one = encodeBranches(new Map([[0, new Uint32Array(256)]]));
    expect(() => decodeBranches(one.subarray(0, one.length - 1), 'xxsmall')).toThrowError(code);
    const unordered = encodeBranches(new Map([[0, new Uint32Array(256)], [1, new Uint32Array(256)]]));
    new DataView(unordered.buffer).setUint32(4 + 1028, 0, true); // the second id now repeats the first
    expect(() => decodeBranches(unordered, 'xxsmall')).toThrowError(code);
  });

  test('branch ids outside the tree are TREE_SEGMENT_INVALID', () => {
    const code = expect.objectContaining({ code: 'TREE_SEGMENT_INVALID' });
    const leaves = new Uint32Array(256);
    expect(() => encodeBranches(new Map([[16384, leaves]]))).toThrowError(code);
    expect(() => encodeBranches(new Map([[-1, leaves]]))).toThrowError(code);
    expect(() => decodeBranches(encodeBranches(new Map([[16, leaves]])), 'xxsmall')).toThrowError(code);
    expect(decodeBranches(encodeBranches(new Map([[16, leaves]])), 'xsmall').size).toBe(1);
  });
});
