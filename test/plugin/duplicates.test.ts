import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { PluginHost, type LogLine } from '../../src/plugin/index.js';
import { withTempDir } from '../cli/helpers.js';
import { writePlugin } from './plugins.js';

/**
 * Several paths may hold the same plugin name and version; one serves and the others are refused
 * ("already served from …"). That refusal depends on another path, so it must not outlive it: the
 * law — after any order of removals, whenever a copy remains exactly one serves it, and the refused
 * copies are logged once each, not at every rescan. (A refused copy whose files never changed used
 * to stay refused forever.)
 */
test('law: while any copy of p@1.0.0 remains, exactly one serves it, whichever are removed in whatever order', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 2, max: 3 }).chain((n) => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }).map((order) => ({ n, order }))),
      async ({ n, order }) => {
        await withTempDir(async (dir) => {
          const plugins = join(dir, `plugins-${run++}`);
          await mkdir(plugins);
          const folders = [...Array(n).keys()].map((i) => `copy-${i}`);
          for (const f of folders) await writePlugin(plugins, f, { name: 'p', version: '1.0.0' });
          const lines: LogLine[] = [];
          const host = await PluginHost.start({ dir: plugins, watch: false, pollMs: 0, log: (l) => lines.push(l) });
          const states = (): string[] => host.list().filter((m) => m.name === 'p' && m.plugin?.state !== 'retiring').map((m) => m.plugin!.state);
          try {
            const left = new Set(folders);
            for (const i of order) {
              expect(states().filter((s) => s === 'serving')).toHaveLength(1);
              expect(states().filter((s) => s === 'refused')).toHaveLength(left.size - 1);
              host.acquire('p', '1.0.0').release();
              await rm(join(plugins, folders[i]!), { recursive: true });
              left.delete(folders[i]!);
              await host.rescan();
              // A second rescan re-checks the refusals again: it must change nothing and log nothing.
              await host.rescan();
            }
            expect(states()).toEqual([]);
            // Each refusal is logged when it is made (or its reason changes), not again at each rescan that checks it.
            const refusals = lines.filter((l) => l.code === 'PL003').map((l) => `${String(l.fields['path'])} ${String(l.fields['message'])}`);
            expect(new Set(refusals).size).toBe(refusals.length);
          } finally {
            await host.close();
          }
        });
      },
    ),
    { numRuns: 6 },
  );
}, 120_000);
