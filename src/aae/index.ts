/**
 * src/aae: the operations — compare, repair and inspect clusters or the replicas inside one — built
 * from the exchange engine, the repair loop, the fold runner and the store. The CLI is a thin
 * layer over this; a Node service can call it directly.
 */
export { ClusterSource, rangeQuery, type ClusterSourceOptions } from './cluster-source.js';
export { VnodeSource } from './vnode-source.js';
export { replicaPairs, type ReplicaPair } from './replica-pairs.js';
export {
  compareClusters,
  compareReplicas,
  toDifference,
  type ClusterHandle,
  type ClusterComparison,
  type CompareOptions,
  type Difference,
  type ExchangeTuning,
  type ReplicaComparison,
  type ReplicaCompareOptions,
  type Unreached,
  type ReplicaDifference,
  type StreamOptions,
} from './compare.js';
export { erasesDeletes, replicaBackend, twoClusterBackend } from './cluster-backend.js';
export { repairClusters, repairReplicas, type LoopReport, type RepairReport, type RepairRunOptions } from './repair.js';
export { inspectClusters, inspectReplicas, MAX_SEGMENT_DETAIL, type InspectOptions, type InspectReport, type PairInspection, type SegmentDetail } from './inspect.js';
export {
  DifferenceSummary,
  classifyDifference,
  DIFFERENCE_KINDS,
  MAX_SUMMARY_BUCKETS,
  OTHER_BUCKETS,
  type AheadSide,
  type BucketSummary,
  type Classified,
  type DifferenceKind,
  type SideCounts,
  type SummaryJson,
} from './difference-summary.js';
export { DriftProfile, CELL_KEYS, FIRST_BIN_MS, MAX_BINS, MAX_CELL_BUCKETS, type DriftProfileJson, type RingLayout } from './drift-profile.js';
