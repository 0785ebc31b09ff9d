import { resolve } from 'node:path';
import { AaeError } from '../errors.js';
import { EmbeddedCluster } from '../coordinator/index.js';
import { recoveryLine } from '../store/index.js';
import type { OutStream } from './io.js';

/**
 * Opens the cluster at `dir`, runs `fn`, and always closes it (saving trees), even when `fn` throws.
 * With `stderr`, a node whose LevelDB dropped damaged records as it opened is reported (TR003).
 */
export function withCluster<T>(dir: string, fn: (cluster: EmbeddedCluster) => Promise<T>, stderr?: OutStream): Promise<T> {
  return withClusters([dir], ([cluster]) => fn(cluster!), stderr);
}

/** Opens one or two clusters (source, then sink), runs `fn`, and closes all of them. */
export async function withClusters<T>(dirs: readonly string[], fn: (clusters: EmbeddedCluster[]) => Promise<T>, stderr?: OutStream): Promise<T> {
  if (dirs.length === 2 && resolve(dirs[0]!) === resolve(dirs[1]!)) {
    throw new AaeError('USAGE', 'source and sink are the same cluster; give one directory to compare its replicas');
  }
  const open: EmbeddedCluster[] = [];
  try {
    for (const d of dirs) {
      const c = await EmbeddedCluster.open(d);
      open.push(c);
      if (stderr !== undefined) warnRecovered(c, stderr);
    }
    return await fn(open);
  } finally {
    for (const c of open) await c.close();
  }
}

/** TR003 for each node of `cluster` whose LevelDB recovered with less than it had (NodeDb.recoveryLoss). */
export function warnRecovered(cluster: EmbeddedCluster, stderr: OutStream): void {
  for (const node of cluster.spec.nodes) {
    const loss = cluster.nodeDb(node).recoveryLoss;
    if (loss === undefined) continue;
    const line = recoveryLine(node, cluster.spec.name, loss);
    stderr.write(`warning: ${line.code} ${line.message}\n`);
  }
}
