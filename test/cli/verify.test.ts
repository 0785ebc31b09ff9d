import { open as openFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { plantBehindTrees } from '../store/helpers.js';
import { aae, withTempDir } from './helpers.js';

/**
 * The fault campaign's worst finding, at the CLI: after 8 bytes of one node's LevelDB log were
 * corrupted, `aae compare <cluster>` and `aae repair <cluster>` said in sync (exit 0) while ~780
 * keys had lost a replica. And `aae verify`, which finds trees that disagree with their data
 * whatever the cause, and the rebuilds `aae sync` runs on a schedule.
 */

async function loaded(tmp: string, name: string, args: string[], keys: number): Promise<string> {
  const dir = join(tmp, name);
  expect((await aae('cluster', 'create', dir, ...args)).code).toBe(0);
  const file = join(tmp, `${name}.jsonl`);
  await writeFile(file, Array.from({ length: keys }, (_, i) => JSON.stringify({ bucket: 'b', key: `k${i}`, value: `value-${i}`.repeat(8), clock: [['src', 1]], lastModified: 1000 })).join('\n'));
  expect((await aae('load', dir, file)).code).toBe(0);
  return dir;
}

/**
 * Writes `count` objects into vnode `vnode` behind its trees' back (in segments they hold empty, so
 * no spot check of the saved trees sees them), then closes cleanly: the trees saved know nothing
 * of them. Only a rebuild from the heads finds them.
 */
async function plant(dir: string, vnode: number, count: number): Promise<void> {
  const c = await EmbeddedCluster.open(dir);
  try {
    await plantBehindTrees(c, vnode, count);
  } finally {
    await c.close();
  }
}

describe('trees that disagree with the data', () => {
  test('after LevelDB drops damaged log records, compare sees the lost replicas (exit 1) and repair heals them', () =>
    withTempDir(async (tmp) => {
      const dir = await loaded(tmp, 'c', ['--nodes', '3', '--ring-size', '8', '--n-val', '2', '--tree-size', 'large'], 3000);
      const node = join(dir, 'n1');
      const log = (await readdir(node)).find((f) => f.endsWith('.log'))!;
      const fh = await openFile(join(node, log), 'r+');
      await fh.write(Buffer.alloc(8, 0x55), 0, 8, Math.floor((await stat(join(node, log))).size * 0.3));
      await fh.close();

      const compare = await aae('compare', dir, '--json', '--pause-ms', '0');
      expect(compare.stderr).toContain('TR003');
      expect(compare.code).toBe(1);
      expect(compare.json<{ keys: number }>().keys).toBeGreaterThan(100);
      const repair = await aae('repair', dir, '--pause-ms', '0');
      expect(repair.code).toBe(0);
      expect((await aae('compare', dir, '--pause-ms', '0')).code).toBe(0);
      expect((await aae('verify', dir)).code).toBe(0);
    }));

  test('aae verify reports the vnodes whose trees differ (exit 1); --fix replaces them; compare and repair then see the damage', () =>
    withTempDir(async (tmp) => {
      const dir = await loaded(tmp, 'c', ['--nodes', '2', '--ring-size', '8', '--n-val', '2', '--tree-size', 'small'], 600);
      await plant(dir, 4, 7);
      expect((await aae('compare', dir, '--pause-ms', '0')).code).toBe(0); // the trees lie

      const found = await aae('verify', dir, '--json');
      expect(found.code).toBe(1);
      const report = found.json<{ vnodes: number; fixed: boolean; differed: Array<{ vnode: number; replaced: boolean; differingSegments: number }> }>();
      expect(report).toMatchObject({ vnodes: 8, fixed: false });
      expect(report.differed.map((d) => [d.vnode, d.replaced])).toEqual([[4, false]]);
      expect(report.differed[0]!.differingSegments).toBeGreaterThan(0);

      const text = await aae('verify', dir);
      expect(text.code).toBe(1);
      expect(text.stderr).toContain('TR002 vnode 4');
      expect(text.stdout).toContain('1 of 8 vnodes had trees that differ from their heads');

      const fixed = await aae('verify', dir, '--fix');
      expect(fixed.code).toBe(1);
      expect(fixed.stdout).toContain('replaced');
      expect((await aae('verify', dir)).code).toBe(0);
      expect((await aae('compare', dir, '--pause-ms', '0')).code).toBe(1);
      expect((await aae('repair', dir, '--pause-ms', '0')).code).toBe(0);
      expect((await aae('compare', dir, '--pause-ms', '0')).code).toBe(0);
    }));

  test('aae sync rebuilds due trees in the background, one vnode at a time, and replaces those that differ (TR002)', () =>
    withTempDir(async (tmp) => {
      const a = await loaded(tmp, 'dc1', ['--nodes', '2', '--ring-size', '8', '--n-val', '2', '--tree-size', 'small'], 300);
      const b = await loaded(tmp, 'dr1', ['--nodes', '1', '--ring-size', '8', '--n-val', '1', '--tree-size', 'small'], 300);
      await plant(a, 6, 5);
      // Every vnode is due at once (1 ms after its last build): round robin, most overdue first.
      const args = ['--once', 'all', '--pause-ms', '0', '--rebuild-wait', '1ms', '--rebuild-delay', '1ms'];
      let seen = '';
      for (let i = 0; i < 20 && !/TR002 vnode 6 \(node n\d\) of dc1/.test(seen); i++) {
        const r = await aae('sync', a, b, ...args);
        expect(r.code, r.stderr).toBeLessThan(2);
        seen += r.stderr;
      }
      expect(seen).toMatch(/TR002 vnode 6 \(node n\d\) of dc1: trees differed .*replaced/);
      expect(seen).toMatch(/TR001 vnode \d+ \(node n\d\) of (dc1|dr1): trees rebuilt from \d+ head\(s\) agree/);
      // The next check repairs what the old trees hid; then everything agrees.
      expect((await aae('sync', a, b, '--once', 'all', '--pause-ms', '0', '--no-rebuild')).code).toBe(0);
      expect((await aae('compare', a, '--pause-ms', '0')).code).toBe(0);
      expect((await aae('verify', a)).code).toBe(0);
    }));
});
