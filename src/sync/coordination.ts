/**
 * What keeps one `aae sync` at a time for a pair of clusters, and where its state lives: the
 * seam between the sync command and the two ways to do it.
 *
 * - **A lock file** (the default, nothing external to start): `<state>.lock` beside the state file
 *   (sync-lock.ts), the state in that file (state-file.ts). One machine.
 * - **An etcd lease** (`aae sync --lock etcd://…`, etcd-coordination.ts): of several sync daemons on
 *   several machines, the one holding the lock key runs checks; the others wait, and one takes over
 *   within the lease time when the holder dies. The state lives in etcd too, so the survivor goes on
 *   from the last check's watermark and span.
 *
 * Either way the runner learns that it lost the lock through `lost` (a file lock is never lost), and
 * state writes are fenced: an etcd runner that lost its lease cannot overwrite its successor's state.
 */
import { acquireSyncLock } from './sync-lock.js';
import type { SyncState } from './checks.js';
import type { CheckReport } from './run-check.js';
import { readSyncStatus, saveSyncState, type SyncIdentity, type SyncStatus } from './state-file.js';

export interface SyncCoordination {
  /** Where the lock and state are, for messages ("/…/dr1.json", "etcd http://…: aae/sync/dc1/dr1"). */
  readonly where: string;
  /** Aborts when the lock is lost: the runner must stop (SYNC_LOCK_LOST). */
  readonly lost: AbortSignal;
  readStatus(): Promise<SyncStatus>;
  /** `lastSuccessAt`: the end of the last check that ended in sync (state-file.ts). */
  saveState(state: SyncState, lastCheck?: CheckReport, lastSuccessAt?: number): Promise<void>;
  release(): Promise<void>;
}

/** The default: the lock file beside the state file, the state in the file. */
export async function fileCoordination(stateFile: string, who: SyncIdentity): Promise<SyncCoordination> {
  const lock = await acquireSyncLock(stateFile);
  return {
    where: stateFile,
    lost: new AbortController().signal,
    readStatus: () => readSyncStatus(stateFile, who),
    saveState: (state, lastCheck, lastSuccessAt) => saveSyncState(stateFile, who, state, lastCheck, lastSuccessAt),
    release: () => lock.release(),
  };
}
