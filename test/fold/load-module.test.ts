import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAaeError } from '../../src/errors.js';
import { loadFoldModule, resolveFoldModule, runFold, summarizeRun, objectStats, type AnyFoldModule } from '../../src/fold/index.js';
import { headInputs } from './arbitraries.js';
import { clusters, sampleItems } from './cluster-fixture.js';
import { foldModuleSuite } from './fold-module-suite.js';

const EXAMPLE = join(import.meta.dirname, '../../examples/bucket-sizes.js');
let dir: string;
const env = clusters();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-fold-load-'));
});
afterAll(async () => {
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function refusal(source: string): Promise<unknown> {
  const file = join(dir, `m${Math.random().toString(36).slice(2)}.mjs`);
  await writeFile(file, source);
  return loadFoldModule(file).catch((e: unknown) => e);
}

const example = await loadFoldModule(EXAMPLE);

describe('the example module passes the compliance suite', () => {
  foldModuleSuite(example, {
    queries: [{}, { maxBuckets: 3 }],
    badQueries: [{ maxBuckets: 0 }, { other: 1 }, [1]],
    inputs: headInputs.map((xs) => xs.map((x) => (x.kind === 'head' ? { kind: 'hash_size' as const, entry: x.head } : x))),
  });
});

test('the example module runs over a cluster and agrees with object_stats', async () => {
  const items = sampleItems(120);
  const m: AnyFoldModule = await resolveFoldModule('./examples/bucket-sizes.js', join(import.meta.dirname, '../..'));
  // The fold runs on the nodes: they are given the module, as `aae fold` gives them a module file.
  const c = await env.make('load', { ringSize: 8, nVal: 3, nodeCount: 3 }, items, { modules: [m] });
  const r = await runFold(c, m, {});
  const rows = (summarizeRun(m, r).json as { buckets: Array<{ objects: number; tombstones: number; bytes: number }> }).buckets;
  const stats = await runFold(c, objectStats, {});
  expect(rows.reduce((s, b) => s + b.objects, 0)).toBe(stats.acc.count);
  expect(rows.reduce((s, b) => s + b.tombstones, 0)).toBe(stats.acc.tombstones);
  expect(rows.reduce((s, b) => s + b.bytes, 0)).toBe(stats.acc.totalBytes);
  const bad = await runFold(c, m, { maxBuckets: 'x' }).catch((e: unknown) => e);
  expect(isAaeError(bad, 'FOLD_QUERY_INVALID')).toBe(true);
});

test('a module for another API version is refused with FOLD_API_MISMATCH', async () => {
  const e = await refusal(`export default { name: 'x', apiVersion: 2, parseQuery() {} };`);
  expect(isAaeError(e, 'FOLD_API_MISMATCH')).toBe(true);
});

test('a module missing part of the contract is refused with FOLD_MODULE_INVALID naming the part', async () => {
  const e = await refusal(
    `export default { name: 'x', apiVersion: 1, parseQuery: (q) => q, stateNeeds: () => 'heads', generateFilter: () => ({}), generateAcc: () => 0, generateMergeFun: () => (a, b) => a + b, accBound: () => 1, accSize: () => 0 };`,
  );
  expect(isAaeError(e, 'FOLD_MODULE_INVALID')).toBe(true);
  expect((e as Error).message).toContain('generateObjectFoldFun');
  expect(isAaeError(await refusal('export const nothing = 1;'), 'FOLD_MODULE_INVALID')).toBe(true);
  expect(isAaeError(await refusal('this is not javascript ('), 'FOLD_MODULE_INVALID')).toBe(true);
});

test('an unknown built-in name is FOLD_MODULE_UNKNOWN', async () => {
  const e = await resolveFoldModule('no_such_fold').catch((x: unknown) => x);
  expect(isAaeError(e, 'FOLD_MODULE_UNKNOWN')).toBe(true);
});

test('the runner stops a loaded module whose accumulator outgrows its bound (FOLD_ACC_OVERFLOW)', async () => {
  const c = await env.make('overflow', { ringSize: 8, nVal: 3, nodeCount: 3 }, sampleItems(60), { modules: [example] });
  const e = await runFold(c, example, { maxBuckets: 2 }).catch((x: unknown) => x);
  expect(isAaeError(e, 'FOLD_ACC_OVERFLOW')).toBe(true);
});

test('a module declaring a version that is not semver, or a codec without its functions, is refused with FOLD_MODULE_INVALID', async () => {
  const base = `name: 'x', apiVersion: 1, parseQuery: (q) => q, stateNeeds: () => 'heads', generateFilter: () => ({}), generateAcc: () => 0, generateMergeFun: () => (a, b) => a + b, generateObjectFoldFun: () => (a) => a, accBound: () => 1, accSize: () => 0`;
  const badVersion = await refusal(`export default { ${base}, version: 'one' };`);
  expect(isAaeError(badVersion, 'FOLD_MODULE_INVALID')).toBe(true);
  expect((badVersion as Error).message).toContain('not semver');
  const badCodec = await refusal(`export default { ${base}, accCodec: { encode: (a) => a } };`);
  expect(isAaeError(badCodec, 'FOLD_MODULE_INVALID')).toBe(true);
  expect((badCodec as Error).message).toContain('accCodec');
});
