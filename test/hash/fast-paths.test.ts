import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { beforeAll, describe, expect, test } from 'vitest';
import { canonicalClockSlow, NORMAL_CLOCK_MAX_BYTES, writeNormalClock } from '../../src/hash/canonical.js';
import {
  canonicalClock,
  canonicalKey,
  initHash,
  keyHash,
  keyHashOf,
  keyPlacement,
  objectHashOfClock,
  partitionHash,
  partitionHashOf,
  PARTITION_SEED,
  utf8,
  type ClockEntry,
} from '../../src/hash/index.js';

/**
 * The fast paths (scratch encoding, the bucket-prefix cache, the normal-form clock writer) must give
 * exactly the bytes and hashes of the plain definitions: the old general encoder
 * (`canonicalClockSlow`), a canonical key built by hand, and xxhash-wasm as the reference hasher.
 */

let reference: Awaited<ReturnType<typeof xxhash>>;

beforeAll(async () => {
  await initHash();
  reference = await xxhash();
});

const enc = (s: string) => new TextEncoder().encode(s);

/** The canonical key by its definition in docs/FORMAT.md, for buckets shorter than 2^14 bytes. */
function canonicalKeyByHand(bucket: string, key: Uint8Array): Uint8Array {
  const b = enc(bucket);
  const head = b.length < 0x80 ? [b.length] : [(b.length & 0x7f) | 0x80, b.length >> 7];
  return Uint8Array.from([...head, ...b, ...key]);
}

const bucketArb = fc
  .oneof(
    fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 8 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 120, maxLength: 200 }), // two-byte varint
  )
  .filter((s) => !s.includes('\0') && s.isWellFormed());

const actorArb = fc.oneof(
  fc.constantFrom('node-a', 'node-b', 'node-c', 'a', 'ab', '', '\ufffd', '\ud800', '\u{1f600}', 'é'),
  fc.string({ unit: 'binary-ascii', maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 126, maxLength: 130 }), // around the one-byte length limit
);

const counterArb = fc.oneof(
  fc.integer({ min: 1, max: 1000 }),
  fc.constantFrom(0, 127, 128, 2 ** 32, 2 ** 53 - 1),
  fc.constantFrom(-1, 1.5, 2 ** 53, Number.NaN), // invalid: both paths must refuse
);

const anyClockArb = fc.array(fc.tuple(actorArb, counterArb), { maxLength: 6 }).map((xs) => xs as ClockEntry[]);

/** Clocks in src/cluster's normal form: sorted by actor, unique, positive counters. */
const normalClockArb = fc
  .uniqueArray(fc.tuple(fc.string({ unit: 'binary-ascii', maxLength: 10 }), fc.integer({ min: 1, max: 2 ** 40 })), {
    selector: ([a]) => a,
    maxLength: 6,
  })
  .map((xs) => [...xs].sort(([a], [b]) => (a < b ? -1 : 1)) as ClockEntry[]);

type Outcome = { bytes: string } | { code: unknown };
function outcome(f: () => Uint8Array): Outcome {
  try {
    return { bytes: Buffer.from(f()).toString('hex') };
  } catch (e) {
    return { code: (e as { code?: unknown }).code };
  }
}

