import { lstat, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { isAaeError, quote } from '../../src/errors.js';
import { ConflictLogFile } from '../../src/repair/index.js';
import { aae, withTempDir } from './helpers.js';

/**
 * What the fault campaign found at the edges of the CLI: input nested deeper than the stack, input
 * echoed back in full (63 MB on stderr), terminal escape sequences printed raw, files that follow
 * the umask, and a default conflict log that followed a symbolic link.
 */

async function oneNode(tmp: string, name = 'c1'): Promise<string> {
  const dir = join(tmp, name);
  expect((await aae('cluster', 'create', dir, '--nodes', '1', '--ring-size', '8', '--n-val', '1', '--tree-size', 'small')).code).toBe(0);
  return dir;
}

/** A key written with concurrent clocks on the two clusters: a conflict for repair to log. */
async function concurrent(tmp: string, a: string, b: string, key: string): Promise<void> {
  for (const [dir, actor, value] of [[a, 'x', 'left'], [b, 'y', 'right']] as const) {
    const file = join(tmp, `${actor}.jsonl`);
    await writeFile(file, `${JSON.stringify({ bucket: 'b', key, value, clock: [[actor, 1]], lastModified: 5 })}\n`);
    expect((await aae('load', dir, file)).code).toBe(0);
  }
}

const nested = (depth: number, inner: string) => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

describe('bad input is refused with a code, briefly', () => {
  test.each([5_000, 200_000])('a clock counter nested %i levels deep is LOAD_INVALID (exit 2), and nothing is written', (depth) =>
    withTempDir(async (tmp) => {
      const dir = await oneNode(tmp);
      const file = join(tmp, 'deep.jsonl');
      await writeFile(file, `{"bucket":"b","key":"ok","value":"v"}\n{"bucket":"b","key":"k","clock":[["a",${nested(depth, '1')}]]}\n`);
      const r = await aae('load', dir, file);
      expect(r.stderr).toContain('[LOAD_INVALID]');
      expect(r.stderr).toContain('line 2');
      expect(r.stderr).not.toContain('unexpected failure');
      expect(r.code).toBe(2);
      expect((await aae('get', dir, 'b', 'ok')).code).toBe(1);
    }),
  );

  test('input of megabytes is quoted in a few dozen characters: stderr stays small', () =>
    withTempDir(async (tmp) => {
      const dir = await oneNode(tmp);
      const big = 'x'.repeat(4 * 1024 * 1024);
      const file = join(tmp, 'big.jsonl');
      const lines = [
        JSON.stringify({ bucket: 'b', key: 'k', [big]: 1 }), // an unknown field named by 4 MB
        JSON.stringify({ bucket: 'b', key: 'k', clock: [[big, 'one']] }), // an actor of 4 MB with a bad counter
        JSON.stringify({ bucket: 'b', key: 'k', clock: [['a', big]] }), // a counter of 4 MB
        JSON.stringify({ bucket: 'b', key: 'k', indexes: [[big, 'a\u0000b']] }), // an index name of 4 MB with a bad term
      ];
      await writeFile(file, `${lines.join('\n')}\n`);
      const r = await aae('load', dir, file);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('4 malformed line(s)');
      expect(r.stderr.length).toBeLessThan(4_000);
      expect(r.stderr).toContain('(4194304 characters)');
      const arg = await aae('plan', dir, '--offset', big);
      expect(arg.code).toBe(2);
      expect(arg.stderr.length).toBeLessThan(1_000);
    }),
  );

  test('quote: strings cut on a code point, controls escaped; lists and objects by their kind only', () => {
    expect(quote('abc')).toBe("'abc'");
    expect(quote('\u001b[2J')).toBe("'\\x1b[2J'");
    expect(quote('😀'.repeat(40), 5)).toBe("'😀😀…' (80 characters)");
    expect(quote(JSON.parse(nested(100_000, '1')))).toBe('a list of 1');
    expect(quote({ a: 1 })).toBe('a value of type object');
    expect(quote(3)).toBe('3');
  });
});

describe('files a command was told to write', () => {
  test('inspect --html and sync --state into a folder that does not exist are refused before any work, and no folder is made', () =>
    withTempDir(async (tmp) => {
      const a = await oneNode(tmp, 'a');
      const b = await oneNode(tmp, 'b');
      const missing = join(tmp, 'nope', 'deeper');
      const pic = await aae('inspect', a, b, '--html', join(missing, 'x.html'));
      expect(pic.code).toBe(3);
      expect(pic.stderr).toContain(`--html ${join(missing, 'x.html')}: the folder ${missing} does not exist [OUTPUT_IO]`);
      // Refused before the trees were looked at: no progress was reported.
      expect(pic.stderr).not.toContain('PR001');
      const sync = await aae('sync', a, b, '--once', 'all', '--state', join(missing, 'state.json'));
      expect(sync.code).toBe(3);
      expect(sync.stderr).toContain('[SYNC_STATE_IO]');
      await expect(stat(join(tmp, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
      // A folder that exists is fine for both.
      expect((await aae('inspect', a, b, '--html', join(tmp, 'x.html'))).code).toBe(0);
      expect((await aae('sync', a, b, '--once', 'all', '--state', join(tmp, 'state.json'))).code).toBe(0);
    }));
});

describe('terminal output', () => {
  test('keys and buckets holding escape sequences or bidi overrides are shown escaped in tables', () =>
    withTempDir(async (tmp) => {
      const dir = join(tmp, 'c2');
      expect((await aae('cluster', 'create', dir, '--nodes', '2', '--ring-size', '8', '--n-val', '2', '--tree-size', 'small')).code).toBe(0);
      const file = join(tmp, 'evil.jsonl');
      await writeFile(file, `${JSON.stringify({ bucket: 'b\u001b]0;owned\u0007', key: 'k\u001b[2J\u001b[31mred\u202e', value: 'v' })}\n`);
      expect((await aae('load', dir, file, '--replicas', '1')).code).toBe(0);
      const r = await aae('compare', dir);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('\\x1b[2J');
      expect(r.stdout).toContain('\\u202e');
      expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    }),
  );
});

describe('files are owner-only', () => {
  const others = async (path: string) => (await stat(path)).mode & 0o077;

  test('under umask 000, cluster directories, node stores, sync state and conflict logs are owner-only', () =>
    withTempDir(async (tmp) => {
      const before = process.umask(0);
      try {
        const a = await oneNode(tmp, 'dc1');
        const b = await oneNode(tmp, 'dr1');
        expect(await others(join(a, 'cluster.json'))).toBe(0);
        // A concurrent pair so the sync resolves a conflict and writes its log.
        await concurrent(tmp, a, b, 'k');
        const r = await aae('sync', a, b, '--once', 'all', '--pause-ms', '0');
        expect(r.code).toBe(0);
        expect(await others(join(a, 'sync'))).toBe(0);
        expect(await others(join(a, 'sync', 'dr1.json'))).toBe(0);
        expect(await others(join(a, 'sync', 'dr1.conflicts.jsonl'))).toBe(0);
        const log = join(tmp, 'repair-conflicts.jsonl');
        await concurrent(tmp, a, b, 'k2');
        expect((await aae('repair', a, b, '--pause-ms', '0', '--conflict-log', log)).code).toBe(0);
        expect(await others(log)).toBe(0);
      } finally {
        process.umask(before);
      }
    }),
  );
});

describe('the default conflict log', () => {
  test('a symbolic link at the default path is refused (CONFLICT_LOG_IO); a named path is followed', () =>
    withTempDir(async (tmp) => {
      const target = join(tmp, 'elsewhere.txt');
      await writeFile(target, 'precious\n');
      const link = join(tmp, 'aae-conflicts.jsonl');
      await symlink(target, link);
      const e = await ConflictLogFile.open(link, { refuseSymlink: true }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isAaeError(e, 'CONFLICT_LOG_IO')).toBe(true);
      const named = await ConflictLogFile.open(link);
      await named.close();

      // The sync's default log (beside its state) refuses a link too, before any check runs.
      const a = await oneNode(tmp, 'dc1');
      const b = await oneNode(tmp, 'dr1');
      await mkdir(join(a, 'sync'), { recursive: true });
      await symlink(target, join(a, 'sync', 'dr1.conflicts.jsonl'));
      const r = await aae('sync', a, b, '--once', 'all', '--pause-ms', '0');
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('[CONFLICT_LOG_IO]');
      expect(await readFile(target, 'utf8')).toBe('precious\n');
      expect((await lstat(join(a, 'sync', 'dr1.conflicts.jsonl'))).isSymbolicLink()).toBe(true);
    }),
  );
});
