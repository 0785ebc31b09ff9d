import { describe, expect, test } from 'vitest';
import { BENCH_SUITES } from '../../src/bench/suites.js';
import { tictacBench } from '../../src/bench/tictac.js';

describe('aae bench tictac', () => {
  test('is registered and, at a tiny scale, reports every figure with a baseline (timings not asserted)', async () => {
    expect(BENCH_SUITES).toContain(tictacBench);
    const lines: string[] = [];
    const report = await tictacBench.run({ scale: 0.002, log: (l) => lines.push(l) });
    expect(report.suite).toBe('tictac');
    expect(report.params).toMatchObject({ keys: 2000, treeSize: 'large', segments: 1_048_576, diffs: 100 });
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(report.figures.map((f) => f.name)).toEqual([
      'add precomputed contributions (large tree)',
      'hash and add keys of 20–40 bytes with a clock',
      'dirtySegments, two large trees differing in 100 segments',
      'export bytes',
      'export',
      'import',
    ]);
    for (const f of report.figures) {
      expect(Number.isFinite(f.value)).toBe(true);
      expect(f.baseline).toBeDefined();
      expect(Number.isFinite(f.baseline!.value)).toBe(true);
      // A ratio of two positive figures: finite and positive (NaN or Infinity would mean a zero or missing figure).
      expect(Number.isFinite(f.ratio) && f.ratio! > 0, `${f.name}: ratio ${f.ratio}`).toBe(true);
      expect(f.ratioMeaning).toBeTruthy();
    }
    for (const f of report.figures.slice(0, 3)) {
      expect(f.target).toBeTruthy();
      expect(typeof f.met).toBe('boolean');
    }
    // 2000 keys fill at most 2000 branch records (36 bytes) and 2000 leaves (4): far below 4 MiB.
    const bytes = report.figures[3]!;
    expect(bytes.value).toBeLessThanOrEqual(24 + 2000 * 40);
    expect(bytes.baseline!.value).toBe(4 * 1_048_576);
    expect(lines.length).toBeGreaterThan(0);
  });
});
