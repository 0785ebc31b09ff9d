import { crc32 } from '../tictac/crc32.js';

/**
 * A key filter: which keys a keyspace of a vnode may hold. "No" is certain; "maybe" is a read.
 *
 * Every write must know the head it replaces (its old tree contribution goes out, and a clockless
 * write merges the old clock). For a key the vnode has never held that read finds nothing, yet in
 * LevelDB a miss costs as much as a hit (every level-0 table and one table per deeper level is
 * probed), about as much as writing the head and value themselves. A bulk load is almost all such
 * keys. So each keyspace keeps this filter of the keys written into it, and a write (or a
 * clockless write's clock read) skips the read when the filter says no.
 *
 * It is a Bloom filter over the key hash the store already has: `segment32` and `alt` are the two
 * halves of xxh64(canonical key), so probe i is bit `(segment32 + i·alt) mod m` (double hashing),
 * and no extra hashing is done. Keys are never removed (an erased key stays "maybe": one needless
 * read). A keyspace's key count is unknown in advance, so the filter is scalable: a chain of
 * layers, each twice the capacity of the last; a key is added to the newest layer, and a query
 * asks every layer. A layer asks for 10 bits a key, and its table is rounded up to a power of two,
 * which makes 16 bits a key in practice: with 7 probes a full layer answers "maybe" for ~0.07% of
 * absent keys, and a chain answers with the sum over its layers (measured: 6 layers, 2 MiB and
 * 0.4% at 1M keys in one keyspace).
 *
 * Soundness is the store's job: a filter is trusted only while it has seen every write of its
 * keyspace. It lives and dies with the keyspace's cached tree (saved on clean close, read and
 * deleted with it before the first write, rebuilt from the heads with the tree); a keyspace without
 * one reads every key.
 */

/** Keys the first layer holds: 16k keys cost 32 KiB (rounded up to a power of two), small next to a tree's 16 KiB root plus branches. */
const FIRST_CAPACITY = 16_384;
/** Bits per key asked for at a layer's capacity (before rounding the table up to a power of two). */
const BITS_PER_KEY = 10;
/** Probes per key: the optimum for 10 bits per key (ln 2 · 10 ≈ 7). */
const PROBES = 7;
/**
 * Layers at most: 16k · (2^12 − 1) ≈ 67M keys in one keyspace, the last layer 64 MiB. Past that
 * the last layer just fills (more false positives: more reads, never a wrong answer), and bit
 * indexes stay within a 32-bit mask.
 */
const MAX_LAYERS = 12;

class Layer {
  count = 0;
  readonly mask: number;

  constructor(
    readonly capacity: number,
    readonly words: Uint32Array,
  ) {
    this.mask = words.length * 32 - 1;
  }

  static ofCapacity(capacity: number): Layer {
    // A power-of-two bit count, so `mod m` is a mask.
    const bits = 2 ** Math.ceil(Math.log2(capacity * BITS_PER_KEY));
    return new Layer(capacity, new Uint32Array(bits / 32));
  }

