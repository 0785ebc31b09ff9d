#!/usr/bin/env node
import { setMaxListeners } from 'node:events';
import { EXIT, EXIT_ON_SIGNAL, StdoutClosed, finalExitCode, type StopSignal } from './io.js';
import { runCli } from './program.js';

// The first Ctrl-C (or SIGTERM, as a service manager sends) asks the running command to stop
// cleanly (stores closed, trees saved, what was done reported); a second one ends the process at once.
const interrupt = new AbortController();
// Every exchange, fold and wait of a command listens on this one signal (a replica compare runs
// dozens at once): that is by design, not a leak.
setMaxListeners(0, interrupt.signal);

// A reader that stops early (`aae compare … | head -1`) closes our stdout: a normal end for a
// command-line tool, not a crash. The command is stopped through the same signal as Ctrl-C (its
// stores closed, trees saved) and the process exits with the code the command had set by then:
// a compare that found differences sets 1 before it prints the first one, so a script under
// `set -o pipefail` sees 1, never "in sync". A command that ignores the signal finishes, its
// further writes dropped.
let stdoutClosed = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  // After EPIPE, later writes fail too (the stream is destroyed): those are the same end.
  if (stdoutClosed) return;
  if (e.code !== 'EPIPE') throw e;
  stdoutClosed = true;
  if (!interrupt.signal.aborted) interrupt.abort(new StdoutClosed());
});

let stoppedBy: StopSignal | undefined;
for (const signal of Object.keys(EXIT_ON_SIGNAL) as StopSignal[]) {
  process.on(signal, () => {
    if (stoppedBy !== undefined) process.exit(EXIT_ON_SIGNAL[stoppedBy]);
    stoppedBy = signal;
    if (!interrupt.signal.aborted) interrupt.abort(new Error(`interrupted (${signal})`));
  });
}

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: interrupt.signal,
  onExitCode: (c) => {
    process.exitCode = c;
  },
});
process.exitCode = finalExitCode(code, stoppedBy);

/** How long a stopped or failed command's output may take to drain before the process exits. */
const EXIT_GRACE_MS = 500;
/** How long a command that succeeded may take to let go of the process before it is told to. */
const LEFT_OPEN_MS = 2_000;

// A command that failed or was stopped has closed its stores and said why. Code it ran may still
// hold the process open: a fold module from a file that ignored its signal keeps a timer, or
// awaits forever. It must not keep the process past its answer: exit once what is written has had
// a moment to drain (an unref'd timer, so a process that ends by itself ends at once). A command
// that succeeded gets longer, and is told what it left open (leftOpen).
if (code === EXIT.FAILURE || stoppedBy !== undefined || stdoutClosed) setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
else setTimeout(leftOpen, LEFT_OPEN_MS).unref();

/**
 * A command that succeeded has answered and closed what it opened; the process then ends by
 * itself. If it is still here (an unref'd timer fires only while something else holds the
 * process), something was left open: a connection this tool leaked, a timer of a fold module from
 * a file. A cron job must not hang on it: say what is open, and exit with the command's code.
 */
function leftOpen(): void {
  // Handles other than this process's own stdio (Node lists timers apart: a timer is what is left when none is).
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().filter((h) => h !== process.stdin && h !== process.stdout && h !== process.stderr);
  const named = handles.map((h) => {
    const s = h as { remoteAddress?: string; remotePort?: number; constructor?: { name?: string } };
    return s.remoteAddress !== undefined ? `a connection to ${s.remoteAddress}:${s.remotePort}` : `a ${s.constructor?.name ?? 'handle'}`;
  });
  const what = named.length > 0 ? named.join(', ') : 'a timer';
  process.stderr.write(`aae: the command finished ${LEFT_OPEN_MS / 1000} s ago, but something it opened is still open (${what}); exiting anyway\n`);
  process.exit();
}
