import { expect, test } from 'vitest';
import { planBench } from '../../src/bench/plan.js';
import { BENCH_SUITES } from '../../src/bench/suites.js';

test('the plan bench runs at a tiny scale and reports its figures with same-run baselines (timings not asserted)', async () => {
  expect(BENCH_SUITES).toContain(planBench);
  const lines: string[] = [];
  const report = await planBench.run({ scale: 0.01, log: (l) => lines.push(l) });
  expect(report.suite).toBe('plan');
  expect(report.params).toMatchObject({ ringSize: 1024, nVal: 3, nodes: 8 });
  expect(report.figures.map((f) => f.unit)).toEqual(['ms/plan', 'ms/plan', 'ms/plan', 'vnodes']);
  for (const f of report.figures) {
    expect(Number.isFinite(f.value)).toBe(true);
    expect(f.baseline).toBeDefined();
    expect(Number.isFinite(f.ratio)).toBe(true);
  }
  expect(typeof report.figures[0]!.met).toBe('boolean');
  // The vnode count is not a timing: 2 of 8 nodes down on 1024/3 asks a few more than ⌈1024/3⌉ = 342.
  expect(report.figures[3]!.value).toBeGreaterThanOrEqual(342);
  expect(lines.length).toBeGreaterThan(0);
});
