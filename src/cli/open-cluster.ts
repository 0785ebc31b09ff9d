import { resolve } from 'node:path';
import { AaeError } from '../errors.js';
import { EmbeddedCluster } from '../coordinator/index.js';

/** Opens the cluster at `dir`, runs `fn`, and always closes it (saving trees), even when `fn` throws. */
export function withCluster<T>(dir: string, fn: (cluster: EmbeddedCluster) => Promise<T>): Promise<T> {
  return withClusters([dir], ([cluster]) => fn(cluster!));
}

/** Opens one or two clusters (source, then sink), runs `fn`, and closes all of them. */
export async function withClusters<T>(dirs: readonly string[], fn: (clusters: EmbeddedCluster[]) => Promise<T>): Promise<T> {
  if (dirs.length === 2 && resolve(dirs[0]!) === resolve(dirs[1]!)) {
    throw new AaeError('USAGE', 'source and sink are the same cluster; give one directory to compare its replicas');
  }
  const open: EmbeddedCluster[] = [];
  try {
    for (const d of dirs) open.push(await EmbeddedCluster.open(d));
    return await fn(open);
  } finally {
    for (const c of open) await c.close();
  }
}
