import { open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { defaultSpec } from '../../src/cluster/index.js';
import { isAaeError, type AaeError } from '../../src/errors.js';
import { builtinFoldModule, runAnyFold } from '../../src/fold/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { aae, withTempDir } from '../cli/helpers.js';

/**
 * A LevelDB that fails while it is read (a damaged table: its compressed block no longer
 * decompresses) must fail a fold or a load with STORE_IO naming the node, never with LevelDB's
 * bare error (which the CLI printed as an "unexpected failure" with a stack trace).
 */

/** A one-node cluster of 3,000 keys whose only table has 64 bytes overwritten at `at` (a fraction of its length). */
async function damaged(tmp: string, at: number): Promise<string> {
  const dir = join(tmp, 'c');
  let c = await EmbeddedCluster.create(dir, defaultSpec('c', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'small' }));
  await c.putMany(Array.from({ length: 3000 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: `value ${i} `.repeat(20) })));
  await c.close();
  // The next open replays the log into a table (level 0): the data now lives in an .ldb file.
  c = await EmbeddedCluster.open(dir);
  await c.close();
  const node = join(dir, 'n1');
  const table = (await readdir(node)).find((f) => f.endsWith('.ldb'))!;
  const size = (await stat(join(node, table))).size;
  const fh = await open(join(node, table), 'r+');
  await fh.write(Buffer.alloc(64, 0x55), 0, 64, Math.floor(size * at));
  await fh.close();
  return dir;
}

function expectNamedStoreIo(e: unknown): void {
  expect(isAaeError(e, 'STORE_IO'), String(e)).toBe(true);
  expect((e as AaeError).message).toContain('node n1');
  expect((e as AaeError).details?.['node']).toBe('n1');
}

describe('read errors from a damaged LevelDB', () => {
  test('a fold fails with STORE_IO naming the node', () =>
    withTempDir(async (tmp) => {
      const dir = await damaged(tmp, 0.5);
      const c = await EmbeddedCluster.open(dir);
      try {
        const e = await runAnyFold(c, builtinFoldModule('object_stats')!, {}).then(
          () => undefined,
          (err: unknown) => err,
        );
        expectNamedStoreIo(e);
      } finally {
        await c.close().catch(() => undefined);
      }
      const cli = await aae('fold', dir, 'object_stats');
      expect(cli.stderr).not.toContain('unexpected failure');
      expect(cli.stderr).toMatch(/node n1.*\[STORE_IO\]/s);
      expect(cli.code).toBe(3);
    }));

  test('a load fails with STORE_IO naming the node', () =>
    withTempDir(async (tmp) => {
      const dir = await damaged(tmp, 0.3);
      const file = join(tmp, 'again.jsonl');
      await writeFile(file, Array.from({ length: 3000 }, (_, i) => JSON.stringify({ bucket: 'b', key: `k${i}`, value: 'w' })).join('\n'));
      const cli = await aae('load', dir, file);
      expect(cli.stderr).not.toContain('unexpected failure');
      expect(cli.stderr).toMatch(/node n1.*\[STORE_IO\]/s);
      expect(cli.code).toBe(3);
    }));

  test('a head that does not decode is STORE_IO naming the node, from a get, a fold and a write', () =>
    withTempDir(async (tmp) => {
      const c = await EmbeddedCluster.create(join(tmp, 'c'), defaultSpec('c', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'small' }));
      try {
        await c.put({ bucket: 'b', key: 'k', value: 'v' });
        const vnode = c.vnode(c.preflistOf('b', 'k')[0]!);
        const heads = await collectKeys(c, vnode.id);
        await c.nodeDb('n1').batch([{ type: 'put', key: heads[0]!, value: Uint8Array.of(0x98, 0x07) }]);
        const attempts = [
          () => c.get('b', 'k'),
          async () => {
            for await (const _ of vnode.foldHeads({})) void _;
          },
          () => c.put({ bucket: 'b', key: 'k', value: 'w' }),
        ];
        for (const attempt of attempts) {
          expectNamedStoreIo(
            await attempt().then(
              () => undefined,
              (err: unknown) => err,
            ),
          );
        }
      } finally {
        await c.close().catch(() => undefined);
      }
    }));
});

/** The raw head keys of one vnode. */
async function collectKeys(c: EmbeddedCluster, vnode: number): Promise<Uint8Array[]> {
  const prefix = Uint8Array.of(0x76, vnode >>> 8, vnode & 0xff, 0x68);
  const end = Uint8Array.of(0x76, vnode >>> 8, vnode & 0xff, 0x69);
  const it = c.nodeDb('n1').iterator({ gte: prefix, lt: end }, { values: false });
  const out: Uint8Array[] = [];
  try {
    for (let e = await it.next(); e !== undefined; e = await it.next()) out.push(e[0]);
  } finally {
    await it.close();
  }
  return out;
}
