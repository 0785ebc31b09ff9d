/**
 * src/store: a node's LevelDB (vnodes as key ranges; heads, values and index entries under separate
 * prefixes), cached TicTac trees kept current on every write and saved safely, vnode folds, and the
 * embedded cluster. Imports src/tictac, src/cluster, src/hash and src/errors only.
 */
export { EmbeddedCluster, type PutManyOptions, type ReplicaVersion, type CloseOptions } from './embedded-cluster.js';
export type { PutItem } from './cluster-write.js';
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
