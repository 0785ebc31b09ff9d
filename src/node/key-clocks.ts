/**
 * Key-clock lists, packed: how a list of KeyClocks (an exchange's clock round, a repl_keys_range
 * batch) crosses a socket. docs/PROTOCOL.md ("Key-clock lists") has the grammar; fixtures/net holds
 * frozen examples.
 *
 * A list of n keys names few actors and few buckets (a cluster's own actor, a handful of buckets),
 * and its lastModified times sit close together. So the list starts with an actor dictionary and a
 * bucket dictionary, and each entry names them by index; counters and sizes are LEB128 varints; a
 * time is the zigzag varint of its distance from the previous entry's. For the exchange bench's
 * keys (`b0/key-123456`, one actor, one time) an entry costs 21 bytes where the unpacked model
 * (sizes.ts before this codec) counted 33.
 *
 *   list    := 0x01 varint(actors) str* varint(buckets) str* varint(n) varint(firstTime) entry*
 *   str     := varint(len) utf8
 *   entry   := varint(bucket) varint(len) key varint(clockEntries) (varint(actor) varint(counter))*
 *              flags:u8 time hash:u32le
 *   flags   := bit 0 deleted, bit 1 absolute time; every other bit 0
 *   time    := zigzag(time − previous time), or varint(time) when flags bit 1 is set (a jump too
 *              far for a zigzag varint to hold exactly: more than 2^52 ms either way)
 *
 * Decoding validates every length against the bytes left, every index against its dictionary, every
 * counter and time against the clock rules (a safe integer, sorted distinct actors, no zero
 * counter) and refuses trailing bytes: a list either decodes into KeyClocks the contract allows or
 * throws NODE_REPLY_INVALID (`what` names the payload).
 */
import { compareActors, isValidTime, type Clock } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { decodeUtf8, utf8, varintLength, writeVarint } from '../hash/index.js';
import type { KeyClock } from './contract.js';

const FORMAT = 1;

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function unzigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

/** Deltas this far or nearer are written as zigzag varints (exact below 2^53); farther ones as the time itself. */
const MAX_DELTA = 2 ** 52 - 1;

function timeBytes(time: number, previous: number): number {
  const delta = time - previous;
  return Math.abs(delta) <= MAX_DELTA ? varintLength(zigzag(delta)) : varintLength(time);
}

/** Packs a key-clock list (see the file comment). */
export function encodeKeyClocks(list: readonly KeyClock[]): Uint8Array {
  const actors = new Map<string, number>();
  const buckets = new Map<string, number>();
  const actorBytes: Uint8Array[] = [];
  const bucketBytes: Uint8Array[] = [];
  const index = (map: Map<string, number>, bytes: Uint8Array[], s: string): number => {
    let i = map.get(s);
    if (i === undefined) {
      i = map.size;
      map.set(s, i);
      bytes.push(utf8(s));
    }
    return i;
  };
  // Sizes first, so one buffer is written once.
  let size = 1;
  let prev = list.length === 0 ? 0 : list[0]!.clock.lastModified;
  const firstTime = prev;
  for (const kc of list) {
    size += varintLength(index(buckets, bucketBytes, kc.bucket)) + varintLength(kc.key.length) + kc.key.length + varintLength(kc.clock.entries.length);
    for (const [actor, counter] of kc.clock.entries) size += varintLength(index(actors, actorBytes, actor)) + varintLength(counter);
    size += 1 + timeBytes(kc.clock.lastModified, prev) + 4;
    prev = kc.clock.lastModified;
  }
  for (const b of actorBytes) size += varintLength(b.length) + b.length;
  for (const b of bucketBytes) size += varintLength(b.length) + b.length;
  size += varintLength(actorBytes.length) + varintLength(bucketBytes.length) + varintLength(list.length) + varintLength(firstTime);

  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  out[pos++] = FORMAT;
  const writeStrings = (all: Uint8Array[]): void => {
    pos = writeVarint(out, pos, all.length);
    for (const b of all) {
      pos = writeVarint(out, pos, b.length);
      out.set(b, pos);
      pos += b.length;
    }
  };
  writeStrings(actorBytes);
  writeStrings(bucketBytes);
  pos = writeVarint(out, pos, list.length);
  pos = writeVarint(out, pos, firstTime);
  prev = firstTime;
  for (const kc of list) {
    pos = writeVarint(out, pos, buckets.get(kc.bucket)!);
    pos = writeVarint(out, pos, kc.key.length);
    out.set(kc.key, pos);
    pos += kc.key.length;
    pos = writeVarint(out, pos, kc.clock.entries.length);
    for (const [actor, counter] of kc.clock.entries) {
      pos = writeVarint(out, pos, actors.get(actor)!);
      pos = writeVarint(out, pos, counter);
    }
    const delta = kc.clock.lastModified - prev;
    const absolute = Math.abs(delta) > MAX_DELTA;
    out[pos++] = (kc.deleted ? 1 : 0) | (absolute ? 2 : 0);
    pos = writeVarint(out, pos, absolute ? kc.clock.lastModified : zigzag(delta));
    prev = kc.clock.lastModified;
    view.setUint32(pos, kc.hash >>> 0, true);
    pos += 4;
  }
  if (pos !== size) throw new AaeError('INTERNAL', `key-clock list: wrote ${pos} bytes of ${size}`);
  return out;
}

