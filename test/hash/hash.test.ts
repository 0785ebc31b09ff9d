import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { isAaeError } from '../../src/errors.js';
import {
  canonicalClock,
  canonicalKey,
  contribution,
  fmix32,
  initHash,
  keyHash,
  objectHash,
  parseHashMethod,
  partitionHash,
  validateBucket,
  type ClockEntry,
} from '../../src/hash/index.js';
import xxhash from 'xxhash-wasm';

// xxhash-wasm is the reference implementation our own wasm module is checked against.
let reference: Awaited<ReturnType<typeof xxhash>>;
const getHasher = () => reference;

beforeAll(async () => {
  await initHash();
  reference = await xxhash();
});

const enc = (s: string) => new TextEncoder().encode(s);

describe('xxhash reference values', () => {
  // Published XXH32/XXH64 values, so the format rests on the real algorithm, not on one library.
  test('xxh32 and xxh64 of "" and "abc" at seed 0', () => {
    const h = getHasher();
    expect(h.h32Raw(new Uint8Array(0), 0)).toBe(0x02cc5d05);
    expect(h.h32Raw(enc('abc'), 0)).toBe(0x32d153ff);
    expect(h.h64Raw(new Uint8Array(0), 0n)).toBe(0xef46db3751d8e999n);
    expect(h.h64Raw(enc('abc'), 0n)).toBe(0x44bc2cf5ad770999n);
  });

  test('keyHash splits xxh64 into its low and high words', () => {
    const ck = canonicalKey('b', enc('k'));
    const full = getHasher().h64Raw(ck, 7n);
    const { segment32, alt } = keyHash(ck, 7);
    expect(BigInt(segment32) + (BigInt(alt) << 32n)).toBe(full);
  });
});

const entries = fc
  .uniqueArray(fc.tuple(fc.string({ maxLength: 6 }), fc.integer({ min: 1, max: 2 ** 40 })), {
    selector: ([a]) => a,
    maxLength: 6,
  })
  .map((xs) => xs as ClockEntry[]);

describe('canonical bytes', () => {
  test('the clock hash does not depend on entry order', () => {
    // Every permutation of the entries (fast-check's shuffles, shrunk toward small ones), not only
    // a reversal: a comparator-free shuffle, since sort() with a constant comparator is no shuffle.
    const withPermutation = entries.chain((es) => fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length, maxLength: es.length })));
    fc.assert(
      fc.property(withPermutation, ([es, shuffled]) => {
        expect(canonicalClock(shuffled)).toEqual(canonicalClock(es));
        expect(canonicalClock([...es].reverse())).toEqual(canonicalClock(es));
      }),
    );
  });

  test('zero counters are dropped; different clocks give different bytes', () => {
    expect(canonicalClock([['a', 0], ['b', 2]])).toEqual(canonicalClock([['b', 2]]));
    fc.assert(
      fc.property(entries, entries, (a, b) => {
        const same = JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
        expect(Buffer.from(canonicalClock(a)).equals(Buffer.from(canonicalClock(b)))).toBe(same);
      }),
    );
  });

  test('canonical keys are injective over (bucket, key)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes('\0') && s.isWellFormed()),
        fc.uint8Array({ maxLength: 8 }),
        fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes('\0') && s.isWellFormed()),
        fc.uint8Array({ maxLength: 8 }),
        (b1, k1, b2, k2) => {
          const same = b1 === b2 && Buffer.from(k1).equals(Buffer.from(k2));
          expect(Buffer.from(canonicalKey(b1, k1)).equals(Buffer.from(canonicalKey(b2, k2)))).toBe(same);
        },
      ),
    );
  });

  test('bad input is refused with a stable code', () => {
    expect(() => canonicalClock([['a', 1], ['a', 2]])).toThrow(expect.objectContaining({ code: 'CLOCK_INVALID' }));
    expect(() => canonicalClock([['a', -1]])).toThrow(expect.objectContaining({ code: 'CLOCK_INVALID' }));
    expect(() => canonicalClock([['a', 1.5]])).toThrow(expect.objectContaining({ code: 'CLOCK_INVALID' }));
    for (const bad of ['', 'a\0b', '\ud800']) {
      try {
        validateBucket(bad);
        expect.unreachable();
      } catch (e) {
        expect(isAaeError(e, 'KEY_INVALID')).toBe(true);
      }
    }
    expect(() => keyHash(new Uint8Array(1), -1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => keyHash(new Uint8Array(1), 2 ** 32)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => parseHashMethod('sha1')).toThrow(expect.objectContaining({ code: 'HASH_METHOD_UNKNOWN' }));
  });
});

