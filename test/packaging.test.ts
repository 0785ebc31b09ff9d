import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

/**
 * What a user installs: `npm pack` the package (dist/ as `npm ci` built it: packing with scripts
 * would rebuild dist/ under the tests that run it), install the tarball in an empty project, and
 * run what the README promises from there: `aae demo`, and the library example, word for word.
 */
const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

test('the packed tarball ships the license, examples, docs and compliance suite, installs, and runs aae demo and the README library example', async () => {
  const work = await mkdtemp(join(tmpdir(), 'aae-pack-'));
  try {
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed!.files.map((f) => f.path);
    for (const f of ['LICENSE', 'README.md', 'package.json', 'examples/bucket-sizes.js', 'docs/FOLDS.md', 'fixtures/sample.jsonl', 'dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/testing/fold-module-suite.js']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('test/') || (f.startsWith('src/') && f.endsWith('.ts')))).toEqual([]);
    expect(await readFile(join(ROOT, 'LICENSE'), 'utf8')).toContain('Apache License\n                           Version 2.0');

    const app = join(work, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', join(work, packed!.filename), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app });
    const aae = join(app, 'node_modules', '.bin', 'aae');

    const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect((await run(aae, ['--version'], { cwd: app })).stdout.trim()).toBe(version);
    const demo = await run(aae, ['demo', '--json', '--quiet'], { cwd: app });
    expect(JSON.parse(demo.stdout)).toMatchObject({ loaded: 3500, inSyncAfter: true });

    // The README's library example, as written, against a ./dc1 made as the README's CLI section makes it.
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const example = /## Using the library\n\n```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    await run(aae, ['cluster', 'create', './dc1', '--nodes', '4', '--ring-size', '64', '--n-val', '3'], { cwd: app });
    await writeFile(join(app, 'example.mjs'), example);
    await run(process.execPath, ['example.mjs'], { cwd: app });
    // It did what it says: alice, written to the primary only, reached the DR copy by repair.
    expect((await run(aae, ['get', './dr1', 'users', 'alice'], { cwd: app })).stdout).toBe('{"city":"Leeds"}\n');
    expect((await run(aae, ['compare', './dc1', './dr1', '--pause-ms', '0', '--quiet'], { cwd: app })).stdout).toContain('yes');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}, 300_000);
