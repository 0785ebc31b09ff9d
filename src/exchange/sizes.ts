/**
 * What an exchange moves, in bytes, counted by the encoded size of each payload (responses only;
 * requests are lists of ids, small beside the answers):
 * - a tree word (a root word, a group word, a leaf) is 4 bytes: a large root is 16 KiB;
 * - a branch is 256 leaves, 1 KiB;
 * - a key clock is `varint(len bucket) ‖ bucket ‖ varint(len key) ‖ key ‖ canonicalClock ‖
 *   varint(lastModified) ‖ deleted (1 byte) ‖ objectHash (4 bytes)` — the bytes a wire encoding of it needs.
 */
import { canonicalClock, utf8, varintLength } from '../hash/index.js';
import { HASH_BYTES, LEAVES_PER_BRANCH } from '../tictac/index.js';
import type { KeyClock } from './source.js';

export const WORD_BYTES = HASH_BYTES;
export const BRANCH_BYTES = LEAVES_PER_BRANCH * HASH_BYTES;

export function keyClockBytes(kc: KeyClock): number {
  const bucket = utf8(kc.bucket).length;
  const clock = canonicalClock(kc.clock.entries).length;
  return (
    varintLength(bucket) + bucket + varintLength(kc.key.length) + kc.key.length + clock + varintLength(kc.clock.lastModified) + 1 + HASH_BYTES
  );
}
