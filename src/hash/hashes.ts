import { AaeError, quote } from '../errors.js';
import {
  bucketPrefix,
  canonicalClockSlow,
  NORMAL_CLOCK_MAX_BYTES,
  writeKey,
  writeNormalClock,
  type ClockEntry,
} from './canonical.js';
import { SCRATCH, copyToScratch, scratch, xxh32, xxh32Scratch, xxh64, xxh64High, xxh64Scratch } from './xxhash.js';

/**
 * The hashes every tree is built from.
 *
 * - keyHash = xxh64(canonicalKey, seed): its low 32 bits are `segment32` (a tree of any size takes
 *   its segment from the low bits), its high 32 bits are `alt`.
 * - objectHash = xxh32(canonicalClock, seed) for hash method `clock` (the default), or
 *   xxh32(value, seed) for hash method `value`. A tombstone (hash format 2) hashes the same bytes
 *   (its clock; under `value` its empty value) with the seed XOR TOMBSTONE_SEED_XOR, so a delete
 *   that reuses the clock of the value it deletes is a different version in every tree.
 * - A key's contribution to its segment is `alt XOR objectHash`: two keys of one segment that hold
 *   equal clocks do not cancel each other out, because their `alt`s differ.
 * - partitionHash = xxh32(canonicalKey, PARTITION_SEED): the ring position. A different function and
 *   a fixed seed keep it independent of the segment, so one keyspace's keys spread over all segments.
 *
 * Seeds are unsigned 32-bit integers. The hashes run in our own wasm module (xxhash.ts), which
 * returns xxh64 as two uint32 words, so no BigInt is ever made. The `…Of` entry points encode the
 * canonical bytes straight into the module's scratch memory and hash them there, never allocating
 * them: use them on hot paths; `canonicalKey`/`canonicalClock` are for callers that keep the bytes.
 */

export type HashMethod = 'clock' | 'value';
export const HASH_METHODS: readonly HashMethod[] = ['clock', 'value'];

/** The ring's seed: fixed for every cluster, so a key's partition depends only on the key. */
export const PARTITION_SEED = 0x5eed_9a27;

export function validateSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new AaeError('INVALID_ARGUMENT', `seed must be an integer in 0..4294967295, got ${seed}`);
  }
}

/** The hot paths' seed check: `seed >>> 0 === seed` holds exactly for integers in 0..2^32−1. */
function checkSeed(seed: number): void {
  if (seed >>> 0 !== seed) validateSeed(seed);
}

export interface KeyHash {
  /** Low 32 bits of xxh64: the segment of a tree of any size is `segment32 & (segments − 1)`. */
  segment32: number;
  /** High 32 bits of xxh64: XORed into the contribution so equal clocks do not cancel. */
  alt: number;
}

export function keyHash(canonicalKey: Uint8Array, seed: number): KeyHash {
  checkSeed(seed);
  const segment32 = xxh64(canonicalKey, seed);
  return { segment32, alt: xxh64High() };
}

/** `keyHash(canonicalKey(bucket, key), seed)` without building the canonical key. */
export function keyHashOf(bucket: string, key: Uint8Array, seed: number): KeyHash {
  checkSeed(seed);
  const prefix = bucketPrefix(bucket);
  const len = writeKey(scratch(prefix.length + key.length), SCRATCH, prefix, key) - SCRATCH;
  const segment32 = xxh64Scratch(len, seed);
  return { segment32, alt: xxh64High() };
}

/** A key's tree hash and ring position together (what a store computes on every write). */
export interface KeyPlacement extends KeyHash {
  /** `partitionHash` of the same canonical key. */
  partition: number;
}

/**
 * `keyHash(canonicalKey, seed)` and `partitionHash(canonicalKey)` from one copy of the key into
 * wasm memory instead of two.
 */
export function keyPlacement(canonicalKey: Uint8Array, seed: number): KeyPlacement {
  checkSeed(seed);
  copyToScratch(canonicalKey);
  const segment32 = xxh64Scratch(canonicalKey.length, seed);
  const alt = xxh64High();
  return { segment32, alt, partition: xxh32Scratch(canonicalKey.length, PARTITION_SEED) };
}

/** `partitionHash(canonicalKey(bucket, key))` without building the canonical key. */
export function partitionHashOf(bucket: string, key: Uint8Array): number {
  const prefix = bucketPrefix(bucket);
  const len = writeKey(scratch(prefix.length + key.length), SCRATCH, prefix, key) - SCRATCH;
  return xxh32Scratch(len, PARTITION_SEED);
}

/**
 * xxh32(canonicalClock(entries), seed), encoding the clock into scratch (see writeNormalClock).
 * The object hashes do not check the seed (they never did): wasm takes it modulo 2^32, as
 * xxhash-wasm's h32Raw did, so every output stays what it was.
 */
export function objectHashOfClock(entries: readonly ClockEntry[], seed: number): number {
  const end = writeNormalClock(scratch(NORMAL_CLOCK_MAX_BYTES), SCRATCH, entries);
  if (end >= 0) return xxh32Scratch(end - SCRATCH, seed);
  const bytes = canonicalClockSlow(entries);
  copyToScratch(bytes);
  return xxh32Scratch(bytes.length, seed);
}

export function objectHashOfValue(value: Uint8Array, seed: number): number {
  return xxh32(value, seed);
}

/**
 * The version of the hashes: 2 since tombstones hash with a seed of their own. Live objects hash
 * as in format 1 (fixtures/format-vectors.json still holds); tombstones did not differ from the
 * value they deleted when the delete reused its clock (or, under `value`, from an empty value).
 */
export const HASH_FORMAT_VERSION = 2;

/**
 * XORed into the seed of a tombstone's object hash ("TOMB"). A different seed makes xxh32 a
 * different function, so a tombstone and a live version hash apart even over the same bytes (the
 * same clock, or an empty value), and no choice of value bytes can collide with a tombstone
 * except by a 2^-32 accident. Both hash methods use it: under `value` every tombstone of a
 * cluster hashes alike (data without clocks has no other version to tell apart), unlike any live
 * value, the empty one included.
 */
export const TOMBSTONE_SEED_XOR = 0x544f_4d42;

/** The object hash of a version by the cluster's hash method and seed (hash format 2). */
export function objectHash(
  method: HashMethod,
  seed: number,
  clock: readonly ClockEntry[],
  value: Uint8Array,
  deleted: boolean,
): number {
  if (deleted) return tombstoneHash(method, seed, clock);
  return method === 'clock' ? objectHashOfClock(clock, seed) : objectHashOfValue(value, seed);
}

/** A tombstone's object hash: its clock (`clock`) or its empty value (`value`), under the tombstone seed. */
export function tombstoneHash(method: HashMethod, seed: number, clock: readonly ClockEntry[]): number {
  const s = (seed ^ TOMBSTONE_SEED_XOR) >>> 0;
  return method === 'clock' ? objectHashOfClock(clock, s) : objectHashOfValue(NO_BYTES, s);
}

const NO_BYTES = new Uint8Array(0);

export function partitionHash(canonicalKey: Uint8Array): number {
  return xxh32(canonicalKey, PARTITION_SEED);
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
  throw new AaeError('HASH_METHOD_UNKNOWN', `unknown hash method ${quote(s)} (expected clock or value)`);
}
