import { resolve } from 'node:path';
import { isKeystore, KeystoreCluster, type FollowLog } from '../connect/index.js';
import { EmbeddedCluster, type Cluster } from '../coordinator/index.js';
import { AaeError } from '../errors.js';
import type { AnyFoldModule } from '../fold/index.js';

/**
 * How a command opens a cluster directory: an embedded cluster, or a keystore (a directory with
 * `source.json`), whose one node is a KeystoreNode (src/connect/keystore-node.ts).
 *
 * - `keystores: 'off'` (compare, inspect, fold): the keystore as it stands; nothing connects to
 *   its database.
 * - `keystores: 'follow'` (repair, sync): the keystore first catches up with its database (or is
 *   built, if it never was), then follows it in this process while the command runs, so that the
 *   repair's writes into the database are read back before its next exchange.
 */
export interface OpenClusterOptions {
  keystores?: 'off' | 'follow';
  /** Fold modules the nodes may run beyond the built-ins. */
  modules?: readonly AnyFoldModule[];
  /** A keystore feed's log lines (CN001…). */
  log?: (line: FollowLog) => void;
  signal?: AbortSignal;
}

export async function openClusterDir(dir: string, options: OpenClusterOptions = {}): Promise<Cluster> {
  const modules = options.modules === undefined || options.modules.length === 0 ? {} : { modules: options.modules };
  if (await isKeystore(dir)) {
    return KeystoreCluster.open(dir, {
      source: options.keystores ?? 'off',
      ...modules,
      ...(options.log === undefined ? {} : { log: options.log }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }
  return EmbeddedCluster.open(dir, modules);
}

/** Opens the cluster at `dir`, runs `fn`, and always closes it (saving trees), even when `fn` throws. */
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
    for (const d of dirs) open.push(await openClusterDir(d, options));
    return await fn(open);
  } finally {
    for (const c of open) await c.close();
  }
}

/** Whether any of the directories is a keystore (its repairs default to one-way, source wins). */
export async function anyKeystore(dirs: readonly string[]): Promise<boolean> {
  for (const d of dirs) if (await isKeystore(d)) return true;
  return false;
}
