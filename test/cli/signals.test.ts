import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { finalExitCode } from '../../src/cli/io.js';
import { aae, withTempDir } from './helpers.js';

/**
 * Stopping the real process: the built CLI (`npm ci` builds dist/, as CI does) run as a child,
 * stopped by the signal a user or a service manager sends.
 */
const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');

function run(args: string[], signal: NodeJS.Signals, when: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && when.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('stopping the CLI', () => {
  test('a stopped command exits 128 + the signal; one that finished keeps its code', () => {
    expect(finalExitCode(3, 'SIGINT')).toBe(130);
    expect(finalExitCode(3, 'SIGTERM')).toBe(143);
    expect(finalExitCode(3, undefined)).toBe(3);
    for (const code of [0, 1, 2] as const) {
      expect(finalExitCode(code, 'SIGINT')).toBe(code);
      expect(finalExitCode(code, 'SIGTERM')).toBe(code);
    }
  });

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('aae sync waiting for its next check stops on %s, exits %i, and leaves both clusters usable', (signal, exit) =>
    withTempDir(async (tmp) => {
      const [a, b] = [join(tmp, 'dc1'), join(tmp, 'dr1')];
      for (const dir of [a, b]) expect((await aae('cluster', 'create', dir, '--nodes', '1', '--ring-size', '8', '--n-val', '1', '--tree-size', 'small')).code).toBe(0);
      expect((await aae('put', a, 'b', 'k', 'v')).code).toBe(0);
      // Two checks a one-minute period: the first waits up to 30 s, long enough to stop it there.
      const r = await run(['sync', a, b, '--schedule', 'all=2', '--period', '1m', '--pause-ms', '0', '--state', join(tmp, 'state.json')], signal, /next: all check/);
      expect(r.code).toBe(exit);
      // A clean stop, not an error: no error line, but what it did and where its state is.
      expect(r.stderr).not.toContain('[ABORTED]');
      expect(r.stderr).toMatch(/stopped after 0 check\(s\); the state of the last finished one is in \S+state\.json/);
      // Nothing was left locked: a check runs at once and writes its state.
      const once = await aae('sync', a, b, '--once', 'all', '--pause-ms', '0', '--state', join(tmp, 'state.json'), '--json');
      expect(once.code).toBe(0);
      expect(JSON.parse(await readFile(join(tmp, 'state.json'), 'utf8'))).toMatchObject({ source: 'dc1', sink: 'dr1' });
    }),
  );
});
