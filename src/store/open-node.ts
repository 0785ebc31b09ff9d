/**
 * What a node's store needs when a cluster opens it, before any vnode reads it: its ring stamp
 * checked against the spec (ring-stamp.ts), its layout migrated if an older version wrote it
 * (migrate-format.ts), and, if LevelDB dropped damaged records as it opened (NodeDb.recoveryLoss),
 * its saved trees dropped: they describe data that is no longer all there, and a vnode must never
 * answer from trees that disagree with its heads. They are rebuilt from what remains when first
 * needed, so the exchange then finds the keys lost (on this replica) and repair restores them. The
 * drop is synced before anything reads: LevelDB writes its LOG afresh at every open, so this open
 * is the only one that can notice.
 */
import type { ClusterSpec } from '../cluster/index.js';
import { migrateStore } from './migrate-format.js';
import type { NodeDb } from './node-db.js';
import { checkRingStamp } from './ring-stamp.js';
import { dropSavedTrees } from './tree-persist.js';

export async function prepareNode(db: NodeDb, spec: ClusterSpec, held: number[], where: { specFile: string; creating: boolean }): Promise<void> {
  await checkRingStamp(db, { ringSize: spec.ringSize, nVal: spec.nVal, hashMethod: spec.hashMethod, seed: spec.seed, vnodes: held }, where);
  await migrateStore(db, spec, held);
  if (db.recoveryLoss !== undefined) await dropSavedTrees(db, held);
}
