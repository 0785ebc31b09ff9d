import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { claim, defaultSpec, writeClusterSpec } from '../../src/cluster/index.js';
import { plan, type CoveragePlan } from '../../src/plan/index.js';

/** `aae plan` in-process against a cluster.json in a temp directory: 16 partitions, nVal 3, 4 nodes. */

let dir: string;
const spec = defaultSpec('c1', { ringSize: 16, nVal: 3, nodeCount: 4 });
const { owners } = claim(16, spec.nodes, 3);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-plan-cli-'));
  await writeClusterSpec(dir, spec);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

type PlanJson = CoveragePlan & { cluster: string; ringSize: number; nVal: number };

describe('aae plan', () => {
  test('--offset 0 --json prints the library plan and nothing else', async () => {
    const { code, out } = await run('plan', dir, '--offset', '0', '--json');
    expect(code).toBe(0);
    const json = JSON.parse(out) as PlanJson;
    expect(json).toMatchObject({ cluster: 'c1', ringSize: 16, nVal: 3, offset: 0, complete: true, fraction: 1 });
    expect(json.vnodes.map((e) => [e.vnode, e.keyspaces])).toEqual([
      [1, [15]],
      [2, [0, 1, 2]],
      [5, [3, 4, 5]],
      [8, [6, 7, 8]],
      [11, [9, 10, 11]],
      [14, [12, 13, 14]],
    ]);
    expect(json.vnodes.map((e) => e.node)).toEqual([1, 2, 5, 8, 11, 14].map((v) => owners[v]));
  });

  test('the table lists vnode, node, keyspaces and filter, then a summary', async () => {
    const { code, out } = await run('plan', dir, '--offset', '1');
    expect(code).toBe(0);
    expect(out).toMatch(/vnode.*node.*keyspaces.*filter/);
    expect(out).toContain('offset 1 (rotation 0, shift 1), pvc 1: 6 vnodes, 16 of 16 keyspaces covered (100%)');
  });

  test('--sample and --sample-count cover a fraction or a count', async () => {
    const byFraction = JSON.parse((await run('plan', dir, '--offset', '0', '--sample', '0.25', '--json')).out) as PlanJson;
    expect(byFraction.covered).toEqual([0, 1, 2, 9]);
    expect(byFraction.fraction).toBe(0.25);
    const byCount = JSON.parse((await run('plan', dir, '--offset', '0', '--sample-count', '3', '--json')).out) as PlanJson;
    expect(byCount.covered).toEqual([0, 1, 2]);
    expect(byCount.vnodes).toEqual([{ vnode: 2, node: owners[2], keyspaces: [0, 1, 2], filter: null }]);
  });

  test('--down: all fails with exit 3 naming the keyspaces; --allup returns the partial plan', async () => {
    const down = ['n1', 'n2', 'n3'];
    const expected = plan({ ringSize: 16, nVal: 3, owners, offset: 0, selector: 'allup', unavailable: { nodes: down } });
    expect(expected.missing.length).toBeGreaterThan(0);

    const failed = await run('plan', dir, '--offset', '0', '--down', ...down);
    expect(failed.code).toBe(3);
    expect(failed.err).toContain('PLAN_INCOMPLETE');
    expect(failed.out).toBe('');

    const partial = await run('plan', dir, '--offset', '0', '--down', ...down, '--allup', '--json');
    expect(partial.code).toBe(0);
    const json = JSON.parse(partial.out) as PlanJson;
    expect(json.missing).toEqual(expected.missing);
    expect(json.vnodes).toEqual(expected.vnodes);
    expect(json.vnodes.every((e) => !down.includes(e.node))).toBe(true);

    const table = await run('plan', dir, '--offset', '0', '--down', ...down, '--allup');
    expect(table.out).toContain(`missing ${expected.missing.length} keyspaces: ${expected.missing.join(',')}`);
  });

  test('--down-vnode and --pvc', async () => {
    const { code, out } = await run('plan', dir, '--offset', '0', '--pvc', '2', '--down-vnode', '5', '--json');
    expect(code).toBe(0);
    const json = JSON.parse(out) as PlanJson;
    expect(json).toEqual({
      cluster: 'c1',
      ringSize: 16,
      nVal: 3,
      ...plan({ ringSize: 16, nVal: 3, owners, offset: 0, pvc: 2, unavailable: { vnodes: [5] } }),
    });
    expect(json.vnodes.some((e) => e.vnode === 5)).toBe(false);
  });

  test.each([
    [['--sample', '0']],
    [['--sample', 'half']],
    [['--sample', '0.5', '--sample-count', '2']],
    [['--pvc', '4']],
    [['--offset', '48']],
    [['--down', 'n9']],
    [['--down-vnode', '16']],
  ])('bad options exit 2: %j', async (args) => {
    const { code, out } = await run('plan', dir, ...args);
    expect(code).toBe(2);
    expect(out).toBe('');
  });

  test('a directory without cluster.json exits 2', async () => {
    expect((await run('plan', join(dir, 'nope'))).code).toBe(2);
  });

  test('--help ends with examples', async () => {
    const { code, out } = await run('plan', '--help');
    expect(code).toBe(0);
    expect(out).toContain('Examples:');
    expect(out).toContain('--sample-count');
  });
});
