/** Where the CLI writes. Tests pass string sinks; `main.ts` passes the process streams. */
export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  /** Fires when the user interrupts (Ctrl-C): long commands stop, close their stores and say what was done. */
  signal?: AbortSignal;
}

/** Exit codes follow diff(1): 0 in sync / done, 1 differences found, 2 bad usage or input, 3 failure. */
export const EXIT = { OK: 0, DIFFERENT: 1, INPUT: 2, FAILURE: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What every command action receives besides its arguments. */
export interface CommandContext {
  io: CliIo;
  /** A command that finds differences (or a missing key) sets 1; errors are mapped by the runner. */
  setExitCode(code: ExitCode): void;
}
