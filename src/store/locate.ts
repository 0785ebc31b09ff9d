import { keyspaceOfHash, type ClusterSpec } from '../cluster/index.js';
import { canonicalKey, keyPlacement } from '../hash/index.js';
import type { KeyLoc } from '../node/index.js';

/** Where a key lives: computed once per write from (bucket, key) alone (see layout.ts). */
export type LocatedKey = KeyLoc;

/** The ring and hash parameters a store needs (a subset of the cluster spec). */
export type StoreParams = Pick<ClusterSpec, 'ringSize' | 'nVal' | 'treeSize' | 'hashMethod' | 'seed'>;

/** Needs initHash(). The caller has validated bucket and key. */
export function locateKey(bucket: string, key: Uint8Array, params: Pick<StoreParams, 'ringSize' | 'seed'>): LocatedKey {
  const ckey = canonicalKey(bucket, key);
  // Both hashes from one copy of the key into wasm memory.
  const p = keyPlacement(ckey, params.seed);
  return { bucket, key, ckey, keyspace: keyspaceOfHash(p.partition, params.ringSize), segment32: p.segment32, alt: p.alt };
}
