/**
 * Repair backends over embedded clusters: where the repair loop (src/repair) reads versions and
 * writes conditionally.
 *
 * - Between two clusters the places are the replicas of both sides, labelled by side: the decision
 *   sees every version either cluster holds, and a write goes to each replica that lacks the
 *   winner, only if the object dominates what that replica holds.
 * - Inside one cluster the places are the key's replicas themselves (read repair): each replica's
 *   version is read, and the winner is written to each replica that lacks it.
 */
import { keyIdentity, type AaeObject, type Clock, type ObjectKey } from '../cluster/index.js';
import type { PlaceVersion, PlaceWrite, RepairBackend, WriteOutcome } from '../repair/index.js';
import type { ClusterHandle } from './compare.js';

export interface ReplicaRead {
  vnode: number;
  node: string;
  object: AaeObject | null;
}

export interface ReplicaHeadRead {
  vnode: number;
  node: string;
  head: { clock: Clock; deleted: boolean } | null | undefined;
}

/** What repair needs of a cluster beyond folds: batched reads of every replica, conditional writes. */
export interface RepairableCluster extends ClusterHandle {
  /** For each key, each preflist replica's version, in preflist order. */
  readReplicas(keys: readonly ObjectKey[], options?: { signal?: AbortSignal }): Promise<ReplicaRead[][]>;
  /**
   * As readReplicas, heads only: no value is read (range replication checks clocks first). A key's
   * `skipVnode` is not read, and comes back `head: undefined`.
   */
  readReplicaHeads(keys: ReadonlyArray<ObjectKey & { skipVnode?: number }>, options?: { signal?: AbortSignal }): Promise<ReplicaHeadRead[][]>;
  /**
   * Writes each object (keeping its clock) to the given vnodes (default: its whole preflist), each
   * only if the object dominates what that vnode holds at that moment — atomically with respect to
   * every other write to the vnode. One outcome per vnode written to, in order.
   */
  writeIfDominates(items: ReadonlyArray<{ object: AaeObject; vnodes?: readonly number[] }>): Promise<WriteOutcome[][]>;
}

/**
 * Between two clusters, the places of a key are every replica of both sides: blue's preflist,
 * then pink's, each labelled with its side's name. Deciding over replicas rather than over each
 * side's dominant version means a repair between clusters also heals a side whose own replicas
 * disagree. Otherwise a stale replica that the exchange's coverage happens to read keeps the trees
 * apart while every side's dominant version agrees, and the loop would find nothing to write.
 */
export function twoClusterBackend(blue: RepairableCluster, pink: RepairableCluster): RepairBackend {
  const sides = [blue, pink] as const;
  // The vnode behind each place of each key, remembered from the read that listed them.
  const layout = new Map<string, Array<{ side: 0 | 1; vnode: number }>>();
  return {
    async read(keys, options) {
      // The repair reads a batch, then writes it: the last batch's keys are done with.
      layout.clear();
      const reads = await Promise.all(sides.map((c) => c.readReplicas(keys, options)));
      return keys.map((k, i) => {
        const places: PlaceVersion[] = [];
        const where: Array<{ side: 0 | 1; vnode: number }> = [];
        for (const side of [0, 1] as const) {
          for (const r of reads[side]![i]!) {
            places.push({ place: sides[side].spec.name, object: r.object, side });
            where.push({ side, vnode: r.vnode });
          }
        }
        layout.set(keyIdentity(k), where);
        return places;
      });
    },
    async write(batch) {
      // One writeIfDominates per side for the whole batch, each item naming its vnodes there.
      const perSide = sides.map(() => [] as Array<{ item: number; slots: number[]; object: PlaceWrite['object']; vnodes: number[] }>);
      batch.forEach(({ key, writes }, item) => {
        const where = layout.get(keyIdentity(key))!;
        const bySide = [undefined, undefined] as Array<(typeof perSide)[number][number] | undefined>;
        writes.forEach((w, slot) => {
          const { side, vnode } = where[w.place]!;
          let entry = bySide[side];
          if (entry === undefined) perSide[side]!.push((entry = bySide[side] = { item, slots: [], object: w.object, vnodes: [] }));
          entry.slots.push(slot);
          entry.vnodes.push(vnode);
        });
      });
      const out: WriteOutcome[][] = batch.map(({ writes }) => writes.map((): WriteOutcome => 'skipped'));
      await Promise.all(
        perSide.map(async (list, side) => {
          if (list.length === 0) return;
          const outcomes = await sides[side]!.writeIfDominates(list.map((e) => ({ object: e.object, vnodes: e.vnodes })));
          list.forEach((e, j) => e.slots.forEach((slot, n) => (out[e.item]![slot] = outcomes[j]![n]!)));
        }),
      );
      return out;
    },
  };
}


export function replicaBackend(cluster: RepairableCluster): RepairBackend {
  // The vnodes behind each key's places, remembered from the read that listed them.
  const vnodesOf = new Map<string, number[]>();
  return {
    async read(keys, options) {
      vnodesOf.clear();
      const reads = await cluster.readReplicas(keys, options);
      return reads.map((replicas, i) => {
        vnodesOf.set(keyIdentity(keys[i]!), replicas.map((r) => r.vnode));
        return replicas.map((r): PlaceVersion => ({ place: `vnode ${r.vnode}@${r.node}`, object: r.object }));
      });
    },
    async write(batch) {
      const items = batch.map(({ key, writes }) => {
        const vnodes = vnodesOf.get(keyIdentity(key))!;
        return { object: writes[0]!.object, vnodes: writes.map((w) => vnodes[w.place]!) };
      });
      return cluster.writeIfDominates(items);
    },
  };
}
