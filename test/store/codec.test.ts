import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { expect, test } from 'vitest';
import { MAX_TIME_MS, makeClock } from '../../src/cluster/index.js';
import { isAaeError } from '../../src/errors.js';
import { canonicalKey, contribution } from '../../src/hash/index.js';
import { CanonicalKeyReader, decodeHead, readContribution, readHashSize, type HeadHashSize, type HeadValue } from '../../src/store/codec.js';
import { encodeHead } from '../../src/store/head-encoder.js';

const text = fc.string({ maxLength: 8 }).filter((s) => !s.includes('\0') && s.isWellFormed());
const headArb: fc.Arbitrary<HeadValue> = fc.record({
  clock: fc
    .uniqueArray(fc.tuple(text.filter((s) => s.length > 0), fc.integer({ min: 1, max: 2 ** 40 })), { selector: (e) => e[0], maxLength: 4 })
    .chain((entries) => fc.nat({ max: 2 ** 45 }).map((t) => makeClock(entries, t))),
  deleted: fc.boolean(),
  size: fc.nat({ max: 2 ** 31 }),
  hash: fc.nat({ max: 0xffff_ffff }),
  alt: fc.nat({ max: 0xffff_ffff }),
  indexes: fc.array(fc.tuple(text, text), { maxLength: 3 }),
});

test('law: decodeHead ∘ encodeHead = id', () => {
  fc.assert(
    fc.property(headArb, (h) => {
      expect(decodeHead(encodeHead(h))).toEqual(h);
    }),
    { numRuns: 300 },
  );
});

test('law: encodeHead writes exactly the bytes of a plain msgpack encoder (msgpackr without records)', () => {
  const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });
  const reference = (h: HeadValue): Uint8Array =>
    packr.pack([1, h.hash, h.alt, h.deleted, h.size, h.clock.lastModified, h.clock.entries.flatMap((e) => [e[0], e[1]]), h.indexes.flatMap((e) => [e[0], e[1]])]);
  // Every width boundary of the integer and string encodings, long and non-ASCII strings, long lists.
  const edge = fc.constantFrom(0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff, 2 ** 32, 2 ** 53 - 1);
  const u32 = fc.oneof(fc.nat({ max: 0xffff_ffff }), edge.filter((n) => n <= 0xffff_ffff));
  const big = fc.oneof(fc.nat({ max: Number.MAX_SAFE_INTEGER }), edge);
  // Times stop where a Date does (MAX_TIME_MS, above 2^32: still the float64 form).
  const time = fc.oneof(fc.nat({ max: MAX_TIME_MS }), edge.filter((t) => t <= MAX_TIME_MS), fc.constant(MAX_TIME_MS));
  const str = fc
    .oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', minLength: 20, maxLength: 300, size: 'max' }),
      fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀'), minLength: 5, maxLength: 200, size: 'max' }),
      // Around the str8/str16 boundary (255/256 bytes) in ASCII.
      fc.integer({ min: 250, max: 260 }).map((n) => 'x'.repeat(n)),
    )
    .filter((x) => !x.includes('\0') && x.isWellFormed());
  const wide: fc.Arbitrary<HeadValue> = fc.record({
    clock: fc
      .uniqueArray(fc.tuple(str.filter((x) => x.length > 0), big.filter((n) => n > 0)), { selector: (e) => e[0], maxLength: 20 })
      .chain((entries) => time.map((t) => makeClock(entries, t))),
    deleted: fc.boolean(),
    size: big,
    hash: u32,
    alt: u32,
    indexes: fc.array(fc.tuple(str, str), { maxLength: 12 }),
  });
  fc.assert(
    fc.property(wide, (h) => {
      expect(Buffer.from(encodeHead(h)).toString('hex')).toBe(Buffer.from(reference(h)).toString('hex'));
      expect(decodeHead(encodeHead(h))).toEqual(h);
    }),
    { numRuns: 400 },
  );
});

