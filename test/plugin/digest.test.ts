import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { PluginHost, digestOf, pluginFiles } from '../../src/plugin/index.js';
import { withTempDir } from '../cli/helpers.js';
import { pluginSource } from './plugins.js';

/**
 * A plugin's digest is what PLUGIN_MISMATCH compares: it must change whenever the code an import
 * would run changes. Symbolic links used to be skipped, so two nodes whose `index.js` linked to
 * different code shared a digest.
 */
const MANIFEST = JSON.stringify({ name: 'p', version: '1.0.0', type: 'module', main: 'index.js', aae: { pluginApi: '^1.0.0' } });

/** A plugin folder whose index.js is `code`, written directly or as a link to lib/impl.js. */
async function plugin(at: string, code: string, linked: boolean): Promise<string> {
  await mkdir(join(at, 'lib'), { recursive: true });
  await writeFile(join(at, 'package.json'), MANIFEST);
  if (linked) {
    await writeFile(join(at, 'lib', 'impl.js'), code);
    await symlink(join('lib', 'impl.js'), join(at, 'index.js'));
    // The real file is in the plugin under its own name too; a direct copy holds it the same.
  } else {
    await writeFile(join(at, 'index.js'), code);
    await writeFile(join(at, 'lib', 'impl.js'), code);
  }
  return at;
}

const digest = async (path: string): Promise<string> => digestOf(await pluginFiles(path));

test('law: a digest is of what a link points to — the same as a copy of it, different for other code', async () => {
  let n = 0;
  await withTempDir(async (dir) => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (a, b) => {
        const at = (tag: string): string => join(dir, `${n++}-${tag}`);
        const linkA = await digest(await plugin(at('la'), a, true));
        expect(linkA).toBe(await digest(await plugin(at('ca'), a, false)));
        const linkB = await digest(await plugin(at('lb'), b, true));
        expect(linkA === linkB).toBe(a === b);
      }),
      { numRuns: 40 },
    );
  });
});

test('a link that leaves the plugin folder, or loops, refuses the plugin (PLUGIN_INVALID), and the host lists why', async () => {
  await withTempDir(async (dir) => {
    const plugins = join(dir, 'plugins');
    const outside = join(dir, 'impl.js');
    await writeFile(outside, pluginSource({ name: 'p', version: '1.0.0' }));
    const p = join(plugins, 'p');
    await mkdir(p, { recursive: true });
    await writeFile(join(p, 'package.json'), MANIFEST);
    await symlink(outside, join(p, 'index.js'));
    await expect(pluginFiles(p)).rejects.toMatchObject({ code: 'PLUGIN_INVALID', message: expect.stringContaining('points outside the plugin') });

    const q = join(plugins, 'q');
    await mkdir(join(q, 'sub'), { recursive: true });
    await writeFile(join(q, 'package.json'), MANIFEST.replace('"p"', '"q"'));
    await writeFile(join(q, 'index.js'), pluginSource({ name: 'q', version: '1.0.0' }));
    await symlink('..', join(q, 'sub', 'up'));
    await expect(pluginFiles(q)).rejects.toMatchObject({ code: 'PLUGIN_INVALID', message: expect.stringContaining('cycle') });

    const host = await PluginHost.start({ dir: plugins, watch: false, pollMs: 0 });
    try {
      const listed = host.list().filter((m) => m.plugin !== undefined).map((m) => [m.plugin!.path.split('/').pop(), m.plugin!.state, m.plugin!.code]);
      expect(listed.sort()).toEqual([
        ['p', 'refused', 'PLUGIN_INVALID'],
        ['q', 'refused', 'PLUGIN_INVALID'],
      ]);
      expect(() => host.acquire('p')).toThrow(expect.objectContaining({ code: 'PLUGIN_INVALID' }));
    } finally {
      await host.close();
    }
  });
});
