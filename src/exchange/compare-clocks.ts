/**
 * Clock compare: the last stage. Each side sent the keys (with their clocks and object hashes) of
 * the dirty segments; a key is a delta when one side lacks it or the two versions' object hashes
 * differ. That is exactly what the trees compare (a key contributes `fmix32(alt XOR objectHash)`),
 * so a key the clock stage names is one the trees disagree on and the other way round: whether a
 * key is reported never depends on which other keys share its segment. Under hash method `value`
 * the hash is the value's, so two values under equal clocks are a delta, and equal values under
 * different clocks are not. Deciding who is ahead is repair's job (src/repair); this only finds
 * the keys.
 */
import { dominates, type Clock } from '../cluster/clock.js';
import { compareBytes } from '../hash/index.js';
import type { KeyClock } from './source.js';

export interface KeyDelta {
  readonly bucket: string;
  readonly key: Uint8Array;
  /** null: blue does not hold the key at all (a tombstone is not null: it has a clock). */
  readonly blue: Clock | null;
  readonly pink: Clock | null;
  /** Present when that side holds the key. */
  readonly blueDeleted?: boolean;
  readonly pinkDeleted?: boolean;
  /** The object hashes, present when that side holds the key. */
  readonly blueHash?: number;
  readonly pinkHash?: number;
}

/**
 * Keys whose versions differ, sorted by bucket then key bytes. Within one side a key should come
 * once (a side's sources hold disjoint keys); if it comes twice, a version that dominates the other
 * wins, otherwise the first one seen.
 */
export function compareClocks(blue: readonly KeyClock[], pink: readonly KeyClock[]): KeyDelta[] {
  const blueByKey = indexSide(blue);
  const pinkByKey = indexSide(pink);
  const out: KeyDelta[] = [];
  for (const [id, b] of blueByKey) {
    const p = pinkByKey.get(id);
    if (p === undefined) {
      out.push({ bucket: b.bucket, key: b.key, blue: b.clock, pink: null, blueDeleted: b.deleted, blueHash: b.hash });
    } else if (b.hash !== p.hash) {
      out.push({ bucket: b.bucket, key: b.key, blue: b.clock, pink: p.clock, blueDeleted: b.deleted, pinkDeleted: p.deleted, blueHash: b.hash, pinkHash: p.hash });
    }
  }
  for (const [id, p] of pinkByKey) {
    if (!blueByKey.has(id)) out.push({ bucket: p.bucket, key: p.key, blue: null, pink: p.clock, pinkDeleted: p.deleted, pinkHash: p.hash });
  }
  return out.sort(byKey);
}

/** A map key for (bucket, key): buckets hold no NUL, so `bucket NUL latin1(key)` is unique. */
function identity(kc: KeyClock): string {
  return `${kc.bucket}\u0000${Buffer.from(kc.key.buffer, kc.key.byteOffset, kc.key.byteLength).toString('latin1')}`;
}

function indexSide(side: readonly KeyClock[]): Map<string, KeyClock> {
  const out = new Map<string, KeyClock>();
  for (const kc of side) {
    const id = identity(kc);
    const seen = out.get(id);
    if (seen === undefined || dominates(kc.clock, seen.clock)) out.set(id, kc);
  }
  return out;
}

function byKey(a: KeyDelta, b: KeyDelta): number {
  if (a.bucket !== b.bucket) return a.bucket < b.bucket ? -1 : 1;
  return compareBytes(a.key, b.key);
}