/** The bytes encodeKeyClocks writes for one entry beside others naming the same actors and buckets (sizes.ts's model). */
export function packedEntryBytes(kc: KeyClock, previousTime: number): number {
  let n = 1 + varintLength(kc.key.length) + kc.key.length + varintLength(kc.clock.entries.length);
  for (const [, counter] of kc.clock.entries) n += 1 + varintLength(counter);
  return n + 1 + timeBytes(kc.clock.lastModified, previousTime) + 4;
}

class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  fail(message: string): never {
    throw new AaeError('NODE_REPLY_INVALID', `${this.what}: ${message} (at byte ${this.pos})`, { details: { at: this.pos } });
  }

  u8(): number {
    if (this.pos >= this.bytes.length) this.fail('ends early');
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 varint, at most 2^53 − 1. */
  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const b = this.u8();
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      scale *= 0x80;
      if (i >= 7) this.fail('a varint longer than 8 bytes');
    }
    if (!Number.isSafeInteger(n)) this.fail('a varint past 2^53 − 1');
    return n;
  }

  take(n: number): Uint8Array {
    if (n > this.bytes.length - this.pos) this.fail(`a length of ${n} past the end`);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    const b = this.take(this.varint());
    try {
      // Strict, and a leading U+FEFF is text: every name reads back exactly as written.
      return decodeUtf8(b);
    } catch {
      return this.fail('a string that is not UTF-8');
    }
  }

  u32(): number {
    const b = this.take(4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
}

/** Unpacks a key-clock list, validating all of it (see the file comment). */
export function decodeKeyClocks(bytes: Uint8Array, what = 'key-clock list'): KeyClock[] {
  const r = new Reader(bytes, what);
  const format = r.u8();
  if (format !== FORMAT) r.fail(`format ${format}, expected ${FORMAT}`);
  const strings = (kind: string): string[] => {
    const n = r.varint();
    if (n > bytes.length) r.fail(`${n} ${kind} in ${bytes.length} bytes`);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(r.string());
    return out;
  };
  const actors = strings('actors');
  for (const a of actors) if (a.length === 0) r.fail('an empty actor');
  const buckets = strings('buckets');
  for (const b of buckets) if (b.length === 0 || b.includes('\0')) r.fail('an empty bucket or one holding NUL');
  const n = r.varint();
  // Every entry takes at least 8 bytes: a count past that is a lie, refused before any allocation.
  if (n * 8 > bytes.length) r.fail(`${n} entries in ${bytes.length} bytes`);
  let time = r.varint();
  const out: KeyClock[] = [];
  for (let i = 0; i < n; i++) {
    const b = r.varint();
    if (b >= buckets.length) r.fail(`bucket ${b} of ${buckets.length}`);
    const key = r.take(r.varint());
    const entries = r.varint();
    if (entries > actors.length) r.fail(`${entries} clock entries with ${actors.length} actors`);
    const clockEntries: Array<readonly [string, number]> = [];
    for (let j = 0; j < entries; j++) {
      const a = r.varint();
      if (a >= actors.length) r.fail(`actor ${a} of ${actors.length}`);
      const counter = r.varint();
      if (counter === 0) r.fail('a zero counter');
      const actor = actors[a]!;
      if (j > 0 && compareActors(clockEntries[j - 1]![0], actor) >= 0) r.fail('clock actors out of order or repeated');
      clockEntries.push([actor, counter]);
    }
    const flags = r.u8();
    if ((flags & ~3) !== 0) r.fail(`flags ${flags}`);
    time = (flags & 2) !== 0 ? r.varint() : time + unzigzag(r.varint());
    if (!isValidTime(time)) r.fail(`lastModified ${time} out of range`);
    const hash = r.u32();
    const clock: Clock = { entries: clockEntries, lastModified: time };
    out.push({ bucket: buckets[b]!, key, clock, deleted: (flags & 1) === 1, hash });
  }
  if (r.pos !== bytes.length) r.fail(`${bytes.length - r.pos} trailing bytes`);
  return out;
}
