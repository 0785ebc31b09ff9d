import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { isAaeError } from '../../src/errors.js';
import { acquireSyncLock, syncLockHolder, type SyncLock } from '../../src/sync/index.js';
import { withTempDir } from '../cli/helpers.js';

/**
 * One sync at a time per state file, whatever the race: many acquires at once (in one process, as
 * the fault campaign raced them: 14 of 200 races let two syncs hold the lock, because a lock whose
 * pid was not yet written looked stale and was taken over), and many takeovers of one stale lock
 * at once. Every round checks how many acquires succeeded: exactly one.
 */

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

async function race(state: string, n: number): Promise<SyncLock[]> {
  const outcomes = await Promise.all(
    Array.from({ length: n }, () =>
      acquireSyncLock(state).then(
        (lock) => lock,
        (e: unknown) => {
          if (!isAaeError(e, 'SYNC_BUSY')) throw e;
          return undefined;
        },
      ),
    ),
  );
  return outcomes.filter((l): l is SyncLock => l !== undefined);
}

describe('the sync lock', () => {
  test('many acquires at once: exactly one holds it, round after round', () =>
    withTempDir(async (tmp) => {
      const state = join(tmp, 'state.json');
      for (let round = 0; round < 20; round++) {
        const held = await race(state, 25);
        expect(held, `round ${round}`).toHaveLength(1);
        expect(await syncLockHolder(state)).toBe(process.pid);
        await held[0]!.release();
        expect(await syncLockHolder(state)).toBeUndefined();
      }
    }));

  test('many takeovers of one stale lock at once: exactly one holds it (a dead pid, in either lock format)', () =>
    withTempDir(async (tmp) => {
      const dead = deadPid();
      for (let round = 0; round < 20; round++) {
        const state = join(tmp, `state-${round}.json`);
        if (round % 2 === 0) {
          await writeFile(`${state}.lock`, `${dead}\n`); // the lock file older versions wrote
        } else {
          await mkdir(`${state}.lock`);
          await writeFile(join(`${state}.lock`, `${dead}-0123456789abcdef`), '');
        }
        const held = await race(state, 25);
        expect(held, `round ${round}`).toHaveLength(1);
        await held[0]!.release();
      }
    }));

  test('holders never overlap while acquires and releases interleave', () =>
    withTempDir(async (tmp) => {
      const state = join(tmp, 'state.json');
      let holders = 0;
      let most = 0;
      let turns = 0;
      const worker = async (): Promise<void> => {
        for (let i = 0; i < 30; i++) {
          let lock: SyncLock;
          try {
            lock = await acquireSyncLock(state);
          } catch (e) {
            if (!isAaeError(e, 'SYNC_BUSY')) throw e;
            await new Promise((r) => setImmediate(r));
            continue;
          }
          holders++;
          most = Math.max(most, holders);
          turns++;
          await new Promise((r) => setImmediate(r));
          holders--;
          await lock.release();
        }
      };
      await Promise.all(Array.from({ length: 12 }, worker));
      expect(most).toBe(1);
      expect(turns).toBeGreaterThan(0);
    }));

  test('a lock held by a live process is never taken over, and says whose it is', () =>
    withTempDir(async (tmp) => {
      const state = join(tmp, 'state.json');
      const lock = await acquireSyncLock(state);
      const e = await acquireSyncLock(state).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isAaeError(e, 'SYNC_BUSY')).toBe(true);
      expect(String((e as Error).message)).toContain(`pid ${process.pid}`);
      await lock.release();
      await lock.release(); // twice is harmless
      const again = await acquireSyncLock(state);
      await again.release();
    }));
});
