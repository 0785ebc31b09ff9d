import { describe, expect, test } from 'vitest';
import { canonicalKey, hashReady, keyHash, objectHashOfClock } from '../../src/hash/index.js';

// Its own file: vitest gives each file fresh modules, so here initHash() has not run.
describe('before initHash()', () => {
  test('hashing refuses with HASH_NOT_READY; canonical bytes need no wasm', () => {
    expect(hashReady()).toBe(false);
    const ck = canonicalKey('b', new Uint8Array([1, 2]));
    expect(Array.from(ck)).toEqual([1, 0x62, 1, 2]);
    expect(() => keyHash(ck, 0)).toThrow(expect.objectContaining({ code: 'HASH_NOT_READY' }));
    expect(() => objectHashOfClock([['a', 1]], 0)).toThrow(expect.objectContaining({ code: 'HASH_NOT_READY' }));
  });
});
