/**
 * Which copy of a cluster a directory reaches (src/cluster/copy-id.ts says why a sync asks).
 *
 * A cluster whose nodes are all served from its directory is its directory's `cluster.id`. A
 * cluster with served nodes is named by its nodes: each is asked who it is (one Info call, as an
 * open asks) and answers with the id of the directory it is served from, so two client
 * directories on two machines that point at the same nodes name the same copy. A node served from
 * this directory (a mixed cluster) is this directory's id. A node that does not answer, answers
 * for another node or cluster, or is of a version that does not say (contract minor < 2), is
 * unknown: `?` in the id, which matches any id (copy-id.ts), and is named in `unknown` with why.
 */
import { clusterIdentity, formatCopies, readClusterConfig } from '../cluster/index.js';
import { messageOf } from '../errors.js';
import type { Cluster } from '../coordinator/index.js';
import { ServedCluster, transportOf } from './open-cluster.js';
import { askInfo } from './ask-info.js';
import { RemoteNode } from './remote-node.js';

export interface ClusterCopy {
  id: string;
  /** The nodes whose ids are unknown, each with why. */
  unknown: Array<{ node: string; why: string }>;
}

/** A node that does not answer in this long is taken as unknown (a reachable node answers in ms). */
const DEFAULT_TIMEOUT_MS = 5_000;

export async function clusterCopy(dir: string, options: { timeoutMs?: number } = {}): Promise<ClusterCopy> {
  const config = await readClusterConfig(dir);
  const served = Object.keys(config.addresses);
  if (served.length === 0) return { id: await clusterIdentity(dir), unknown: [] };
  const { spec } = config;
  const transport = transportOf(dir, config.tls, served);
  const unknown: ClusterCopy['unknown'] = [];
  const own = spec.nodes.some((n) => config.addresses[n] === undefined) ? await clusterIdentity(dir) : null;
  const ids = await Promise.all(
    spec.nodes.map(async (name): Promise<readonly [string, string | null]> => {
      const address = config.addresses[name];
      if (address === undefined) return [name, own];
      const node = new RemoteNode(name, address, { transport });
      try {
        const info = await askInfo(node, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
        if (info.name !== name || info.cluster !== spec.name) {
          unknown.push({ node: name, why: `${address} answers as node '${info.name}' of '${info.cluster}'` });
          return [name, null];
        }
        if (info.copy === undefined) unknown.push({ node: name, why: `${address} runs ${info.software}, which does not say (node contract ${info.contract.major}.${info.contract.minor})` });
        return [name, info.copy ?? null];
      } catch (e) {
        unknown.push({ node: name, why: messageOf(e) });
        return [name, null];
      } finally {
        await node.close().catch(() => undefined);
      }
    }),
  );
  return { id: formatCopies(ids), unknown };
}

/**
 * The copy an open cluster reaches, from what its served nodes answered when it opened (no call):
 * a sync asks at every check, so a node served from another directory since the last one (a
 * rebuilt DR node) is noticed before its watermark is trusted again. `dir` is the cluster's own.
 */
export async function openClusterCopy(cluster: Cluster, dir: string): Promise<string> {
  if (!(cluster instanceof ServedCluster)) return clusterIdentity(dir);
  const answered = new Map(cluster.probes.map((p) => [p.node, 'info' in p ? (p.info.copy ?? null) : null]));
  const own = cluster.spec.nodes.some((n) => !answered.has(n)) ? await clusterIdentity(dir) : null;
  return formatCopies(cluster.spec.nodes.map((n) => [n, answered.has(n) ? answered.get(n)! : own]));
}
