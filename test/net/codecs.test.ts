import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AaeError, isAaeError } from '../../src/errors.js';
import { keyClockBytes } from '../../src/exchange/index.js';
import { varintLength } from '../../src/hash/index.js';
import {
  decodeFoldEvent,
  decodeFoldRequest,
  decodeHeads,
  decodeInfo,
  decodeObjects,
  decodeReadRequest,
  decodeWriteAnswer,
  decodeWriteRequest,
  encodeFoldEvent,
  encodeFoldRequest,
  encodeHeads,
  encodeInfo,
  encodeObjects,
  encodeReadRequest,
  encodeWriteAnswer,
  encodeWriteRequest,
} from '../../src/net/codec-messages.js';
import { PROTOCOL, messageCodec } from '../../src/net/index.js';
import { decodeKeyClocks, encodeKeyClocks, type KeyClock } from '../../src/node/index.js';
import { decodeSyndrome, sketchWordsInto, syndromeInto, syndromeWords } from '../../src/tictac/index.js';
import * as F from './fixtures.js';

const DIR = join(import.meta.dirname, '../../fixtures/net');
const FREEZE = process.env['FREEZE'] === '1';

/**
 * One frozen message: its type, the bytes this version writes, the decoder the other side runs, and
 * the contract minor it was frozen at. Every file decodes into its value forever; only those of the
 * current minor must also be exactly what this version writes (a request names its minor).
 */
const frozen: Array<{ file: string; type: string; bytes: () => Uint8Array; decode: (msg: unknown) => unknown; expected: unknown; minor: number }> = [
  { file: 'InfoReply.bin', type: 'InfoReply', bytes: () => messageCodec('InfoReply').encode(encodeInfo(F.info)), decode: decodeInfo, expected: F.info, minor: 0 },
  { file: 'FoldRequest.bin', type: 'FoldRequest', bytes: () => messageCodec('FoldRequest').encode(encodeFoldRequest(F.foldRequest)), decode: decodeFoldRequest, expected: F.foldRequest, minor: 0 },
  ...F.foldEvents.map((e, i) => ({ file: `FoldEvent-${i}-${e.kind}.bin`, type: 'FoldEvent', bytes: () => messageCodec('FoldEvent').encode(encodeFoldEvent(e)), decode: decodeFoldEvent, expected: e, minor: 1 })),
  { file: 'ReadRequest.bin', type: 'ReadRequest', bytes: () => messageCodec('ReadRequest').encode(encodeReadRequest(F.readRequest)), decode: decodeReadRequest, expected: F.readRequest, minor: 0 },
  { file: 'HeadsReply.bin', type: 'HeadsReply', bytes: () => messageCodec('HeadsReply').encode(encodeHeads(F.heads)), decode: (m) => decodeHeads(m, 2), expected: F.heads, minor: 1 },
  { file: 'ObjectsReply.bin', type: 'ObjectsReply', bytes: () => messageCodec('ObjectsReply').encode(encodeObjects(F.objects)), decode: (m) => decodeObjects(m, 2), expected: F.objects, minor: 1 },
  { file: 'WriteRequest.bin', type: 'WriteRequest', bytes: () => messageCodec('WriteRequest').encode(encodeWriteRequest(F.writeRequest)), decode: decodeWriteRequest, expected: F.writeRequest, minor: 0 },
  { file: 'WriteReply.bin', type: 'WriteReply', bytes: () => messageCodec('WriteReply').encode(encodeWriteAnswer(F.writeAnswer)), decode: (m) => decodeWriteAnswer(m, 3), expected: F.writeAnswer, minor: 1 },
  // Minor 1 (plugins): a module's plugin state, a fold request's digest; requests now name minor 1.
  { file: 'InfoReply-1.1.bin', type: 'InfoReply', bytes: () => messageCodec('InfoReply').encode(encodeInfo(F.infoWithPlugins)), decode: decodeInfo, expected: F.infoWithPlugins, minor: 1 },
  // Minor 1 (keystores): a keystore's status and the erasesDeletes capability.
  { file: 'InfoReply-1.1-keystore.bin', type: 'InfoReply', bytes: () => messageCodec('InfoReply').encode(encodeInfo(F.keystoreInfo)), decode: decodeInfo, expected: F.keystoreInfo, minor: 1 },
  { file: 'InfoReply-1.1-keystore-new.bin', type: 'InfoReply', bytes: () => messageCodec('InfoReply').encode(encodeInfo(F.unbuiltKeystoreInfo)), decode: decodeInfo, expected: F.unbuiltKeystoreInfo, minor: 1 },
  { file: 'InfoReply-1.2-copy.bin', type: 'InfoReply', bytes: () => messageCodec('InfoReply').encode(encodeInfo(F.infoWithCopy)), decode: decodeInfo, expected: F.infoWithCopy, minor: 2 },
  { file: 'InfoReply-1.2-keystore-unreachable.bin', type: 'InfoReply', bytes: () => messageCodec('InfoReply').encode(encodeInfo(F.unreachableKeystoreInfo)), decode: decodeInfo, expected: F.unreachableKeystoreInfo, minor: 2 },
  { file: 'FoldRequest-1.1.bin', type: 'FoldRequest', bytes: () => messageCodec('FoldRequest').encode(encodeFoldRequest(F.pluginFoldRequest)), decode: decodeFoldRequest, expected: F.pluginFoldRequest, minor: 1 },
  { file: 'ReadRequest-1.1.bin', type: 'ReadRequest', bytes: () => messageCodec('ReadRequest').encode(encodeReadRequest(F.readRequest)), decode: decodeReadRequest, expected: F.readRequest, minor: 1 },
  { file: 'WriteRequest-1.1.bin', type: 'WriteRequest', bytes: () => messageCodec('WriteRequest').encode(encodeWriteRequest(F.writeRequest)), decode: decodeWriteRequest, expected: F.writeRequest, minor: 1 },
];

