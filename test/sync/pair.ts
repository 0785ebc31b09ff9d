import { join } from 'node:path';
import type { EmbeddedCluster } from '../../src/coordinator/index.js';
import { openCluster } from '../support/clusters.js';

/**
 * The two clusters sync tests use, `dc1` and `dr1` under one directory, opened for a check and
 * closed after it, as `aae sync` does (an embedded cluster is one process's at a time).
 */
export async function openPair(dir: string): Promise<{ source: EmbeddedCluster; sink: EmbeddedCluster; close(): Promise<void> }> {
  const source = await openCluster(join(dir, 'dc1'));
  const sink = await openCluster(join(dir, 'dr1')).catch(async (e: unknown) => {
    await source.close();
    throw e;
  });
  return { source, sink, close: async () => (await source.close(), await sink.close()) };
}

/** Opens one of the two, runs `fn`, closes it. */
export async function withOne<T>(dir: string, cluster: 'dc1' | 'dr1', fn: (c: EmbeddedCluster) => Promise<T>): Promise<T> {
  const c = await openCluster(join(dir, cluster));
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** The value of b/key on one of the two, as text (null when missing). */
export function readValue(dir: string, cluster: 'dc1' | 'dr1', key: string): Promise<string | null> {
  return withOne(dir, cluster, async (c) => {
    const o = await c.get('b', key);
    return o === null ? null : Buffer.from(o.value).toString();
  });
}
