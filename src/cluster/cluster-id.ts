/**
 * A cluster's identity: a random id in `<dir>/cluster.id`, made the first time anyone asks. The
 * name in `cluster.json` says what a cluster is for; the id says which copy it is. A DR cluster
 * rebuilt under the same name and directory gets a new id, so a sync's state, whose watermark
 * vouches for the data of the cluster it was written against, is not carried over to it.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AaeError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';

export const CLUSTER_ID_FILE = 'cluster.id';
const ID = /^[0-9a-f]{32}$/;

/** The cluster's id, creating it (atomically) if the directory has none yet. */
export async function clusterIdentity(dir: string): Promise<string> {
  const file = join(dir, CLUSTER_ID_FILE);
  const existing = await readFile(file, 'utf8').then(
    (t) => t.trim(),
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw new AaeError('STORE_IO', `cannot read ${file}`, { cause: e });
    },
  );
  if (existing !== undefined) {
    if (!ID.test(existing)) throw new AaeError('CLUSTER_SPEC_INVALID', `${file} is not a cluster id (32 hex digits); remove it to make a new one`);
    return existing;
  }
  const id = randomBytes(16).toString('hex');
  try {
    await writeFileAtomic(file, `${id}\n`);
  } catch (e) {
    throw new AaeError('STORE_IO', `cannot write ${file}`, { cause: e });
  }
  return id;
}
