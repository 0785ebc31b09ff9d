import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isAaeError } from '../../src/errors.js';
import { PluginHost, readManifest } from '../../src/plugin/index.js';
import { aae, withTempDir } from '../cli/helpers.js';
import { pluginSource } from './plugins.js';

/**
 * A plugin whose manifest is malformed is refused, and whoever asks for it by name — the node, or
 * the coordinator's copy in `aae fold` — hears why: PLUGIN_INVALID with the plugin's name, its path,
 * the manifest and the field at fault. It used to be "no fold module 'x' here" (FOLD_MODULE_UNKNOWN),
 * as if the plugin had never been deployed.
 */

const GOOD = { name: 'counter', version: '1.0.0', type: 'module', main: 'index.js', aae: { pluginApi: '^1.0.0' } };

/** One field broken at a time: the package.json, and the field the error must name. */
const BREAKS: ReadonlyArray<{ field: string; pkg: Record<string, unknown> }> = [
  { field: 'version', pkg: { ...GOOD, version: '1.x' } },
  { field: 'version', pkg: { ...GOOD, version: 3 } },
  { field: 'aae.pluginApi', pkg: { ...GOOD, aae: {} } },
  { field: 'aae.pluginApi', pkg: { ...GOOD, aae: { pluginApi: 'not a range' } } },
  { field: 'aae.mutates', pkg: { ...GOOD, aae: { pluginApi: '^1.0.0', mutates: 'yes' } } },
  { field: 'aae', pkg: { ...GOOD, aae: undefined } },
  { field: 'main', pkg: { ...GOOD, main: 7 } },
  { field: 'name', pkg: { ...GOOD, name: '@scope/counter' } },
];

async function writePluginFolder(dir: string, folder: string, pkg: Record<string, unknown>): Promise<string> {
  const p = join(dir, folder);
  await mkdir(p, { recursive: true });
  await writeFile(join(p, 'package.json'), JSON.stringify(pkg));
  await writeFile(join(p, 'index.js'), pluginSource({ name: 'counter', version: '1.0.0' }));
  return p;
}

describe('a malformed plugin manifest is named, with the field at fault', () => {
  test('law: every single broken field is PLUGIN_INVALID naming the plugin, its path, package.json and that field', () =>
    withTempDir(async (tmp) => {
      let i = 0;
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...BREAKS), async ({ field, pkg }) => {
          const p = await writePluginFolder(tmp, `counter${i++}`, pkg);
          const e = await readManifest(p).then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(isAaeError(e, 'PLUGIN_INVALID'), String(e)).toBe(true);
          if (!isAaeError(e)) return;
          // A bad name leaves the folder's name to call it by.
          const name = field === 'name' ? p.split('/').at(-1)! : 'counter';
          expect(e.details).toMatchObject({ path: p, plugin: name, manifest: 'package.json', field });
          expect(e.message).toContain(`plugin '${name}' at ${p}: package.json, field "${field}": `);
        }),
        { numRuns: 30 },
      );
    }));

  test('a node asked for the plugin answers why it refused it, not that it has no such module', () =>
    withTempDir(async (tmp) => {
      const dir = join(tmp, 'plugins');
      await writePluginFolder(dir, 'counter', { ...GOOD, version: '1.x' });
      const host = await PluginHost.start({ dir, limits: { callTimeoutMs: 3000, memoryMb: 64, threads: 1 }, log: () => undefined, watch: false, pollMs: 0 });
      try {
        let thrown: unknown;
        try {
          host.acquire('counter');
        } catch (e) {
          thrown = e;
        }
        expect(isAaeError(thrown, 'PLUGIN_INVALID'), String(thrown)).toBe(true);
        expect((thrown as Error).message).toContain(`plugin 'counter' at ${join(dir, 'counter')}: package.json, field "version": '1.x' is not semver`);
        expect(host.list().find((m) => m.plugin?.state === 'refused')).toMatchObject({ name: 'counter', plugin: { code: 'PLUGIN_INVALID', path: join(dir, 'counter') } });
      } finally {
        await host.close();
      }
    }));

  test("aae fold at the coordinator: a malformed copy of the plugin is PLUGIN_INVALID naming it, its path and the field; aae plugins lists the node's refusal", () =>
    withTempDir(async (tmp) => {
      const dc = join(tmp, 'dc');
      expect((await aae('cluster', 'create', dc, '--nodes', '1', '--ring-size', '8', '--n-val', '1', '--tree-size', 'small')).code).toBe(0);
      const plugins = join(tmp, 'plugins');
      const p = await writePluginFolder(plugins, 'counter', { ...GOOD, aae: { pluginApi: 'one point oh' } });
      const fold = await aae('fold', dc, 'counter', '--plugins', plugins, '-q');
      expect(fold.code).toBe(2);
      expect(fold.stderr).toContain(`plugin 'counter' at ${p}: package.json, field "aae.pluginApi": 'one point oh' is not a semver range`);
      expect(fold.stderr).toMatch(/\[PLUGIN_INVALID\]\n$/);
      // Another plugin asked for: the refused one is still mentioned beside "none".
      const other = await aae('fold', dc, 'other', '--plugins', plugins, '-q');
      expect(other.stderr).toContain('refused there: counter (PLUGIN_INVALID)');
      expect(other.stderr).toContain('[FOLD_MODULE_UNKNOWN]');
      const listed = await aae('plugins', dc, '--plugins', plugins, '--json');
      expect(listed.code).toBe(0);
      const mods = listed.json<{ nodes: Array<{ modules: Array<{ name: string; plugin: { state: string; reason: string; path: string } }> }> }>().nodes[0]!.modules;
      expect(mods).toEqual([expect.objectContaining({ name: 'counter', plugin: expect.objectContaining({ state: 'refused', path: p, reason: expect.stringContaining('field "aae.pluginApi"') }) })]);
      // The same files with the field mended fold: the test's plugin is sound but for its manifest.
      await writeFile(join(p, 'package.json'), JSON.stringify(GOOD));
      expect((await aae('fold', dc, 'counter', '--plugins', plugins, '-q')).code).toBe(0);
    }));
});
