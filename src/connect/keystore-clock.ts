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
  return makeClock([[`#${(hash >>> 0).toString(16).padStart(8, '0')}`, 1]], lastModified);
}
