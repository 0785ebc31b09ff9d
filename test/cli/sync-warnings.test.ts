import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { aae, withTempDir } from './helpers.js';

/**
 * stderr of `aae sync` is JSON log lines and its own messages: a check's exchanges and folds all
 * listen on one abort signal (by design), and Node's MaxListenersExceededWarning printed itself
 * among them on every check. The built CLI, in its own process, where Node prints warnings.
 */
const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');

test('aae sync --once all prints no Node warning on stderr', () =>
  withTempDir(async (tmp) => {
    const a = join(tmp, 'a');
    const b = join(tmp, 'b');
    for (const d of [a, b]) expect((await aae('cluster', 'create', d, '--nodes', '4')).code).toBe(0);
    for (let i = 0; i < 5; i++) expect((await aae('put', a, 'b', `k${i}`, 'v')).code).toBe(0);
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN, 'sync', a, b, '--once', 'all', '--pause-ms', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Warning|\(node:\d+\)/);
  }), 120_000);
