import xxhash from 'xxhash-wasm';
import { AaeError } from '../errors.js';

/**
 * xxhash-wasm is instantiated once (asynchronously); after `initHash()` resolves every hash is a
 * synchronous call. Library entry points that open clusters await `initHash()` themselves, so only
 * code that hashes before opening anything needs to call it.
 */
type Hasher = Awaited<ReturnType<typeof xxhash>>;

let hasher: Hasher | undefined;
let pending: Promise<void> | undefined;

export function initHash(): Promise<void> {
  pending ??= xxhash().then((h) => {
    hasher = h;
  });
  return pending;
}

export function hashReady(): boolean {
  return hasher !== undefined;
}

export function getHasher(): Hasher {
  if (hasher === undefined) {
    throw new AaeError('HASH_NOT_READY', 'hashing used before initHash() resolved');
  }
  return hasher;
}
