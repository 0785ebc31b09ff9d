import { HEAD_FORMAT, type HeadValue } from './codec.js';

/**
 * The encoder of a head's value (codec.ts has the format and its decoder; docs/STORE.md the bytes).
 */

/**
 * Encodes a head as the smallest msgpack of each value, exactly the bytes a plain msgpack encoder
 * (msgpackr without records, the test's reference) writes, straight into one reused buffer: a
 * general encoder cost more per write than hashing the key. Strings are well-formed (actors and
 * index entries are validated), so their UTF-8 is unambiguous.
 */
export function encodeHead(h: HeadValue): Uint8Array {
  return encodeHeadView(h).slice();
}

/** encodeHead's bytes as a view of the encoder's own buffer: valid until the next encode (copy them first). */
export function encodeHeadView(h: HeadValue): Uint8Array {
  const w = writer;
  w.pos = 0;
  const entries = h.clock.entries;
  const indexes = h.indexes;
  w.byte(0x98); // fixarray of 8
  w.uint(HEAD_FORMAT);
  w.uint(h.hash);
  w.uint(h.alt);
  w.byte(h.deleted ? 0xc3 : 0xc2);
  w.uint(h.size);
  w.uint(h.clock.lastModified);
  w.arrayHeader(2 * entries.length);
  for (const [actor, counter] of entries) {
    w.str(actor);
    w.uint(counter);
  }
  w.arrayHeader(2 * indexes.length);
  for (const [name, term] of indexes) {
    w.str(name);
    w.str(term);
  }
  return w.buf.subarray(0, w.pos);
}

const textEncoder = new TextEncoder();

/** The growable scratch buffer encodeHead writes into (one per process; encoding never awaits). */
class Writer {
  buf = new Uint8Array(256);
  pos = 0;
  private view = new DataView(this.buf.buffer);

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(2 * this.buf.length, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** A non-negative safe integer: fixint, uint8/16/32, or float64 above 2^32 (as msgpackr writes it). */
  uint(n: number): void {
    this.room(9);
    const b = this.buf;
    if (n < 0x80) {
      b[this.pos++] = n;
    } else if (n < 0x100) {
      b[this.pos++] = 0xcc;
      b[this.pos++] = n;
    } else if (n < 0x1_0000) {
      b[this.pos++] = 0xcd;
      b[this.pos++] = n >>> 8;
      b[this.pos++] = n & 0xff;
    } else if (n <= 0xffff_ffff) {
      b[this.pos++] = 0xce;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    } else {
      b[this.pos++] = 0xcb;
      this.view.setFloat64(this.pos, n);
      this.pos += 8;
    }
  }

  arrayHeader(n: number): void {
    this.room(5);
    if (n < 0x10) {
      this.buf[this.pos++] = 0x90 | n;
    } else if (n < 0x1_0000) {
      this.buf[this.pos++] = 0xdc;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = 0xdd;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  /** The last string written and its bytes (header included): a keystore writes one actor on every head. */
  private lastStr: string | null = null;
  private lastBytes = new Uint8Array(64);
  private lastLength = 0;

  /** A str with the smallest header for its UTF-8 length, or the last one's bytes again. */
  str(s: string): void {
    if (s === this.lastStr) {
      const n = this.lastLength;
      this.room(n);
      const b = this.buf;
      const from = this.lastBytes;
      for (let i = 0; i < n; i++) b[this.pos + i] = from[i]!;
      this.pos += n;
      return;
    }
    const at = this.pos;
    this.encodeStr(s);
    const n = this.pos - at;
    if (n > this.lastBytes.length) this.lastBytes = new Uint8Array(Math.max(n, 2 * this.lastBytes.length));
    this.lastBytes.set(this.buf.subarray(at, this.pos));
    this.lastLength = n;
    this.lastStr = s;
  }

  /** Encodes a str: the smallest header for its UTF-8 length; ASCII is copied by a loop. */
  private encodeStr(s: string): void {
    const n = s.length;
    this.room(5 + 3 * n);
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    const len = ascii ? n : textEncoder.encodeInto(s, this.buf.subarray(this.pos + 5)).written;
    const header = len < 0x20 ? 1 : len < 0x100 ? 2 : len < 0x1_0000 ? 3 : 5;
    const b = this.buf;
    const at = this.pos + header;
    if (ascii) {
      for (let i = 0; i < n; i++) b[at + i] = s.charCodeAt(i);
    } else if (header !== 5) {
      b.copyWithin(at, this.pos + 5, this.pos + 5 + len);
    }
    if (header === 1) b[this.pos] = 0xa0 | len;
    else if (header === 2) {
      b[this.pos] = 0xd9;
      b[this.pos + 1] = len;
    } else if (header === 3) {
      b[this.pos] = 0xda;
      this.view.setUint16(this.pos + 1, len);
    } else {
      b[this.pos] = 0xdb;
      this.view.setUint32(this.pos + 1, len);
    }
    this.pos = at + len;
  }
}

const writer = new Writer();
