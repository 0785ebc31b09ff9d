import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { aae, withTempDir } from './helpers.js';

/**
 * `aae fold` and `aae inspect` end on Ctrl-C, SIGTERM and --timeout with a coded error and the
 * documented exit code, even when a fold module from a file ignores its signal: before, a flush
 * that never settled exited 13 with no message (even with --timeout), and Ctrl-C was ignored.
 * The signals go to the built CLI as a child process, as a user's would.
 */
const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');

/** A module whose flush never settles; `busy` also keeps a timer alive (so the process cannot just drain). */
function hangingModule(busy: boolean): string {
  return `export default {
  name: 'hangs', apiVersion: 1,
  parseQuery: (q) => q ?? {},
  stateNeeds: () => 'heads',
  generateFilter: () => ({}),
  generateAcc: () => 0,
  generateMergeFun: () => (a, b) => a + b,
  generateObjectFoldFun: () => (acc) => acc + 1,
  generateFlushFun: () => async () => {
    process.stderr.write('module: flushing\\n');
    return new Promise(() => { ${busy ? 'setInterval(() => {}, 1000);' : ''} });
  },
  accBound: () => 1e12,
  accSize: () => 1,
};
`;
}

/** A module file whose loading never finishes (a top-level await on a promise that never settles). */
const HANGING_LOAD = `process.stderr.write('module: loading\\n');
await new Promise(() => { setInterval(() => {}, 1000); });
export default {};
`;

function run(args: string[], signal?: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    // A safety valve, not a timing assertion: a CLI that ignores the signal would otherwise hang the suite.
    const valve = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (signal !== undefined && !sent && /module: /.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(valve);
      resolve({ code, stderr });
    });
  });
}

async function setUp(tmp: string): Promise<string> {
  const dir = join(tmp, 'c');
  expect((await aae('cluster', 'create', dir, '--nodes', '2', '--ring-size', '8', '--n-val', '2', '--tree-size', 'small')).code).toBe(0);
  for (let i = 0; i < 5; i++) expect((await aae('put', dir, 'b', `k${i}`, 'v')).code).toBe(0);
  await writeFile(join(tmp, 'quiet.mjs'), hangingModule(false));
  await writeFile(join(tmp, 'busy.mjs'), hangingModule(true));
  await writeFile(join(tmp, 'load.mjs'), HANGING_LOAD);
  return dir;
}

/** The cluster was closed cleanly or not at all, and opens again (no lock left, data intact). */
async function stillUsable(dir: string): Promise<void> {
  const c = await EmbeddedCluster.open(dir);
  expect((await c.get('b', 'k3'))?.deleted).toBe(false);
  await c.close();
}

describe('stopping a fold whose module ignores its signal', () => {
  test('--timeout ends a flush that never settles: TIMEOUT, exit 3', () =>
    withTempDir(async (tmp) => {
      const dir = await setUp(tmp);
      for (const file of ['quiet.mjs', 'busy.mjs', 'load.mjs']) {
        const r = await run(['fold', dir, join(tmp, file), '--timeout', '300']);
        expect(r.stderr, file).toContain('[TIMEOUT]');
        expect(r.code, file).toBe(3);
      }
      await stillUsable(dir);
    }));

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s ends it: ABORTED, exit %i', (signal, exit) =>
    withTempDir(async (tmp) => {
      const dir = await setUp(tmp);
      for (const file of ['busy.mjs', 'load.mjs']) {
        const r = await run(['fold', dir, join(tmp, file)], signal);
        expect(r.stderr, file).toContain('[ABORTED]');
        expect(r.code, file).toBe(exit);
      }
      await stillUsable(dir);
    }),
  );

  test('fold and inspect heed the CLI signal: once it has fired, they stop with ABORTED (exit 3 in-process)', () =>
    withTempDir(async (tmp) => {
      const dir = await setUp(tmp);
      const stopped = AbortSignal.abort(new Error('interrupted (SIGINT)'));
      for (const argv of [
        ['fold', dir, 'object_stats'],
        ['inspect', dir],
      ]) {
        let stderr = '';
        const code = await runCli(argv, { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, signal: stopped });
        expect(stderr, argv[0]).toContain('[ABORTED]');
        expect(code, argv[0]).toBe(3);
      }
      await stillUsable(dir);
    }));
});

/** A module that finishes its fold and leaves a timer running behind it. */
const LEAVES_A_TIMER = `export default {
  name: 'leaves_timer', apiVersion: 1,
  parseQuery: (q) => q ?? {},
  stateNeeds: () => 'heads',
  generateFilter: () => ({}),
  generateAcc: () => {
    setInterval(() => {}, 1000);
    return 0;
  },
  generateMergeFun: () => (a, b) => a + b,
  generateObjectFoldFun: () => (acc) => acc + 1,
  accBound: () => 1e12,
  accSize: () => 1,
};
`;

test('a command that succeeded but left something open (a module\'s timer) still ends its process, with its exit code and a word about it', () =>
  withTempDir(async (tmp) => {
    const dir = await setUp(tmp);
    await writeFile(join(tmp, 'timer.mjs'), LEAVES_A_TIMER);
    const r = await run(['fold', dir, join(tmp, 'timer.mjs')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the command finished 2 s ago, but something it opened is still open \(a timer\); exiting anyway/);
    // A command that leaves nothing open ends by itself, without the word.
    const clean = await run(['fold', dir, 'object_stats']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stderr).not.toContain('still open');
  }));

