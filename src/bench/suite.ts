import type { BenchReport } from './report.js';

export interface BenchOptions {
  /** Scale factor for N (1 = the sizes the targets name); tests run tiny scales. */
  scale: number;
  /** Progress lines go here (the CLI passes stderr). */
  log: (line: string) => void;
}

export interface BenchSuite {
  name: string;
  description: string;
  run(options: BenchOptions): Promise<BenchReport>;
}
