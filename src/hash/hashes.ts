import { AaeError } from '../errors.js';
import { canonicalClock, type ClockEntry } from './canonical.js';
import { getHasher } from './xxhash.js';

/**
 * The hashes every tree is built from.
 *
 * - keyHash = xxh64(canonicalKey, seed): its low 32 bits are `segment32` (a tree of any size takes
 *   its segment from the low bits), its high 32 bits are `alt`.
 * - objectHash = xxh32(canonicalClock, seed) for hash method `clock` (the default), or
 *   xxh32(value, seed) for hash method `value`.
 * - A key's contribution to its segment is `alt XOR objectHash`: two keys of one segment that hold
 *   equal clocks do not cancel each other out, because their `alt`s differ.
 * - partitionHash = xxh32(canonicalKey, PARTITION_SEED): the ring position. A different function and
 *   a fixed seed keep it independent of the segment, so one keyspace's keys spread over all segments.
 *
 * Seeds are unsigned 32-bit integers. xxh64 returns a BigInt from the wasm boundary; we split it once
 * and hand out two uint32 numbers, so no BigInt travels further than this file.
 */

export type HashMethod = 'clock' | 'value';
export const HASH_METHODS: readonly HashMethod[] = ['clock', 'value'];

/** The ring's seed: fixed for every cluster, so a key's partition depends only on the key. */
export const PARTITION_SEED = 0x5eed_9a27;

const LOW32 = 0xffff_ffffn;
const seeds64 = new Map<number, bigint>();

export function validateSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new AaeError('INVALID_ARGUMENT', `seed must be an integer in 0..4294967295, got ${seed}`);
  }
}

function seed64(seed: number): bigint {
  let s = seeds64.get(seed);
  if (s === undefined) {
    validateSeed(seed);
    s = BigInt(seed);
    seeds64.set(seed, s);
  }
  return s;
}

export interface KeyHash {
  /** Low 32 bits of xxh64: the segment of a tree of any size is `segment32 & (segments − 1)`. */
  segment32: number;
  /** High 32 bits of xxh64: XORed into the contribution so equal clocks do not cancel. */
  alt: number;
}

export function keyHash(canonicalKey: Uint8Array, seed: number): KeyHash {
  const h = getHasher().h64Raw(canonicalKey, seed64(seed));
  return { segment32: Number(h & LOW32), alt: Number(h >> 32n) };
}

export function objectHashOfClock(entries: readonly ClockEntry[], seed: number): number {
  return getHasher().h32Raw(canonicalClock(entries), seed) >>> 0;
}

export function objectHashOfValue(value: Uint8Array, seed: number): number {
  return getHasher().h32Raw(value, seed) >>> 0;
}

/** The object hash by the cluster's hash method. */
export function objectHash(
  method: HashMethod,
  seed: number,
  clock: readonly ClockEntry[],
  value: Uint8Array,
): number {
  return method === 'clock' ? objectHashOfClock(clock, seed) : objectHashOfValue(value, seed);
}

export function partitionHash(canonicalKey: Uint8Array): number {
  return getHasher().h32Raw(canonicalKey, PARTITION_SEED) >>> 0;
}

/** A key's contribution to its segment's leaf. */
export function contribution(alt: number, objectHash: number): number {
  return (alt ^ objectHash) >>> 0;
}

export function parseHashMethod(s: string): HashMethod {
  if (s === 'clock' || s === 'value') return s;
  throw new AaeError('HASH_METHOD_UNKNOWN', `unknown hash method '${s}' (expected clock or value)`);
}