test('law: heads encoded one after another, repeating strings within and across heads (the writer reuses the last string\'s bytes), match msgpackr', () => {
  const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });
  const reference = (h: HeadValue): Uint8Array =>
    packr.pack([1, h.hash, h.alt, h.deleted, h.size, h.clock.lastModified, h.clock.entries.flatMap((e) => [e[0], e[1]]), h.indexes.flatMap((e) => [e[0], e[1]])]);
  // A pool of a few strings of every header width, so consecutive strings are often the same.
  const pool = fc.constantFrom('', 'a', '@0123456789abcdef', 'é€', 'x'.repeat(40), 'y'.repeat(300), '😀'.repeat(20));
  const head: fc.Arbitrary<HeadValue> = fc.record({
    clock: fc.uniqueArray(fc.tuple(pool.filter((x) => x.length > 0), fc.integer({ min: 1, max: 1000 })), { selector: (e) => e[0], maxLength: 4 }).map((entries) => makeClock(entries, 5)),
    deleted: fc.boolean(),
    size: fc.nat(),
    hash: fc.nat(),
    alt: fc.nat(),
    indexes: fc.array(fc.tuple(pool, pool), { maxLength: 4 }),
  });
  fc.assert(
    fc.property(fc.array(head, { minLength: 1, maxLength: 20 }), (heads) => {
      for (const h of heads) expect(Buffer.from(encodeHead(h)).toString('hex')).toBe(Buffer.from(reference(h)).toString('hex'));
    }),
    { numRuns: 300 },
  );
});

test('encodeHead returns bytes of its own: a later encode does not change them', () => {
  const a: HeadValue = { clock: { entries: [['a', 2]], lastModified: 5 }, deleted: false, size: 3, hash: 7, alt: 9, indexes: [] };
  const bytes = encodeHead(a);
  const copy = Buffer.from(bytes).toString('hex');
  encodeHead({ ...a, hash: 8, clock: { entries: [['b'.repeat(500), 1]], lastModified: 6 } });
  expect(Buffer.from(bytes).toString('hex')).toBe(copy);
});

test('an example head encodes to the documented msgpack array', () => {
  const h: HeadValue = { clock: { entries: [['a', 2]], lastModified: 5 }, deleted: false, size: 3, hash: 7, alt: 9, indexes: [['i', 't']] };
  // [1, hash 7, alt 9, false, size 3, lastModified 5, ["a", 2], ["i", "t"]]
  expect(Buffer.from(encodeHead(h)).toString('hex')).toBe('9801' + '07' + '09' + 'c2' + '03' + '05' + '92a16102' + '92a169a174');
  expect(readContribution(encodeHead(h))).toBe(contribution(9, 7));
});

test('corrupt heads are STORE_IO, never half-typed objects', () => {
  const bad = [
    Uint8Array.of(0xc1),
    Uint8Array.of(0x93, 1, 2, 3), // wrong arity
    Uint8Array.of(0x98, 2, 0, 0, 0xc2, 0, 0, 0x90, 0x90), // unknown format
    Uint8Array.of(0x98, 1, 0, 0, 0xc2, 0, 0, 0x91, 0x01, 0x90), // odd clock
    Uint8Array.of(0x98, 1, 0, 0, 0xc2, 0, 0, 0x90, 0x90, 0x00), // trailing byte
    Uint8Array.of(0x98, 1, 0, 0, 0x01, 0, 0, 0x90, 0x90), // deleted not a boolean
    Uint8Array.of(0x98, 1, 0, 0, 0xc2, 0, 0, 0x92, 0xa2, 0x61), // truncated
  ];
  for (const b of bad) {
    let err: unknown;
    try {
      decodeHead(b);
    } catch (e) {
      err = e;
    }
    expect(isAaeError(err, 'STORE_IO'), Buffer.from(b).toString('hex')).toBe(true);
  }
});

test('law: readHashSize reads exactly the hash, alt, tombstone flag, size and lastModified decodeHead reads', () => {
  const out: HeadHashSize = { hash: -1, alt: -1, deleted: false, size: -1, lastModified: -1 };
  fc.assert(
    fc.property(headArb, (h) => {
      readHashSize(encodeHead(h), out);
      expect(out).toEqual({ hash: h.hash, alt: h.alt, deleted: h.deleted, size: h.size, lastModified: h.clock.lastModified });
    }),
    { numRuns: 300 },
  );
  // the documented example: [1, hash 7, alt 9, true, size 3, lastModified 5, …]
  readHashSize(Uint8Array.of(0x98, 1, 7, 9, 0xc3, 3, 5, 0x90, 0x90), out);
  expect(out).toEqual({ hash: 7, alt: 9, deleted: true, size: 3, lastModified: 5 });
});

