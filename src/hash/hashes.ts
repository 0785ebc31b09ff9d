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

/**
 * A key's contribution to its segment's leaf: `fmix32(alt XOR objectHash)`.
 *
 * Why the mix: a plain `alt XOR objectHash` is linear, so a version change would XOR
 * `objectHash(old) XOR objectHash(new)` into the leaf, a value that does not depend on the key.
 * Two keys of one branch that make the same change (a bulk update taking every clock from
 * [a,1] to [a,2]) would then cancel in the root word and the exchange would miss both. Through
 * MurmurHash3's finaliser (a bijection with full avalanche) the change a version makes depends on
 * the key's `alt`, so such changes cancel only by a 2^-32 accident. `alt` still separates two keys
 * holding equal clocks. It costs two multiplications, and no call into wasm.
 */
export function contribution(alt: number, objectHash: number): number {
  return fmix32((alt ^ objectHash) >>> 0);
}

/** MurmurHash3's 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function parseHashMethod(s: string): HashMethod {
  if (s === 'clock' || s === 'value') return s;
  throw new AaeError('HASH_METHOD_UNKNOWN', `unknown hash method '${s}' (expected clock or value)`);
}
