import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { withTempDir } from '../cli/helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * examples/plugin-template as a user copies it: the folder copied elsewhere, its tictac-aae
 * dependency pointed at this package (what `npm install` of `file:` makes: a link in node_modules,
 * made here directly so CI needs no registry), and its own `npm test` run — node's test runner, the
 * fold-module laws and a fold on a test node in a plugin worker.
 */
test('the plugin template passes its own tests where a user would copy it', async () => {
  await withTempDir(async (dir) => {
    const at = join(dir, 'my-plugin');
    await cp(join(ROOT, 'examples/plugin-template'), at, { recursive: true, filter: (src) => !src.includes('node_modules') });
    const pkg = JSON.parse(await readFile(join(at, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    pkg.devDependencies['tictac-aae'] = `file:${ROOT}`;
    await writeFile(join(at, 'package.json'), JSON.stringify(pkg, null, 2));
    await mkdir(join(at, 'node_modules'));
    await symlink(ROOT, join(at, 'node_modules', 'tictac-aae'));
    const { code, out } = await new Promise<{ code: number | null; out: string }>((res, rej) => {
      const child = spawn('npm', ['test'], { cwd: at, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', rej);
      child.on('exit', (c) => res({ code: c, out }));
    });
    expect(code, out).toBe(0);
    expect(out).toMatch(/# fail 0/);
    expect(out).toMatch(/# pass [1-9]/);
  });
}, 120_000);
