import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isKeystore, KeystoreCluster, type FollowLog } from '../connect/index.js';
import { EmbeddedCluster, type Cluster } from '../coordinator/index.js';
import { AaeError } from '../errors.js';
import { LocalNode } from '../local/index.js';
import { openCluster, type OpenClusterOptions as NetOpenOptions } from '../net/index.js';
import { recoveryLine, type NodeDb } from '../store/index.js';
import type { OutStream } from './io.js';

/**
 * How a command opens a cluster directory: a cluster (its nodes local, served, or a mix; src/net),
 * or a keystore (a directory with `source.json`), whose one node is a KeystoreNode
 * (src/connect/keystore-node.ts).
 *
 * - `keystores: 'off'` (compare, inspect, fold): the keystore as it stands; nothing connects to
 *   its database.
 * - `keystores: 'follow'` (repair, sync): the keystore first catches up with its database (or is
 *   built, if it never was), then follows it in this process while the command runs, so that the
 *   repair's writes into the database are read back before its next exchange.
 */
export interface OpenClusterOptions extends NetOpenOptions {
  keystores?: 'off' | 'follow';
  /** A keystore feed's log lines (CN001…). */
  log?: (line: FollowLog) => void;
  signal?: AbortSignal;
}

export async function openClusterDir(dir: string, options: OpenClusterOptions = {}): Promise<Cluster> {
  const { keystores, log, signal, ...net } = options;
  if (await isKeystore(dir)) {
    const modules = options.modules === undefined || options.modules.length === 0 ? {} : { modules: options.modules };
    return KeystoreCluster.open(dir, {
      source: keystores ?? 'off',
      ...modules,
      ...(log === undefined ? {} : { log }),
      ...(signal === undefined ? {} : { signal }),
    });
  }
  return openCluster(dir, net);
}

/**
 * Opens the cluster at `dir`, runs `fn`, and always closes it (saving trees), even when `fn`
 * throws. With `stderr`, a local node whose LevelDB dropped damaged records as it opened is
 * reported (TR003).
 */
export function withCluster<T>(dir: string, fn: (cluster: Cluster) => Promise<T>, stderr?: OutStream, options: OpenClusterOptions = {}): Promise<T> {
  return withClusters([dir], ([cluster]) => fn(cluster!), stderr, options);
}

/** Opens one or two clusters (source, then sink), runs `fn`, and closes all of them. */
export async function withClusters<T>(dirs: readonly string[], fn: (clusters: Cluster[]) => Promise<T>, stderr?: OutStream, options: OpenClusterOptions = {}): Promise<T> {
  // By real path: a link to the source is the same cluster, and its stores would be opened twice
  // in this process (LevelDB's lock is per process, so nothing else would refuse it).
  if (dirs.length === 2 && (await realOrResolved(dirs[0]!)) === (await realOrResolved(dirs[1]!))) {
    throw new AaeError('USAGE', `source and sink are the same cluster (${dirs[0]} and ${dirs[1]}); give one directory to compare its replicas`);
  }
  const open: Cluster[] = [];
  try {
    for (const d of dirs) {
      const c = await openClusterDir(d, options);
      open.push(c);
      if (stderr !== undefined) warnRecovered(c, stderr);
    }
    return await fn(open);
  } finally {
    for (const c of open) await c.close();
  }
}

/** The path with links resolved; a path that does not exist as given (opening it then says why). */
function realOrResolved(dir: string): Promise<string> {
  return realpath(dir).catch(() => resolve(dir));
}

/** Whether any of the directories is a keystore (its repairs default to one-way, source wins). */
export async function anyKeystore(dirs: readonly string[]): Promise<boolean> {
  for (const d of dirs) if (await isKeystore(d)) return true;
  return false;
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
