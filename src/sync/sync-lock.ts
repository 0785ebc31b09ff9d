/**
 * One sync at a time per state file. Two syncs of the same pair (a loop and a cron `--once`, or
 * two overlapping crons) would each read the state, run, and write their own over the other's:
 * the later writer wins, and a span one of them left can vanish. So a sync holds `<state>.lock`
 * for as long as it runs.
 *
 * The lock is a directory holding one empty file named `<pid>-<nonce>`: the holder's identity.
 * Every step that changes it is a single atomic file-system operation whose success decides:
 *
 * - Acquire: build a private directory holding our identity and rename it to `<state>.lock`. A
 *   rename onto a directory succeeds only if that directory is missing or empty, so of any number
 *   of racing acquires exactly one succeeds while the lock is held by nobody, and none while it is
 *   held. The identity is in place before the lock exists: there is no moment in which a lock
 *   without an owner can be mistaken for a stale one (the old lock file was created empty, then
 *   written; a racer that read it empty took it over: 14 of 200 races had two holders).
 * - Take over a stale lock (its process is gone: a crash, a kill -9): unlink the dead holder's
 *   file by its name, then remove the empty directory and acquire as above. Unlinking by name is a
 *   compare-and-swap: of several takers only one unlinks that identity, and a lock that has
 *   meanwhile passed to a live holder has another name, which nobody who saw the dead one unlinks.
 * - Release: unlink our own file, then remove the directory if still empty.
 *
 * A pid can be reused by an unrelated process after a reboot; the cost of that mistake is a
 * refused start with a message naming the lock to remove, never two syncs at once. Same-process
 * acquires (tests, a library embedding two loops) are told apart by the nonce and are never stale.
 * A lock file of the older format (a file holding a pid) is still recognised and taken over.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AaeError } from '../errors.js';
import { processAlive } from '../process-alive.js';

export interface SyncLock {
  readonly file: string;
  release(): Promise<void>;
}

/** Rounds of acquire → inspect → take over before giving up (only constant churn gets near it). */
const MAX_ATTEMPTS = 1_000;
const OWNER = /^(\d+)-[0-9a-f]+$/;
/** The prefix of an acquire's private directory, beside the lock: `.aae-lock-<pid>-<nonce>`. */
const PRIVATE = '.aae-lock-';

export async function acquireSyncLock(stateFile: string): Promise<SyncLock> {
  const file = `${stateFile}.lock`;
  const parent = dirname(file);
  try {
    await mkdir(parent, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new AaeError('SYNC_STATE_IO', `cannot create the folder of ${file}`, { cause: e });
  }
  await removeAbandoned(parent);
  const me = `${process.pid}-${randomBytes(8).toString('hex')}`;
  // Named apart from the state (whose name may already be near the file system's 255 bytes).
  const mine = join(parent, `${PRIVATE}${me}`);
  try {
    await mkdir(mine, { mode: 0o700 });
    await (await open(join(mine, me), 'wx', 0o600)).close();
  } catch (e) {
    throw new AaeError('SYNC_STATE_IO', `cannot create ${mine}`, { cause: e });
  }
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (await tryRename(mine, file)) return held(file, me);
      const holder = await inspect(file);
      if (holder.kind === 'live') throw busy(file, holder.pid);
      if (holder.kind === 'stale') await takeOver(file, holder);
      // 'gone' (released or taken over meanwhile) or 'empty' (mid-release): try again.
      if (holder.kind === 'empty') await new Promise((r) => setImmediate(r));
    }
    throw busy(file, undefined);
  } finally {
    await rm(mine, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Whether the rename made `mine` the lock. */
async function tryRename(mine: string, file: string): Promise<boolean> {
  try {
    await rename(mine, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Held (a directory with an owner), or a lock file of the older format.
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') return false;
    throw new AaeError('SYNC_STATE_IO', `cannot create ${file}`, { cause: e });
  }
}

type Holder =
  | { kind: 'live'; pid: number }
  | { kind: 'stale'; owner: string; format: 'dir' | 'file' }
  | { kind: 'empty' }
  | { kind: 'gone' };

async function inspect(file: string): Promise<Holder> {
  let entries: string[];
  try {
    entries = await readdir(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'gone' };
    if (code !== 'ENOTDIR') throw new AaeError('SYNC_STATE_IO', `cannot read ${file}`, { cause: e });
    // The older format: a file holding the pid.
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'EISDIR' ? undefined : ''));
    if (text === undefined) return { kind: 'gone' };
    const pid = Number.parseInt(text, 10);
    return Number.isSafeInteger(pid) && pid > 0 && processAlive(pid) ? { kind: 'live', pid } : { kind: 'stale', owner: text, format: 'file' };
  }
  const owner = entries.find((e) => OWNER.test(e));
  if (owner === undefined) return { kind: 'empty' };
  const pid = Number(OWNER.exec(owner)![1]);
  return pid === process.pid || processAlive(pid) ? { kind: 'live', pid } : { kind: 'stale', owner, format: 'dir' };
}

/** Removes a stale lock; a taker that loses the race to another finds nothing to do (ENOENT). */
async function takeOver(file: string, stale: { owner: string; format: 'dir' | 'file' }): Promise<void> {
  try {
    if (stale.format === 'dir') {
      await unlink(join(file, stale.owner)); // only one taker unlinks this identity
      await rmdir(file).catch(() => undefined); // may already be gone, or hold a new owner
    } else {
      // unlink never removes a directory, so a lock that became one meanwhile is safe from it.
      await unlink(file);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EISDIR' && code !== 'EPERM') throw new AaeError('SYNC_STATE_IO', `cannot take over the stale ${file}`, { cause: e });
  }
}

function held(file: string, me: string): SyncLock {
  let holding = true;
  return {
    file,
    release: async () => {
      if (!holding) return;
      holding = false;
      await unlink(join(file, me)).catch(() => undefined);
      await rmdir(file).catch(() => undefined); // fails harmlessly if a new holder is already in
    },
  };
}

function busy(file: string, pid: number | undefined): AaeError {
  return new AaeError('SYNC_BUSY', `another aae sync (pid ${pid ?? '?'}) is running with this state; if it is not, remove ${file}`, {
    details: { lock: file, pid },
  });
}

/** Private directories (of any state's lock in `parent`) whose process died before it renamed or removed them. */
async function removeAbandoned(parent: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(PRIVATE)) continue;
    const m = OWNER.exec(name.slice(PRIVATE.length));
    if (m === null || processAlive(Number(m[1]))) continue;
    await rm(join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The pid of the sync holding `stateFile`'s lock, if one does and its process is alive. */
export async function syncLockHolder(stateFile: string): Promise<number | undefined> {
  const file = `${stateFile}.lock`;
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  if (!exists) return undefined;
  const holder = await inspect(file).catch(() => undefined);
  return holder?.kind === 'live' ? holder.pid : undefined;
}