describe('canonical clock fast path', () => {
  test('gives the general encoder’s bytes, or its error code, for any entries', () => {
    fc.assert(
      fc.property(anyClockArb, (entries) => {
        expect(outcome(() => canonicalClock(entries))).toEqual(outcome(() => canonicalClockSlow(entries)));
      }),
      { numRuns: 500 },
    );
  });

  test('takes normal-form clocks itself, and they encode as the general encoder says', () => {
    fc.assert(
      fc.property(normalClockArb, (entries) => {
        const out = new Uint8Array(NORMAL_CLOCK_MAX_BYTES);
        const end = writeNormalClock(out, 0, entries);
        expect(end).toBeGreaterThanOrEqual(0);
        expect(Buffer.from(out.subarray(0, end)).equals(Buffer.from(canonicalClockSlow(entries)))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('gives up on what is not normal form: unsorted, duplicate, zero, non-ASCII', () => {
    for (const entries of [
      [['b', 1], ['a', 1]],
      [['a', 1], ['a', 2]],
      [['ab', 1], ['a', 1]],
      [['a', 0]],
      [['é', 1]],
    ] as ClockEntry[][]) {
      expect(writeNormalClock(new Uint8Array(NORMAL_CLOCK_MAX_BYTES), 0, entries)).toBe(-1);
    }
    expect(writeNormalClock(new Uint8Array(NORMAL_CLOCK_MAX_BYTES), 0, [['a', 1], ['ab', 1], ['b', 1]])).toBe(1 + 3 + 4 + 3); // count, then (len, actor, counter) each
  });

  test('objectHashOfClock is xxh32 of the canonical clock, whichever path encodes it', () => {
    fc.assert(
      fc.property(fc.oneof(anyClockArb, normalClockArb), fc.nat({ max: 0xffff_ffff }), (entries, seed) => {
        let expected: number | undefined;
        try {
          expected = reference.h32Raw(canonicalClockSlow(entries), seed) >>> 0;
        } catch {
          expect(() => objectHashOfClock(entries, seed)).toThrow(expect.objectContaining({ code: 'CLOCK_INVALID' }));
          return;
        }
        expect(objectHashOfClock(entries, seed)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('key hashes without materialised canonical keys', () => {
  test('keyHashOf, partitionHashOf and keyPlacement equal the hashes of the canonical key, and the reference', () => {
    fc.assert(
      fc.property(bucketArb, fc.uint8Array({ maxLength: 80 }), fc.nat({ max: 0xffff_ffff }), (bucket, key, seed) => {
        const ck = canonicalKey(bucket, key);
        expect(Buffer.from(ck).equals(Buffer.from(canonicalKeyByHand(bucket, key)))).toBe(true);
        const full = reference.h64Raw(ck, BigInt(seed));
        const expected = { segment32: Number(full & 0xffff_ffffn), alt: Number(full >> 32n) };
        expect(keyHash(ck, seed)).toEqual(expected);
        expect(keyHashOf(bucket, key, seed)).toEqual(expected);
        expect(partitionHashOf(bucket, key)).toBe(partitionHash(ck));
        expect(keyPlacement(ck, seed)).toEqual({ ...expected, partition: partitionHash(ck) });
        expect(partitionHash(ck)).toBe(reference.h32Raw(ck, PARTITION_SEED) >>> 0);
      }),
      { numRuns: 300 },
    );
  });

  test('keyHashOf and keyPlacement refuse a seed outside 0..2^32−1', () => {
    for (const seed of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => keyHashOf('b', enc('k'), seed)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => keyPlacement(enc('k'), seed)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  test('returned canonical bytes are the caller’s own: later calls and edits do not reach them', () => {
    const a = canonicalKey('bucket', enc('one'));
    const aCopy = Uint8Array.from(a);
    a[1] = a[1]! ^ 0xff; // scribble on a returned key: the cached prefix must not change
    const b = canonicalKey('bucket', enc('two'));
    expect(Buffer.from(b).equals(Buffer.from(canonicalKeyByHand('bucket', enc('two'))))).toBe(true);
    keyHashOf('bucket', enc('three'), 0);
    objectHashOfClock([['x', 1]], 0);
    a[1] = a[1]! ^ 0xff;
    expect(a).toEqual(aCopy);
    const c = canonicalClock([['a', 1]]);
    canonicalClock([['b', 2]]);
    expect(Array.from(c)).toEqual([1, 1, 0x61, 1]);
    expect(c.buffer.byteLength).toBe(c.length); // an exact array, not a view into something larger
  });

  test('more buckets than the prefix cache holds still hash right', () => {
    for (let i = 0; i < 1100; i++) {
      const bucket = `bucket-${i}`;
      const ck = canonicalKeyByHand(bucket, enc('k'));
      expect(Buffer.from(canonicalKey(bucket, enc('k'))).equals(Buffer.from(ck))).toBe(true);
      if (i % 50 === 0) expect(keyHashOf(bucket, enc('k'), 3)).toEqual(keyHash(ck, 3));
    }
  });
});

describe('utf8', () => {
  test('gives TextEncoder’s bytes for any string: ASCII by the loop, the rest (and long strings) by the encoder', () => {
    // Short strings with a non-ASCII character late, lone surrogates, and lengths around the cut-over.
    const text = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 80 }),
      // Latin-1 and nearby: one byte in UTF-16, two in UTF-8 (where a loop copying code units goes wrong).
      fc.string({ unit: fc.integer({ min: 0x20, max: 0x2ff }).map((c) => String.fromCharCode(c)), maxLength: 80 }),
      fc.tuple(fc.string({ unit: 'grapheme-ascii', minLength: 60, maxLength: 70 }), fc.string({ unit: 'binary', maxLength: 3 })).map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(text, (s) => {
        expect(Buffer.from(utf8(s)).equals(Buffer.from(enc(s)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('returns a fresh array each call', () => {
    const a = utf8('abc');
    a[0] = 0;
    expect(utf8('abc')).toEqual(enc('abc'));
  });
});
