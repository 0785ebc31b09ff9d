/**
 * Opening a cluster from its directory, wherever its nodes are: a node listed in cluster.json by
 * name alone is served from this directory (a LocalNode over its LevelDB folder); a node with an
 * address is served elsewhere (`aae node serve`) and reached as a RemoteNode over mutual TLS (or
 * plaintext on loopback, `"tls": "insecure"`). A directory holding only cluster.json and the TLS
 * files is enough to run every command against a served cluster.
 *
 * Every served node is asked who it is when the cluster opens (one Info call each, concurrently).
 * A node that answers for another cluster, other parameters or other vnodes than cluster.json
 * gives it is refused (CLUSTER_SPEC_INVALID): an address pointing at the wrong server must never
 * be compared or written to, and so is one whose transport does not fit this cluster.json's
 * (NET_TLS_MISMATCH: TLS against plaintext, a certificate from another CA). A node that does not
 * answer is marked unavailable: folds plan around it where the replicas allow, and anything that
 * needs it fails with NODE_UNAVAILABLE naming it.
 */
import { resolve } from 'node:path';
import { claim, readClusterConfig, type ClientTls, type ClusterConfig } from '../cluster/index.js';
import { Cluster, EmbeddedCluster, openLocalNodes, type OpenOptions } from '../coordinator/index.js';
import { AaeError, isAaeError } from '../errors.js';
import { createClusterDir } from '../store/index.js';
import type { NodeInfo, NodeService } from '../node/index.js';
import { askInfo } from './ask-info.js';
import { RemoteNode, type RemoteNodeOptions } from './remote-node.js';
import { PROTOCOL } from './proto.js';
import type { Transport } from './tls.js';

export interface OpenClusterOptions extends Omit<OpenOptions, 'wrapNode'> {
  /** Timeouts and byte counting for the served nodes. */
  remote?: Omit<RemoteNodeOptions, 'transport'>;
  /** How long the Info call of each served node may take when the cluster opens (ms). */
  probeTimeoutMs?: number;
  /**
   * A served node refused for its configuration (another cluster's node, another ring, another
   * contract, a transport that does not fit): 'throw' (the default: nothing is compared with or
   * written to a node that is not the one cluster.json describes), or 'report' (the node is
   * marked unavailable and its probe holds the error: `aae cluster status` shows every node).
   */
  refused?: 'throw' | 'report';
}

/** Nodes that do not answer in this long at open are taken as down (a reachable node answers in ms). */
const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

/** What a served node said when the cluster opened: its info, or why it could not be reached. */
export type NodeProbe = { node: string; address: string; info: NodeInfo } | { node: string; address: string; error: AaeError };

/** A cluster some of whose nodes are served elsewhere. */
export class ServedCluster extends Cluster {
  constructor(
    readonly dir: string,
    readonly config: ClusterConfig,
    nodes: ReadonlyMap<string, NodeService>,
    /** What each served node answered when the cluster opened. */
    readonly probes: readonly NodeProbe[],
  ) {
    super(config.spec, nodes);
  }
}

/** The transport cluster.json names, its TLS paths resolved against the cluster directory. */
export function transportOf(dir: string, tls: ClientTls | undefined, served: readonly string[]): Transport {
  if (tls === undefined) {
    throw new AaeError(
      'NET_CONFIG_INVALID',
      `cluster at ${dir} has served nodes (${served.join(', ')}) but its cluster.json has no "tls": give {"ca", "cert", "key"} (PEM files, relative to the directory), or "insecure" for loopback`,
    );
  }
  if (tls === 'insecure') return { kind: 'insecure' };
  return { kind: 'tls', files: { ca: resolve(dir, tls.ca), cert: resolve(dir, tls.cert), key: resolve(dir, tls.key) } };
}

/**
 * Opens the cluster at `dir`: an EmbeddedCluster when every node is served from the directory, else
 * a ServedCluster of LocalNodes and RemoteNodes (see the file comment).
 */
export async function openCluster(dir: string, options: OpenClusterOptions = {}): Promise<Cluster> {
  const config = await readClusterConfig(dir);
  const served = Object.keys(config.addresses);
  if (served.length === 0) return EmbeddedCluster.open(dir, options);
  const { spec } = config;
  const transport = transportOf(dir, config.tls, served);
  const remotes = new Map<string, RemoteNode>();
  for (const name of served) remotes.set(name, new RemoteNode(name, config.addresses[name]!, { ...options.remote, transport }));
  const localNames = spec.nodes.filter((n) => config.addresses[n] === undefined);
  let local = new Map<string, NodeService>();
  try {
    local = await openLocalNodes(dir, spec, localNames, false, options);
    const probes = await probe(config, remotes, options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, options.refused ?? 'throw');
    const handles = new Map<string, NodeService>();
    for (const name of spec.nodes) handles.set(name, local.get(name) ?? remotes.get(name)!);
    const cluster = new ServedCluster(dir, config, handles, probes);
    for (const p of probes) if ('error' in p) cluster.markUnavailable(p.node);
    return cluster;
  } catch (e) {
    for (const n of [...local.values(), ...remotes.values()]) await n.close().catch(() => undefined);
    throw e;
  }
}

