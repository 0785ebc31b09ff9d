import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { clusters, sampleItems } from './cluster-fixture.js';

const env = clusters();
afterAll(() => env.cleanup());

function sinks() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } } };
}

test('aae fold prints a module result as JSON or a table, and refuses bad --query JSON with exit 2', async () => {
  const items = sampleItems(90);
  const c = await env.make('cli', { ringSize: 8, nVal: 3, nodeCount: 3 }, items);
  const dir = c.dir;
  await c.close(); // the CLI opens the cluster itself

  const a = sinks();
  expect(await runCli(['fold', dir, 'object_stats', '--json', '--offset', '1'], a.io)).toBe(0);
  const json = JSON.parse(a.out.stdout) as { module: string; result: { count: number; tombstones: number }; coverage: { fraction: number; offset: number } };
  expect(json.module).toBe('object_stats');
  expect(json.result.count + json.result.tombstones).toBe(items.length);
  expect(json.coverage).toMatchObject({ fraction: 1, offset: 1 });

  const b = sinks();
  expect(await runCli(['fold', dir, 'list_buckets'], b.io)).toBe(0);
  expect(b.out.stdout).toContain('users');
  expect(b.out.stdout).toMatch(/8 of 8 keyspaces/);

  const bad = sinks();
  expect(await runCli(['fold', dir, 'object_stats', '--query', '{nope'], bad.io)).toBe(2);
  expect(bad.out.stderr).toContain('[FOLD_QUERY_INVALID]');

  const unknown = sinks();
  expect(await runCli(['fold', dir, 'no_such_fold'], unknown.io)).toBe(2);
  expect(unknown.out.stderr).toContain('[FOLD_MODULE_UNKNOWN]');

  const file = sinks();
  expect(await runCli(['fold', dir, join(import.meta.dirname, '../../examples/bucket-sizes.js'), '--json', '--sample', '0.5'], file.io)).toBe(0);
  expect((JSON.parse(file.out.stdout) as { result: { fraction: number } }).result.fraction).toBe(0.5);
});
