import type { Logger } from './log.js';
import type { Progress } from './progress.js';

import type { OutStream } from './out-stream.js';

export type { OutStream };

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  /** Fires when the user interrupts (Ctrl-C): long commands stop, close their stores and say what was done. */
  signal?: AbortSignal;
  /** Told each exit code a command sets, as it sets it (main.ts keeps process.exitCode current). */
  onExitCode?: (code: ExitCode) => void;
}

/**
 * The reason the CLI's signal carries when stdout was closed under it (`aae compare … | head -1`):
 * the command stops, and the process exits with the code the command had set (1 when it had found
 * differences), not with the failure an abort would be.
 */
export class StdoutClosed extends Error {
  constructor() {
    super('stdout was closed by its reader');
  }
}

/** Exit codes follow diff(1): 0 in sync / done, 1 differences found, 2 bad usage or input, 3 failure. */
export const EXIT = { OK: 0, DIFFERENT: 1, INPUT: 2, FAILURE: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What every command action receives besides its arguments. */
export interface CommandContext {
  io: CliIo;
  /** A command that finds differences (or a missing key) sets 1; errors are mapped by the runner. */
  setExitCode(code: ExitCode): void;
  /** The code set so far (what the process exits with if stdout is closed under the command). */
  readonly exitCode: ExitCode;
  /** Coded JSON log lines on stderr, at `--log-level` (log.ts). */
  readonly log: Logger;
  /** A long-running service's logger (`aae node serve`): at `--log-level` when given, else at info. */
  readonly serviceLog: Logger;
  /** `--quiet`: no progress bar or records. */
  readonly quiet: boolean;
  /** Progress of a long task on stderr: a bar on a TTY, records otherwise, nothing with --quiet. */
  progress(task: string, total?: number, unit?: string): Progress;
}

/** The shell's convention for a process ended by a signal: 128 + its number. */
export const EXIT_ON_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof EXIT_ON_SIGNAL;

/**
 * The process's exit code once a command has returned. A command stopped by Ctrl-C or SIGTERM
 * ends in a failure (ABORTED, exit 3), which the shell should see as 130 or 143. A command that
 * finished anyway (the signal came while its stores were closing, after it had reported success)
 * keeps its own code.
 */
export function finalExitCode(code: ExitCode, stoppedBy: StopSignal | undefined): number {
  return stoppedBy !== undefined && code === EXIT.FAILURE ? EXIT_ON_SIGNAL[stoppedBy] : code;
}
