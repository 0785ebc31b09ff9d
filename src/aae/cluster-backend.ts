/**
 * Repair backends over clusters: where the repair loop (src/repair) reads versions, fetches the
 * objects it will copy, and writes conditionally — all through each cluster's node contract.
 *
 * - Between two clusters the places are the replicas of both sides, labelled by the side's name:
 *   the decision sees every version either cluster holds, and a write goes to each replica that
 *   lacks the winner, only if the object dominates what that replica holds.
 * - Inside one cluster the places are the key's replicas themselves (read repair): each replica's
 *   version is read, and the winner is written to each replica that lacks it.
 *
 * Stateless: a read returns, with every place, where it is (side and vnode); a fetch or a write
 * names those places back. Nothing is remembered from one call to the next.
 */
import type { ObjectKey } from '../cluster/index.js';
import type { Cluster } from '../coordinator/index.js';
import type { HeldVersion } from '../node/index.js';
import type { FetchedObject, PlaceRef, PlaceVersion, RepairBackend, Version, WriteOutcome } from '../repair/index.js';

/**
 * Between two clusters, the places of a key are every replica of both sides: the source's preflist,
 * then the sink's, each labelled with its side's name. Deciding over replicas rather than over each
 * side's dominant version means a repair between clusters also heals a side whose own replicas
 * disagree. Otherwise a stale replica that the exchange's coverage happens to read keeps the trees
 * apart while every side's dominant version agrees, and the loop would find nothing to write.
 */
export function twoClusterBackend(source: Cluster, sink: Cluster): RepairBackend {
  const sides = [source, sink] as const;
  // Whether each side's nodes erase deletes (a keystore's do: NodeCapabilities.erasesDeletes), asked once.
  let erasing: Promise<boolean[]> | undefined;
  const erases = (): Promise<boolean[]> => (erasing ??= Promise.all(sides.map((c) => erasesDeletes(c))));
  return {
    async read(keys, options) {
      const [reads, erase] = await Promise.all([Promise.all(sides.map((c) => c.readReplicaHeads(keys, options))), erases()]);
      return keys.map((_k, i) => {
        const places: PlaceVersion[] = [];
        for (const side of [0, 1] as const) {
          for (const r of reads[side]![i]!) {
            const h = r.head ?? null;
            const place: PlaceVersion = { place: sides[side].spec.name, version: h === null ? null : { clock: h.clock, deleted: h.deleted, hash: h.hash }, side, ref: { side, vnode: r.vnode } };
            if (erase[side] === true) place.erases = true;
            places.push(place);
          }
        }
        return places;
      });
    },
    fetch: (items, options) => fetchFrom((side) => sides[side], items, options),
    async write(batch, options) {
      // One compare-and-set write per side for the whole batch, each item naming its vnodes there.
      const perSide = sides.map(() => [] as Array<{ item: number; slots: number[]; targets: Array<{ vnode: number; held: HeldVersion | null }> }>);
      batch.forEach(({ targets }, item) => {
        const bySide: Array<(typeof perSide)[number][number] | undefined> = [undefined, undefined];
        targets.forEach(({ ref, held }, slot) => {
          let entry = bySide[ref.side];
          if (entry === undefined) perSide[ref.side]!.push((entry = bySide[ref.side] = { item, slots: [], targets: [] }));
          entry.slots.push(slot);
          entry.targets.push({ vnode: ref.vnode, held: heldOf(held) });
        });
      });
      const out: WriteOutcome[][] = batch.map(({ targets }) => targets.map((): WriteOutcome => 'skipped'));
      await Promise.all(
        perSide.map(async (list, side) => {
          if (list.length === 0) return;
          const outcomes = await sides[side]!.writeIfHeld(
            list.map((e) => ({ object: batch[e.item]!.object, targets: e.targets })),
            options,
          );
          list.forEach((e, j) => e.slots.forEach((slot, n) => (out[e.item]![slot] = outcomes[j]![n]!)));
        }),
      );
      return out;
    },
  };
}

export function replicaBackend(cluster: Cluster): RepairBackend {
  return {
    async read(keys, options) {
      const reads = await cluster.readReplicaHeads(keys, options);
      return reads.map((replicas) =>
        replicas.map((r): PlaceVersion => {
          const h = r.head ?? null;
          return { place: `vnode ${r.vnode}@${r.node}`, version: h === null ? null : { clock: h.clock, deleted: h.deleted, hash: h.hash }, ref: { side: 0, vnode: r.vnode } };
        }),
      );
    },
    fetch: (items, options) => fetchFrom(() => cluster, items, options),
    write: (batch, options) => cluster.writeIfHeld(batch.map(({ object, targets }) => ({ object, targets: targets.map((t) => ({ vnode: t.ref.vnode, held: heldOf(t.held) })) })), options),
  };
}

/** Whether every node of the cluster erases deletes (NodeCapabilities.erasesDeletes). */
export async function erasesDeletes(c: Cluster): Promise<boolean> {
  for (const name of c.spec.nodes) if ((await c.node(name).info()).capabilities.erasesDeletes !== true) return false;
  return true;
}

function heldOf(v: Version | null): HeldVersion | null {
  return v === null ? null : { hash: v.hash, deleted: v.deleted };
}

/** The objects the refs hold, one read request per vnode. */
async function fetchFrom(
  clusterOf: (side: 0 | 1) => Cluster,
  items: ReadonlyArray<{ key: ObjectKey; ref: PlaceRef }>,
  options: { signal?: AbortSignal },
): Promise<Array<FetchedObject | null>> {
  const groups = new Map<string, { side: 0 | 1; vnode: number; at: number[] }>();
  items.forEach(({ ref }, i) => {
    const id = `${ref.side}:${ref.vnode}`;
    let g = groups.get(id);
    if (g === undefined) groups.set(id, (g = { side: ref.side, vnode: ref.vnode, at: [] }));
    g.at.push(i);
  });
  const out: Array<FetchedObject | null> = new Array<FetchedObject | null>(items.length).fill(null);
  await Promise.all(
    [...groups.values()].map(async (g) => {
      const cluster = clusterOf(g.side);
      const { objects } = await cluster.nodeOf(g.vnode).readObjects({ vnode: g.vnode, keys: g.at.map((i) => items[i]!.key) }, options);
      g.at.forEach((i, j) => {
        const found = objects[j] ?? null;
        out[i] = found === null ? null : { object: found.object, hash: found.hash };
      });
    }),
  );
  return out;
}
