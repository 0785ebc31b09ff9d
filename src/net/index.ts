/**
 * src/net: nodes across machines — the node server (`aae node serve`), the remote node client,
 * the checked-in .proto and its codecs, mutual TLS, limits, metrics and health, and the opener that
 * builds a cluster of local and remote nodes from cluster.json. Imports src/coordinator, src/local
 * and below. docs/PROTOCOL.md documents the wire.
 */
export { NodeServer, DEFAULT_LIMITS, type NodeServerLimits, type NodeServerOptions } from './server.js';
export { RemoteNode, DEFAULT_CALL_TIMEOUT_MS, DEFAULT_FOLD_TIMEOUT_MS, type RemoteNodeOptions, type Traffic } from './remote-node.js';
export { type Transport, type TlsFiles, loadTls } from './tls.js';
export { parseAddress, formatAddress, isLoopback, requireLoopback, type HostPort } from './address.js';
export { NET_LOG_CODES, type LogLine, type LogSink, type LogLevel, type NetLogCode } from './log.js';
export { serverMetrics, syncMetrics, serveMetrics, type ServerMetrics, type SyncMetrics, type MetricsEndpoint } from './metrics.js';
export { PROTOCOL, PROTO_FILE, SERVICE_NAME, messageCodec, type MethodName } from './proto.js';
export { openCluster, createCluster, transportOf, ServedCluster, type OpenClusterOptions, type NodeProbe } from './open-cluster.js';
export { clusterCopy, openClusterCopy, type ClusterCopy } from './cluster-copy.js';
