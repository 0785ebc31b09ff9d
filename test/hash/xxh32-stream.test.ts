import fc from 'fast-check';
import { beforeAll, expect, test } from 'vitest';
import { initHash, objectHashOfValue, Xxh32Stream } from '../../src/hash/index.js';

/**
 * The streamed XXH32 (what a Redis keystore hashes big values with) against the one-shot hash that
 * hash method `value` uses: for any bytes, any seed and any split into pieces, the same value.
 * Lengths up to 300 reach every tail (4- and 1-byte lanes after 16-byte stripes) and several stripes.
 */

beforeAll(async () => {
  await initHash();
});

test('law: any split of the input hashes as the whole', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 8 }), fc.nat({ max: 0xffffffff }), (bytes, cuts, seed) => {
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const s = new Xxh32Stream(seed);
      let from = 0;
      for (const p of [...points, bytes.length]) {
        s.update(bytes.subarray(from, p));
        from = p;
      }
      expect(s.digest()).toBe(objectHashOfValue(bytes, seed));
      expect(s.length).toBe(bytes.length);
    }),
    { numRuns: 2000 },
  );
});

test('a megabyte in uneven pieces, and the published XXH32 of the empty input', () => {
  const big = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24);
  const s = new Xxh32Stream(0);
  for (let p = 0; p < big.length; p += 65_537) s.update(big.subarray(p, p + 65_537));
  expect(s.digest()).toBe(objectHashOfValue(big, 0));
  expect(new Xxh32Stream(0).digest()).toBe(0x02cc5d05);
});
