import { SingleBar } from 'cli-progress';
import type { OutStream } from './io.js';

/**
 * Progress for long work: a bar on a TTY (stderr), nothing otherwise — logs and pipes stay clean,
 * and `--json` output on stdout is never touched.
 */
export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function startProgress(out: OutStream, total: number, label: string): Progress {
  if (!out.isTTY || total <= 0) return { update() {}, stop() {} };
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`,
      stream: out as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: false,
    },
  );
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}
