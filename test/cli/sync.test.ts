import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { runCli } from '../../src/cli/program.js';
import { syncLockHolder } from '../../src/sync/index.js';
import { aae, withTempDir } from './helpers.js';

async function twoClusters(tmp: string): Promise<[string, string]> {
  const a = join(tmp, 'dc1');
  const b = join(tmp, 'dr1');
  expect((await aae('cluster', 'create', a, '--ring-size', '16', '--nodes', '2', '--n-val', '2', '--tree-size', 'small')).code).toBe(0);
  expect((await aae('cluster', 'create', b, '--ring-size', '8', '--nodes', '1', '--n-val', '1', '--tree-size', 'small')).code).toBe(0);
  const file = join(tmp, 'data.jsonl');
  await writeFile(file, Array.from({ length: 200 }, (_, i) => JSON.stringify({ bucket: 'b', key: `k${i}`, value: `v${i}`, clock: [['src', 1]], lastModified: 1_000 + i })).join('\n'));
  expect((await aae('load', a, file)).code).toBe(0);
  expect((await aae('load', b, file)).code).toBe(0);
  return [a, b];
}

const FAST = ['--pause-ms', '0'];
const lines = (s: string) => s.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('aae sync', () => {
  test('--once runs one check, repairs what it finds, and keeps its state for the next one', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      expect((await aae('put', a, 'b', 'only-on-dc1', 'x')).code).toBe(0);
      expect((await aae('put', b, 'b', 'k3', 'newer on dr1')).code).toBe(0);

      const first = await aae('sync', a, b, '--once', 'all', ...FAST, '--json');
      expect(first.code).toBe(0);
      const [r1] = lines(first.stdout);
      expect(r1).toMatchObject({ source: 'dc1', sink: 'dr1', item: 'all', kind: 'all', outcome: 'repaired', differences: 2, repaired: { keys: 2 } });
      expect((await aae('get', b, 'b', 'only-on-dc1')).code).toBe(0);
      expect((await aae('get', a, 'b', 'k3', '--json')).json<{ value: string }>().value).toBe('newer on dr1');

      const state = JSON.parse(await readFile(join(a, 'sync', 'dr1.json'), 'utf8')) as { previousSuccess: number; lastCheck: { outcome: string } };
      expect(state.previousSuccess).toBe(Date.parse(r1!.startedAt as string));
      expect(state.lastCheck.outcome).toBe('repaired');

      // A range check starts where the last success did, and finds what was written since.
      expect((await aae('put', a, 'b', 'since', 'y')).code).toBe(0);
      const range = await aae('sync', a, b, '--once', 'range', ...FAST, '--json');
      expect(range.code).toBe(0);
      expect(lines(range.stdout)[0]).toMatchObject({ kind: 'range', outcome: 'repaired', differences: 1, modifiedRange: { from: r1!.startedAt } });

      const text = await aae('sync', a, b, '--once', 'all', ...FAST);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/all: in sync in /);
    }));

  test('a schedule runs its checks at their slices and stops after --checks', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      expect((await aae('delete', a, 'b', 'k9')).code).toBe(0);
      const state = join(tmp, 'state.json');
      const t0 = Date.now();
      const run = await aae('sync', a, b, '--schedule', 'all=2', '--period', '2s', '--checks', '2', '--state', state, ...FAST, '--json');
      expect(run.code).toBe(0);
      // On a slow machine the first check may outrun the next slice, which is then skipped as late.
      const all = lines(run.stdout);
      for (const r of all.filter((r) => r.outcome === 'skipped')) expect(r.why).toMatch(/^late/);
      const reports = all.filter((r) => r.outcome !== 'skipped');
      expect(reports.map((r) => [r.item, r.outcome])).toEqual([
        ['all', 'repaired'],
        ['all', 'in_sync'],
      ]);
      // Each started at its slice: a second apart, on the grid of whole seconds, after the start.
      const starts = reports.map((r) => Date.parse(r.startedAt as string));
      expect(starts[0]!).toBeGreaterThan(t0);
      expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(900);
      expect(JSON.parse(await readFile(state, 'utf8'))).toMatchObject({ source: 'dc1', sink: 'dr1', previousSuccess: starts[1] });
      expect((await aae('get', b, 'b', 'k9')).code).toBe(1);
    }));

  test('a check that finds a cluster busy fails with exit 3 and says why; the state keeps no success', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      const holder = await EmbeddedCluster.open(b);
      try {
        const r = await aae('sync', a, b, '--once', 'all', ...FAST, '--json');
        expect(r.code).toBe(3);
        expect(lines(r.stdout)[0]).toMatchObject({ outcome: 'failed', error: { code: 'STORE_LOCKED' } });
        // The line for people: how long it took, then the error, whose words end the line.
        const text = await aae('sync', a, b, '--once', 'all', ...FAST);
        expect(text.stdout.trim()).toMatch(/: FAILED after \d+(\.\d+)? m?s: \[STORE_LOCKED\] node n1: its store \S+ is locked: [^\n]*$/);
      } finally {
        await holder.close();
      }
      expect(JSON.parse(await readFile(join(a, 'sync', 'dr1.json'), 'utf8'))).toMatchObject({ previousSuccess: null });
      // The range check has nothing to start from, and says so.
      const nothing = await aae('sync', a, b, '--once', 'range', ...FAST, '--json');
      expect(nothing.code).toBe(2);
      expect(nothing.stderr).toContain('nothing to compare');
    }));

  test('bad usage and bad input exit 2 with the flag or file named', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      const cases: Array<[string[], RegExp]> = [
        [['--schedule', 'weekly=1'], /--schedule: .*unknown check 'weekly'/],
        [['--schedule', 'none=0'], /--schedule: .*at least one check/],
        [['--period', '0s'], /--period/],
        [['--window', '25-1'], /--window/],
        [['--once', 'none'], /--once must be one of/],
        [['--checks', '0'], /--checks/],
        [['--bucket', ''], /--bucket/],
      ];
      for (const [args, message] of cases) {
        const r = await aae('sync', a, b, ...args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(message);
      }
      expect((await aae('sync', a, join(tmp, 'nowhere'), '--once', 'all')).code).toBe(2);
      expect((await aae('sync', a, a, '--once', 'all')).code).toBe(2);
      await writeFile(join(tmp, 'bad-state.json'), '{"format": "something else"}');
      const bad = await aae('sync', a, b, '--once', 'all', '--state', join(tmp, 'bad-state.json'));
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('SYNC_STATE_INVALID');
      const help = await aae('sync', '--help');
      expect(help.stdout).toContain('Examples:');
    }));
});

