import { access, mkdir, rename, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CLUSTER_SPEC_FILE, isClusterName } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { KeystoreStore, KEYSTORE_NODE } from './keystore-store.js';
import { initialState, readState, writeState, type KeystoreState } from './keystore-state.js';
import { readSourceSpec, SOURCE_SPEC_FILE, writeSourceSpec, type SourceSpec } from './source-spec.js';

/**
 * A keystore directory, "like a cluster's" (docs/CONNECT.md):
 *
 *   cluster.json   an embedded cluster of one node, ring 8, nVal 1, hash method value
 *   n1/            that node's LevelDB: the heads, the trees, the checkpoint
 *   source.json    the source spec (source-spec.ts)
 *   state.json     the feed's state (keystore-state.ts)
 *   rebuild/       while a rebuild runs: a complete cluster directory, swapped in when done
 *
 * A swap replaces n1/ by rebuild/n1/ with two renames; state.json says `swapping` first, so an
 * open after a crash finishes it (each step checks what is already done).
 */

export const REBUILD_DIR = 'rebuild';

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** Refuses a directory that already holds a cluster or a keystore (KEYSTORE_EXISTS). */
export async function checkKeystoreFree(dir: string): Promise<void> {
  for (const f of [CLUSTER_SPEC_FILE, SOURCE_SPEC_FILE]) {
    if (await exists(join(dir, f))) throw new AaeError('KEYSTORE_EXISTS', `${dir} already holds a cluster or keystore (${f})`);
  }
}

/**
 * The keystore's cluster name (cluster.json's `name`): `name`, else the directory's basename. It
 * is what compare, status and sync call the keystore, and what `sync --lock` elects one runner
 * by, so keystores of the same tables on several machines need the same name wherever their
 * directories are. Refused (CONNECT_SPEC_INVALID, field `name`) unless cluster.json can hold it;
 * each connect asks before it touches the source or the disk.
 */
export function keystoreNameOf(dir: string, name?: string): string {
  const chosen = name ?? basename(resolve(dir));
  if (chosen.trim() === '' || !isClusterName(chosen)) {
    throw new AaeError('CONNECT_SPEC_INVALID', `name: the keystore's cluster name must be non-empty, well-formed text without NUL characters, got ${JSON.stringify(chosen)}`, { details: { fields: ['name'] } });
  }
  return chosen;
}

/** Makes a keystore directory named `name` (nothing is read from the source here: aae connect checks it first). */
export async function createKeystore(dir: string, spec: SourceSpec, options: { name?: string } = {}): Promise<void> {
  const name = keystoreNameOf(dir, options.name);
  await checkKeystoreFree(dir);
  await mkdir(dir, { recursive: true }).catch((e: unknown) => {
    throw new AaeError('STORE_IO', `cannot create ${dir}: ${(e as Error).message}`, { cause: e });
  });
  const store = await KeystoreStore.create(dir, name, spec.bucket);
  await store.close();
  await writeState(dir, initialState());
  await writeSourceSpec(dir, spec); // last: a directory with source.json is a whole keystore
}

/** Whether `dir` is a keystore (it has a source spec). */
export async function isKeystore(dir: string): Promise<boolean> {
  return exists(join(dir, SOURCE_SPEC_FILE));
}

/** Finishes a swap a crash interrupted (a no-op unless state.json says `swapping`). */
export async function finishSwap(dir: string, state: KeystoreState): Promise<KeystoreState> {
  if (state.phase !== 'swapping') return state;
  const live = join(dir, KEYSTORE_NODE);
  const built = join(dir, REBUILD_DIR, KEYSTORE_NODE);
  const old = join(dir, `${KEYSTORE_NODE}.old`);
  if (await exists(built)) {
    await rm(old, { recursive: true, force: true });
    if (await exists(live)) await rename(live, old);
    await rename(built, live);
  }
  await rm(old, { recursive: true, force: true });
  await rm(join(dir, REBUILD_DIR), { recursive: true, force: true });
  const next: KeystoreState = { ...state, phase: 'ready', subscription: state.pending, pending: null };
  await writeState(dir, next);
  return next;
}

export interface OpenKeystore {
  dir: string;
  spec: SourceSpec;
  state: KeystoreState;
  store: KeystoreStore;
}

/** Opens a keystore for its follower: its spec and state (a swap finished), and its store. */
export async function openKeystore(dir: string): Promise<OpenKeystore> {
  const spec = await readSourceSpec(dir);
  const state = await finishSwap(dir, await readState(dir));
  const store = await KeystoreStore.open(dir, spec.bucket);
  return { dir, spec, state, store };
}

/** A keystore's reliability and lag, for every answer that reads it (compare, status). */
export interface KeystoreStatus {
  dir: string;
  reliable: boolean;
  reason: string | null;
  phase: KeystoreState['phase'];
  position: string | null;
  lag: KeystoreState['lag'];
  followedAt: number | null;
  builtAt: number | null;
  nextRebuildAt: number | null;
  rebuilds: number;
  /** Its follower cannot reach the source (reconnecting): since when and why; null while it can. */
  unreachable: { reason: string; since: number } | null;
}

export async function keystoreStatus(dir: string): Promise<KeystoreStatus> {
  const s = await readState(dir);
  return {
    dir,
    reliable: s.reliable,
    reason: s.unreliable?.reason ?? null,
    phase: s.phase,
    position: s.position,
    lag: s.lag,
    followedAt: s.followedAt,
    builtAt: s.builtAt,
    nextRebuildAt: s.nextRebuildAt,
    rebuilds: s.rebuilds,
    unreachable: s.unreachable ?? null,
  };
}
