/**
 * Importing a plugin's module, after its manifest has been read and checked: on a node inside a
 * plugin worker (never on the node's main thread), on a coordinator in its own process (the copy it
 * merges and summarises with). The default export is a fold module, or a factory the SDK is handed
 * (sdk.ts). The module must agree with its manifest — the same name, the same version (or none),
 * and `mutates` exactly as declared, since a node decides from the manifest, before any code runs,
 * whether it may load a mutating plugin.
 */
import { pathToFileURL } from 'node:url';
import { AaeError, isAaeError } from '../errors.js';
import { validateFoldModule, type AnyFoldModule } from '../fold/index.js';
import type { PluginManifest } from './manifest.js';
import * as sdk from './sdk.js';

export type PluginSdk = typeof sdk;

/** Imports, builds (a factory) and validates the plugin's module; PLUGIN_INVALID (or FOLD_API_MISMATCH) when it breaks the contract. */
export async function importPlugin(manifest: PluginManifest, digest?: string, attempt = 0): Promise<AnyFoldModule> {
  const where = `plugin ${manifest.name} ${manifest.version} (${manifest.path})`;
  let value: unknown;
  try {
    // A digest in the URL: a coordinator that loads two copies of one path keeps them apart. An attempt
    // after a failed one needs a URL of its own, as the module cache keeps a failed evaluation.
    const query = [...(digest === undefined ? [] : [`digest=${digest}`]), ...(attempt === 0 ? [] : [`attempt=${attempt}`])];
    const url = pathToFileURL(manifest.entry).href + (query.length === 0 ? '' : `?${query.join('&')}`);
    const ns = (await import(url)) as Record<string, unknown>;
    const exported = ns['default'] ?? ns['foldModule'];
    value = typeof exported === 'function' ? await (exported as (s: PluginSdk) => unknown)(sdk) : exported;
  } catch (e) {
    throw new AaeError('PLUGIN_INVALID', `${where} failed to load: ${e instanceof Error ? e.message : String(e)}`, { cause: e, details: { path: manifest.path } });
  }
  let m: AnyFoldModule;
  try {
    m = validateFoldModule(value, where);
  } catch (e) {
    if (isAaeError(e, 'FOLD_MODULE_INVALID')) throw new AaeError('PLUGIN_INVALID', e.message, { cause: e, details: { path: manifest.path } });
    throw e;
  }
  const problems: string[] = [];
  if (m.name !== manifest.name) problems.push(`its module is named '${m.name}', its manifest '${manifest.name}'`);
  if (m.version !== undefined && m.version !== manifest.version) problems.push(`its module says version ${m.version}, its manifest ${manifest.version}`);
  if ((m.mutates === true) !== manifest.mutates) problems.push(`its module ${m.mutates === true ? 'mutates' : 'does not mutate'} but its manifest says "mutates": ${manifest.mutates}`);
  if (problems.length > 0) throw new AaeError('PLUGIN_INVALID', `${where}: ${problems.join('; ')}`, { details: { path: manifest.path, problems } });
  return { ...m, version: manifest.version };
}
