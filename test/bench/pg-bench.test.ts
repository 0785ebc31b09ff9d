import { expect, test } from 'vitest';
import { pgBench } from '../../src/bench/pg.js';
import { BENCH_SUITES } from '../../src/bench/suites.js';

test('aae bench pg is registered and reports every figure at a tiny scale (shape only, never timings)', async () => {
  expect(BENCH_SUITES).toContain(pgBench);
  const lines: string[] = [];
  const r = await pgBench.run({ scale: 0.001, log: (l) => lines.push(l) });
  expect(r.suite).toBe('pg');
  expect(r.params).toMatchObject({ rows: 1000, changes: 500, differences: 100 });
  // The rates and times, in order; each rate with a baseline has a CPU-time figure beside it where /proc is readable.
  const rates = r.figures.filter((f) => !f.name.includes('CPU time'));
  expect(rates.map((f) => f.unit)).toEqual(['rows/s', 'rows/s', 'changes/s', 'changes/s', 'ms', 'ms', 'ms', 'ms', 'writes/s', 'writes/s']);
  if (process.platform === 'linux') expect(r.figures.filter((f) => f.name.includes('CPU time')).length).toBe(3);
  for (const f of r.figures) {
    expect(f.value).toBeGreaterThanOrEqual(0);
    if (f.baseline !== undefined) expect(f.baseline.value).toBeGreaterThan(0);
    if (f.target !== undefined) expect(typeof f.met).toBe('boolean');
  }
  expect(lines.length).toBeGreaterThan(0);
}, 300_000);
