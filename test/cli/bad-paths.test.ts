import { cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { serveNode } from '../support/served.js';
import { aae, withTempDir } from './helpers.js';

/**
 * A path that is not a cluster, or a cluster whose node store is not where cluster.json puts it,
 * is named with what is wrong with it, under a stable input code (exit 2): not a LevelDB error
 * (STORE_IO, STORE_CLOSED "the store is closed") that sent a new user looking at their disk.
 */

/** Commands that open a cluster's stores, each as argv after the cluster directory. */
const COMMANDS: ReadonlyArray<readonly string[]> = [['compare'], ['inspect'], ['get', '_', 'users', 'alice'], ['fold', '_', 'object_stats'], ['verify']];

function argvFor(cmd: readonly string[], dir: string): string[] {
  // '_' marks where the cluster goes when the command has more arguments after it.
  return cmd.includes('_') ? cmd.map((a) => (a === '_' ? dir : a)) : [cmd[0]!, dir];
}

async function smallCluster(dir: string): Promise<void> {
  expect((await aae('cluster', 'create', dir, '--nodes', '2', '--ring-size', '8', '--n-val', '2', '--tree-size', 'small')).code).toBe(0);
}

describe('wrong paths', () => {
  test('a path that holds no cluster: CLUSTER_NOT_FOUND naming the path and what is there', () =>
    withTempDir(async (tmp) => {
      const dc = join(tmp, 'dc');
      await smallCluster(dc);
      await writeFile(join(tmp, 'notes.txt'), 'hello\n');
      await mkdir(join(tmp, 'empty'));
      const kinds: Record<string, { path: string; says: string }> = {
        nothing: { path: join(tmp, 'typo'), says: 'does not exist' },
        file: { path: join(tmp, 'notes.txt'), says: 'is a file, not a cluster directory' },
        specFile: { path: join(dc, 'cluster.json'), says: `give the directory that holds it, ${dc}` },
        folder: { path: join(tmp, 'empty'), says: 'has no cluster.json' },
        nodeFolder: { path: join(dc, 'n1'), says: `inside the cluster at ${dc}` },
      };
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...Object.keys(kinds)), fc.constantFrom(...COMMANDS), async (kind, cmd) => {
          const { path, says } = kinds[kind]!;
          const r = await aae(...argvFor(cmd, path));
          expect(r.code, `${cmd[0]} on ${kind}`).toBe(2);
          expect(r.stdout).toBe('');
          expect(r.stderr).toContain(`no cluster at ${path}: `);
          expect(r.stderr).toContain(says);
          expect(r.stderr).toMatch(/\[CLUSTER_NOT_FOUND\]\n$/);
        }),
        { numRuns: 25 },
      );
    }));

  test("a cluster whose node store is missing, a file or a folder that is no store: STORE_NOT_FOUND naming the node's path", () =>
    withTempDir(async (tmp) => {
      const dc = join(tmp, 'dc');
      await smallCluster(dc);
      const breakings: Record<string, { make: (n1: string) => Promise<void>; says: string }> = {
        missing: { make: (n1) => rm(n1, { recursive: true }), says: '(it does not exist)' },
        file: { make: async (n1) => (await rm(n1, { recursive: true }), writeFile(n1, 'x')), says: "is a file, not a node's store" },
        emptyFolder: { make: async (n1) => (await rm(n1, { recursive: true }), mkdir(n1)), says: "is not a node's store (a folder without LevelDB's CURRENT file)" },
      };
      let i = 0;
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...Object.keys(breakings)), fc.constantFrom(...COMMANDS), async (kind, cmd) => {
          const copy = join(tmp, `copy${i++}`);
          await cp(dc, copy, { recursive: true });
          const n1 = join(copy, 'n1');
          await breakings[kind]!.make(n1);
          const r = await aae(...argvFor(cmd, copy));
          expect(r.code, `${cmd[0]} with n1 ${kind}`).toBe(2);
          expect(r.stderr).toContain(`cluster at ${copy}: node n1: `);
          expect(r.stderr).toContain(n1);
          expect(r.stderr).toContain(breakings[kind]!.says);
          expect(r.stderr).toMatch(/\[STORE_NOT_FOUND\]\n$/);
          await rm(copy, { recursive: true, force: true });
        }),
        { numRuns: 15 },
      );
    }));

  test('a link to the source given as the sink is the same cluster: refused before its stores are opened twice', () =>
    withTempDir(async (tmp) => {
      const dc = join(tmp, 'dc');
      await smallCluster(dc);
      await symlink(dc, join(tmp, 'link'));
      for (const cmd of ['compare', 'repair', 'inspect']) {
        const r = await aae(cmd, dc, join(tmp, 'link'));
        expect(r.code, cmd).toBe(2);
        expect(r.stderr).toContain('source and sink are the same cluster');
        expect(r.stderr).toContain('[USAGE]');
      }
    }));

  test("a node served by another process: STORE_LOCKED names the store's path and how to reach a served node", () =>
    withTempDir(async (tmp) => {
      const dc = join(tmp, 'dc');
      await smallCluster(dc);
      const served = await serveNode(dc, 'n1');
      try {
        const r = await aae('get', dc, 'users', 'alice');
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(`node n1: its store ${join(dc, 'n1')} is locked`);
        expect(r.stderr).toContain('aae node serve');
        expect(r.stderr).toContain("cluster.json gives the node's address");
        expect(r.stderr).toMatch(/\[STORE_LOCKED\]\n$/);
      } finally {
        served.process.kill('SIGTERM');
        await served.exited;
      }
    }));
});
