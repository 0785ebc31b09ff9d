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
/** @internal For writers that locate and encode each key once (a keystore), as the embedded cluster does. */
export { planWrite, prepareGivenHead, type PlannedWrite, type PreparedHead } from './write-plan.js';
export { DEFAULT_FOLD_BATCH } from './fold.js';
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
