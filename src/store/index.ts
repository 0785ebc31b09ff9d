/**
 * src/store: a node's LevelDB (vnodes as key ranges; heads, values and index entries under separate
 * prefixes), cached TicTac trees kept current on every write and saved safely, vnode folds and
 * conditional writes. Imports src/node (types), src/tictac, src/cluster, src/hash and src/errors.
 */
export { planWrite, prepareGivenHead, prepareHead, validateWrite, type PlannedWrite, type PreparedHead } from './write-plan.js';
export { KeySlots } from './key-slots.js';
export { checkRingStamp } from './ring-stamp.js';
export { createClusterDir } from './create-cluster.js';
export { prepareNode } from './open-node.js';
export type { HeadValue } from './codec.js';
export { LocalVnode, type TreeOrigin, type TreeState } from './local-vnode.js';
export { NodeDb, type BatchOp, type RawDb } from './node-db.js';
export { locateKey, type LocatedKey, type StoreParams } from './locate.js';
export { DEFAULT_FOLD_BATCH } from './fold.js';
export { type KeyspaceTreeCheck, type RebuildTreesOptions, type VnodeTreeCheck } from './tree-check.js';
export { DEFAULT_REBUILD_SCHEDULE, rebuildDueAt, type BuiltRecord, type RebuildSchedule } from './tree-rebuild.js';
export {
  DEFAULT_REBUILD_RATE,
  dueVnodes,
  rebuildDueTrees,
  startDueRebuilds,
  verifyTrees,
  type BackgroundRebuilds,
  type DueRebuildOptions,
  type TreeHolder,
  type VerifyOptions,
  type VerifyReport,
} from './tree-maintenance.js';
export { rebuildFailedLine, recoveryLine, treeCheckLine, type TreeLogCode, type TreeLogLine } from './tree-log.js';
export { BulkHeadLoad, type BulkHead, type BulkLoadOptions } from './bulk-load.js';
export type {
  Vnode,
  VnodeCapabilities,
  VnodeWrite,
  WriteResult,
  StoredHead,
  StoredObject,
  StoredHashSize,
  IndexEntryRecord,
  KeyClock,
  Range,
  SegmentFilter,
  FoldFilter,
  IndexFoldFilter,
  FoldOptions,
  ClockScope,
} from './vnode.js';
