import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { crc32 } from '../../src/tictac/crc32.js';
import { TicTacTree } from '../../src/tictac/index.js';
import { build, entries, smallSize, uint32 } from './arbitraries.js';

const FIXTURE = new URL('../../fixtures/tree-export-v1.bin', import.meta.url);
const corrupt = expect.objectContaining({ code: 'TREE_EXPORT_CORRUPT' });

/** The tree frozen in fixtures/tree-export-v1.bin, built the way the fixture was. */
function fixtureTree(): TicTacTree {
  const t = TicTacTree.create('xsmall');
  t.add(0x0000_0001, 0x1111_1111); // segment 1: branch 0, leaf 1
  t.add(0x0001_0001, 0x2222_2222); // also segment 1 in an xsmall tree
  t.add(9, 0x8000_0000); // branch 0, leaf 9
  // ('b', 'k')'s segment32 → segment 11692: branch 45, leaf 172. The contribution is a literal (it was
  // this key's under the first, unmixed contribution formula): the fixture freezes the tree format, not hashes.
  t.add(2814356908, 1156042863);
  t.add(0x0000_0102, 0x0000_0001); // segment 258: branch 1, leaf 2
  t.add(300, 0x0bad_f00d); // branch 1, leaf 44 ...
  t.remove(300, 0x0bad_f00d); // ... and out again: a zero leaf, not written
  t.add(0xffff_ffff, 0xdead_beef); // segment 16383: branch 63, leaf 255
  return t;
}

/** Rewrites the checksum so a test can reach the structural checks behind it. */
function resealed(bytes: Uint8Array, edit: (b: Uint8Array, v: DataView) => void): Uint8Array {
  const b = bytes.slice();
  const v = new DataView(b.buffer);
  edit(b, v);
  v.setUint32(b.length - 4, crc32(b, 0, b.length - 4), true);
  return b;
}

