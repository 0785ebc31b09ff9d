import { expect, test } from 'vitest';
import { pluginsBench } from '../../src/bench/plugins.js';
import { BENCH_SUITES } from '../../src/bench/suites.js';

test('aae bench plugins is registered and reports the plugin rate against the built-in and reload latency at a tiny scale (shape only, never timings)', async () => {
  expect(BENCH_SUITES).toContain(pluginsBench);
  const lines: string[] = [];
  const r = await pluginsBench.run({ scale: 0.002, log: (l) => lines.push(l) });
  expect(r.suite).toBe('plugins');
  expect(r.params).toMatchObject({ objects: 2000, nodes: 3 });
  const [rate, cloned, serial, reload] = r.figures;
  expect(cloned!.name).toMatch(/structured clone/);
  expect(serial!.name).toMatch(/no batch in flight/);
  expect(rate!.baseline!.name).toMatch(/built in/);
  // Both folds saw every object (the bench checks items itself) and the ratio is what it says.
  expect(rate!.ratio).toBeCloseTo(rate!.value / rate!.baseline!.value, 2);
  expect(typeof rate!.met).toBe('boolean');
  expect(reload!.unit).toBe('ms');
  expect(reload!.value).toBeGreaterThan(0);
  expect(lines.some((l) => l.includes('reloads'))).toBe(true);
}, 120_000);
