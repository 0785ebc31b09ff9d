/**
 * src/coordinator: a cluster as its coordinator sees it — the ring, one node-contract handle per
 * node, writes (clock minting, preflist fan-out), replica reads and conditional repair writes — and
 * the embedded cluster (a directory of LevelDB stores, each node a LocalNode in this process).
 * Imports src/local, src/fold, src/store, src/node and below.
 */
export { Cluster, type PutManyOptions, type ReplicaHead, type ReplicaVersion, type WriteOutcome } from './cluster.js';
export { EmbeddedCluster, openLocalNodes, type CloseOptions, type OpenOptions } from './embedded-cluster.js';
export type { PutItem } from './cluster-write.js';
