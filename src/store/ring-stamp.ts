/**
 * The ring a node's records were placed by, stamped into the node's store so that an edited
 * `cluster.json` cannot silently misread the data.
 *
 * Where a record lives follows from the spec: the ring size and seed pick a key's keyspace, nVal
 * the vnodes that hold it and the trees it is in, the hash method and seed the trees' contents,
 * and the claim (from the node list) which node holds each vnode. Change any of these in
 * `cluster.json` after data is written and every read looks in the wrong place: keys seem
 * missing, trees disagree with heads, a repair "restores" data that was never lost. So each node
 * records, on first open, the ring it was written by; a later open under a different ring is
 * refused with CLUSTER_SPEC_INVALID, naming what changed. A node that holds no object yet takes
 * the new ring instead (nothing can be misread), and drops the old ring's empty saved trees. The tree size is not stamped: heads are ordered
 * by the full 32-bit segment hash, and trees of another size are rebuilt from them.
 *
 * Stores written before the stamp existed get it on their next open, from the spec they are
 * opened with (the only knowledge there is).
 */
import { AaeError } from '../errors.js';
import { KIND_HEAD, KIND_INDEX, KIND_VALUE, META_RING_KEY, VNODE_TAG } from './layout.js';
import type { NodeDb } from './node-db.js';

export interface RingStamp {
  ringSize: number;
  nVal: number;
  hashMethod: string;
  seed: number;
  /** The vnodes this node holds, ascending. */
  vnodes: number[];
}

const FIELDS = ['ringSize', 'nVal', 'hashMethod', 'seed', 'vnodes'] as const;

/**
 * Checks (or writes) the node's stamp. `where.creating`: the spec is one `cluster create` is
 * writing now, over node folders that already exist; `where.specFile` names it in messages.
 */
export async function checkRingStamp(db: NodeDb, expected: RingStamp, where: { specFile: string; creating: boolean }): Promise<void> {
  const bytes = await db.get(META_RING_KEY);
  const stamp = (): Promise<void> => db.batch([{ type: 'put', key: META_RING_KEY, value: new TextEncoder().encode(JSON.stringify(expected)) }], { sync: true });
  if (bytes === undefined) return stamp();
  let stamped: Partial<RingStamp>;
  try {
    stamped = JSON.parse(new TextDecoder().decode(bytes)) as Partial<RingStamp>;
  } catch (e) {
    throw new AaeError('STORE_IO', `node ${db.node}: its ring stamp does not decode`, { cause: e });
  }
  const changed = FIELDS.filter((f) => JSON.stringify(stamped[f]) !== JSON.stringify(expected[f]));
  if (changed.length === 0) return;
  if (!(await holdsObjects(db))) {
    // Nothing can be misread: take the new ring, and drop the old ring's saved (empty) trees.
    await dropDerived(db);
    return stamp();
  }
  // The vnodes a node holds follow from the other fields: name them only when nothing else changed.
  // Each field is named with both values: what the store was written with, and what the spec says now.
  const named = changed.length === 1 ? changed : changed.filter((f) => f !== 'vnodes');
  const spec = where.creating ? 'the new cluster' : 'cluster.json';
  const what = named
    .map((f) =>
      f === 'vnodes'
        ? `the vnodes it holds: written holding ${list(stamped.vnodes)}, ${spec} deals it ${list(expected.vnodes)} (the node list or its order changed)`
        : `${f}: written with ${JSON.stringify(stamped[f])}, ${spec} says ${JSON.stringify(expected[f])}`,
    )
    .join('; ');
  const message = where.creating
    ? `node ${db.node} already holds data written with a different ring (${what}). Create the cluster with the options the data was written with, or remove the node folders to start empty.`
    : `${where.specFile} no longer matches the data: node ${db.node} was written with a different ring (${what}). ` +
      'Restore the cluster.json the data was written with; to change a ring, load the data into a new cluster.';
  const pick = (r: Partial<RingStamp>): Record<string, unknown> => Object.fromEntries(changed.map((f) => [f, r[f]]));
  throw new AaeError('CLUSTER_SPEC_INVALID', message, { details: { node: db.node, fields: changed, expected: pick(expected), found: pick(stamped) } });
}

/** A stamp's vnode list as the message shows it (a stamp that is not a list shows as it is). */
function list(v: unknown): string {
  return Array.isArray(v) ? `[${v.join(', ')}]` : JSON.stringify(v);
}

/**
 * Whether the node holds any object: a head, a value or an index entry. Saved trees and key
 * filters are derived from them (and, with no objects, empty).
 */
async function holdsObjects(db: NodeDb): Promise<boolean> {
  const it = db.iterator({ gte: Uint8Array.of(VNODE_TAG), lt: Uint8Array.of(VNODE_TAG + 1) }, { values: false });
  try {
    for (let entry = await it.next(); entry !== undefined; entry = await it.next()) {
      const kind = entry[0][3];
      if (kind === KIND_HEAD || kind === KIND_VALUE || kind === KIND_INDEX) return true;
    }
    return false;
  } finally {
    await it.close();
  }
}

/** Deletes every vnode record of a node that holds no objects: the saved trees and filters. */
async function dropDerived(db: NodeDb): Promise<void> {
  const keys: Uint8Array[] = [];
  const it = db.iterator({ gte: Uint8Array.of(VNODE_TAG), lt: Uint8Array.of(VNODE_TAG + 1) }, { values: false });
  try {
    for (let entry = await it.next(); entry !== undefined; entry = await it.next()) keys.push(entry[0]);
  } finally {
    await it.close();
  }
  await db.batch(keys.map((key) => ({ type: 'del' as const, key })), { sync: true });
}
