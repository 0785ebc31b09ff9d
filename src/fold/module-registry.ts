/**
 * The fold modules a node can run, by name and version. A fold request names a module and may
 * carry a semver range; the node runs the highest version it has that satisfies the range, or
 * refuses: FOLD_MODULE_UNKNOWN when it has no module of that name, FOLD_VERSION_UNSATISFIED when it
 * has the module but no version in range — never a silent fallback to another version.
 *
 * A registry starts with the built-in modules; a node opened in this process may add modules the
 * caller loaded from files (`aae fold <cluster> ./my-module.js`), and a plugin host adds deployed
 * plugins.
 */
import semver from 'semver';
import { AaeError } from '../errors.js';
import type { ModuleInfo } from '../node/index.js';
import type { AnyFoldModule } from './contract.js';
import { BUILTIN_FOLD_MODULES } from './registry.js';
import { inThreadModule, moduleInfoOf, type ModuleLease, type ModuleSource } from './session.js';

/** The version of a module that declares none. */
export const UNVERSIONED = '0.0.0';

export function moduleVersion(m: AnyFoldModule): string {
  return m.version ?? UNVERSIONED;
}

export class ModuleRegistry implements ModuleSource {
  private readonly byName = new Map<string, AnyFoldModule[]>();

  constructor(modules: readonly AnyFoldModule[] = BUILTIN_FOLD_MODULES) {
    for (const m of modules) this.add(m);
  }

  /** A registry with these modules added (a module of the same name and version replaces the old one). */
  with(modules: readonly AnyFoldModule[]): ModuleRegistry {
    const r = new ModuleRegistry([]);
    for (const list of this.byName.values()) for (const m of list) r.add(m);
    for (const m of modules) r.add(m);
    return r;
  }

  private add(m: AnyFoldModule): void {
    const version = moduleVersion(m);
    if (semver.valid(version) === null) throw new AaeError('FOLD_MODULE_INVALID', `fold module '${m.name}' declares version '${version}', which is not semver`);
    const list = (this.byName.get(m.name) ?? []).filter((x) => moduleVersion(x) !== version);
    list.push(m);
    list.sort((a, b) => semver.rcompare(moduleVersion(a), moduleVersion(b)));
    this.byName.set(m.name, list);
  }

  /** The highest version of `name` within `range` (any version when absent). */
  resolve(name: string, range?: string): AnyFoldModule {
    const list = this.byName.get(name);
    if (list === undefined) {
      throw new AaeError('FOLD_MODULE_UNKNOWN', `no fold module '${name}' here (known: ${[...this.byName.keys()].sort().join(', ')})`, { details: { module: name } });
    }
    if (range === undefined) return list[0]!;
    if (semver.validRange(range) === null) throw new AaeError('FOLD_QUERY_INVALID', `'${range}' is not a semver range`, { details: { module: name, range } });
    const m = list.find((x) => semver.satisfies(moduleVersion(x), range));
    if (m === undefined) {
      throw new AaeError('FOLD_VERSION_UNSATISFIED', `fold module '${name}' is here at ${list.map(moduleVersion).join(', ')}, none in '${range}'`, {
        details: { module: name, range, versions: list.map(moduleVersion) },
      });
    }
    return m;
  }

  /** ModuleSource: the module to run a request with, in this thread (nothing to release). A digest names plugin files: an in-process module has none. */
  acquire(name: string, range?: string, digest?: string): ModuleLease {
    const m = this.resolve(name, range);
    if (digest !== undefined) {
      throw new AaeError('PLUGIN_MISMATCH', `fold module '${name}' here is not a plugin, but the request names plugin files (digest ${digest.slice(0, 12)})`, { details: { module: name, digest } });
    }
    return { module: inThreadModule(m, moduleVersion(m)), release: () => undefined };
  }

  list(): ModuleInfo[] {
    return [...this.byName.values()].flatMap((list) => list.map((m) => moduleInfoOf(m, moduleVersion(m)))).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
