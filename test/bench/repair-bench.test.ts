import { expect, test } from 'vitest';
import { repairBench } from '../../src/bench/repair.js';
import { BENCH_SUITES } from '../../src/bench/suites.js';

test('aae bench repair is registered and reports every figure at a tiny scale (shape only, never timings)', async () => {
  expect(BENCH_SUITES).toContain(repairBench);
  const lines: string[] = [];
  const r = await repairBench.run({ scale: 0.01, log: (l) => lines.push(l) });
  expect(r.suite).toBe('repair');
  expect(r.params).toMatchObject({ emptySinkKeys: 1000, scattered: 50 });
  expect(r.figures.map((f) => f.unit)).toEqual(['keys/s', 'keys/s', 'keys/s']);
  for (const f of r.figures) {
    expect(f.value).toBeGreaterThan(0);
    expect(f.baseline!.value).toBeGreaterThan(0);
    expect(typeof f.met).toBe('boolean');
  }
  expect(lines.length).toBeGreaterThan(0);
});
