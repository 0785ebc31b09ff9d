import type { KeystoreStatus } from '../connect/index.js';
import type { Cluster } from '../coordinator/index.js';
import { erasesDeletes } from '../aae/index.js';
import { isAaeError } from '../errors.js';
import { ServedCluster } from '../net/index.js';
import type { KeystoreNodeStatus } from '../node/index.js';
import type { SideNames } from './render-summary.js';

/**
 * What the nodes of some clusters say of themselves as keystores (NodeInfo.keystore, contract
 * minor 1): any node may be one, in this process or behind a socket, so commands ask the nodes
 * rather than read a keystore's files.
 */
export interface NodeKeystoreStatus extends KeystoreNodeStatus {
  cluster: string;
  node: string;
}

export async function keystoreStatuses(clusters: readonly Cluster[]): Promise<NodeKeystoreStatus[]> {
  const out: NodeKeystoreStatus[] = [];
  for (const c of clusters) {
    // A served node's info as it answered when the cluster opened: no extra round trip per command.
    const probed = c instanceof ServedCluster ? new Map(c.probes.map((p) => [p.node, 'info' in p ? p.info : undefined])) : undefined;
    for (const name of c.spec.nodes) {
      if (probed?.has(name) === true) {
        const ks = probed.get(name)?.keystore;
        if (ks !== undefined) out.push({ cluster: c.spec.name, node: name, ...ks });
        continue;
      }
      // A node that cannot be reached says nothing here: the command routes around it (or fails
      // naming it) as it would without this look.
      const info = await c.node(name).info().catch((e: unknown) => {
        if (isAaeError(e, 'NODE_UNAVAILABLE') || isAaeError(e, 'TIMEOUT')) return undefined;
        throw e;
      });
      const ks = info?.keystore;
      if (ks !== undefined) out.push({ cluster: c.spec.name, node: name, ...ks });
    }
  }
  return out;
}

/** Whether a keystore can be trusted, its position and its lag: the part every keystore line shares. */
function trustAndLag(s: Pick<KeystoreStatus, 'reliable' | 'reason' | 'position' | 'lag'>): string {
  const lag = s.lag === null ? 'lag unknown' : `lag ${s.lag.bytes} B / ${s.lag.seconds.toFixed(1)} s (at ${new Date(s.lag.at).toISOString()})`;
  const state = s.reliable ? 'reliable' : `UNRELIABLE: ${s.reason ?? 'unknown'}`;
  return `${state}; position ${s.position ?? '(none)'}; ${lag}`;
}

/** One line a keystore node: whether it can be trusted, its position and its lag (a difference younger than the lag is not yet one). */
export function keystoreLine(s: NodeKeystoreStatus): string {
  return `keystore ${s.cluster}: ${trustAndLag(s)}${unreachableText(s.unreachable)}${s.following ? '; following' : ''}`;
}

/** One line a keystore directory's saved state (aae follow --status): trust, position, lag, phase and rebuilds. */
export function statusLine(s: KeystoreStatus): string {
  return `keystore ${s.dir}: ${trustAndLag(s)}${unreachableText(s.unreachable ?? undefined)}; phase ${s.phase}; rebuilds ${s.rebuilds}` + (s.nextRebuildAt === null ? '' : `; next rebuild ${new Date(s.nextRebuildAt).toISOString()}`);
}

function unreachableText(u: { reason: string; since: number } | undefined): string {
  return u === undefined ? '' : `; SOURCE UNREACHABLE since ${new Date(u.since).toISOString()} (reconnecting: ${u.reason})`;
}

/**
 * Two clusters' names as results show them, with whether each erases deletes: a key absent from
 * a keystore (which keeps no tombstone) may have been deleted there, and the listing says so.
 */
export async function sideNames(source: Cluster, sink: Cluster): Promise<SideNames> {
  const erases = (c: Cluster): Promise<boolean> => erasesDeletes(c).catch(() => false);
  return { source: source.spec.name, sink: sink.spec.name, erases: { source: await erases(source), sink: await erases(sink) } };
}
