/**
 * A loaded version's own copy of its files. A node checks a plugin's digest once, when it loads it,
 * but its workers import the plugin later too: piscina starts workers lazily (a second fold at
 * once) and on replacement (a worker that timed out or ran out of memory). Importing from the plugin
 * directory would then run whatever is there by then — a newer copy, even one the node refused — under
 * the old version's name and digest. So each version imports only from a snapshot: its files copied,
 * when it loads, into a private folder named by its digest, verified against that digest, and
 * removed when the version retires.
 *
 * The copy holds real files (a link is copied as its target, which pluginFiles keeps inside the
 * plugin), and the whole folder, node_modules included: what a plugin imports must be inside its
 * folder, as its digest covers only that. A single-file `.js` plugin keeps the module type it had
 * in the plugin directory (the nearest package.json's "type"), written beside the copy.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AaeError } from '../errors.js';
import { digestOf, pluginFiles, type PluginFile } from './manifest.js';

export interface PluginSnapshot {
  /** The plugin's path inside the copy: its folder, or its single file. */
  readonly path: string;
  /** Deletes the copy (its version retired, or never loaded). */
  remove(): Promise<void>;
}

/**
 * Copies the plugin at `source` (whose files are `files`, whose checked digest is `digest`) into a
 * new folder under `root`; PLUGIN_INVALID when the copy's digest differs (its files changed since
 * they were hashed: the next rescan sees the new ones).
 */
export async function snapshotPlugin(root: string, source: string, files: readonly PluginFile[], digest: string): Promise<PluginSnapshot> {
  const dir = await mkdtemp(join(root, `${digest}-`));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    let path: string;
    if (files.length === 1 && files[0]!.rel === '') {
      path = join(dir, basename(source));
      await copyFile(files[0]!.abs, path);
      if (path.endsWith('.js')) await writeFile(join(dir, 'package.json'), JSON.stringify({ type: await moduleType(dirname(source)) }));
    } else {
      path = dir;
      for (const f of files) {
        const to = join(dir, f.rel);
        await mkdir(dirname(to), { recursive: true });
        await copyFile(f.abs, to);
      }
    }
    const copied = await digestOf(await pluginFiles(path));
    if (copied !== digest) {
      throw new AaeError('PLUGIN_INVALID', `plugin at ${source}: its files changed while it was being loaded (digest ${digest.slice(0, 12)}…, then ${copied.slice(0, 12)}…); the next rescan loads them`, {
        details: { path: source },
      });
    }
    return { path, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** The module type Node gives a `.js` file in `dir`: the nearest package.json's "type", else commonjs. */
async function moduleType(dir: string): Promise<'module' | 'commonjs'> {
  for (let d = dir; ; d = dirname(d)) {
    const text = await readFile(join(d, 'package.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: unknown }).type === 'module' ? 'module' : 'commonjs';
      } catch {
        return 'commonjs';
      }
    }
    if (dirname(d) === d) return 'commonjs';
  }
}
