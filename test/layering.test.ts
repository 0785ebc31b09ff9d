import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

/**
 * The layering of docs/ARCHITECTURE.md, enforced: each folder of src/ imports only the folders
 * below it, index.ts files only re-export, and no two files import each other in a circle.
 */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

const ALLOWED: Record<string, string[]> = {
  errors: [],
  version: [],
  'log-line': [],
  abort: [],
  'process-alive': [],
  hash: ['errors'],
  tictac: ['hash', 'errors'],
  cluster: ['hash', 'errors'],
  node: ['cluster', 'tictac', 'hash', 'errors'],
  store: ['node', 'tictac', 'cluster', 'hash', 'errors', 'process-alive'],
  plan: ['cluster', 'hash', 'errors'],
  fold: ['plan', 'node', 'store', 'tictac', 'cluster', 'hash', 'errors', 'abort'],
  local: ['fold', 'node', 'store', 'tictac', 'cluster', 'hash', 'errors', 'version'],
  coordinator: ['local', 'fold', 'node', 'store', 'tictac', 'cluster', 'hash', 'errors'],
  exchange: ['tictac', 'cluster', 'hash', 'errors', 'abort'],
  repair: ['cluster', 'hash', 'errors'],
  aae: ['coordinator', 'local', 'exchange', 'repair', 'fold', 'plan', 'node', 'store', 'tictac', 'cluster', 'hash', 'errors'],
  connect: ['coordinator', 'local', 'fold', 'plan', 'node', 'store', 'tictac', 'cluster', 'hash', 'errors'],
  sync: ['aae', 'coordinator', 'local', 'exchange', 'repair', 'fold', 'plan', 'node', 'store', 'tictac', 'cluster', 'hash', 'errors', 'process-alive', 'abort'],
  net: ['coordinator', 'local', 'fold', 'plan', 'node', 'store', 'tictac', 'cluster', 'hash', 'errors', 'version', 'log-line', 'abort'],
  plugin: ['fold', 'node', 'store', 'plan', 'tictac', 'cluster', 'hash', 'errors', 'log-line'],
  testing: ['plugin', 'aae', 'coordinator', 'local', 'exchange', 'repair', 'fold', 'plan', 'node', 'store', 'tictac', 'cluster', 'hash', 'errors'],
  bench: ['plugin', 'net', 'connect', 'testing', 'aae', 'version', 'coordinator', 'local', 'exchange', 'repair', 'fold', 'plan', 'node', 'store', 'tictac', 'cluster', 'hash', 'errors'],
  cli: ['plugin', 'net', 'connect', 'sync', 'bench', 'testing', 'aae', 'version', 'coordinator', 'local', 'exchange', 'repair', 'fold', 'plan', 'node', 'store', 'tictac', 'cluster', 'hash', 'errors'],
  index: ['plugin', 'net', 'connect', 'sync', 'testing', 'aae', 'version', 'coordinator', 'local', 'exchange', 'repair', 'fold', 'plan', 'node', 'store', 'tictac', 'cluster', 'hash', 'errors'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function layerOf(file: string): string {
  const rel = relative(SRC, file);
  const top = rel.split('/')[0]!;
  return top.endsWith('.ts') ? top.slice(0, -3) : top;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'']*?from\s+'(\.[^']+)'/g)) out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  return out;
}

const all = files(SRC);

test('every folder imports only the folders below it', () => {
  const bad: string[] = [];
  for (const f of all) {
    const from = layerOf(f);
    const allowed = ALLOWED[from];
    expect(allowed, `no layer rule for src/${from}`).toBeDefined();
    for (const target of importsOf(f)) {
      const to = layerOf(target);
      if (to !== from && !allowed!.includes(to)) bad.push(`${relative(SRC, f)} → ${relative(SRC, target)}`);
    }
  }
  expect(bad).toEqual([]);
});

test('index.ts files only re-export', () => {
  for (const f of all.filter((x) => x.endsWith('/index.ts'))) {
    const code = readFileSync(f, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '')
      .replace(/export\s+(type\s+)?(\*|\{[^}]*\})(\s+as\s+\w+)?\s+from\s+'[^']+';/g, '')
      .trim();
    expect(code, relative(SRC, f)).toBe('');
  }
});

test('no import cycles between files', () => {
  const graph = new Map(all.map((f) => [f, importsOf(f).filter((t) => t !== f)]));
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(f)), f].map((x) => relative(SRC, x)).join(' → '));
      return;
    }
    state.set(f, 'visiting');
    for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of all) visit(f, []);
  expect(cycles).toEqual([]);
});