describe('export/import laws', () => {
  test('import(export(t)) equals t, keeps the key count, and the encoding is canonical', () => {
    fc.assert(
      fc.property(smallSize, entries, (size, list) => {
        const tree = build(size, list);
        const bytes = tree.export();
        const back = TicTacTree.import(bytes);
        expect(back.equals(tree)).toBe(true);
        expect(back.stats()).toEqual(tree.stats());
        expect(back.export()).toEqual(bytes);
      }),
      { numRuns: 60 },
    );
  });

  test('law: an export read from inside a larger Node Buffer, at any offset, imports the same tree (gRPC and msgpack hand over such views)', () => {
    fc.assert(
      fc.property(smallSize, entries, fc.nat(64), fc.nat(64), fc.integer({ min: 0, max: 255 }), (size, list, before, after, fill) => {
        const tree = build(size, list);
        const bytes = tree.export();
        const pool = Buffer.alloc(before + bytes.length + after, fill);
        pool.set(bytes, before);
        expect(TicTacTree.import(pool.subarray(before, before + bytes.length)).equals(tree)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test('an unknown or negative key count survives the round trip', () => {
    fc.assert(
      fc.property(smallSize, entries, uint32, (size, list, value) => {
        const tree = build(size, list);
        tree.alterSegment(0, value);
        expect(TicTacTree.import(tree.export()).stats().keys).toBeNull();
        const deltas = TicTacTree.create(size);
        for (const e of list) deltas.remove(e.segment32, e.contribution);
        expect(TicTacTree.import(deltas.export()).stats().keys).toBe(0 - list.length);
      }),
      { numRuns: 30 },
    );
  });
});

describe('export examples', () => {
  test('crc32 is the zlib CRC-32, four bytes a step or one', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf4_3926);
    const bytewise = (b: Uint8Array, start: number, end: number): number => {
      let c = 0xffff_ffff;
      for (let i = start; i < end; i++) {
        c ^= b[i]!;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb8_8320 ^ (c >>> 1) : c >>> 1;
      }
      return (c ^ 0xffff_ffff) >>> 0;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(), (b, cut) => {
        const start = b.length === 0 ? 0 : cut % b.length;
        expect(crc32(b, start, b.length)).toBe(bytewise(b, start, b.length));
      }),
      { numRuns: 100 },
    );
  });

  test('an empty tree is a 24-byte header and checksum', () => {
    const bytes = TicTacTree.create('large').export();
    expect(bytes.length).toBe(24);
    // "TTEX", version 1, size code 4 (large), flags 1 (count known), reserved, count 0, 0 records
    expect(Buffer.from(bytes.subarray(0, 20)).toString('hex')).toBe('5454455801040100' + '00'.repeat(12));
    expect(new DataView(bytes.buffer).getUint32(20, true)).toBe(crc32(bytes, 0, 20));
  });

  test('the frozen v1 fixture decodes to its known tree, and today\'s encoder writes it byte for byte', () => {
    const bytes = new Uint8Array(readFileSync(FIXTURE));
    expect(bytes.length).toBe(188);
    const tree = TicTacTree.import(bytes);
    expect(tree.size).toBe('xsmall');
    expect(tree.stats()).toEqual({
      size: 'xsmall',
      branchCount: 64,
      segmentCount: 16384,
      keys: 6,
      nonEmptyBranches: 4,
      nonEmptySegments: 5,
    });
    expect(tree.getSegment(1)).toBe(0x3333_3333);
    expect(tree.getSegment(9)).toBe(0x8000_0000);
    expect(tree.getSegment(258)).toBe(1);
    expect(tree.getSegment(300)).toBe(0);
    expect(tree.getSegment(11692)).toBe(1156042863);
    expect(tree.getSegment(16383)).toBe(0xdead_beef);
    const root = tree.root();
    const nonZero = [...root.keys()].filter((i) => root[i] !== 0).map((i) => [i, root[i]]);
    expect(nonZero).toEqual([
      [0, 0xb333_3333],
      [1, 1],
      [45, 1156042863],
      [63, 0xdead_beef],
    ]);
    expect(tree.equals(fixtureTree())).toBe(true);
    expect(fixtureTree().export()).toEqual(bytes);
  });
});

describe('corrupt exports are TREE_EXPORT_CORRUPT', () => {
  const good = new Uint8Array(readFileSync(FIXTURE));

  test('every single-bit flip is caught', () => {
    for (let i = 0; i < good.length; i++) {
      for (const bit of [0, 7]) {
        const b = good.slice();
        b[i]! ^= 1 << bit;
        expect(() => TicTacTree.import(b), `byte ${i} bit ${bit}`).toThrowError(corrupt);
      }
    }
  });

  test('every truncation and any extra byte is caught', () => {
    for (let n = 0; n < good.length; n++) {
      expect(() => TicTacTree.import(good.subarray(0, n)), `length ${n}`).toThrowError(corrupt);
    }
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(() => TicTacTree.import(longer)).toThrowError(corrupt);
  });

  test('structural faults behind a valid checksum are caught', () => {
    // Header: magic 0..3, version 4, size 5, flags 6, reserved 7, count 8..15, records 16..19.
    // First record at 20 (branch 0): id 20..23, bitmap 24..55 (leaf 1 is bit 1 of byte 24), leaves from 56.
    const faults: Array<[string, (b: Uint8Array, v: DataView) => void]> = [
      ['version 2', (b) => (b[4] = 2)],
      ['size code 6', (b) => (b[5] = 6)],
      ['stray flag bit', (b) => (b[6] = 3)],
      ['reserved byte', (b) => (b[7] = 1)],
      ['count without its flag', (b) => (b[6] = 0)],
      ['count beyond 2^53', (_b, v) => v.setInt32(12, 0x0020_0000, true)],
      ['more records than branches', (_b, v) => v.setUint32(16, 65, true)],
      ['one record too many', (_b, v) => v.setUint32(16, 5, true)],
      ['one record too few', (_b, v) => v.setUint32(16, 3, true)],
      ['branch id outside the tree', (_b, v) => v.setUint32(20, 64, true)],
      ['records out of order', (_b, v) => v.setUint32(20, 50, true)],
      ['zero leaf under a set bit', (_b, v) => v.setUint32(56, 0, true)],
      ['empty branch record', (b) => b.fill(0, 24, 56)],
    ];
    for (const [name, edit] of faults) {
      expect(() => TicTacTree.import(resealed(good, edit)), name).toThrowError(corrupt);
    }
  });

  test('an export at any byte offset decodes (the unaligned path copies)', () => {
    const shifted = new Uint8Array(good.length + 1).subarray(1);
    shifted.set(good);
    expect(TicTacTree.import(shifted).equals(fixtureTree())).toBe(true);
  });

  test('bytes that are not an export at all', () => {
    expect(() => TicTacTree.import(new Uint8Array(0))).toThrowError(corrupt);
    expect(() => TicTacTree.import(new TextEncoder().encode('{"level1":"AAAA","level2":{}}'))).toThrowError(corrupt);
  });
});
