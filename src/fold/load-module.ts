import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { AaeError } from '../errors.js';
import { FOLD_API_VERSION, STATE_NEEDS, type AnyFoldModule } from './contract.js';
import { builtinFoldModule } from './registry.js';

/**
 * Fold modules from files: an ES module whose default export (or `foldModule` export) is a fold
 * module object (docs/FOLDS.md). The object is checked against the contract before it is used:
 * a declared apiVersion other than FOLD_API_VERSION is FOLD_API_MISMATCH; a missing or mistyped
 * part is FOLD_MODULE_INVALID naming it. What its functions then do is the module's business (the
 * runner still checks its accumulator bound and wraps errors from its parseQuery).
 */

const REQUIRED_FUNCTIONS = [
  'parseQuery',
  'stateNeeds',
  'generateFilter',
  'generateAcc',
  'generateMergeFun',
  'generateObjectFoldFun',
  'accBound',
  'accSize',
] as const;
const OPTIONAL_FUNCTIONS = ['generateFlushFun', 'summarize', 'coverage'] as const;

/** Checks that `value` is a fold module of this API version; returns it typed. */
export function validateFoldModule(value: unknown, from: string): AnyFoldModule {
  if (typeof value !== 'object' || value === null) {
    throw new AaeError('FOLD_MODULE_INVALID', `${from} does not export a fold module object (default export or 'foldModule')`);
  }
  const m = value as Record<string, unknown>;
  if (typeof m['name'] !== 'string' || m['name'].length === 0) {
    throw new AaeError('FOLD_MODULE_INVALID', `${from}: a fold module needs a non-empty string 'name'`);
  }
  if (typeof m['apiVersion'] !== 'number') {
    throw new AaeError('FOLD_MODULE_INVALID', `${from}: fold module '${m['name']}' declares no numeric 'apiVersion'`);
  }
  if (m['apiVersion'] !== FOLD_API_VERSION) {
    throw new AaeError('FOLD_API_MISMATCH', `${from}: fold module '${m['name']}' is written for API version ${m['apiVersion']}; this runner speaks version ${FOLD_API_VERSION}`, {
      details: { declared: m['apiVersion'], supported: FOLD_API_VERSION },
    });
  }
  const missing = REQUIRED_FUNCTIONS.filter((f) => typeof m[f] !== 'function');
  const mistyped = OPTIONAL_FUNCTIONS.filter((f) => m[f] !== undefined && typeof m[f] !== 'function');
  if (missing.length > 0 || mistyped.length > 0) {
    const parts = [...missing.map((f) => `${f} is missing`), ...mistyped.map((f) => `${f} is not a function`)];
    throw new AaeError('FOLD_MODULE_INVALID', `${from}: fold module '${m['name']}' breaks the contract: ${parts.join(', ')}`, {
      details: { missing, mistyped },
    });
  }
  const problems: string[] = [];
  if (m['version'] !== undefined && (typeof m['version'] !== 'string' || semver.valid(m['version']) === null)) problems.push(`version '${String(m['version'])}' is not semver (such as "1.2.0")`);
  if (m['mutates'] !== undefined && typeof m['mutates'] !== 'boolean') problems.push('mutates is not a boolean');
  const codec = m['accCodec'] as Record<string, unknown> | undefined;
  if (codec !== undefined && (typeof codec !== 'object' || codec === null || typeof codec['encode'] !== 'function' || typeof codec['decode'] !== 'function')) {
    problems.push('accCodec needs encode and decode functions');
  }
  if (problems.length > 0) throw new AaeError('FOLD_MODULE_INVALID', `${from}: fold module '${m['name']}' breaks the contract: ${problems.join(', ')}`, { details: { problems } });
  const module = value as AnyFoldModule;
  return withCheckedNeeds(module, from);
}

/** A module whose stateNeeds answers are checked (a file may return anything). */
function withCheckedNeeds(module: AnyFoldModule, from: string): AnyFoldModule {
  return {
    ...module,
    stateNeeds(q: unknown) {
      const needs: unknown = module.stateNeeds(q);
      if (!STATE_NEEDS.includes(needs as never)) {
        throw new AaeError('FOLD_MODULE_INVALID', `${from}: stateNeeds returned '${String(needs)}', not one of ${STATE_NEEDS.join(', ')}`);
      }
      return needs as (typeof STATE_NEEDS)[number];
    },
  };
}

/** Imports and validates a fold module file (a path, relative to `cwd`). */
export async function loadFoldModule(path: string, cwd: string = process.cwd()): Promise<AnyFoldModule> {
  const file = isAbsolute(path) ? path : resolve(cwd, path);
  if (!existsSync(file)) throw new AaeError('USAGE', `no fold module file at ${file}`);
  let ns: Record<string, unknown>;
  try {
    ns = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new AaeError('FOLD_MODULE_INVALID', `cannot load fold module ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return validateFoldModule(ns['default'] ?? ns['foldModule'], file);
}

/** A path (has a slash or ends in .js/.mjs) loads a file; anything else names a built-in. */
export function isModulePath(nameOrPath: string): boolean {
  return nameOrPath.includes('/') || nameOrPath.includes('\\') || /\.m?js$/.test(nameOrPath);
}

export async function resolveFoldModule(nameOrPath: string, cwd?: string): Promise<AnyFoldModule> {
  return isModulePath(nameOrPath) ? loadFoldModule(nameOrPath, cwd) : builtinFoldModule(nameOrPath);
}
