/**
 * What an exchange moves, in bytes, counted by the encoded size of each payload (responses only;
 * requests are lists of ids as runs, small beside the answers):
 * - a tree word (a root word, a group word, a leaf) is 4 bytes: a large root is 16 KiB;
 * - a branch is 256 leaves, 1 KiB;
 * - a sketch (the fine walk's first look at the top) is 8 bytes a source;
 * - a key clock is one entry of a packed key-clock list (src/node/key-clocks.ts, docs/PROTOCOL.md):
 *   `bucket index ‖ varint(len key) ‖ key ‖ varint(entries) ‖ (actor index ‖ varint(counter))* ‖
 *   time delta ‖ flags ‖ hash (4 bytes)`. Bucket and actor indexes are counted as one byte (a list
 *   names fewer than 128 of each), the time as a one-byte delta (keys of a list are mostly written
 *   within ±63 ms of the one before; `aae bench net` reports the model beside the bytes on the
 *   wire). A list's dictionaries and header are not counted.
 */
import { varintLength } from '../hash/index.js';
import { HASH_BYTES, LEAVES_PER_BRANCH } from '../tictac/index.js';
import type { KeyClock } from './source.js';

export const WORD_BYTES = HASH_BYTES;
export const BRANCH_BYTES = LEAVES_PER_BRANCH * HASH_BYTES;
export const SKETCH_BYTES = 2 * HASH_BYTES;

export function keyClockBytes(kc: KeyClock): number {
  let n = 1 + varintLength(kc.key.length) + kc.key.length + varintLength(kc.clock.entries.length);
  for (const [, counter] of kc.clock.entries) n += 1 + varintLength(counter);
  return n + 1 + 1 + HASH_BYTES;
}
