import { makeClock, type Clock } from '../cluster/index.js';

/**
 * The clock a keystore stores for a key: a pure function of the row's hash, with lastModified.
 *
 * Why not the source's position (a clock `[[source, LSN]]`)? An exchange's last stage compares
 * the clocks of the keys in dirty segments (src/exchange/compare-clocks.ts). Two keystores of two
 * databases holding the same row would then show different clocks, and every key that happens to
 * share a dirty segment with a real difference would be reported as one. A clock made from the
 * hash is equal exactly when the rows are, so a compare reports exactly the keys whose rows differ;
 * such versions are concurrent (external data has no causality), and repair decides by policy.
 * The source position is kept per keystore (the checkpoint: everything up to it is applied).
 *
 * The one entry is `#` + the hash as 8 lowercase hex digits, counter 1.
 */
export function keystoreClock(hash: number, lastModified: number): Clock {
  return makeClock([[keystoreActor(hash), 1]], lastModified);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `#` + the hash as 8 lowercase hex digits (a table lookup a byte: this runs once per row). */
export function keystoreActor(hash: number): string {
  return `#${HEX[hash >>> 24]!}${HEX[(hash >>> 16) & 0xff]!}${HEX[(hash >>> 8) & 0xff]!}${HEX[hash & 0xff]!}`;
}

/**
 * keystoreClock for a lastModified the caller has checked (an integer in range): the clock is in
 * normal form by construction (one entry, counter 1), so it skips makeClock's checks.
 */
export function keystoreClockUnchecked(hash: number, lastModified: number): Clock {
  return { entries: [[keystoreActor(hash), 1]], lastModified };
}
