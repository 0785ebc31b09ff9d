import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { beforeAll, describe, expect, test } from 'vitest';
import { initHash } from '../../src/hash/index.js';
import { xxh32, xxh64, xxh64High } from '../../src/hash/xxhash.js';

// Node 20's global WebAssembly, as far as this test uses it (its types live in lib.dom, not loaded).
declare const WebAssembly: {
  compile(bytes: Uint8Array): Promise<object>;
  Module: { exports(module: object): Array<{ name: string; kind: string }> };
};
import { XXHASH_WASM_BASE64 } from '../../src/hash/xxhash-wasm-bytes.js';

/**
 * Our hand-written wasm xxh64/xxh32 (src/hash/xxhash.wat) against xxhash-wasm, the reference. The
 * lengths 0..300 reach every tail of both algorithms (xxh64: 8-, 4- and 1-byte lanes after 32-byte
 * stripes; xxh32: 4- and 1-byte lanes after 16-byte stripes) and several rounds of each stripe loop.
 */

let reference: Awaited<ReturnType<typeof xxhash>>;

beforeAll(async () => {
  await initHash();
  reference = await xxhash();
});

const ours64 = (input: Uint8Array, seed: number): bigint => {
  const low = xxh64(input, seed);
  return BigInt(low) + (BigInt(xxh64High()) << 32n);
};

describe('wasm xxhash equals xxhash-wasm', () => {
  test('xxh64 and xxh32 on random bytes of length 0..300 and random seeds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat({ max: 0xffff_ffff }), (input, seed) => {
        expect(ours64(input, seed)).toBe(reference.h64Raw(input, BigInt(seed)));
        expect(xxh32(input, seed)).toBe(reference.h32Raw(input, seed) >>> 0);
      }),
      { numRuns: 500 },
    );
  });

  test('every length 0..300 at seeds 0, 1, 2^31 and 2^32 − 1', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);
    for (const seed of [0, 1, 0x8000_0000, 0xffff_ffff]) {
      for (let len = 0; len <= 300; len++) {
        const input = data.subarray(300 - len); // odd offsets too: the copy must not assume alignment
        expect(ours64(input, seed)).toBe(reference.h64Raw(input, BigInt(seed)));
        expect(xxh32(input, seed)).toBe(reference.h32Raw(input, seed) >>> 0);
      }
    }
  });

  test('published values: "" and "abc" at seed 0', () => {
    const abc = new TextEncoder().encode('abc');
    expect(xxh32(new Uint8Array(0), 0)).toBe(0x02cc5d05);
    expect(xxh32(abc, 0)).toBe(0x32d153ff);
    expect(ours64(new Uint8Array(0), 0)).toBe(0xef46db3751d8e999n);
    expect(ours64(abc, 0)).toBe(0x44bc2cf5ad770999n);
  });

  test('inputs larger than the initial memory grow it, and hashing stays right afterwards', () => {
    const big = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 2654435761) >>> 24);
    expect(ours64(big, 5)).toBe(reference.h64Raw(big, 5n));
    expect(xxh32(big, 5)).toBe(reference.h32Raw(big, 5) >>> 0);
    const small = big.subarray(11, 40);
    expect(ours64(small, 5)).toBe(reference.h64Raw(small, 5n));
  });

  test('the embedded module exports what xxhash.wat declares', async () => {
    const wat = readFileSync(new URL('../../src/hash/xxhash.wat', import.meta.url), 'utf8');
    const declared = [...wat.matchAll(/\(export "([^"]+)"\)/g)].map((m) => m[1]).sort();
    const module = await WebAssembly.compile(Buffer.from(XXHASH_WASM_BASE64, 'base64'));
    const actual = WebAssembly.Module.exports(module)
      .map((e) => e.name)
      .sort();
    expect(actual).toEqual(declared);
    expect(declared).toEqual(['memory', 'xxh32', 'xxh64']);
  });
});
