/**
 * src/node: the node contract — the one plain-data seam through which a coordinator reaches data
 * (folds run on the node, reads of heads and objects, conditional writes) — and the cluster view a
 * coordinator plans over. Imports src/cluster, src/tictac, src/hash and src/errors only (types).
 */
export {
  NODE_CONTRACT,
  type CallOptions,
  type FoldEvent,
  type FoldRequest,
  type FoldShare,
  type Head,
  type HeldVersion,
  type HeadsAnswer,
  type KeyClock,
  type KeyLoc,
  type KeyRef,
  type KeystoreNodeStatus,
  type ModuleInfo,
  type PluginState,
  type NodeCapabilities,
  type NodeInfo,
  type NodeParams,
  type NodeService,
  type ObjectsAnswer,
  type ReadRequest,
  type StoredObjectRecord,
  type TreeStatus,
  type WriteAnswer,
  type WriteBasis,
  type WriteEntry,
  type WriteHint,
  type WriteOp,
  type WriteRequest,
} from './contract.js';
export type { ClusterNodes } from './cluster-nodes.js';
export { notPlainData } from './plain-data.js';
export { decodeKeyClocks, encodeKeyClocks, packedEntryBytes } from './key-clocks.js';