  has(h1: number, h2: number): boolean {
    const w = this.words;
    const m = this.mask;
    let h = h1;
    for (let i = 0; i < PROBES; i++) {
      const bit = h & m;
      if ((w[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
      h = (h + h2) | 0;
    }
    return true;
  }

  set(h1: number, h2: number): void {
    const w = this.words;
    const m = this.mask;
    let h = h1;
    for (let i = 0; i < PROBES; i++) {
      const bit = h & m;
      w[bit >>> 5]! |= 1 << (bit & 31);
      h = (h + h2) | 0;
    }
    this.count++;
  }
}

export class KeyFilter {
  private constructor(private readonly layers: Layer[]) {}

  /** An empty filter: every key is certainly absent. */
  static create(): KeyFilter {
    return new KeyFilter([Layer.ofCapacity(FIRST_CAPACITY)]);
  }

  /** Keys added (a key added twice counts twice; addIfAbsent avoids that). */
  get count(): number {
    let n = 0;
    for (const l of this.layers) n += l.count;
    return n;
  }

  /** Bytes of bit arrays held. */
  get byteLength(): number {
    let n = 0;
    for (const l of this.layers) n += l.words.byteLength;
    return n;
  }

  /** false: the key was certainly never added. true: it may have been. */
  mayContain(segment32: number, alt: number): boolean {
    const h2 = alt | 1; // odd: the probes of a power-of-two table never cycle early
    for (let i = this.layers.length - 1; i >= 0; i--) if (this.layers[i]!.has(segment32 | 0, h2)) return true;
    return false;
  }

  /**
   * A filter that may contain every key either may (its layers are both chains': a query asks them
   * all). How a rebuilt keyspace's filter (every key its heads hold) joins the live one (every key
   * written since, the rebuild's own time included).
   */
  static union(a: KeyFilter, b: KeyFilter): KeyFilter {
    return new KeyFilter([...b.layers, ...a.layers]);
  }

  /** Adds the key. */
  add(segment32: number, alt: number): void {
    let last = this.layers[this.layers.length - 1]!;
    if (last.count >= last.capacity && this.layers.length < MAX_LAYERS) {
      last = Layer.ofCapacity(last.capacity * 2);
      this.layers.push(last);
    }
    last.set(segment32 | 0, alt | 1);
  }

  /** Adds the key unless it may be there already; returns whether it was certainly absent. */
  addIfAbsent(segment32: number, alt: number): boolean {
    if (this.mayContain(segment32, alt)) return false;
    this.add(segment32, alt);
    return true;
  }

  /**
   * The saved form: `"AAEK" ‖ version ‖ crc32 of the rest (u32) ‖ layer count (u8) ‖ per layer:
   * capacity u32, count u32, bit count u32, the bit words (u32 little-endian)`.
   */
  export(): Uint8Array {
    let size = HEADER + 1;
    for (const l of this.layers) size += 12 + l.words.byteLength;
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    out.set(MAGIC, 0);
    out[4] = FILTER_RECORD_VERSION;
    out[HEADER] = this.layers.length;
    let pos = HEADER + 1;
    for (const l of this.layers) {
      view.setUint32(pos, l.capacity);
      view.setUint32(pos + 4, l.count);
      view.setUint32(pos + 8, l.words.length * 32);
      pos += 12;
      for (let i = 0; i < l.words.length; i++, pos += 4) view.setUint32(pos, l.words[i]!, true);
    }
    view.setUint32(5, crc32(out, HEADER));
    return out;
  }

  /** The filter of a saved record, or why it cannot be used (the keyspace then reads every key). */
  static import(bytes: Uint8Array): { ok: true; filter: KeyFilter } | { ok: false; reason: string } {
    if (bytes.length < HEADER + 1) return { ok: false, reason: 'truncated key filter' };
    for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return { ok: false, reason: 'bad key filter magic' };
    if (bytes[4] !== FILTER_RECORD_VERSION) return { ok: false, reason: `unknown key filter version ${bytes[4]}` };
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (crc32(bytes, HEADER) !== view.getUint32(5)) return { ok: false, reason: 'key filter checksum mismatch' };
    const n = bytes[HEADER]!;
    if (n < 1 || n > MAX_LAYERS) return { ok: false, reason: `key filter of ${n} layers` };
    const layers: Layer[] = [];
    let pos = HEADER + 1;
    for (let j = 0; j < n; j++) {
      if (pos + 12 > bytes.length) return { ok: false, reason: 'truncated key filter' };
      const capacity = view.getUint32(pos);
      const count = view.getUint32(pos + 4);
      const bits = view.getUint32(pos + 8);
      pos += 12;
      if (bits < 32 || (bits & (bits - 1)) !== 0 || pos + bits / 8 > bytes.length) return { ok: false, reason: 'malformed key filter layer' };
      const words = new Uint32Array(bits / 32);
      for (let i = 0; i < words.length; i++, pos += 4) words[i] = view.getUint32(pos, true);
      const layer = new Layer(capacity, words);
      layer.count = count;
      layers.push(layer);
    }
    if (pos !== bytes.length) return { ok: false, reason: 'trailing bytes after the key filter' };
    return { ok: true, filter: new KeyFilter(layers) };
  }
}

const MAGIC = Uint8Array.of(0x41, 0x41, 0x45, 0x4b); // "AAEK"
export const FILTER_RECORD_VERSION = 1;
const HEADER = MAGIC.length + 1 + 4;
