import { AaeError } from '../../errors.js';

/**
 * PostgreSQL's COPY text format, read as bytes: rows end with \n, fields are separated by \t, `\N`
 * is NULL, and a backslash escapes the control characters COPY TO writes that way (\b \f \n \r
 * \t \v) and itself. Fields come back as byte ranges of the chunks COPY sent (copied only when
 * a row spans two chunks or a field holds an escape): the keystore hashes a row's bytes without
 * ever decoding them into strings. COPY TO never writes octal or hex escapes (PostgreSQL's docs);
 * they are decoded anyway, as COPY FROM would.
 */

const TAB = 0x09;
const NL = 0x0a;
const BACKSLASH = 0x5c;

export type CopyField = Uint8Array | null;

export class CopyTextParser {
  private rest: Uint8Array | null = null;

  constructor(private readonly columns: number) {}

  /** The complete rows in `chunk` (and any row begun in an earlier one). */
  push(chunk: Uint8Array): CopyField[][] {
    let buf = chunk;
    if (this.rest !== null) {
      buf = Buffer.allocUnsafe(this.rest.length + chunk.length);
      buf.set(this.rest, 0);
      buf.set(chunk, this.rest.length);
      this.rest = null;
    }
    const rows: CopyField[][] = [];
    this.slash = buf.indexOf(BACKSLASH);
    let start = 0;
    for (;;) {
      const end = buf.indexOf(NL, start);
      if (end < 0) break;
      rows.push(this.row(buf, start, end));
      start = end + 1;
    }
    if (start < buf.length) this.rest = buf.slice(start);
    return rows;
  }

  /** Ends the stream: a partial row left over is an error. */
  end(): void {
    if (this.rest !== null && this.rest.length > 0) throw new AaeError('SOURCE_UNAVAILABLE', 'COPY ended inside a row');
  }

  /**
   * The next backslash of the buffer at or after the field being read (−1: none left): found once
   * and carried forward, so a field without one costs no search (a search from each field to the
   * end of a 64 KiB chunk made reading quadratic).
   */
  private slash = -1;

  private row(buf: Uint8Array, start: number, end: number): CopyField[] {
    const out: CopyField[] = new Array<CopyField>(this.columns);
    let f = 0;
    let p = start;
    for (;;) {
      let q = buf.indexOf(TAB, p);
      if (q < 0 || q > end) q = end;
      if (f >= this.columns) throw new AaeError('SOURCE_UNAVAILABLE', `COPY sent a row of more than ${this.columns} fields`);
      if (this.slash >= 0 && this.slash < p) this.slash = buf.indexOf(BACKSLASH, p);
      out[f++] = this.slash >= 0 && this.slash < q ? unescapeField(buf, p, q) : plainField(buf, p, q);
      if (q === end) break;
      p = q + 1;
    }
    if (f !== this.columns) throw new AaeError('SOURCE_UNAVAILABLE', `COPY sent a row of ${f} fields, expected ${this.columns}`);
    return out;
  }
}

function plainField(buf: Uint8Array, start: number, end: number): CopyField {
  return buf.subarray(start, end);
}

function unescapeField(buf: Uint8Array, start: number, end: number): CopyField {
  if (end - start === 2 && buf[start] === BACKSLASH && buf[start + 1] === 0x4e /* N */) return null;
  return unescape(buf, start, end);
}

const SIMPLE: Record<number, number> = { 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x76: 0x0b };

function unescape(buf: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b !== BACKSLASH || i + 1 >= end) {
      out[n++] = b;
      continue;
    }
    const c = buf[++i]!;
    const simple = SIMPLE[c];
    if (simple !== undefined) out[n++] = simple;
    else if (c >= 0x30 && c <= 0x37) {
      // \ooo: one to three octal digits
      let v = c - 0x30;
      for (let k = 0; k < 2 && i + 1 < end && buf[i + 1]! >= 0x30 && buf[i + 1]! <= 0x37; k++) v = v * 8 + (buf[++i]! - 0x30);
      out[n++] = v & 0xff;
    } else if (c === 0x78 /* x */ && i + 1 < end && isHex(buf[i + 1]!)) {
      let v = hexVal(buf[++i]!);
      if (i + 1 < end && isHex(buf[i + 1]!)) v = v * 16 + hexVal(buf[++i]!);
      out[n++] = v;
    } else out[n++] = c; // \\ and any other escaped character stand for themselves
  }
  return out.subarray(0, n);
}

function isHex(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
}

function hexVal(b: number): number {
  return b <= 0x39 ? b - 0x30 : (b | 0x20) - 0x61 + 10;
}
