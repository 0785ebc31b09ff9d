/**
 * tictac-aae: the public API. The everyday names at the top level; every layer also as a
 * namespace (the layers share some names, e.g. cluster.compareClocks orders two clocks while
 * exchange.compareClocks diffs two key lists).
 */
export { AaeError, isAaeError, ERROR_CODES, type AaeErrorCode } from './errors.js';
export { initHash } from './hash/index.js';
export { TicTacTree, type TreeSize } from './tictac/index.js';
export { defaultSpec, makeClock, type AaeObject, type Clock, type ClusterSpec } from './cluster/index.js';
export { Cluster, EmbeddedCluster, type PutItem } from './coordinator/index.js';
export { plan, type CoveragePlan } from './plan/index.js';
export { runFold, BUILTIN_FOLD_MODULES, type FoldModule } from './fold/index.js';
export { runExchange, type ExchangeResult, type ExchangeSource } from './exchange/index.js';
export {
  compareClusters,
  compareReplicas,
  repairClusters,
  repairReplicas,
  inspectClusters,
  inspectReplicas,
  type ClusterComparison,
  type ReplicaComparison,
  type RepairReport,
} from './aae/index.js';
export { runSyncLoop, runCheck, parseSchedule, type CheckReport, type ScheduleWants } from './sync/index.js';
export { openCluster, NodeServer, RemoteNode, type OpenClusterOptions, type NodeServerOptions, type RemoteNodeOptions } from './net/index.js';

export * as hash from './hash/index.js';
export * as tictac from './tictac/index.js';
export * as cluster from './cluster/index.js';
export * as store from './store/index.js';
export * as coverage from './plan/index.js';
export * as fold from './fold/index.js';
export * as exchange from './exchange/index.js';
export * as repair from './repair/index.js';
export * as aae from './aae/index.js';
export * as sync from './sync/index.js';
export * as net from './net/index.js';
