import { resolve } from 'node:path';
import { EmbeddedCluster, type Cluster } from '../coordinator/index.js';
import { AaeError } from '../errors.js';
import { LocalNode } from '../local/index.js';
import { openCluster, type OpenClusterOptions } from '../net/index.js';
import { recoveryLine, type NodeDb } from '../store/index.js';
import type { OutStream } from './io.js';

/**
 * Opens the cluster at `dir` (its nodes local, served, or a mix), runs `fn`, and always closes it
 * (saving trees), even when `fn` throws. With `stderr`, a local node whose LevelDB dropped damaged
 * records as it opened is reported (TR003).
 */
export function withCluster<T>(dir: string, fn: (cluster: Cluster) => Promise<T>, stderr?: OutStream, options: OpenClusterOptions = {}): Promise<T> {
  return withClusters([dir], ([cluster]) => fn(cluster!), stderr, options);
}

/** Opens one or two clusters (source, then sink), runs `fn`, and closes all of them. */
export async function withClusters<T>(dirs: readonly string[], fn: (clusters: Cluster[]) => Promise<T>, stderr?: OutStream, options: OpenClusterOptions = {}): Promise<T> {
  if (dirs.length === 2 && resolve(dirs[0]!) === resolve(dirs[1]!)) {
    throw new AaeError('USAGE', 'source and sink are the same cluster; give one directory to compare its replicas');
  }
  const open: Cluster[] = [];
  try {
    for (const d of dirs) {
      const c = await openCluster(d, options);
      open.push(c);
      if (stderr !== undefined) warnRecovered(c, stderr);
    }
    return await fn(open);
  } finally {
    for (const c of open) await c.close();
  }
}

/** TR003 for each local node of `cluster` whose LevelDB recovered with less than it had (NodeDb.recoveryLoss). */
export function warnRecovered(cluster: Cluster, stderr: OutStream): void {
  for (const node of cluster.spec.nodes) {
    const db = localDb(cluster, node);
    const loss = db?.recoveryLoss;
    if (loss === undefined) continue;
    const line = recoveryLine(node, cluster.spec.name, loss);
    stderr.write(`warning: ${line.code} ${line.message}\n`);
  }
}

/** A node's LevelDB when the node is in this process (a served node's is on its own machine). */
function localDb(cluster: Cluster, node: string): NodeDb | undefined {
  if (cluster instanceof EmbeddedCluster) return cluster.nodeDb(node);
  const handle = cluster.node(node);
  return handle instanceof LocalNode ? handle.db : undefined;
}
