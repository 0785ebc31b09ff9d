import { expect, test } from 'vitest';
import { redisBench } from '../../src/bench/redis.js';
import { BENCH_SUITES } from '../../src/bench/suites.js';

test('aae bench redis is registered and reports every figure at a tiny scale (shape only, never timings)', async () => {
  expect(BENCH_SUITES).toContain(redisBench);
  const lines: string[] = [];
  const r = await redisBench.run({ scale: 0.001, log: (l) => lines.push(l) });
  expect(r.suite).toBe('redis');
  expect(r.params).toMatchObject({ keys: 1000, changes: 1000 });
  expect(r.figures.map((f) => f.unit)).toEqual(['keys/s', 'keys/s', 'changes/s', 'ms', 'ms', 'writes/s', 'writes/s', 'writes/s']);
  // The source-write figures share one baseline (notifications off, no feed): the feed's, notifications alone, a plain subscriber.
  const writes = r.figures.filter((f) => f.unit === 'writes/s');
  expect(new Set(writes.map((f) => f.baseline?.value)).size).toBe(1);
  expect(writes.map((f) => f.name)).toEqual([expect.stringMatching(/the feed attached/), expect.stringMatching(/nobody subscribed/), expect.stringMatching(/plain subscriber/)]);
  for (const f of r.figures) {
    expect(f.value).toBeGreaterThanOrEqual(0);
    if (f.baseline !== undefined) expect(f.baseline.value).toBeGreaterThan(0);
    if (f.target !== undefined) expect(typeof f.met).toBe('boolean');
  }
  expect(lines.length).toBeGreaterThan(0);
}, 300_000);
