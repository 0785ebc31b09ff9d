import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { FoldSession } from '../../src/fold/index.js';
import { PluginHost } from '../../src/plugin/index.js';
import { withTempDir } from '../cli/helpers.js';
import { writePlugin } from './plugins.js';

/**
 * A version loads in one worker (describe); piscina starts its other workers later, and each imports
 * the plugin again. When that import fails — or never settles, or kills the worker — the session
 * that a new worker took must fail, not wait for a `ready` that never comes (it used to hang the
 * fold and keep its lease forever).
 *
 * The plugin's import misbehaves only while a flag file exists, so the version loads cleanly and the
 * worker that replaces the first meets the flag.
 */
const HOW = {
  throws: { atImport: (flag: string) => `if (existsSync(${JSON.stringify(flag)})) throw new Error('cannot load here');`, code: 'PLUGIN_INVALID' },
  hangs: { atImport: (flag: string) => `if (existsSync(${JSON.stringify(flag)})) await new Promise(() => {});`, code: 'PLUGIN_TIMEOUT' },
  dies: { atImport: (flag: string) => `if (existsSync(${JSON.stringify(flag)})) process.exit(3);`, code: 'PLUGIN_CRASHED' },
} as const;

/** Settles with what `p` settles with, or rejects if it has not within `ms`: a hang fails the test instead of stalling it. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

for (const [how, { atImport, code }] of Object.entries(HOW)) {
  test(`a new worker whose import ${how} fails its session with ${code}, and the version serves on`, async () => {
    await withTempDir(async (dir) => {
      const plugins = join(dir, 'plugins');
      await mkdir(plugins);
      const flag = join(dir, 'flag');
      await writePlugin(plugins, 'p', { name: 'p', version: '1.0.0', atImport: atImport(flag) });
      // One thread: a session closed unfinished stops its worker, and piscina starts a fresh one.
      const host = await PluginHost.start({ dir: plugins, watch: false, pollMs: 0, limits: { threads: 1, callTimeoutMs: 5000 } });
      const ac = new AbortController();
      const sessions: FoldSession[] = [];
      try {
        expect(host.list().find((m) => m.name === 'p')?.plugin?.state).toBe('serving');
        const lease = host.acquire('p');
        const first = await lease.module.open({}, { signal: ac.signal, node: 'n1' });
        await writeFile(flag, 'x');
        first.close();
        // The fresh worker imports the plugin now, and meets the flag.
        await expect(within(30_000, lease.module.open({}, { signal: ac.signal, node: 'n1' }))).rejects.toMatchObject({ code });
        lease.release();
        // The version serves on: once the import can succeed again, the next session opens (on the same
        // worker when its import threw: a failed import is not kept).
        await rm(flag);
        const again = host.acquire('p');
        sessions.push(await within(30_000, again.module.open({}, { signal: ac.signal, node: 'n1' })));
        again.release();
      } finally {
        for (const s of sessions) s.close();
        ac.abort();
        await host.close();
      }
    });
  }, 60_000);
}
