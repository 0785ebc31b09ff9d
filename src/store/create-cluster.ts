/**
 * Creating a cluster's directory so that a crash never leaves one that can be neither opened nor
 * created again.
 *
 * A cluster is `cluster.json` plus one LevelDB folder per node served from this directory (a
 * cluster whose nodes are served elsewhere lists their addresses and has no folder for them); 64
 * nodes take a couple of seconds
 * to create. Written in place, `cluster.json` first (as it once was), a kill in between left a spec
 * whose nodes were missing: `open` failed (a node has no store) and `create` refused
 * (CLUSTER_EXISTS). Now `cluster.json` is the commit point, written last, and:
 *
 * - When the directory does not exist or is empty (the usual case), the whole cluster is built
 *   beside it, in `.<name>.creating-<pid>-<random>` in the same parent, and renamed into place once
 *   complete. A crash leaves no `<dir>` at all (or the empty one there was); the next create of
 *   the same directory removes the leftovers of creates whose process is gone.
 * - When the directory already holds something (node folders from an earlier attempt, or files of
 *   the user's), the node stores are made in place and `cluster.json` written last. A crash leaves
 *   node folders without a spec: `open` says CLUSTER_NOT_FOUND, and `create` again adopts the
 *   folders (their ring stamps are checked, or taken over while they hold no object).
 *
 * Directories made here are owner-only (0700): they hold the data.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CLUSTER_SPEC_FILE, parseClusterConfig, clusterConfigJson, writeClusterConfig, type ClusterConfig, type ClusterSpec } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { processAlive } from '../process-alive.js';

/**
 * Creates the stores of `local` (the nodes of `spec` served from this directory) at `at`, opened
 * with create and their ring stamps written, and closes them.
 */
export type BuildNodes = (at: string, spec: ClusterSpec, local: readonly string[]) => Promise<void>;

const STAGING = /^\.(.+)\.creating-(\d+)-[0-9a-f]+$/;

/** Makes the cluster directory `dir` for `config` (see above); the caller opens it afterwards. */
export async function createClusterDir(dir: string, config: ClusterConfig, build: BuildNodes): Promise<void> {
  const valid = parseClusterConfig(clusterConfigJson(config), 'cluster spec');
  const target = resolve(dir);
  const entries = await listDir(target);
  if (entries?.includes(CLUSTER_SPEC_FILE)) throw new AaeError('CLUSTER_EXISTS', `a cluster already exists at ${dir}`);
  const parent = dirname(target);
  await refuseNodeStore(target, entries, dir);
  await ensureDir(parent, dir);
  await removeAbandoned(parent, basename(target));
  if (entries === undefined || entries.length === 0) await buildBeside(target, valid, build, dir);
  else await buildInPlace(target, valid, build, dir);
}

/**
 * A cluster made in a node's store folder (a slip of the path: `dc1/n1` for `dc1`) would mix a
 * second cluster's files into a LevelDB store's: refused, naming the cluster around it when there
 * is one. (A new folder beside a cluster's nodes is allowed: a keystore builds its next store so.)
 */
async function refuseNodeStore(target: string, entries: readonly string[] | undefined, dir: string): Promise<void> {
  if (entries?.includes('CURRENT') !== true || !entries.some((e) => e.startsWith('MANIFEST-'))) return;
  const parent = dirname(target);
  const around = (await listDir(parent))?.includes(CLUSTER_SPEC_FILE) === true ? ` of the cluster at ${parent}` : '';
  throw new AaeError('CLUSTER_EXISTS', `${dir} holds a LevelDB store (a node${around}): a cluster is made in a directory of its own`, { details: { dir, found: 'store' } });
}

function localNodes(config: ClusterConfig): string[] {
  return config.spec.nodes.filter((node) => config.addresses[node] === undefined);
}

async function buildBeside(target: string, config: ClusterConfig, build: BuildNodes, dir: string): Promise<void> {
  const stage = join(dirname(target), `.${basename(target)}.creating-${process.pid}-${randomBytes(4).toString('hex')}`);
  await makeDir(stage, { mode: 0o700 }, dir);
  try {
    const local = localNodes(config);
    await build(stage, config.spec, local);
    await ownerOnly(local.map((node) => join(stage, node)), dir);
    await writeClusterConfig(stage, config);
    try {
      // Replaces an empty directory there; fails if one with content appeared meanwhile.
      await rename(stage, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new AaeError('CLUSTER_EXISTS', `${dir} was filled while the cluster was being created`, { cause: e });
      throw new AaeError('STORE_IO', `cannot move the new cluster into ${dir}: ${(e as Error).message}`, { cause: e });
    }
  } catch (e) {
    await rm(stage, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  await syncDir(dirname(target));
}

async function buildInPlace(target: string, config: ClusterConfig, build: BuildNodes, dir: string): Promise<void> {
  // The build removes the node folders it made if it fails; those it made are owner-only.
  const local = localNodes(config);
  const made: string[] = [];
  for (const node of local) if ((await listDir(join(target, node))) === undefined) made.push(join(target, node));
  await build(target, config.spec, local);
  await ownerOnly(made, dir);
  await writeClusterConfig(target, config);
}

/**
 * Node folders are made by LevelDB (so that opening them knows they are new) with the umask's
 * mode; they hold the data, so they are made owner-only once made.
 */
async function ownerOnly(paths: readonly string[], dir: string): Promise<void> {
  try {
    for (const p of paths) await chmod(p, 0o700);
  } catch (e) {
    throw new AaeError('STORE_IO', `cannot restrict ${dir} to its owner: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Removes the staging directories of earlier creates of this directory whose process is gone
 * (killed mid-create). One of a live process is left alone: that create may still finish.
 */
async function removeAbandoned(parent: string, name: string): Promise<void> {
  for (const entry of (await listDir(parent)) ?? []) {
    const m = STAGING.exec(entry);
    if (m === null || m[1] !== name || processAlive(Number(m[2]))) continue;
    await rm(join(parent, entry), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The names in a directory; undefined when it does not exist. */
async function listDir(path: string): Promise<string[] | undefined> {
  try {
    return await readdir(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw new AaeError('STORE_IO', `cannot create a cluster at ${path}: it is a file`, { cause: e });
    throw new AaeError('STORE_IO', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

async function makeDir(path: string, options: { mode: number }, dir: string): Promise<void> {
  try {
    await mkdir(path, options);
  } catch (e) {
    throw new AaeError('STORE_IO', `cannot create ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * mkdir -p, one level at a time. Node's recursive mkdir spins forever on some pseudo file systems
 * (under /proc it answers ENOENT for the child and EEXIST for the parent, and retries); this walks
 * up once and fails with the file system's answer.
 */
async function ensureDir(path: string, dir: string): Promise<void> {
  const walk = async (p: string): Promise<void> => {
    try {
      await mkdir(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return;
      if (code !== 'ENOENT' || dirname(p) === p) throw e;
      await walk(dirname(p));
      await mkdir(p);
    }
  };
  try {
    await walk(path);
  } catch (e) {
    throw new AaeError('STORE_IO', `cannot create ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

/** Makes a rename durable; some platforms cannot fsync a directory, which is not an error. */
async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r').catch(() => undefined);
  try {
    await fh?.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close();
  }
}
