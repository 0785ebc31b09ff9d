import fc from 'fast-check';
import { expect, test } from 'vitest';
import { compareBytes } from '../../src/hash/index.js';
import { TREE_SIZES, segmentCountOf, segmentOf } from '../../src/tictac/index.js';
import {
  HEAD_SUFFIX_START,
  KIND_HEAD,
  KIND_VALUE,
  bitReverse32,
  indexKey,
  objectKey,
  parseIndexKey,
  parseObjectKey,
  prefixEnd,
  segmentBits,
  segmentRange,
  withKind,
} from '../../src/store/layout.js';

const u32 = fc.nat({ max: 0xffff_ffff });

function naiveReverse(x: number): number {
  let r = 0;
  for (let i = 0; i < 32; i++) r = r * 2 + ((x >>> i) & 1);
  return r;
}

test('bitReverse32 reverses the bits (against a naive loop) and is an involution', () => {
  fc.assert(
    fc.property(u32, (x) => {
      expect(bitReverse32(x)).toBe(naiveReverse(x));
      expect(bitReverse32(bitReverse32(x))).toBe(x);
    }),
  );
  expect(bitReverse32(1)).toBe(0x8000_0000);
  expect(bitReverse32(0x0000_00f0)).toBe(0x0f00_0000);
});

test('law: for every tree size, a key lies in the reversed range of its segment, and in no other', () => {
  fc.assert(
    fc.property(u32, u32, fc.constantFrom(...TREE_SIZES), (seg32, other, size) => {
      const bits = segmentBits(size);
      expect(2 ** bits).toBe(segmentCountOf(size));
      const rev = bitReverse32(seg32);
      const mine = segmentRange(segmentOf(seg32, size), bits);
      expect(rev >= mine.lo && rev < mine.hi).toBe(true);
      const s2 = segmentOf(other, size);
      if (s2 !== segmentOf(seg32, size)) {
        const r = segmentRange(s2, bits);
        expect(rev >= r.lo && rev < r.hi).toBe(false);
      }
    }),
  );
});

test('the segment ranges of a tree size tile the 32-bit space exactly', () => {
  const bits = segmentBits('xxsmall');
  const ranges = Array.from({ length: 2 ** bits }, (_, s) => segmentRange(s, bits)).sort((a, b) => a.lo - b.lo);
  expect(ranges[0]!.lo).toBe(0);
  for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.lo).toBe(ranges[i - 1]!.hi);
  expect(ranges[ranges.length - 1]!.hi).toBe(2 ** 32);
});

test('an object key round-trips, sorts by keyspace then reversed segment, and shares its suffix with the value key', () => {
  fc.assert(
    fc.property(fc.nat(1023), fc.nat(1023), u32, fc.uint8Array({ minLength: 1, maxLength: 12 }), (vnode, keyspace, seg32, ckey) => {
      const k = objectKey(vnode, KIND_HEAD, keyspace, seg32, ckey);
      const p = parseObjectKey(k);
      expect(p.keyspace).toBe(keyspace);
      expect(p.segment32).toBe(seg32);
      expect(Array.from(p.ckey)).toEqual(Array.from(ckey));
      const v = withKind(k, KIND_VALUE);
      expect(Array.from(v.subarray(4))).toEqual(Array.from(k.subarray(4)));
      expect(k.length).toBe(HEAD_SUFFIX_START + ckey.length);
    }),
  );
  const a = objectKey(1, KIND_HEAD, 2, bitReverse32(5), Uint8Array.of(9));
  const b = objectKey(1, KIND_HEAD, 2, bitReverse32(6), Uint8Array.of(1));
  const c = objectKey(1, KIND_HEAD, 3, bitReverse32(0), Uint8Array.of(0));
  expect(compareBytes(a, b)).toBeLessThan(0);
  expect(compareBytes(b, c)).toBeLessThan(0);
});

test('index keys sort by term in UTF-8 byte order, a term before its extensions, and round-trip', () => {
  const term = fc.string({ maxLength: 6 }).filter((s) => !s.includes('\0') && s.isWellFormed());
  fc.assert(
    fc.property(term, term, fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), (t1, t2, k1, k2) => {
      const a = indexKey(3, 7, 'bucket', 'idx', t1, k1);
      const b = indexKey(3, 7, 'bucket', 'idx', t2, k2);
      const byTerm = compareBytes(new TextEncoder().encode(t1), new TextEncoder().encode(t2));
      if (byTerm !== 0) expect(Math.sign(compareBytes(a, b))).toBe(Math.sign(byTerm));
      const p = parseIndexKey(a);
      expect(p).toMatchObject({ keyspace: 7, bucket: 'bucket', index: 'idx', term: t1 });
      expect(Array.from(p.key)).toEqual(Array.from(k1));
      // every entry of term t1 lies inside [term prefix, prefixEnd(term prefix))
      const prefix = indexKey(3, 7, 'bucket', 'idx', t1);
      expect(compareBytes(a, prefix) >= 0 && compareBytes(a, prefixEnd(prefix)) < 0).toBe(true);
    }),
    { numRuns: 200 },
  );
});

test('prefixEnd is the first key after every key with the prefix', () => {
  expect(Array.from(prefixEnd(Uint8Array.of(1, 2, 3)))).toEqual([1, 2, 4]);
  expect(Array.from(prefixEnd(Uint8Array.of(1, 0xff, 0xff)))).toEqual([2]);
});
