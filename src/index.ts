/**
 * tictac-aae: the public API, kept small — the everyday names at the top level. The rest is
 * reached by subpath, only where a user needs it (package.json `exports`):
 * - `tictac-aae/node`: the node contract, for a new backend (a NodeService) and its coordinator;
 * - `tictac-aae/fold`: the fold-module contract, the built-in modules and the runner, for module authors;
 * - `tictac-aae/exchange`: the exchange engine over injected sources, to embed it in a service;
 * - `tictac-aae/tictac`: the TicTac tree itself;
 * - `tictac-aae/testing`: the suites every implementation passes (node contract, fold modules) and
 *   the loopback codec.
 * Tuning internals (the store's layout, write queues, bench suites) are not exported.
 */
export { AaeError, isAaeError, ERROR_CODES, type AaeErrorCode } from './errors.js';
export { initHash, type HashMethod } from './hash/index.js';
export { TicTacTree, type TreeSize } from './tictac/index.js';
export { defaultSpec, makeClock, dominates, type AaeObject, type Clock, type ClusterSpec, type SpecOverrides } from './cluster/index.js';
export { Cluster, EmbeddedCluster, type OpenOptions, type PutItem, type PutManyOptions, type ReplicaVersion } from './coordinator/index.js';
export { verifyTrees, type VerifyReport, type VnodeTreeCheck } from './store/index.js';
export { plan, type CoveragePlan } from './plan/index.js';
export { runFold, summarizeRun, BUILTIN_FOLD_MODULES, type FoldModule, type FoldRunResult, type RunFoldOptions } from './fold/index.js';
export { runExchange, type ExchangeResult, type ExchangeSource } from './exchange/index.js';
export { CONFLICT_POLICIES, REPAIR_DIRECTIONS, type ConflictPolicy, type RepairAction, type RepairDirection } from './repair/index.js';
export {
  compareClusters,
  compareReplicas,
  repairClusters,
  repairReplicas,
  inspectClusters,
  inspectReplicas,
  type ClusterComparison,
  type CompareOptions,
  type Difference,
  type InspectReport,
  type ReplicaComparison,
  type RepairReport,
  type RepairRunOptions,
} from './aae/index.js';
export { NODE_CONTRACT, type NodeService, type NodeInfo } from './node/index.js';
export { runSyncLoop, runCheck, parseSchedule, type CheckReport, type ScheduleWants } from './sync/index.js';
export { PACKAGE_VERSION } from './version.js';
export { openCluster, NodeServer, RemoteNode, type OpenClusterOptions, type NodeServerOptions, type RemoteNodeOptions } from './net/index.js';

export * as sync from './sync/index.js';
export * as net from './net/index.js';