describe('aae sync: one at a time, and --once', () => {
  test('a second sync with the same state is refused (SYNC_BUSY); a stale lock is taken over', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      // A scheduled sync that waits an hour for its slice, stopped by its signal at the end.
      const stop = new AbortController();
      let waiting!: () => void;
      const started = new Promise<void>((r) => (waiting = r));
      const first = runCli(['sync', a, b, '--schedule', 'all=1', '--period', '1h', ...FAST], {
        stdout: { write: () => true },
        stderr: { write: (t: string) => (t.startsWith('next:') && waiting(), true) },
        signal: stop.signal,
      });
      await started;
      try {
        const second = await aae('sync', a, b, '--once', 'all', ...FAST);
        expect(second.code).toBe(3);
        expect(second.stderr).toContain('SYNC_BUSY');
        // The lock names its process.
        expect(await syncLockHolder(join(a, 'sync', 'dr1.json'))).toBe(process.pid);
      } finally {
        stop.abort();
        expect(await first).toBe(3);
      }
      // Stopped, it let go of the lock; and a lock whose process is gone is stale, taken over.
      await expect(stat(join(a, 'sync', 'dr1.json.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
      const stale = join(tmp, 'stale-state.json');
      await writeFile(`${stale}.lock`, '999999999\n');
      const took = await aae('sync', a, b, '--once', 'all', ...FAST, '--state', stale);
      expect(took.code).toBe(0);
      await expect(stat(`${stale}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
    }));

  test('--once refuses the loop options, and a range check with nothing to look at', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      const mixed = await aae('sync', a, b, '--once', 'all', '--schedule', 'all=2');
      expect(mixed.code).toBe(2);
      expect(mixed.stderr).toContain('--schedule only applies to a scheduled sync');
      const both = await aae('sync', a, b, '--once', 'all', '--schedule', 'all=2', '--period', '1h');
      expect(both.stderr).toContain('--schedule, --period only apply to a scheduled sync');
      // --lock-ttl without --lock: refused, not a scheduled sync started with it ignored.
      const ttl = await aae('sync', a, b, '--once', 'all', '--lock-ttl', '5');
      expect(ttl.code).toBe(2);
      expect(ttl.stderr).toMatch(/--lock-ttl goes with --lock etcd:\/\/.*\[USAGE\]/);
      const nothing = await aae('sync', a, b, '--once', 'range', ...FAST);
      expect(nothing.code).toBe(2);
      expect(nothing.stderr).toMatch(/nothing to compare.*run --once all first/);
      // Conflict losers go beside the state by default.
      expect((await aae('put', a, 'b', 'k5', 'on dc1')).code).toBe(0);
      expect((await aae('put', b, 'b', 'k5', 'on dr1')).code).toBe(0);
      expect((await aae('sync', a, b, '--once', 'all', ...FAST)).code).toBe(0);
      const losers = (await readFile(join(a, 'sync', 'dr1.conflicts.jsonl'), 'utf8')).trim().split('\n');
      expect(losers).toHaveLength(1);
    }));
});

describe('aae sync --status', () => {
  test('shows the watermark, the span and the last check, and exits by its health', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      // A sync that never ran vouches for nothing: not healthy.
      const none = await aae('sync', a, b, '--status', '--json');
      expect(none.code).toBe(1);
      expect(none.json()).toMatchObject({ source: 'dc1', sink: 'dr1', running: false, watermark: null, range: null, fullCheckDue: false, lastCheck: null, healthy: false, health: 'no check has run yet', lastSuccess: null });

      expect((await aae('put', a, 'b', 'new', 'x')).code).toBe(0);
      const run = await aae('sync', a, b, '--once', 'all', ...FAST, '--json');
      const started = lines(run.stdout)[0]!.startedAt;
      const after = await aae('sync', a, b, '--status', '--json');
      expect(after.code).toBe(0);
      expect(after.json()).toMatchObject({ watermark: started, healthy: true, lastCheck: { outcome: 'repaired', differences: 1, startedAt: started } });
      const success = Date.parse(after.json<{ lastSuccess: string }>().lastSuccess);
      expect(success).toBeGreaterThanOrEqual(Date.parse(started as string));
      // --max-age judges the last success: a day is plenty, a millisecond ago it no longer is.
      expect((await aae('sync', a, b, '--status', '--max-age', '24h')).code).toBe(0);
      await new Promise((r) => setTimeout(r, 5));
      const stale = await aae('sync', a, b, '--status', '--max-age', '1ms', '--json');
      expect(stale.code).toBe(1);
      expect(stale.json<{ health: string }>().health).toMatch(/more than --max-age/);
      expect((await aae('sync', a, b, '--once', 'all', '--max-age', '1h')).code).toBe(2);
      const text = await aae('sync', a, b, '--status');
      expect(text.stdout).toMatch(/watermark: +\S+ \(.* ago\)/);
      expect(text.stdout).toMatch(/last check: +\S+ +all: 1 difference\(s\); repaired 1 key/);

      // A failed check: the status says so and exits 3; the watermark stays.
      const holder = await EmbeddedCluster.open(b);
      try {
        expect((await aae('sync', a, b, '--once', 'all', ...FAST)).code).toBe(3);
      } finally {
        await holder.close();
      }
      const failed = await aae('sync', a, b, '--status', '--json');
      expect(failed.code).toBe(3);
      // The last success is kept across the failure: monitoring can see how long ago things were fine.
      expect(failed.json()).toMatchObject({ watermark: started, healthy: false, lastSuccess: after.json<{ lastSuccess: string }>().lastSuccess, lastCheck: { outcome: 'failed', error: { code: 'STORE_LOCKED' } } });
      expect((await aae('sync', a, b, '--status', '--once', 'all')).code).toBe(2);
    }));
});

describe('aae sync --bucket', () => {
  test('checks and repairs only that bucket, with a state of its own', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      expect((await aae('put', a, 'b', 'in-scope', 'x')).code).toBe(0);
      expect((await aae('put', a, 'other', 'out-of-scope', 'y')).code).toBe(0);
      for (const kind of ['all', 'range']) {
        const r = await aae('sync', a, b, '--bucket', 'b', '--once', kind, ...FAST, '--json');
        expect(r.code, kind).toBe(0);
        expect(lines(r.stdout)[0]).toMatchObject({ kind, outcome: kind === 'all' ? 'repaired' : 'in_sync', bucket: 'b' });
      }
      expect((await aae('get', b, 'b', 'in-scope')).code).toBe(0);
      expect((await aae('get', b, 'other', 'out-of-scope')).code).toBe(1);
      expect((await aae('compare', a, b, ...FAST, '--bucket', 'other')).code).toBe(1);
      // Its own state: the unscoped sync has none yet, and the files do not mix.
      expect(JSON.parse(await readFile(join(a, 'sync', 'dr1+b.json'), 'utf8'))).toMatchObject({ bucket: 'b', source: 'dc1', sink: 'dr1' });
      expect((await aae('sync', a, b, '--status', '--json')).json()).toMatchObject({ watermark: null, lastCheck: null });
      expect((await aae('sync', a, b, '--status', '--bucket', 'b', '--json')).json()).toMatchObject({ bucket: 'b', lastCheck: { outcome: 'in_sync' } });
      const mixed = await aae('sync', a, b, '--once', 'all', '--state', join(a, 'sync', 'dr1+b.json'), ...FAST);
      expect(mixed.code).toBe(2);
      expect(mixed.stderr).toContain('SYNC_STATE_INVALID');
    }));
});

describe('keys on only some replicas of the source', () => {
  test("a full check that only restores a cluster's own replicas says so in its line", () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      const file = join(tmp, 'partial.jsonl');
      await writeFile(file, Array.from({ length: 20 }, (_, i) => JSON.stringify({ bucket: 'one', key: `r${i}`, value: 'v', clock: [['z', 1]], lastModified: 5_000 })).join('\n'));
      // The sink has them whole; the source on one replica each (a rebuilt replica, as it were).
      expect((await aae('load', b, file)).code).toBe(0);
      expect((await aae('load', a, file, '--replicas', '1')).code).toBe(0);
      const sync = await aae('sync', a, b, '--once', 'all', ...FAST);
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.stdout).toMatch(/repaired 0 key\(s\) \(0 write\(s\), 0 conflict\(s\) resolved\), and [1-9]\d* write\(s\) between replicas inside the clusters; in sync in /);
    }));

  test('aae repair and a full sync check carry them across whatever the coverage, and say so', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      const file = join(tmp, 'partial.jsonl');
      await writeFile(file, Array.from({ length: 20 }, (_, i) => JSON.stringify({ bucket: 'one', key: `p${i}`, value: 'v', clock: [['z', 1]], lastModified: 5_000 })).join('\n'));
      expect((await aae('load', a, file, '--replicas', '1')).code).toBe(0);
      const sync = await aae('sync', a, b, '--once', 'all', ...FAST, '--json');
      expect(sync.code).toBe(0);
      expect(lines(sync.stdout)[0]).toMatchObject({ outcome: 'repaired' });
      expect((lines(sync.stdout)[0]!.replicaWrites as number)).toBeGreaterThan(0);
      for (let i = 0; i < 20; i++) expect((await aae('get', b, 'one', `p${i}`)).code, `p${i}`).toBe(0);

      for (let i = 0; i < 20; i++) expect((await aae('put', a, 'one', `q${i}`, 'w', '--replicas', '1')).code).toBe(0);
      const repair = await aae('repair', a, b, ...FAST, '--json');
      expect(repair.code).toBe(0);
      expect(repair.json()).toMatchObject({ inSync: true, replicas: [{ cluster: 'dc1', inSync: true }, { cluster: 'dr1', inSync: true }] });
      for (let i = 0; i < 20; i++) expect((await aae('get', b, 'one', `q${i}`)).code, `q${i}`).toBe(0);
    }));
});

describe('a rebuilt cluster under the same name', () => {
  test('does not inherit the watermark its predecessor earned', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      expect((await aae('sync', a, b, '--once', 'all', ...FAST)).code).toBe(0);
      expect((await aae('sync', a, b, '--status', '--json')).json<{ watermark: string | null }>().watermark).not.toBeNull();
      // DR is rebuilt: a new, empty cluster with the same name in the same place.
      await rm(b, { recursive: true, force: true });
      expect((await aae('cluster', 'create', b, '--ring-size', '8', '--nodes', '1', '--n-val', '1', '--tree-size', 'small')).code).toBe(0);
      const status = await aae('sync', a, b, '--status', '--json');
      expect(status.json()).toMatchObject({ watermark: null });
      // auto would have run a range since the old watermark; it runs a full check and refills DR.
      const r = await aae('sync', a, b, '--once', 'auto', ...FAST, '--json');
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('starting afresh');
      expect(lines(r.stdout)[0]).toMatchObject({ kind: 'all', outcome: 'repaired' });
      expect((await aae('get', b, 'b', 'k7')).code).toBe(0);
    }));
});
