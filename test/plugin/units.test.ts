import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { foldVersionFlag } from '../../src/cli/program.js';
import { isAaeError } from '../../src/errors.js';
import { HISTOGRAM_BUCKETS, counts, histogram, packHashSizes, readManifest, unpackHashSizes } from '../../src/plugin/index.js';
import { headArb } from '../../src/testing/arbitraries.js';
import { withTempDir } from '../cli/helpers.js';

describe('packed hash-and-size batches', () => {
  const entry = headArb.map((h) => ({ bucket: h.bucket, key: h.key, keyspace: h.keyspace, segment32: h.segment32, alt: h.alt, hash: h.hash, size: h.size, deleted: h.deleted }));
  test('unpack(pack(batch)) is the batch, for any entries (sizes up to 2^53, keys of any bytes, many buckets)', () => {
    const wide = fc.record({
      bucket: fc.string({ minLength: 1, maxLength: 8 }),
      key: fc.uint8Array({ maxLength: 40 }),
      keyspace: fc.integer({ min: 0, max: 1023 }),
      segment32: fc.integer({ min: 0, max: 0xffff_ffff }),
      alt: fc.integer({ min: 0, max: 0xffff_ffff }),
      hash: fc.integer({ min: 0, max: 0xffff_ffff }),
      size: fc.maxSafeNat(),
      deleted: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(entry, wide), { maxLength: 200 }), (batch) => {
        const back = unpackHashSizes(packHashSizes(batch));
        expect(back.map((e) => ({ ...e, key: [...e.key] }))).toEqual(batch.map((e) => ({ ...e, key: [...e.key] })));
      }),
      { numRuns: 200 },
    );
  });
});

describe('bounded accumulators', () => {
  const ops = fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 0, max: 100 })), { maxLength: 30 });
  const build = (xs: Array<[string, number]>, max = 5): ReturnType<typeof counts.empty> => {
    const acc = counts.empty(max);
    for (const [k, n] of xs) counts.add(acc, k, n, 't');
    return acc;
  };
  test('counts: merge is commutative and associative with the empty one as identity, and never mutates', () => {
    fc.assert(
      fc.property(ops, ops, ops, (x, y, z) => {
        const [a, b, c] = [build(x), build(y), build(z)];
        const snap = JSON.stringify([a, b, c]);
        const norm = (v: ReturnType<typeof counts.empty>): unknown => Object.fromEntries(Object.entries(v.counts).sort());
        expect(norm(counts.merge(a, b, 't'))).toEqual(norm(counts.merge(b, a, 't')));
        expect(norm(counts.merge(counts.merge(a, b, 't'), c, 't'))).toEqual(norm(counts.merge(a, counts.merge(b, c, 't'), 't')));
        expect(norm(counts.merge(a, counts.empty(5), 't'))).toEqual(norm(a));
        expect(JSON.stringify([a, b, c])).toBe(snap);
      }),
    );
  });
  test('counts: a key past the bound is FOLD_ACC_OVERFLOW, never a bigger accumulator', () => {
    const acc = build([['a', 1], ['b', 1]], 2);
    let e: unknown;
    try {
      counts.add(acc, 'c', 1, 'mine');
    } catch (x) {
      e = x;
    }
    expect(isAaeError(e, 'FOLD_ACC_OVERFLOW')).toBe(true);
    expect(counts.size(acc)).toBe(2);
  });
  test('histogram: bucket b holds [2^(b-1), 2^b) for every safe integer, and merge adds', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (v) => {
        const b = histogram.bucketOf(v);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThan(HISTOGRAM_BUCKETS);
        expect(v).toBeGreaterThanOrEqual(histogram.lowerBound(b));
        if (b > 0 && b < HISTOGRAM_BUCKETS - 1) expect(v).toBeLessThan(2 * histogram.lowerBound(b));
      }),
    );
    expect(histogram.merge(histogram.add(histogram.empty(), 5), histogram.add(histogram.empty(), 6))[3]).toBe(2);
  });
});

describe('manifests are read without running the plugin', () => {
  test.each([
    ['no package.json', {}, /package\.json/, undefined],
    ['no "aae"', { 'package.json': { name: 'x', version: '1.0.0' } }, /field "aae": is missing or not an object/, 'aae'],
    ['a version that is not semver', { 'package.json': { name: 'x', version: 'one', aae: { pluginApi: '^1.0.0' } } }, /not semver/, 'version'],
    ['no plugin-API range', { 'package.json': { name: 'x', version: '1.0.0', aae: {} } }, /plugin-API range/, 'aae.pluginApi'],
    ['a bad name', { 'package.json': { name: '@scope/x', version: '1.0.0', aae: { pluginApi: '^1' } } }, /not a module name/, 'name'],
    ['a main outside the folder', { 'package.json': { name: 'x', version: '1.0.0', main: '../evil.js', aae: { pluginApi: '^1' } } }, /outside/, 'main'],
    ['a main that is missing', { 'package.json': { name: 'x', version: '1.0.0', aae: { pluginApi: '^1' } } }, /does not exist/, undefined],
  ])('%s is PLUGIN_INVALID naming it', async (_what, files, message, field) => {
    await withTempDir(async (dir) => {
      const p = join(dir, 'p');
      await mkdir(p);
      for (const [f, v] of Object.entries(files)) await writeFile(join(p, f), JSON.stringify(v));
      await expect(readManifest(p)).rejects.toSatisfy((e: unknown) => isAaeError(e, 'PLUGIN_INVALID') && message.test(e.message) && e.details?.['field'] === field);
    });
  });
  test('a single-file plugin declares itself in a header line', async () => {
    await withTempDir(async (dir) => {
      const f = join(dir, 'one.mjs');
      await writeFile(f, '// aae-plugin {"name": "one", "version": "2.1.0", "pluginApi": "^1.0.0"}\nthrow new Error("never run by reading the manifest");\n');
      expect(await readManifest(f)).toMatchObject({ name: 'one', version: '2.1.0', apiRange: '^1.0.0', mutates: false, entry: f });
      const bare = join(dir, 'bare.js');
      await writeFile(bare, 'export default {};\n');
      await expect(readManifest(bare)).rejects.toMatchObject({ code: 'PLUGIN_INVALID' });
    });
  });
});

test("aae fold's --version reaches fold (commander would give it to the program's own --version)", () => {
  expect(foldVersionFlag(['fold', 'c', 'p', '--version', '^1'])).toEqual(['fold', 'c', 'p', '--module-version', '^1']);
  expect(foldVersionFlag(['--log-level', 'info', 'fold', 'c', 'p', '--version=1.2.0'])).toEqual(['--log-level', 'info', 'fold', 'c', 'p', '--module-version=1.2.0']);
  expect(foldVersionFlag(['--version'])).toEqual(['--version']);
  expect(foldVersionFlag(['compare', 'a', '--version'])).toEqual(['compare', 'a', '--version']);
});