test('readHashSize refuses corrupt leading fields with STORE_IO', () => {
  const bad = [
    Uint8Array.of(0xc1),
    Uint8Array.of(0x93, 1, 2, 3), // wrong arity
    Uint8Array.of(0x98, 2, 0, 0, 0xc2, 0, 0, 0x90, 0x90), // unknown format
    Uint8Array.of(0x98, 1, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0xc2, 0, 0, 0x90, 0x90), // hash over 32 bits
    Uint8Array.of(0x98, 1, 0, 0, 0x01, 0, 0, 0x90, 0x90), // deleted not a boolean
    Uint8Array.of(0x98, 1, 0, 0, 0xc2, 0), // truncated before lastModified
  ];
  const out: HeadHashSize = { hash: 0, alt: 0, deleted: false, size: 0, lastModified: 0 };
  for (const b of bad) {
    let err: unknown;
    try {
      readHashSize(b, out);
    } catch (e) {
      err = e;
    }
    expect(isAaeError(err, 'STORE_IO'), Buffer.from(b).toString('hex')).toBe(true);
  }
});

test('CanonicalKeyReader: more interleaved buckets than it remembers, of one length, still read right', () => {
  const reader = new CanonicalKeyReader();
  const buckets = Array.from({ length: 12 }, (_, i) => `bk${String(i).padStart(2, '0')}`);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...buckets), fc.uint8Array({ minLength: 1, maxLength: 4 })), { maxLength: 60 }), (keys) => {
      for (const [bucket, key] of keys) {
        const r = reader.read(canonicalKey(bucket, key));
        expect(r.bucket).toBe(bucket);
        expect(Array.from(r.key)).toEqual(Array.from(key));
      }
    }),
    { numRuns: 100 },
  );
});

test('CanonicalKeyReader inverts canonicalKey, whatever order buckets come in', () => {
  const reader = new CanonicalKeyReader();
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'ünï', 'x'.repeat(200)), fc.uint8Array({ maxLength: 6 })), { maxLength: 20 }), (keys) => {
      for (const [bucket, key] of keys) {
        const r = reader.read(canonicalKey(bucket, key));
        expect(r.bucket).toBe(bucket);
        expect(Array.from(r.key)).toEqual(Array.from(key));
      }
    }),
  );
});

test('str32 (ASCII and not) and array32 headers match msgpackr too, and a small head after the writer grew', () => {
  const heads: HeadValue[] = [
    { clock: { entries: [['a'.repeat(70_000), 1]], lastModified: 2 ** 40 }, deleted: false, size: 1, hash: 1, alt: 1, indexes: [] },
    { clock: { entries: [['é'.repeat(40_000), 1]], lastModified: 5 }, deleted: true, size: 0, hash: 0xffff_ffff, alt: 0, indexes: [['i', '€'.repeat(30_000)]] },
    { clock: { entries: [], lastModified: 0 }, deleted: false, size: 0, hash: 0, alt: 0, indexes: Array.from({ length: 40_000 }, (_, i) => ['i', `t${i}`] as const) },
  ];
  const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });
  const reference = (h: HeadValue): Uint8Array =>
    packr.pack([1, h.hash, h.alt, h.deleted, h.size, h.clock.lastModified, h.clock.entries.flatMap((e) => [e[0], e[1]]), h.indexes.flatMap((e) => [e[0], e[1]])]);
  for (const h of heads) {
    const mine = encodeHead(h);
    expect(Buffer.from(mine).equals(Buffer.from(reference(h)))).toBe(true);
    expect(decodeHead(mine)).toEqual(h);
  }
  // and a small one after the writer grew: still right
  const small: HeadValue = { clock: { entries: [['a', 2]], lastModified: 5 }, deleted: false, size: 3, hash: 7, alt: 9, indexes: [] };
  expect(Buffer.from(encodeHead(small)).equals(Buffer.from(reference(small)))).toBe(true);
});
