import { expect, test } from 'vitest';
import { BENCH_SUITES } from '../../src/bench/suites.js';
import { storeBench } from '../../src/bench/store.js';

test('aae bench store is registered and reports every figure at a tiny scale (shape only, never timings)', async () => {
  expect(BENCH_SUITES).toContain(storeBench);
  const lines: string[] = [];
  const report = await storeBench.run({ scale: 0.0005, log: (l) => lines.push(l) });
  expect(report.suite).toBe('store');
  expect(report.params).toMatchObject({ ringSize: 8, nVal: 3, nodes: 3, treeSize: 'large' });
  expect(report.figures.map((f) => f.unit)).toEqual(['objects/s', 'objects/s', 'objects/s', 'objects/s', 'objects/s', 'objects/s', 'objects/s', 'heads/s', 'ms', 's', 'MiB', 'MiB']);
  for (const f of report.figures) {
    expect(Number.isFinite(f.value)).toBe(true);
    if (f.baseline !== undefined) {
      expect(f.baseline.value).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(f.ratio)).toBe(true);
    }
    if (f.target !== undefined) expect(typeof f.met).toBe('boolean');
  }
  expect(lines.length).toBeGreaterThan(0);
});
