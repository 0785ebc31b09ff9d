import os from 'node:os';

/**
 * What every benchmark prints: the machine, the sizes it ran at, each figure, and for each figure
 * a ratio against a baseline measured in the same run (this machine is shared and noisy: absolute
 * numbers drift, ratios measured side by side drift much less).
 */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  /** What the figure is compared with, measured in the same run. */
  baseline?: { name: string; value: number; unit: string };
  /** value / baseline.value (or as `ratioMeaning` says). */
  ratio?: number;
  ratioMeaning?: string;
  /** The target, as text, and whether this run met it. */
  target?: string;
  met?: boolean;
}

export interface BenchReport {
  suite: string;
  machine: MachineInfo;
  params: Record<string, number | string>;
  figures: BenchFigure[];
}

export interface MachineInfo {
  node: string;
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** Best of `runs` timings of `fn`, in milliseconds (the least disturbed run on a shared machine). */
export async function bestOf(runs: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The p-th percentile (0..100) of ascending values, nearest rank; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
