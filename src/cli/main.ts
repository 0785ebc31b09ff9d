#!/usr/bin/env node
import { setMaxListeners } from 'node:events';
import { EXIT, EXIT_ON_SIGNAL, finalExitCode, type StopSignal } from './io.js';
import { runCli } from './program.js';

// A reader that stops early (`aae compare … | head`) closes our stdout: that is a normal end for a
// command-line tool, not a crash. Exiting here is safe for the stores: trees that were not saved
// on a clean close are rebuilt from the heads on the next open.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

/** How long a stopped or failed command's output may take to drain before the process exits. */
const EXIT_GRACE_MS = 500;

// The first Ctrl-C (or SIGTERM, as a service manager sends) asks the running command to stop
// cleanly (stores closed, trees saved, what was done reported); a second one ends the process at once.
const interrupt = new AbortController();
// Every exchange, fold and wait of a command listens on this one signal (a replica compare runs
// dozens at once): that is by design, not a leak.
setMaxListeners(0, interrupt.signal);
let stoppedBy: StopSignal | undefined;
for (const signal of Object.keys(EXIT_ON_SIGNAL) as StopSignal[]) {
  process.on(signal, () => {
    if (stoppedBy !== undefined) process.exit(EXIT_ON_SIGNAL[stoppedBy]);
    stoppedBy = signal;
    interrupt.abort(new Error(`interrupted (${signal})`));
  });
}

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: interrupt.signal });
process.exitCode = finalExitCode(code, stoppedBy);

// A command that failed or was stopped has closed its stores and said why. Code it ran may still
// hold the process open: a fold module from a file that ignored its signal keeps a timer, or
// awaits forever. It must not keep the process past its answer: exit once what is written has had
// a moment to drain (an unref'd timer, so a process that ends by itself ends at once). A command
// that succeeded is never cut short.
if (code === EXIT.FAILURE || stoppedBy !== undefined) setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
