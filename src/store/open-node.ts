/**
 * What a node's store needs when a cluster opens it, before any vnode reads it: its ring stamp
 * checked against the spec (ring-stamp.ts), and its layout migrated if an older version wrote it
 * (migrate-format.ts). The embedded cluster calls this once per node.
 */
import type { ClusterSpec } from '../cluster/index.js';
import { migrateStore } from './migrate-format.js';
import type { NodeDb } from './node-db.js';
import { checkRingStamp } from './ring-stamp.js';

export async function prepareNode(db: NodeDb, spec: ClusterSpec, held: number[], where: { specFile: string; creating: boolean }): Promise<void> {
  await checkRingStamp(db, { ringSize: spec.ringSize, nVal: spec.nVal, hashMethod: spec.hashMethod, seed: spec.seed, vnodes: held }, where);
  await migrateStore(db, spec, held);
}
