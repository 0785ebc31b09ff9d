#!/usr/bin/env node
import { runCli } from './program.js';

// A reader that stops early (`aae compare … | head`) closes our stdout: that is a normal end for a
// command-line tool, not a crash. Exiting here is safe for the stores: trees that were not saved
// on a clean close are rebuilt from the heads on the next open.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
