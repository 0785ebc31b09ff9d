import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { keyspaceOfHash } from '../../src/cluster/ring.js';
import {
  canonicalClock,
  canonicalKey,
  contribution,
  initHash,
  keyHash,
  objectHashOfClock,
  objectHashOfValue,
  partitionHash,
  type ClockEntry,
} from '../../src/hash/index.js';

/**
 * Freezes the hash format: every cluster, node and version must build the same trees. These
 * vectors were generated once; if this test fails, the implementation changed the format.
 * Fix the implementation — never the fixture (a real format change is a new format version).
 */

type Bytes = { utf8: string } | { hex: string };
interface Vectors {
  formatVersion: number;
  seeds: number[];
  keys: Array<{
    bucket: string;
    key: Bytes;
    canonicalKeyHex: string;
    partitionHash: number;
    keyspaceRing64: number;
    bySeed: Record<string, { segment32: number; alt: number }>;
  }>;
  clocks: Array<{ entries: ClockEntry[]; canonicalClockHex: string; objectHashBySeed: Record<string, number> }>;
  values: Array<{ value: Bytes; objectHashBySeed: Record<string, number> }>;
  contributions: Array<{ keyIndex: number; clockIndex: number; seed: number; contribution: number; largeSegment: number }>;
}

const vectors = JSON.parse(
  readFileSync(new URL('../../fixtures/format-vectors.json', import.meta.url), 'utf8'),
) as Vectors;

const bytesOf = (b: Bytes): Uint8Array =>
  'utf8' in b ? new TextEncoder().encode(b.utf8) : new Uint8Array(Buffer.from(b.hex, 'hex'));
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

beforeAll(async () => {
  await initHash();
});

describe('format vectors v1', () => {
  test('cover the edge cases the format promises', () => {
    expect(vectors.formatVersion).toBe(1);
    expect(vectors.keys.some((k) => bytesOf(k.key).length === 0)).toBe(true);
    expect(vectors.keys.some((k) => 'hex' in k.key && !isUtf8(bytesOf(k.key)))).toBe(true);
    expect(vectors.keys.some((k) => /[^\x00-\x7f]/.test(k.bucket))).toBe(true);
    expect(vectors.keys.some((k) => new TextEncoder().encode(k.bucket).length >= 128)).toBe(true);
    expect(vectors.clocks.some((c) => c.entries.length >= 3)).toBe(true);
  });

  test.each(vectors.keys.map((k, i) => [i, k] as const))('key %i: canonical bytes, key hash, partition', (_i, k) => {
    const ck = canonicalKey(k.bucket, bytesOf(k.key));
    expect(hex(ck)).toBe(k.canonicalKeyHex);
    expect(partitionHash(ck)).toBe(k.partitionHash);
    expect(keyspaceOfHash(partitionHash(ck), 64)).toBe(k.keyspaceRing64);
    for (const seed of vectors.seeds) expect(keyHash(ck, seed)).toEqual(k.bySeed[String(seed)]);
  });

  test.each(vectors.clocks.map((c, i) => [i, c] as const))('clock %i: canonical bytes and object hash', (_i, c) => {
    expect(hex(canonicalClock(c.entries))).toBe(c.canonicalClockHex);
    for (const seed of vectors.seeds) expect(objectHashOfClock(c.entries, seed)).toBe(c.objectHashBySeed[String(seed)]);
  });

  test('value object hashes', () => {
    for (const v of vectors.values) {
      for (const seed of vectors.seeds) expect(objectHashOfValue(bytesOf(v.value), seed)).toBe(v.objectHashBySeed[String(seed)]);
    }
  });

  test('contributions and large-tree segments', () => {
    for (const c of vectors.contributions) {
      const k = vectors.keys[c.keyIndex]!;
      const kh = keyHash(canonicalKey(k.bucket, bytesOf(k.key)), c.seed);
      const oh = objectHashOfClock(vectors.clocks[c.clockIndex]!.entries, c.seed);
      expect(contribution(kh.alt, oh)).toBe(c.contribution);
      expect(kh.segment32 & (2 ** 20 - 1)).toBe(c.largeSegment);
    }
  });
});

function isUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}
