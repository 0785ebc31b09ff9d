/**
 * A plugin's manifest, read without running any of its code: its name, version, the plugin-API
 * range it was built for, whether it mutates, and the file to import.
 *
 * A plugin is an entry of the node's plugin directory:
 * - a folder with a package.json: `name` (the fold module's name), `version` (semver),
 *   `"aae": {"pluginApi": "^1.0.0", "mutates"?: true, "main"?: "./index.js"}`; the module file is
 *   `aae.main`, else `main`, else index.js, and must lie inside the folder;
 * - a single `.js` or `.mjs` file whose first 4 KiB hold a line
 *   `// aae-plugin {"name": …, "version": …, "pluginApi": …, "mutates"?: …}`.
 *
 * Everything else in the directory (dot files, editors' backups, other files) is not a plugin and is
 * skipped, so a deploy can write `.tmp-x` and rename it into place.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import semver from 'semver';
import { AaeError, quote } from '../errors.js';

export interface PluginManifest {
  /** The fold module's name: what a request names. */
  readonly name: string;
  readonly version: string;
  /** The plugin-API range it was built for (semver). */
  readonly apiRange: string;
  readonly mutates: boolean;
  /** Its folder or file in the plugin directory. */
  readonly path: string;
  /** The module file to import (absolute). */
  readonly entry: string;
}

/** A module name: what requests and `aae fold` name it by. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Bytes of a single-file plugin read for its header line. */
const HEADER_BYTES = 4096;
const HEADER = /^\s*\/\/\s*aae-plugin\s+(\{.*\})\s*$/m;
/** A plugin folder holds at most this many files and bytes (node_modules included): its digest reads them all. */
const MAX_FILES = 10_000;
const MAX_BYTES = 64 * 1024 * 1024;

/** Whether a directory entry's name can be a plugin at all (dot files and backups never are). */
export function isPluginEntryName(name: string): boolean {
  return !name.startsWith('.') && !name.endsWith('~') && name !== 'node_modules';
}

function invalid(path: string, why: string, cause?: unknown): AaeError {
  return new AaeError('PLUGIN_INVALID', `plugin at ${path}: ${why}`, { details: { path }, ...(cause === undefined ? {} : { cause }) });
}

/**
 * The plugin's name as far as a malformed manifest tells it: its own name when that field is
 * good, else the folder's or file's name (what a deploy names it by). A refusal carries it, so that
 * a node and a coordinator asked for the plugin by name can say why it is not there.
 */
export function pluginNameOf(path: string, declared?: unknown): string {
  return typeof declared === 'string' && NAME.test(declared) ? declared : basename(path).replace(/\.m?js$/, '');
}

/**
 * PLUGIN_INVALID for a manifest: the plugin (by name, as far as known), its path, the manifest
 * file, and the field at fault (`details.field`, e.g. `version` or `aae.pluginApi`).
 */
