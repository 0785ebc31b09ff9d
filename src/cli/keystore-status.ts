import type { Cluster } from '../coordinator/index.js';
import type { KeystoreNodeStatus } from '../node/index.js';

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
    for (const name of c.spec.nodes) {
      const ks = (await c.node(name).info()).keystore;
      if (ks !== undefined) out.push({ cluster: c.spec.name, node: name, ...ks });
    }
  }
  return out;
}

/** One line a keystore: whether it can be trusted, its position and its lag (a difference younger than the lag is not yet one). */
export function keystoreLine(s: NodeKeystoreStatus): string {
  const lag = s.lag === null ? 'lag unknown' : `lag ${s.lag.bytes} B / ${s.lag.seconds.toFixed(1)} s (at ${new Date(s.lag.at).toISOString()})`;
  const state = s.reliable ? 'reliable' : `UNRELIABLE: ${s.reason ?? 'unknown'}`;
  return `keystore ${s.cluster}: ${state}; position ${s.position ?? '(none)'}; ${lag}${s.following ? '; following' : ''}`;
}
