import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { readClusterConfig } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { PluginHost } from '../plugin/index.js';
import type { LogSink } from '../net/index.js';

/**
 * Where a command finds plugins: `--plugins DIR` (relative to the working directory), else the
 * cluster.json's "plugins" (relative to the cluster directory); undefined when neither names one.
 * A named directory that does not exist is a usage error.
 */
export async function pluginDirOf(clusterDir: string, flag: string | undefined): Promise<string | undefined> {
  let dir: string | undefined;
  let from: string;
  if (flag !== undefined) {
    dir = resolve(flag);
    from = '--plugins';
  } else {
    const config = await readClusterConfig(clusterDir);
    if (config.plugins === undefined) return undefined;
    dir = resolve(clusterDir, config.plugins);
    from = `cluster.json's "plugins"`;
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new AaeError('USAGE', `${from} names ${dir}, which is not a directory`);
  return dir;
}

/**
 * A plugin host for the nodes a command opens in its own process (a cluster served from this
 * directory): they run plugins in workers exactly as a served node does. No watching: a command is
 * short. Undefined without a plugin directory.
 */
export async function commandPluginHost(dir: string | undefined, log?: LogSink): Promise<PluginHost | undefined> {
  if (dir === undefined) return undefined;
  return PluginHost.start({ dir, watch: false, pollMs: 0, ...(log === undefined ? {} : { log }) });
}

/** Whether the cluster at `dir` has nodes served from the directory itself (opened in this process). */
export async function hasLocalNodes(dir: string): Promise<boolean> {
  const config = await readClusterConfig(dir);
  return config.spec.nodes.some((n) => config.addresses[n] === undefined);
}
