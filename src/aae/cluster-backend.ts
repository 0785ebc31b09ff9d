/**
 * Repair backends over embedded clusters: where the repair loop (src/repair) reads versions and
 * writes conditionally.
 *
 * - Between two clusters the places are the two sides. A side's version of a key is the dominant
 *   one among its replicas (concurrent replicas: the later, as `get` does); a write goes to every
 *   replica of the side's preflist, each only if the object dominates what that replica holds.
 * - Inside one cluster the places are the key's replicas themselves (read repair): each replica's
 *   version is read, and the winner is written to each replica that lacks it.
 */
import type { AaeObject, ObjectKey } from '../cluster/index.js';
import { dominantObject } from '../cluster/index.js';
import type { PlaceVersion, PlaceWrite, RepairBackend, WriteOutcome } from '../repair/index.js';
import type { ClusterHandle } from './compare.js';

export interface ReplicaRead {
  vnode: number;
  node: string;
  object: AaeObject | null;
}

/** What repair needs of a cluster beyond folds: batched reads of every replica, conditional writes. */
export interface RepairableCluster extends ClusterHandle {
  /** For each key, each preflist replica's version, in preflist order. */
  readReplicas(keys: readonly ObjectKey[], options?: { signal?: AbortSignal }): Promise<ReplicaRead[][]>;
  /**
   * Writes each object (keeping its clock) to the given vnodes (default: its whole preflist), each
   * only if the object dominates what that vnode holds at that moment — atomically with respect to
   * every other write to the vnode. One outcome per vnode written to, in order.
   */
  writeIfDominates(items: ReadonlyArray<{ object: AaeObject; vnodes?: readonly number[] }>): Promise<WriteOutcome[][]>;
}

/** A side's version of a key is the dominant one among its replicas (as `get` reads it). */
export function twoClusterBackend(blue: RepairableCluster, pink: RepairableCluster): RepairBackend {
  const sides = [blue, pink] as const;
  return {
    async read(keys, options) {
      const [b, p] = await Promise.all(sides.map((c) => c.readReplicas(keys, options)));
      return keys.map((_k, i) => [
        { place: blue.spec.name, object: dominantObject(b![i]!.map((r) => r.object)) },
        { place: pink.spec.name, object: dominantObject(p![i]!.map((r) => r.object)) },
      ]);
    },
    async write(batch) {
      // One writeIfDominates per side for the whole batch.
      const perSide = sides.map(() => [] as Array<{ item: number; slot: number; object: PlaceWrite['object'] }>);
      batch.forEach(({ writes }, item) => writes.forEach((w, slot) => perSide[w.place]!.push({ item, slot, object: w.object })));
      const out: WriteOutcome[][] = batch.map(({ writes }) => writes.map((): WriteOutcome => 'skipped'));
      await Promise.all(
        perSide.map(async (list, side) => {
          if (list.length === 0) return;
          const outcomes = await sides[side]!.writeIfDominates(list.map((w) => ({ object: w.object })));
          // Written if any replica took it; the others already held it or something newer.
          list.forEach((w, j) => {
            out[w.item]![w.slot] = outcomes[j]!.includes('written') ? 'written' : 'skipped';
          });
        }),
      );
      return out;
    },
    preferredPlace: (policy) => (policy === 'source' ? 0 : 1),
  };
}

export function replicaBackend(cluster: RepairableCluster): RepairBackend {
  // The vnodes behind each key's places, remembered from the read that listed them.
  const vnodesOf = new Map<string, number[]>();
  const id = (k: ObjectKey) => `${k.bucket}\u0000${Buffer.from(k.key).toString('latin1')}`;
  return {
    async read(keys, options) {
      const reads = await cluster.readReplicas(keys, options);
      return reads.map((replicas, i) => {
        vnodesOf.set(id(keys[i]!), replicas.map((r) => r.vnode));
        return replicas.map((r): PlaceVersion => ({ place: `vnode ${r.vnode}@${r.node}`, object: r.object }));
      });
    },
    async write(batch) {
      const items = batch.map(({ key, writes }) => {
        const vnodes = vnodesOf.get(id(key))!;
        vnodesOf.delete(id(key));
        return { object: writes[0]!.object, vnodes: writes.map((w) => vnodes[w.place]!) };
      });
      return cluster.writeIfDominates(items);
    },
    preferredPlace: () => undefined,
  };
}
