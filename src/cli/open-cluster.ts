import { resolve } from 'node:path';
import type { Cluster } from '../coordinator/index.js';
import { AaeError } from '../errors.js';
import { openCluster, type OpenClusterOptions } from '../net/index.js';

/** Opens the cluster at `dir` (its nodes local or served), runs `fn`, and always closes it (saving trees), even when `fn` throws. */
export function withCluster<T>(dir: string, fn: (cluster: Cluster) => Promise<T>, options: OpenClusterOptions = {}): Promise<T> {
  return withClusters([dir], ([cluster]) => fn(cluster!), options);
}

/** Opens one or two clusters (source, then sink), runs `fn`, and closes all of them. */
export async function withClusters<T>(dirs: readonly string[], fn: (clusters: Cluster[]) => Promise<T>, options: OpenClusterOptions = {}): Promise<T> {
  if (dirs.length === 2 && resolve(dirs[0]!) === resolve(dirs[1]!)) {
    throw new AaeError('USAGE', 'source and sink are the same cluster; give one directory to compare its replicas');
  }
  const open: Cluster[] = [];
  try {
    for (const d of dirs) open.push(await openCluster(d, options));
    return await fn(open);
  } finally {
    for (const c of open) await c.close();
  }
}
