import { expect, test } from 'vitest';
import { redisBench } from '../../src/bench/redis.js';
import { BENCH_SUITES } from '../../src/bench/suites.js';

test('aae bench redis is registered and reports every figure at a tiny scale (shape only, never timings)', async () => {
  expect(BENCH_SUITES).toContain(redisBench);
  const lines: string[] = [];
  const r = await redisBench.run({ scale: 0.001, log: (l) => lines.push(l) });
  expect(r.suite).toBe('redis');
  expect(r.params).toMatchObject({ keys: 1000, changes: 1000 });
  expect(r.figures.map((f) => f.unit)).toEqual(['keys/s', 'keys/s', 'changes/s', 'ms', 'ms', 'writes/s']);
  for (const f of r.figures) {
    expect(f.value).toBeGreaterThanOrEqual(0);
    if (f.baseline !== undefined) expect(f.baseline.value).toBeGreaterThan(0);
    if (f.target !== undefined) expect(typeof f.met).toBe('boolean');
  }
  expect(lines.length).toBeGreaterThan(0);
}, 300_000);
