import { AaeError } from '../errors.js';
import { copyInto } from './copy.js';
import { XXHASH_WASM_BASE64 } from './xxhash-wasm-bytes.js';

/**
 * xxh64 and xxh32 through our own small WebAssembly module (src/hash/xxhash.wat), whose memory
 * doubles as the scratch buffer the hot paths encode into.
 *
 * Why not xxhash-wasm alone: its h64Raw hands the 64-bit hash back as a BigInt, and splitting that
 * into two uint32 numbers cost ~110 ns of the ~200 ns a small key took, besides the copy into its
 * memory. Our module returns the low word and leaves all 64 bits at address 0, so no BigInt is made;
 * and callers write canonical bytes straight into the module's memory (`scratch`) and hash them in
 * place, so a key is copied once, not built in a fresh array and then copied again. xxhash-wasm stays
 * the reference the tests compare this module with.
 *
 * The module is instantiated once (asynchronously); after `initHash()` resolves every hash is a
 * synchronous call. Library entry points that open clusters await `initHash()` themselves, so only
 * code that hashes before opening anything needs to call it.
 *
 * Scratch is single-threaded and short-lived: a caller writes at `SCRATCH`, hashes, and is done
 * before anything else can touch it. Nothing that outlives one call may point into it. The memory
 * grows (and stays grown) to fit the largest input hashed, e.g. a large value under hash method
 * `value`; views are refreshed after a grow, so always fetch them through `scratch()`.
 */

// The global WebAssembly of Node 20, as far as we use it (its types are in lib.dom, which we do not load).
declare const WebAssembly: {
  instantiate(bytes: Uint8Array): Promise<{ instance: { exports: unknown } }>;
};

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface XxhashExports {
  memory: WasmMemory;
  xxh64(ptr: number, len: number, seed: number): number;
  xxh32(ptr: number, len: number, seed: number): number;
}

/** Where scratch input starts; bytes 0..7 hold the last xxh64 result (see xxhash.wat). */
export const SCRATCH = 64;
const PAGE = 65_536;

let wasm: XxhashExports | undefined;
let pending: Promise<void> | undefined;
// Views of wasm.memory; replaced whenever it grows (a grow detaches the old buffer).
let bytes = new Uint8Array(0);
let words = new Uint32Array(0);

export function initHash(): Promise<void> {
  pending ??= WebAssembly.instantiate(Buffer.from(XXHASH_WASM_BASE64, 'base64')).then(({ instance }) => {
    wasm = instance.exports as XxhashExports;
    refreshViews();
  });
  return pending;
}

export function hashReady(): boolean {
  return wasm !== undefined;
}

function ready(): XxhashExports {
  if (wasm === undefined) {
    throw new AaeError('HASH_NOT_READY', 'hashing used before initHash() resolved');
  }
  return wasm;
}

function refreshViews(): void {
  const buffer = ready().memory.buffer;
  bytes = new Uint8Array(buffer);
  words = new Uint32Array(buffer);
}

/**
 * The module's memory as bytes, with room for `n` bytes from `SCRATCH` on. Write the input at
 * `SCRATCH` and hash it with `xxh64Scratch`/`xxh32Scratch` before calling anything else here.
 */
export function scratch(n: number): Uint8Array {
  if (SCRATCH + n > bytes.length) {
    const memory = ready().memory;
    const need = Math.ceil((SCRATCH + n) / PAGE) - memory.buffer.byteLength / PAGE;
    if (need > 0) memory.grow(need);
    refreshViews();
  }
  return bytes;
}

/** xxh64 of `len` scratch bytes: returns the low 32 bits; `xxh64High()` gives the high 32. */
export function xxh64Scratch(len: number, seed: number): number {
  return ready().xxh64(SCRATCH, len, seed) >>> 0;
}

/** The high 32 bits of the last xxh64 (stored by the module at address 4). */
export function xxh64High(): number {
  return words[1]!;
}

export function xxh32Scratch(len: number, seed: number): number {
  return ready().xxh32(SCRATCH, len, seed) >>> 0;
}

/** Copies `input` into scratch at `SCRATCH`. */
export function copyToScratch(input: Uint8Array): void {
  copyInto(scratch(input.length), SCRATCH, input);
}

/** xxh64 of any bytes: the low 32 bits; `xxh64High()` gives the high 32. */
export function xxh64(input: Uint8Array, seed: number): number {
  copyToScratch(input);
  return xxh64Scratch(input.length, seed);
}

export function xxh32(input: Uint8Array, seed: number): number {
  copyToScratch(input);
  return xxh32Scratch(input.length, seed);
}