function badManifest(path: string, where: string, name: string, field: string | undefined, why: string, cause?: unknown): AaeError {
  const at = field === undefined ? where : `${where}, field "${field}"`;
  return new AaeError('PLUGIN_INVALID', `plugin '${name}' at ${path}: ${at}: ${why}`, {
    details: { path, plugin: name, manifest: where, ...(field === undefined ? {} : { field }) },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Checks the manifest's fields, whichever form they came in; `keys` names each field as the manifest spells it. */
function fields(
  path: string,
  where: string,
  raw: { name: unknown; version: unknown; pluginApi: unknown; mutates: unknown },
  keys: { pluginApi: string; mutates: string },
): Omit<PluginManifest, 'path' | 'entry'> {
  const { name, version, pluginApi, mutates } = raw;
  const known = pluginNameOf(path, name);
  const bad = (field: string, why: string): AaeError => badManifest(path, where, known, field, why);
  if (typeof name !== 'string' || !NAME.test(name)) throw bad('name', `${quote(name)} is not a module name (letters, digits, _ . -)`);
  if (typeof version !== 'string' || semver.valid(version) === null) throw bad('version', `${quote(version)} is not semver (such as "1.2.0")`);
  if (pluginApi === undefined) throw bad(keys.pluginApi, 'is missing: the plugin-API range the plugin was built for, such as "^1.0.0"');
  if (typeof pluginApi !== 'string' || semver.validRange(pluginApi) === null) throw bad(keys.pluginApi, `${quote(pluginApi)} is not a semver range (such as "^1.0.0")`);
  if (mutates !== undefined && typeof mutates !== 'boolean') throw bad(keys.mutates, `${quote(mutates)} is not a boolean`);
  return { name, version, apiRange: pluginApi, mutates: mutates === true };
}

/** Reads the manifest of the plugin at `path` (a folder or a file); PLUGIN_INVALID says what is wrong, and where. */
export async function readManifest(path: string): Promise<PluginManifest> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw invalid(path, `cannot read it: ${(e as Error).message}`, e);
  }
  if (st.isDirectory()) {
    const where = 'package.json';
    let pkg: Record<string, unknown>;
    try {
      pkg = JSON.parse(await readFile(join(path, 'package.json'), 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw badManifest(path, where, pluginNameOf(path), undefined, `a plugin folder needs a package.json that parses: ${(e as Error).message}`, e);
    }
    if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg)) throw badManifest(path, where, pluginNameOf(path), undefined, 'is not a JSON object');
    const known = pluginNameOf(path, pkg['name']);
    const aae = pkg['aae'];
    if (typeof aae !== 'object' || aae === null || Array.isArray(aae)) throw badManifest(path, where, known, 'aae', 'is missing or not an object ({"pluginApi": "^1.0.0"})');
    const a = aae as Record<string, unknown>;
    const f = fields(path, where, { name: pkg['name'], version: pkg['version'], pluginApi: a['pluginApi'], mutates: a['mutates'] }, { pluginApi: 'aae.pluginApi', mutates: 'aae.mutates' });
    const mainField = a['main'] !== undefined ? 'aae.main' : 'main';
    const main = a['main'] ?? pkg['main'] ?? 'index.js';
    if (typeof main !== 'string') throw badManifest(path, where, known, mainField, 'is not a string');
    const entry = resolve(path, main);
    if (!entry.startsWith(resolve(path) + sep)) throw badManifest(path, where, known, mainField, `the module file ${main} lies outside the plugin's folder`);
    const es = await stat(entry).catch(() => undefined);
    if (es === undefined || !es.isFile()) throw badManifest(path, where, known, pkg['main'] === undefined && a['main'] === undefined ? undefined : mainField, `its module file ${main} does not exist`);
    return { ...f, path, entry };
  }
  if (!st.isFile() || !/\.m?js$/.test(path)) throw invalid(path, 'a plugin is a folder with a package.json, or a .js/.mjs file');
  const where = 'aae-plugin header';
  let head: string;
  try {
    const bytes = await readFile(path);
    head = bytes.subarray(0, HEADER_BYTES).toString('utf8');
  } catch (e) {
    throw invalid(path, `cannot read it: ${(e as Error).message}`, e);
  }
  const m = HEADER.exec(head);
  if (m === null) throw badManifest(path, where, pluginNameOf(path), undefined, 'a single-file plugin needs a header line: // aae-plugin {"name": …, "version": …, "pluginApi": "^1.0.0"}');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(m[1]!) as Record<string, unknown>;
  } catch (e) {
    throw badManifest(path, where, pluginNameOf(path), undefined, `is not JSON: ${(e as Error).message}`, e);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badManifest(path, where, pluginNameOf(path), undefined, 'is not a JSON object');
  return { ...fields(path, where, { name: raw['name'], version: raw['version'], pluginApi: raw['pluginApi'], mutates: raw['mutates'] }, { pluginApi: 'pluginApi', mutates: 'mutates' }), path, entry: path };
}

export interface PluginFile {
  /** Its path inside the plugin ('' for a single-file plugin): a link's own name, not its target's. */
  readonly rel: string;
  /** The file to read: a symbolic link resolved to its target, which lies inside the plugin's folder. */
  readonly abs: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * The files of a plugin (the file itself, or every file under its folder), sorted by path.
 * Symbolic links are followed: a link counts as the file or folder it points to, so the digest reads
 * what an import would read. A link must resolve inside the plugin's folder (else two nodes with the
 * same links but other targets would share a digest), and a link to a folder that encloses it (a
 * cycle) is refused too: PLUGIN_INVALID.
 */
export async function pluginFiles(path: string): Promise<PluginFile[]> {
  const st = await stat(path);
  if (!st.isDirectory()) return [{ rel: '', abs: await realpath(path), size: st.size, mtimeMs: st.mtimeMs }];
  const root = await realpath(path);
  const out: PluginFile[] = [];
  let bytes = 0;
  /** `dir` is read at `real`; `open` holds the real folders being walked, to catch a cycle. */
  const walk = async (dir: string, real: string, open: ReadonlySet<string>): Promise<void> => {
    const entries = await readdir(real, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const rel = relative(path, join(dir, e.name));
      let abs = join(real, e.name);
      if (e.isSymbolicLink()) {
        const target = await realpath(abs).catch((err: unknown) => {
          throw invalid(path, `its link ${rel} points to nothing that can be read (${(err as Error).message})`, err);
        });
        if (target !== root && !target.startsWith(root + sep)) throw invalid(path, `its link ${rel} points outside the plugin's folder, to ${target}: copy that file into the plugin instead`);
        abs = target;
      }
      const s = await stat(abs);
      if (s.isDirectory()) {
        if (open.has(abs)) throw invalid(path, `its link ${rel} points to a folder that holds it (a cycle)`);
        await walk(join(dir, e.name), abs, new Set([...open, abs]));
      } else if (s.isFile()) {
        bytes += s.size;
        out.push({ rel, abs, size: s.size, mtimeMs: s.mtimeMs });
        if (out.length > MAX_FILES || bytes > MAX_BYTES) throw invalid(path, `it holds more than ${MAX_FILES} files or ${MAX_BYTES / 1024 / 1024} MiB`);
      }
    }
  };
  await walk(path, root, new Set([root]));
  return out;
}

/** A cheap change detector: names, sizes, modification times and where each link points (no contents read). */
export function fingerprintOf(files: readonly PluginFile[]): string {
  return files.map((f) => `${f.rel}\0${f.size}\0${f.mtimeMs}\0${f.abs}`).join('\n');
}

/** sha-256 of the plugin's files (paths and contents, a link's target's content under the link's path), hex: the same files give the same digest on any machine. */
export async function digestOf(files: readonly PluginFile[]): Promise<string> {
  const h = createHash('sha256');
  for (const f of files) {
    const content = await readFile(f.abs);
    h.update(`${f.rel}\0${content.length}\0`);
    h.update(content);
  }
  return h.digest('hex');
}
