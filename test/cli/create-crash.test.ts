import { spawn } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { isAaeError } from '../../src/errors.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { readClusterConfig } from '../../src/cluster/index.js';
import { aae, withTempDir } from './helpers.js';

/**
 * `aae cluster create` killed (SIGKILL, a real child process) at random moments: afterwards the
 * directory either holds a whole cluster that opens, or none (open says CLUSTER_NOT_FOUND), and
 * `cluster create` run again succeeds. Before, cluster.json was written first: a kill while the
 * node stores were being made (3 of 3 kills at 64 nodes) left a directory that `open` refused (a
 * node has no store) and `create` refused (CLUSTER_EXISTS).
 *
 * The kill lands a random time after the create has visibly begun (its directory, or the one it
 * builds beside, appeared): whichever moment it hits, the outcome must be one of the two.
 */
const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');
const ARGS = ['--nodes', '24', '--ring-size', '128', '--n-val', '3', '--tree-size', 'small'];

async function killMidCreate(parent: string, dir: string, delayMs: number, args: readonly string[] = ARGS): Promise<void> {
  const before = new Set(await readdir(parent));
  const child = spawn(process.execPath, [MAIN, 'cluster', 'create', dir, ...args], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let started = false;
  child.on('exit', () => (started = true));
  // Wait until the create has made its first directory (or finished), then let it run a little.
  while (!started && (await readdir(parent)).every((e) => before.has(e))) await sleep(2);
  await sleep(delayMs);
  child.kill('SIGKILL');
  await exited;
}

async function outcome(dir: string): Promise<'whole' | 'none'> {
  try {
    const c = await EmbeddedCluster.open(dir);
    expect(c.vnodes()).toHaveLength(128);
    await c.close();
    return 'whole';
  } catch (e) {
    expect(isAaeError(e, 'CLUSTER_NOT_FOUND'), String(e)).toBe(true);
    return 'none';
  }
}

describe('a crash during cluster create', () => {
  test('leaves a whole cluster or none, and create succeeds again; leftovers of the dead create are removed', () =>
    withTempDir(async (tmp) => {
      const seen: string[] = [];
      for (const [i, delay] of [0, 30, 100, 250].entries()) {
        const dir = join(tmp, `c${i}`);
        await killMidCreate(tmp, dir, Math.floor(Math.random() * delay));
        const o = await outcome(dir);
        seen.push(o);
        if (o === 'none') {
          const again = await aae('cluster', 'create', dir, ...ARGS);
          expect(again.stderr).toBe('');
          expect(again.code).toBe(0);
          expect(await outcome(dir)).toBe('whole');
        }
      }
      // Nothing of the killed creates is left beside the clusters.
      expect((await readdir(tmp)).filter((e) => e.startsWith('.')).sort()).toEqual([]);
      // The outcomes vary with the machine's speed; each is one of the two (checked above).
      expect(seen.every((o) => o === 'whole' || o === 'none')).toBe(true);
    }));

  test('over a directory that already holds files, a killed create leaves node folders without a spec, and create adopts them', () =>
    withTempDir(async (tmp) => {
      const dir = join(tmp, 'c');
      await (await import('node:fs/promises')).mkdir(dir);
      await writeFile(join(dir, 'NOTES.txt'), 'the operator keeps notes here\n');
      await killMidCreate(tmp, dir, 40);
      expect(['whole', 'none']).toContain(await outcome(dir));
      if ((await outcome(dir)) === 'none') expect((await aae('cluster', 'create', dir, ...ARGS)).code).toBe(0);
      expect(await outcome(dir)).toBe('whole');
      expect((await stat(join(dir, 'NOTES.txt'))).isFile()).toBe(true);
    }));

  test('a cluster with served nodes is created whole or not at all: cluster.json only beside every local store', () =>
    withTempDir(async (tmp) => {
      // Half the nodes served elsewhere (no store here), half local: the same commit point.
      const served = Array.from({ length: 12 }, (_, i) => ['--address', `n${i + 13}=127.0.0.1:${7100 + i}`]).flat();
      const args = [...ARGS, ...served, '--insecure'];
      const local = Array.from({ length: 12 }, (_, i) => `n${i + 1}`);
      for (const [i, delay] of [0, 60, 200].entries()) {
        const dir = join(tmp, `m${i}`);
        await killMidCreate(tmp, dir, Math.floor(Math.random() * delay), args);
        const config = await readClusterConfig(dir).catch((e: unknown) => {
          expect(isAaeError(e, 'CLUSTER_NOT_FOUND'), String(e)).toBe(true);
          return undefined;
        });
        if (config === undefined) {
          const again = await aae('cluster', 'create', dir, ...args);
          expect(again.stderr).toBe('');
          expect(again.code).toBe(0);
        }
        const made = await readClusterConfig(dir);
        expect(Object.keys(made.addresses)).toHaveLength(12);
        expect(made.tls).toBe('insecure');
        for (const node of local) expect((await stat(join(dir, node, 'CURRENT'))).isFile(), node).toBe(true);
        expect((await readdir(dir)).filter((e) => /^n\d+$/.test(e)).sort()).toEqual([...local].sort());
      }
      expect((await readdir(tmp)).filter((e) => e.startsWith('.'))).toEqual([]);
    }));

  test('directories of a new cluster are owner-only, whatever the umask', () =>
    withTempDir(async (tmp) => {
      const before = process.umask(0);
      try {
        const dir = join(tmp, 'c');
        expect((await aae('cluster', 'create', dir, '--nodes', '2', '--ring-size', '8', '--n-val', '1')).code).toBe(0);
        for (const p of [dir, join(dir, 'n1'), join(dir, 'n2'), join(dir, 'cluster.json')]) expect((await stat(p)).mode & 0o077, p).toBe(0);
      } finally {
        process.umask(before);
      }
    }));
});
