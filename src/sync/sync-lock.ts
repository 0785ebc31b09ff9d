/**
 * One sync at a time per state file. Two syncs of the same pair (a loop and a cron `--once`, or
 * two overlapping crons) would each read the state, run, and write their own over the other's:
 * the later writer wins, and a span one of them left can vanish. So a sync holds `<state>.lock`,
 * created exclusively, holding its pid, for as long as it runs.
 *
 * A lock whose process is gone (a crash, a kill -9) is stale: the next sync takes it over. A pid
 * can be reused by an unrelated process after a reboot; the cost of that mistake is a refused
 * start with a message naming the file to remove, never two syncs at once.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AaeError } from '../errors.js';

export interface SyncLock {
  readonly file: string;
  release(): Promise<void>;
}

export async function acquireSyncLock(stateFile: string): Promise<SyncLock> {
  const file = `${stateFile}.lock`;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new AaeError('SYNC_STATE_IO', `cannot create the folder of ${file}`, { cause: e });
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(file, 'wx');
      try {
        await fh.writeFile(`${process.pid}\n`, 'utf8');
      } finally {
        await fh.close();
      }
      let held = true;
      return {
        file,
        release: async () => {
          if (!held) return;
          held = false;
          await unlink(file).catch(() => undefined);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new AaeError('SYNC_STATE_IO', `cannot create ${file}`, { cause: e });
    }
    const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (attempt === 0 && !(Number.isSafeInteger(pid) && pid > 0 && alive(pid))) {
      // Stale: its process is gone (or it never got to write its pid). Take it over, once.
      await unlink(file).catch(() => undefined);
      continue;
    }
    throw new AaeError('SYNC_BUSY', `another aae sync (pid ${Number.isNaN(pid) ? '?' : pid}) is running with this state; if it is not, remove ${file}`, {
      details: { lock: file, pid },
    });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but is not ours to signal.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the sync holding `stateFile`'s lock, if one does and its process is alive. */
export async function syncLockHolder(stateFile: string): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(`${stateFile}.lock`, 'utf8').catch(() => ''), 10);
  return Number.isSafeInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}