describe('hashes', () => {
  test('equal clocks on different keys do not cancel', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.uint8Array({ minLength: 1, maxLength: 12 }), entries, (k1, k2, es) => {
        fc.pre(!Buffer.from(k1).equals(Buffer.from(k2)));
        const oh = objectHash('clock', 0, es, new Uint8Array(0), false);
        const c1 = contribution(keyHash(canonicalKey('b', k1), 0).alt, oh);
        const c2 = contribution(keyHash(canonicalKey('b', k2), 0).alt, oh);
        // xxh64's high words of two distinct inputs collide with probability 2^-32.
        expect(c1 ^ c2).not.toBe(0);
      }),
    );
  });

  test('the same version change on two keys never cancels (the bulk-update law)', () => {
    // With a linear contribution the change would be objectHash(old) ^ objectHash(new) for every
    // key, and two keys of one branch taking the same step would leave the root word unchanged.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.uint8Array({ minLength: 1, maxLength: 12 }), entries, entries, (k1, k2, c1, c2) => {
        fc.pre(!Buffer.from(k1).equals(Buffer.from(k2)));
        fc.pre(!Buffer.from(canonicalClock(c1)).equals(Buffer.from(canonicalClock(c2))));
        const change = (k: Uint8Array) => {
          const { alt } = keyHash(canonicalKey('b', k), 0);
          return contribution(alt, objectHash('clock', 0, c1, new Uint8Array(), false)) ^ contribution(alt, objectHash('clock', 0, c2, new Uint8Array(), false));
        };
        expect(change(k1)).not.toBe(change(k2));
      }),
    );
    // The concrete case: 256 keys all stepping [a,1] → [a,2] leave a non-zero XOR of changes.
    let total = 0;
    for (let i = 0; i < 256; i++) {
      const { alt } = keyHash(canonicalKey('b', enc(`key-${i}`)), 0);
      total ^= contribution(alt, objectHash('clock', 0, [['a', 1]], new Uint8Array(), false)) ^ contribution(alt, objectHash('clock', 0, [['a', 2]], new Uint8Array(), false));
    }
    expect(total).not.toBe(0);
  });

  test('fmix32 matches MurmurHash3 reference values', () => {
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).toBe(0x514e28b7);
    expect(fmix32(0xffffffff)).toBe(0x81f16f39);
  });

  test('method value hashes the value and ignores the clock; method clock the reverse', () => {
    const v1 = enc('one');
    const v2 = enc('two');
    expect(objectHash('value', 0, [['a', 1]], v1, false)).toBe(objectHash('value', 0, [['b', 9]], v1, false));
    expect(objectHash('value', 0, [], v1, false)).not.toBe(objectHash('value', 0, [], v2, false));
    expect(objectHash('clock', 0, [['a', 1]], v1, false)).toBe(objectHash('clock', 0, [['a', 1]], v2, false));
    expect(objectHash('clock', 0, [['a', 1]], v1, false)).not.toBe(objectHash('clock', 0, [['a', 2]], v1, false));
  });

  test('the seed changes every hash but the partition hash', () => {
    const ck = canonicalKey('users', enc('alice'));
    expect(keyHash(ck, 0)).not.toEqual(keyHash(ck, 1));
    expect(objectHash('clock', 0, [['a', 1]], new Uint8Array(), false)).not.toBe(objectHash('clock', 1, [['a', 1]], new Uint8Array(), false));
    expect(partitionHash(ck)).toBe(partitionHash(canonicalKey('users', enc('alice'))));
  });

  test('partition and segment are independent: one keyspace spreads over all of a small tree', () => {
    // 4096 keys of keyspace 0 of a ring of 8 must reach most of the 256 segments of an xxsmall-ish
    // range; if the two hashes were correlated they would bunch into a few.
    const segments = new Set<number>();
    let found = 0;
    for (let i = 0; found < 4096; i++) {
      const ck = canonicalKey('b', enc(`key-${i}`));
      if (partitionHash(ck) >>> 29 !== 0) continue;
      found++;
      segments.add(keyHash(ck, 0).segment32 & 255);
    }
    expect(segments.size).toBeGreaterThan(250);
  });
});
