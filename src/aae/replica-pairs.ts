/**
 * Which vnode pairs to exchange so that, inside one cluster, every keyspace's replicas are compared
 * pairwise exactly once.
 *
 * Keyspace k lives on vnodes k, k+1, …, k+nVal−1. Vnodes v and v+d (1 ≤ d < nVal) hold nVal−d
 * keyspaces in common: v, v−1, …, v+d−nVal+1. Exchanging each such pair over its common keyspaces
 * compares replicas k+i and k+j (i < j) of keyspace k exactly once: in the exchange of the pair
 * (k+i, k+j), whose distance is j−i < nVal — no replica pair is compared twice, none is missed. That is ringSize·(nVal−1) exchanges, each over the XOR of the
 * shared keyspaces' trees (one root of branchCount words per side, not one per keyspace). When
 * nVal > ringSize/2 some pairs are reached from both ends and are exchanged once.
 */
import { keyspacesOfVnode, type RingParams } from '../cluster/index.js';

export interface ReplicaPair {
  /** The lower vnode of the pair, as the ring walks (v), and its partner v+d (mod ringSize). */
  a: number;
  b: number;
  keyspaces: number[];
}

export function replicaPairs(ring: RingParams): ReplicaPair[] {
  const { ringSize, nVal } = ring;
  const out: ReplicaPair[] = [];
  const seen = new Set<string>();
  for (let v = 0; v < ringSize; v++) {
    const held = keyspacesOfVnode(v, ring);
    for (let d = 1; d < nVal && d < ringSize; d++) {
      const b = (v + d) % ringSize;
      // When nVal > ringSize/2 the walk reaches a pair from both ends (ring 8, nVal 5: v and v+4).
      const id = `${Math.min(v, b)}-${Math.max(v, b)}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const other = new Set(keyspacesOfVnode(b, ring));
      const keyspaces = held.filter((k) => other.has(k)).sort((x, y) => x - y);
      if (keyspaces.length > 0) out.push({ a: v, b, keyspaces });
    }
  }
  return out;
}
