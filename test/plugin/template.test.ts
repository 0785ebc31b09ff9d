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
    const { code, out } = await run('npm', ['test'], { cwd: at });
    expect(code, out).toBe(0);
    expect(out).toMatch(/# fail 0/);
    expect(out).toMatch(/# pass [1-9]/);
  });
}, 120_000);

/**
 * The template's README, followed as written: its first shell block run in a project that has
 * tictac-aae installed (here node_modules/tictac-aae, a link to this package). Copied there, the
 * template's `file:../..` names the project's parent folder, and an `npm install` that kept it
 * linked that folder as tictac-aae without a word; the README's steps must point it back before
 * installing, or the plugin's own tests fail. npm runs offline: every package is on this disk.
 */
test("the plugin template's README steps work as written, in a project that installed tictac-aae", async () => {
  await withTempDir(async (dir) => {
    const project = join(dir, 'project');
    await mkdir(join(project, 'node_modules'), { recursive: true });
    await symlink(ROOT, join(project, 'node_modules', 'tictac-aae'));
    const readme = await readFile(join(ROOT, 'examples/plugin-template/README.md'), 'utf8');
    const steps = /```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(steps).toBeDefined();
    const { code, out } = await run('bash', ['-euo', 'pipefail', '-c', steps!], {
      cwd: project,
      env: { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
    });
    expect(code, out).toBe(0);
    expect(out).toMatch(/# fail 0/);
    expect(out).toMatch(/# pass [1-9]/);
    // The plugin's tictac-aae is this package, not whatever folder sat two levels up.
    const pkg = JSON.parse(await readFile(join(project, 'my-plugin', 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies['tictac-aae']).toBe('file:../node_modules/tictac-aae');
  });
}, 180_000);

/** Runs a command to its end: its exit code and everything it wrote. */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; out: string }> {
  return new Promise((res, rej) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', rej);
    child.on('exit', (c) => res({ code: c, out }));
  });
}
