import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Plugins the tests deploy: each a folder with a package.json manifest and an ESM module file,
 * written the way an operator deploys one — into a temporary folder beside it, then renamed into
 * place, so a node never reads half a plugin.
 */
export interface PluginSpec {
  name: string;
  version: string;
  /** The plugin-API range (default ^1.0.0). */
  api?: string;
  mutates?: boolean;
  /** JavaScript run inside the fold function before an item is counted (`acc`, `input` in scope). */
  onItem?: string;
  /** JavaScript run once when the module file is imported (top level). */
  atImport?: string;
  /** An async flush body (`acc`, `ctx` in scope), returning nothing: the flush returns { acc }. */
  onFlush?: string;
}

/**
 * A counting plugin: the count and bytes of live and deleted entries, and the version that counted
 * them (so a test can tell which version served). Written against the SDK it is handed.
 */
export function pluginSource(p: PluginSpec): string {
  return `import { writeFileSync, existsSync } from 'node:fs';
${p.atImport ?? ''}
const VERSION = ${JSON.stringify(p.version)};
export default function plugin(aae) {
  return {
    name: ${JSON.stringify(p.name)},
    apiVersion: 1,
    version: VERSION,
    ${p.mutates === true ? 'mutates: true,' : ''}
    parseQuery: (input) => aae.parseRange(${JSON.stringify(p.name)}, input ?? {}),
    stateNeeds: () => 'hash_size_only',
    generateFilter: (q) => aae.rangeFilter(q),
    generateAcc: () => ({ count: 0, bytes: 0, version: VERSION }),
    generateMergeFun: () => (a, b) => ({ count: a.count + b.count, bytes: a.bytes + b.bytes, version: a.version }),
    generateObjectFoldFun: () => (acc, input) => {
      ${p.onItem ?? ''}
      acc.count++;
      acc.bytes += input.entry.size;
      return acc;
    },
    ${p.onFlush === undefined ? '' : `generateFlushFun: () => async (acc, ctx) => { ${p.onFlush}; return { acc }; },`}
    accBound: () => 1,
    accSize: () => 1,
  };
}
`;
}

export async function writePlugin(dir: string, folder: string, p: PluginSpec): Promise<string> {
  const tmp = join(dir, `.tmp-${folder}-${process.pid}-${Math.random().toString(36).slice(2)}`);
  await mkdir(tmp, { recursive: true });
  await writeFile(
    join(tmp, 'package.json'),
    JSON.stringify({ name: p.name, version: p.version, type: 'module', main: 'index.js', aae: { pluginApi: p.api ?? '^1.0.0', ...(p.mutates === true ? { mutates: true } : {}) } }, null, 2),
  );
  await writeFile(join(tmp, 'index.js'), pluginSource(p));
  const target = join(dir, folder);
  // Replace atomically: the old folder is moved aside first (rename cannot replace a non-empty directory).
  const aside = join(dir, `.old-${folder}-${Math.random().toString(36).slice(2)}`);
  await rename(target, aside).catch(() => undefined);
  await rename(tmp, target);
  await rm(aside, { recursive: true, force: true });
  return target;
}

/** A line that loops forever in the fold function. */
export const LOOP = 'for (;;) {}';
/** A line that fills the worker's heap until V8 stops it. */
export const HOG = 'globalThis.hog ??= []; for (;;) globalThis.hog.push(new Array(100000).fill(input.entry.size));';
/** A line that throws from the fold function. */
export const THROW = "throw new Error('plugin bug: boom');";
