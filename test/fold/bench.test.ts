import { expect, test } from 'vitest';
import { foldBench } from '../../src/bench/fold.js';
import { BENCH_SUITES } from '../../src/bench/suites.js';

test('the fold bench runs at a tiny scale and reports its figures with same-run baselines (timings not asserted)', async () => {
  expect(BENCH_SUITES).toContain(foldBench);
  const lines: string[] = [];
  const report = await foldBench.run({ scale: 0.002, log: (l) => lines.push(l) });
  expect(report.suite).toBe('fold');
  expect(report.params).toMatchObject({ objects: 2000, ringSize: 16, nVal: 3, nodes: 3 });
  expect(report.figures.map((f) => f.unit)).toEqual(['entries/s', 'entries/s', 'ms']);
  for (const f of report.figures) {
    expect(Number.isFinite(f.value)).toBe(true);
    expect(f.baseline).toBeDefined();
    expect(Number.isFinite(f.ratio)).toBe(true);
    expect(typeof f.met).toBe('boolean');
  }
  expect(lines.length).toBeGreaterThan(0);
});
