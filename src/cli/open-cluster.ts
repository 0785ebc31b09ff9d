import { EmbeddedCluster } from '../store/index.js';

/** Opens the cluster at `dir`, runs `fn`, and always closes it (saving trees), even when `fn` throws. */
export async function withCluster<T>(dir: string, fn: (cluster: EmbeddedCluster) => Promise<T>): Promise<T> {
  const cluster = await EmbeddedCluster.open(dir);
  try {
    return await fn(cluster);
  } finally {
    await cluster.close();
  }
}
