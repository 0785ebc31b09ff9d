/**
 * What to say when a path given as a cluster holds none. "cluster.json is missing" was true of
 * every such path, and so told an operator nothing about which of their mistakes it was: a typo (the
 * path does not exist), a file (often the cluster.json itself), a node's store folder inside a
 * cluster, or some other folder. Each gets CLUSTER_NOT_FOUND, the path, and what was found there.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AaeError } from '../errors.js';

export type NotClusterFound = 'nothing' | 'file' | 'node-folder' | 'folder';

/** `specFile`: the name a cluster's spec has in its directory (cluster.json). */
export async function noClusterError(dir: string, specFile: string, cause: unknown): Promise<AaeError> {
  const st = await stat(dir).catch(() => undefined);
  const parent = dirname(resolve(dir));
  const inCluster = st?.isDirectory() === true && (await stat(join(parent, specFile)).catch(() => undefined))?.isFile() === true;
  const [found, why]: [NotClusterFound, string] =
    st === undefined
      ? ['nothing', `${dir} does not exist`]
      : !st.isDirectory()
        ? ['file', `${dir} is a file, not a cluster directory${basename(dir) === specFile ? ` (give the directory that holds it, ${dirname(dir)})` : ''}`]
        : inCluster
          ? ['node-folder', `${dir} has no ${specFile}: it is a folder inside the cluster at ${parent} (a node's store?); give that directory`]
          : ['folder', `${dir} has no ${specFile} (aae cluster create makes one)`];
  return new AaeError('CLUSTER_NOT_FOUND', `no cluster at ${dir}: ${why}`, { cause, details: { dir, found } });
}
