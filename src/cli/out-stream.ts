/** Where the CLI writes. Tests pass string sinks; `main.ts` passes the process streams. */
export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}
