import { expect, test } from 'vitest';
import { pgBench } from '../../src/bench/pg.js';
import { BENCH_SUITES } from '../../src/bench/suites.js';

test('aae bench pg is registered and reports every figure at a tiny scale (shape only, never timings)', async () => {
  expect(BENCH_SUITES).toContain(pgBench);
  const lines: string[] = [];
  const r = await pgBench.run({ scale: 0.001, log: (l) => lines.push(l) });
  expect(r.suite).toBe('pg');
  expect(r.params).toMatchObject({ rows: 1000, changes: 500, differences: 100 });
  expect(r.figures.map((f) => f.unit)).toEqual(['rows/s', 'changes/s', 'ms', 'ms', 'ms', 'ms', 'writes/s']);
  for (const f of r.figures) {
    expect(f.value).toBeGreaterThanOrEqual(0);
    if (f.baseline !== undefined) expect(f.baseline.value).toBeGreaterThan(0);
    if (f.target !== undefined) expect(typeof f.met).toBe('boolean');
  }
  expect(lines.length).toBeGreaterThan(0);
}, 300_000);
