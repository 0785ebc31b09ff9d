import type { PutItem } from '../coordinator/index.js';

/**
 * The cluster and objects the fold benches run over (`aae bench fold`, `aae bench plugins`), so a
 * plugin's rate and the built-in's are measured on the same shape as the fold targets name.
 */

/** N at scale 1, as the issues' targets name it. */
export const FOLD_OBJECTS = 1_000_000;
/** A modest ring: 16 vnodes × 3 IndexN trees, each a large tree of up to 4 MiB, ≈ 192 MiB of cached trees at 1M keys. */
export const FOLD_RING_SIZE = 16;
export const FOLD_N_VAL = 3;
export const FOLD_NODES = 3;
/** Objects per putMany batch while loading: the store's own batching amortises LevelDB batches. */
export const FOLD_LOAD_BATCH = 10_000;
/** Value bytes: small values, as the targets are about head folds, not value reads. */
const VALUE = new Uint8Array(100);

/** n objects over four buckets, one clock each, lastModified one ms apart. */
export function* foldObjects(n: number): Generator<PutItem> {
  for (let i = 0; i < n; i++) {
    yield { bucket: `b${i % 4}`, key: `key-${i}`, value: VALUE, clock: { entries: [['bench', 1]], lastModified: 1_700_000_000_000 + i } };
  }
}