/** Asks every served node who it is; refuses one that is not the node cluster.json describes (or, with 'report', marks it so). */
async function probe(config: ClusterConfig, remotes: ReadonlyMap<string, RemoteNode>, timeoutMs: number, refused: 'throw' | 'report'): Promise<NodeProbe[]> {
  const { spec } = config;
  const owners = claim(spec.ringSize, spec.nodes, spec.nVal).owners;
  return Promise.all(
    [...remotes].map(async ([name, node]): Promise<NodeProbe> => {
      try {
        return await probeOne(name, node);
      } catch (e) {
        if (refused === 'report' && (isAaeError(e, 'NET_TLS_MISMATCH') || isAaeError(e, 'CLUSTER_SPEC_INVALID') || isAaeError(e, 'NODE_CONTRACT_MISMATCH'))) return { node: name, address: node.address, error: e };
        throw e;
      }
    }),
  );

  async function probeOne(name: string, node: RemoteNode): Promise<NodeProbe> {
    const address = node.address;
    let info: NodeInfo;
    try {
      info = await askInfo(node, timeoutMs);
    } catch (e) {
      // Down: routed around. A transport that does not fit (NET_TLS_MISMATCH) is thrown, like a
      // node that is not the one cluster.json describes: a configuration to fix, not a node to wait for.
      if (isAaeError(e, 'NODE_UNAVAILABLE')) return { node: name, address, error: e };
      if (isAaeError(e, 'TIMEOUT') || isAaeError(e, 'ABORTED')) {
        // Out of time, perhaps while the channel retried a connection that cannot work: say why if a fresh attempt can.
        const why = await node.diagnose(e.message, e);
        if (why.code === 'NET_TLS_MISMATCH') throw why;
        const reason = why.details?.['reason'];
        if (reason !== 'connects' && reason !== 'no-answer') return { node: name, address, error: why };
        return { node: name, address, error: new AaeError('NODE_UNAVAILABLE', `node ${name} (${address}) did not answer within ${timeoutMs} ms`, { cause: e, details: { node: name, address, reason: 'no-answer' } }) };
      }
      throw e;
    }
    if (info.contract.major !== PROTOCOL.major) {
      throw new AaeError('NODE_CONTRACT_MISMATCH', `node ${name} (${address}) speaks node contract ${info.contract.major}.${info.contract.minor}; this build speaks ${PROTOCOL.major}.${PROTOCOL.minor}`, { details: { node: name, address } });
    }
    const expected = owners.flatMap((o, v) => (o === name ? [v] : []));
    const wrong: string[] = [];
    if (info.name !== name) wrong.push(`it is node '${info.name}'`);
    if (info.cluster !== spec.name) wrong.push(`it belongs to cluster '${info.cluster}'`);
    const p = info.params;
    if (p.ringSize !== spec.ringSize || p.nVal !== spec.nVal || p.treeSize !== spec.treeSize || p.hashMethod !== spec.hashMethod || p.seed !== spec.seed) {
      wrong.push(`its ring is ${p.ringSize}/nVal ${p.nVal}/${p.treeSize}/${p.hashMethod}/seed ${p.seed}, where cluster.json says ${spec.ringSize}/nVal ${spec.nVal}/${spec.treeSize}/${spec.hashMethod}/seed ${spec.seed}`);
    } else if (info.vnodes.join(',') !== expected.join(',')) wrong.push(`it holds vnodes ${info.vnodes.join(',')}, not ${expected.join(',')}`);
    if (wrong.length > 0) {
      throw new AaeError('CLUSTER_SPEC_INVALID', `cluster.json of ${spec.name} says node ${name} is at ${address}, but ${wrong.join('; ')}`, { details: { node: name, address } });
    }
    return { node: name, address, info };
  }
}

/**
 * Creates a cluster directory: cluster.json (with the served nodes' addresses and the TLS settings)
 * and a LevelDB store for each node served from this directory, so that a crash leaves a whole
 * cluster or none (src/store/create-cluster.ts). Returns nothing open.
 */
export async function createCluster(dir: string, config: ClusterConfig): Promise<void> {
  const served = Object.keys(config.addresses);
  if (served.length > 0) transportOf(dir, config.tls, served);
  await createClusterDir(dir, config, async (at, spec, local) => {
    const nodes = await openLocalNodes(at, spec, local, true);
    for (const n of nodes.values()) await n.close();
  });
}