/** Values with Buffers compared as plain byte arrays. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

describe('frozen fixtures (fixtures/net, protocol 1)', () => {
  for (const f of frozen) {
    test(`${f.file} decodes into the value this version froze`, () => {
      const path = join(DIR, f.file);
      if ((FREEZE && f.minor === PROTOCOL.minor) || !existsSync(path)) writeFileSync(path, f.bytes());
      const decoded = f.decode(messageCodec(f.type).decode(readFileSync(path)));
      expect(plain(decoded)).toEqual(plain(f.expected));
      // And this version still writes those very bytes (a request of an older minor names that minor).
      if (f.minor === PROTOCOL.minor) expect(Buffer.from(f.bytes()).equals(readFileSync(path))).toBe(true);
    });
  }
  test('keyclocks.bin decodes into the frozen key-clock list', () => {
    const path = join(DIR, 'keyclocks.bin');
    if (FREEZE || !existsSync(path)) writeFileSync(path, encodeKeyClocks(F.keyClocks));
    expect(plain(decodeKeyClocks(readFileSync(path)))).toEqual(plain(F.keyClocks));
  });
  test('a request of another major version is refused with NODE_CONTRACT_MISMATCH', () => {
    const bytes = messageCodec('ReadRequest').encode({ version: { major: 2, minor: 0 }, vnode: 1, keys: [] });
    expect(() => decodeReadRequest(messageCodec('ReadRequest').decode(bytes))).toThrow(expect.objectContaining({ code: 'NODE_CONTRACT_MISMATCH' }));
  });
});

const actor = fc.constantFrom('a', 'dc1', 'dr1', 'ünï');
const keyClock: fc.Arbitrary<KeyClock> = fc.record({
  bucket: fc.constantFrom('b', 'users', 'ß'),
  key: fc.uint8Array({ maxLength: 12 }),
  clock: fc.record({
    entries: fc.uniqueArray(fc.tuple(actor, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })), { selector: (e) => e[0], maxLength: 4 }).map((es) => [...es].sort((x, y) => (x[0] < y[0] ? -1 : 1))),
    lastModified: fc.integer({ min: 0, max: 8.64e15 }),
  }),
  deleted: fc.boolean(),
  hash: fc.integer({ min: 0, max: 0xffff_ffff }),
});

describe('keystore status (minor 1)', () => {
  const status = fc.record({
    engine: fc.constantFrom('postgresql', 'redis', 'etcd'),
    reliable: fc.boolean(),
    reason: fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: null }),
    phase: fc.constantFrom('new' as const, 'building' as const, 'swapping' as const, 'ready' as const),
    position: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: null }),
    lag: fc.option(fc.record({ bytes: fc.nat(), seconds: fc.double({ min: 0, max: 1e6, noNaN: true }), at: fc.nat() }), { nil: null }),
    following: fc.boolean(),
    // Minor 2.
    unreachable: fc.option(fc.record({ reason: fc.string({ minLength: 1, maxLength: 40 }), since: fc.nat() }), { nil: undefined }),
  }, { requiredKeys: ['engine', 'reliable', 'reason', 'phase', 'position', 'lag', 'following'] });
  test('law: decode ∘ protobuf ∘ encode = id, for any status and either capability', () => {
    fc.assert(fc.property(status, fc.boolean(), (keystore, erases) => {
      const v = { ...F.keystoreInfo, capabilities: { ...F.info.capabilities, ...(erases ? { erasesDeletes: true } : {}) }, keystore };
      const back = decodeInfo(messageCodec('InfoReply').decode(messageCodec('InfoReply').encode(encodeInfo(v))));
      expect(plain(back)).toEqual(plain(v));
    }));
  });
  test('a node that is no keystore has no status after the trip either', () => {
    const back = decodeInfo(messageCodec('InfoReply').decode(messageCodec('InfoReply').encode(encodeInfo(F.info))));
    expect(back.keystore).toBeUndefined();
    expect(back.capabilities.erasesDeletes).toBeUndefined();
  });
});

describe('key-clock lists', () => {
  test('law: decode ∘ encode = id', () => {
    fc.assert(fc.property(fc.array(keyClock, { maxLength: 30 }), (list) => {
      expect(plain(decodeKeyClocks(encodeKeyClocks(list)))).toEqual(plain(list));
    }));
  });
  test('law: any bytes decode into a valid list or fail with NODE_REPLY_INVALID, never anything else', () => {
    const valid = encodeKeyClocks(F.keyClocks);
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.nat(valid.length - 1).map((n) => valid.slice(0, n)), fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
      const b = valid.slice();
      b[i]! ^= x;
      return b;
    })), (bytes) => {
      try {
        decodeKeyClocks(bytes);
      } catch (e) {
        expect(isAaeError(e, 'NODE_REPLY_INVALID')).toBe(true);
      }
    }), { numRuns: 2000 });
  });
  test("law: sizes.ts's model counts exactly the packed entries of keys written at one time (the dictionaries and header aside)", () => {
    fc.assert(fc.property(fc.array(keyClock, { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 8.64e15 }), (list, t) => {
      const same = list.map((k) => ({ ...k, clock: { ...k.clock, lastModified: t } }));
      const actors = [...new Set(same.flatMap((k) => k.clock.entries.map((e) => e[0])))];
      const buckets = [...new Set(same.map((k) => k.bucket))];
      const str = (s: string): number => Buffer.byteLength(s) + varintLength(Buffer.byteLength(s));
      const header = 1 + varintLength(actors.length) + actors.reduce((n, a) => n + str(a), 0) + varintLength(buckets.length) + buckets.reduce((n, b) => n + str(b), 0) + varintLength(same.length) + varintLength(t);
      expect(encodeKeyClocks(same).length).toBe(header + same.reduce((n, k) => n + keyClockBytes(k), 0));
    }));
  });
});

const words = (n: number): fc.Arbitrary<Uint32Array> => fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: n, maxLength: n }).map((a) => Uint32Array.from(a));

describe('sketches and syndromes (linear over XOR)', () => {
  const ids = Array.from({ length: 64 }, (_, i) => i * 3);
  const sketch = (w: Uint32Array, seed: number): Uint32Array => {
    const out = new Uint32Array(2);
    sketchWordsInto(out, w, ids, seed);
    return out;
  };
  test('law: sketch(a ⊕ b) = sketch(a) ⊕ sketch(b); equal lists sketch equal; one changed word always shows', () => {
    fc.assert(fc.property(words(64), words(64), fc.nat(63), fc.integer({ min: 1, max: 0xffff_ffff }), fc.nat(), (a, b, i, delta, seed) => {
      const x = a.map((w, k) => w ^ b[k]!);
      const [sa, sb, sx] = [sketch(a, seed), sketch(b, seed), sketch(x, seed)];
      expect([sa[0]! ^ sb[0]!, sa[1]! ^ sb[1]!].map((v) => v >>> 0)).toEqual(Array.from(sx));
      const changed = a.slice();
      changed[i]! ^= delta;
      expect(Array.from(sketch(changed, seed))).not.toEqual(Array.from(sa));
      expect(Array.from(sketch(new Uint32Array(64), seed))).toEqual([0, 0]);
    }));
  });
  const syn = (children: Uint32Array, fanout: number, group: number, seed: number): Uint32Array => {
    const out = new Uint32Array(syndromeWords(fanout));
    syndromeInto(out, 0, children, 0, fanout, group, seed);
    return out;
  };
  test('law: a single differing child is located exactly; two always show as many; none is clean; nodes combine by XOR', () => {
    fc.assert(fc.property(words(32), words(32), fc.nat(31), fc.nat(31), fc.integer({ min: 1, max: 0xffff_ffff }), fc.integer({ min: 1, max: 0xffff_ffff }), fc.nat(1000), fc.nat(), (a, part, p, q, d1, d2, group, seed) => {
      const base = syn(a, 32, group, seed);
      expect(decodeSyndrome(base, syn(a, 32, group, seed), 0, 32, group, seed)).toEqual({ kind: 'clean' });
      const one = a.slice();
      one[p]! ^= d1;
      expect(decodeSyndrome(base, syn(one, 32, group, seed), 0, 32, group, seed)).toEqual({ kind: 'one', child: p });
      if (q !== p) {
        const two = one.slice();
        two[q]! ^= d2;
        expect(decodeSyndrome(base, syn(two, 32, group, seed), 0, 32, group, seed).kind).toBe('many');
      }
      // Two nodes' partial words: the XOR of their syndromes is the syndrome of the XOR.
      const rest = a.map((w, k) => w ^ part[k]!);
      const combined = syn(part, 32, group, seed).map((w, k) => w ^ syn(rest, 32, group, seed)[k]!);
      expect(Array.from(combined)).toEqual(Array.from(base));
    }));
  });
});

test('AaeError stays the error type codecs throw', () => {
  expect(() => decodeKeyClocks(Uint8Array.of(9))).toThrow(AaeError);
});

describe("a node's copy (minor 2)", () => {
  test('a copy that is not 32 hex digits is refused, not trusted as an id; an older node (no copy) decodes without one', () => {
    for (const copy of ['nodes:n1=?', '0123', 'G'.repeat(32), '0123456789ABCDEF0123456789ABCDEF']) {
      const bytes = messageCodec('InfoReply').encode({ ...encodeInfo(F.info), copy });
      expect(() => decodeInfo(messageCodec('InfoReply').decode(bytes))).toThrow(expect.objectContaining({ code: 'NODE_REPLY_INVALID', details: { field: 'copy' } }));
    }
    const old = decodeInfo(messageCodec('InfoReply').decode(readFileSync(join(DIR, 'InfoReply-1.1.bin'))));
    expect('copy' in old).toBe(false);
  });
});
