/**
 * The coordinator's copies of plugins. A fold's coordinator merges the nodes' accumulators and
 * summarises the result with the module's own functions (merge, codec, summarize, and parseQuery to
 * check the query before any node is asked), so it needs the plugin's code too: the same plugin,
 * installed where the coordinator runs (`aae fold --plugins DIR`, or cluster.json's "plugins").
 *
 * The copies are loaded into the coordinator's own process (a short-lived command), after the same
 * manifest and plugin-API checks a node makes. The request then pins the nodes to the copy: its
 * exact version as the range and its digest, so a node with another version refuses
 * (FOLD_VERSION_UNSATISFIED) and one with the same version but other files refuses
 * (PLUGIN_MISMATCH) — accumulators of another format are never merged.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import semver from 'semver';
import { AaeError, isAaeError } from '../errors.js';
import type { AnyFoldModule } from '../fold/index.js';
import { PLUGIN_API_VERSION } from './api.js';
import { importPlugin } from './load.js';
import { digestOf, isPluginEntryName, pluginFiles, pluginNameOf, readManifest, type PluginManifest } from './manifest.js';

export interface ClientPlugin {
  readonly manifest: PluginManifest;
  readonly digest: string;
  readonly module: AnyFoldModule;
}

/** A plugin directory's entry that is refused before any code runs, with the error saying why (a manifest's names the plugin and the field). */
export interface RefusedEntry {
  readonly path: string;
  /** The plugin's name as far as its manifest tells it (else the entry's name). */
  readonly name: string;
  readonly reason: string;
  readonly error: AaeError;
}

/** The manifests and digests of a plugin directory (no code run); unreadable entries are skipped with their reason. */
export async function scanPlugins(dir: string): Promise<{ found: Array<{ manifest: PluginManifest; digest: string }>; refused: RefusedEntry[] }> {
  const abs = resolve(dir);
  let names: string[];
  try {
    names = (await readdir(abs)).filter(isPluginEntryName).sort();
  } catch (e) {
    throw new AaeError('USAGE', `cannot read the plugin directory ${abs}: ${(e as Error).message}`, { cause: e });
  }
  const found: Array<{ manifest: PluginManifest; digest: string }> = [];
  const refused: RefusedEntry[] = [];
  for (const n of names) {
    const path = join(abs, n);
    try {
      const manifest = await readManifest(path);
      found.push({ manifest, digest: await digestOf(await pluginFiles(path)) });
    } catch (e) {
      const error = isAaeError(e) ? e : new AaeError('PLUGIN_INVALID', `plugin at ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e, details: { path } });
      const named = error.details?.['plugin'];
      refused.push({ path, name: typeof named === 'string' ? named : pluginNameOf(path), reason: error.message, error });
    }
  }
  return { found, refused };
}

/**
 * The coordinator's copy of plugin `name`: the highest version in `range` (any when absent) whose
 * plugin-API range this build satisfies, imported and validated. FOLD_MODULE_UNKNOWN when the
 * directory has no such plugin, FOLD_VERSION_UNSATISFIED when none is in range.
 */
export async function loadClientPlugin(dir: string, name: string, range?: string): Promise<ClientPlugin> {
  if (range !== undefined && semver.validRange(range) === null) throw new AaeError('USAGE', `--version '${range}' is not a semver range`);
  const { found, refused } = await scanPlugins(dir);
  const mine = found.filter((f) => f.manifest.name === name).sort((a, b) => semver.rcompare(a.manifest.version, b.manifest.version));
  if (mine.length === 0) {
    // A copy whose manifest is malformed is this plugin, refused: say why, not that there is none.
    const bad = refused.find((r) => r.name === name);
    if (bad !== undefined) throw bad.error;
    const others = refused.length === 0 ? '' : `; refused there: ${refused.map((r) => `${r.name} (${r.error.code})`).join(', ')}`;
    throw new AaeError('FOLD_MODULE_UNKNOWN', `'${name}' is neither a built-in module nor a plugin in ${resolve(dir)} (the coordinator needs its own copy of a plugin to merge and summarise; plugins there: ${[...new Set(found.map((f) => f.manifest.name))].join(', ') || 'none'}${others})`, {
      details: { module: name },
    });
  }
  const usable = mine.filter((f) => semver.satisfies(PLUGIN_API_VERSION, f.manifest.apiRange, { includePrerelease: true }));
  if (usable.length === 0) {
    throw new AaeError('PLUGIN_API_MISMATCH', `plugin ${name} in ${resolve(dir)} was built for plugin API ${mine[0]!.manifest.apiRange}; this build speaks ${PLUGIN_API_VERSION}`, { details: { module: name } });
  }
  const pick = range === undefined ? usable[0] : usable.find((f) => semver.satisfies(f.manifest.version, range));
  if (pick === undefined) {
    throw new AaeError('FOLD_VERSION_UNSATISFIED', `plugin '${name}' is in ${resolve(dir)} at ${usable.map((f) => f.manifest.version).join(', ')}, none in '${range}'`, {
      details: { module: name, range, versions: usable.map((f) => f.manifest.version) },
    });
  }
  return { ...pick, module: await importPlugin(pick.manifest, pick.digest) };
}
