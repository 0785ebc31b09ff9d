/**
 * XXH32 over bytes that arrive in pieces: the same value as `xxh32(all the bytes, seed)` (the
 * object hash of hash method `value`), without ever holding all of them. A keystore of Redis hashes
 * a 100 MB string in 256 KiB chunks this way.
 *
 * Plain JS (Math.imul), not the wasm of xxhash.ts: a streamed value is big by definition, so the
 * per-call overhead that the wasm path avoids for small keys does not matter here, and the state
 * (four lanes, at most 15 buffered bytes) lives in the object. A property test checks it against
 * the one-shot hash for every split of random inputs.
 */

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const round = (acc: number, lane: number): number => Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);
const u32le = (b: Uint8Array, p: number): number => b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);

export class Xxh32Stream {
  private v1: number;
  private v2: number;
  private v3: number;
  private v4: number;
  private total = 0;
  private readonly memo = new Uint8Array(16);
  private memoLen = 0;

  constructor(private readonly seed: number) {
    this.v1 = (seed + P1 + P2) | 0;
    this.v2 = (seed + P2) | 0;
    this.v3 = seed | 0;
    this.v4 = (seed - P1) | 0;
  }

  /** Bytes hashed so far. */
  get length(): number {
    return this.total;
  }

  update(input: Uint8Array): this {
    let p = 0;
    const len = input.length;
    this.total += len;
    if (this.memoLen + len < 16) {
      this.memo.set(input, this.memoLen);
      this.memoLen += len;
      return this;
    }
    if (this.memoLen > 0) {
      const take = 16 - this.memoLen;
      this.memo.set(input.subarray(0, take), this.memoLen);
      this.stripe(this.memo, 0);
      p = take;
      this.memoLen = 0;
    }
    for (; p + 16 <= len; p += 16) this.stripe(input, p);
    if (p < len) {
      this.memo.set(input.subarray(p), 0);
      this.memoLen = len - p;
    }
    return this;
  }

  private stripe(b: Uint8Array, p: number): void {
    this.v1 = round(this.v1, u32le(b, p));
    this.v2 = round(this.v2, u32le(b, p + 4));
    this.v3 = round(this.v3, u32le(b, p + 8));
    this.v4 = round(this.v4, u32le(b, p + 12));
  }

  /** The hash of everything given so far (the stream may go on). */
  digest(): number {
    let h: number;
    if (this.total >= 16) h = (rotl(this.v1, 1) + rotl(this.v2, 7) + rotl(this.v3, 12) + rotl(this.v4, 18)) | 0;
    else h = (this.seed + P5) | 0;
    h = (h + this.total) | 0; // XXH32 adds the length mod 2^32
    let p = 0;
    const m = this.memo;
    for (; p + 4 <= this.memoLen; p += 4) h = Math.imul(rotl((h + Math.imul(u32le(m, p), P3)) | 0, 17), P4);
    for (; p < this.memoLen; p++) h = Math.imul(rotl((h + Math.imul(m[p]!, P5)) | 0, 11), P1);
    h ^= h >>> 15;
    h = Math.imul(h, P2);
    h ^= h >>> 13;
    h = Math.imul(h, P3);
    h ^= h >>> 16;
    return h >>> 0;
  }
}
