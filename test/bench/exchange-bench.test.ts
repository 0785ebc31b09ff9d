import { expect, test } from 'vitest';
import { exchangeBench } from '../../src/bench/exchange.js';
import { BENCH_SUITES } from '../../src/bench/suites.js';

test('aae bench exchange is registered and reports every scenario at a tiny scale (shape only, never timings)', async () => {
  expect(BENCH_SUITES).toContain(exchangeBench);
  const lines: string[] = [];
  const r = await exchangeBench.run({ scale: 0.002, log: (l) => lines.push(l) });
  expect(r.suite).toBe('exchange');
  expect(r.params).toMatchObject({ keys: 2000, largeDeltaKeys: 1000, smallDelta: 100, largeDelta: 100, pauseMs: 10, treeSize: 'large' });
  const byName = new Map(r.figures.map((f) => [f.name, f]));
  for (const scenario of ['in sync', '100 differences among 2000 keys', '100 differences among 1000 keys']) {
    for (const what of ['time', 'bytes moved', 'round trips of tree data before the clock compare', 'differences found']) {
      expect(byName.has(`${scenario}: ${what}`), `${scenario}: ${what}`).toBe(true);
    }
    // The bench asserts the planted count itself; the figure says so too.
    expect(byName.get(`${scenario}: differences found`)!.met).toBe(true);
    const bytes = byName.get(`${scenario}: bytes moved`)!;
    expect(bytes.baseline!.value).toBeGreaterThan(0);
    // The ratio is what it says: exchange bytes over the naive baseline's, measured in this run.
    expect(bytes.ratio).toBeCloseTo(bytes.value / bytes.baseline!.value, 3);
  }
  expect(byName.get('in sync: differences found')!.value).toBe(0);
  expect(byName.get('100 differences among 2000 keys: round trips of tree data before the clock compare')!.value).toBeLessThanOrEqual(3);
  for (const f of r.figures) if (f.target !== undefined) expect(typeof f.met).toBe('boolean');
  expect(lines.length).toBeGreaterThan(0);
}, 60_000);
