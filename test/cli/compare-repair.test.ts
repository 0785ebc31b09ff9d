import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { aae, withTempDir } from './helpers.js';

async function twoClusters(tmp: string): Promise<[string, string]> {
  const a = join(tmp, 'a');
  const b = join(tmp, 'b');
  expect((await aae('cluster', 'create', a, '--ring-size', '16', '--nodes', '3', '--tree-size', 'small')).code).toBe(0);
  expect((await aae('cluster', 'create', b, '--ring-size', '8', '--nodes', '2', '--n-val', '2', '--tree-size', 'small')).code).toBe(0);
  const file = join(tmp, 'data.jsonl');
  await writeFile(file, Array.from({ length: 200 }, (_, i) => JSON.stringify({ bucket: 'b', key: `k${i}`, value: `v${i}`, clock: [['src', 1]] })).join('\n'));
  expect((await aae('load', a, file)).code).toBe(0);
  expect((await aae('load', b, file)).code).toBe(0);
  return [a, b];
}

const FAST = ['--pause-ms', '0'];

describe('aae compare / repair / inspect', () => {
  test('compare exits 0 in sync and 1 with differences, and --json lists every delta with the side ahead', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      const same = await aae('compare', a, b, ...FAST, '--json');
      expect(same.code).toBe(0);
      expect(same.json()).toMatchObject({ kind: 'clusters', source: 'a', sink: 'b', inSync: true, state: 'root_compare', differences: [], summary: { total: 0 } });

      expect((await aae('put', a, 'b', 'new-on-a', 'x')).code).toBe(0);
      expect((await aae('delete', b, 'b', 'k7')).code).toBe(0);
      const diff = await aae('compare', a, b, ...FAST, '--json');
      expect(diff.code).toBe(1);
      const body = diff.json<{ inSync: boolean; differences: Array<{ key: string; kind: string; ahead: string; source: unknown; sink: unknown }> }>();
      expect(body.inSync).toBe(false);
      expect(body.differences.map((d) => [d.key, d.kind, d.ahead]).sort()).toEqual([
        ['k7', 'tombstone', 'sink'],
        ['new-on-a', 'missing', 'source'],
      ]);
      expect(body.differences.find((d) => d.key === 'new-on-a')!.sink).toBeNull();
      expect(diff.json()).toMatchObject({ summary: { total: 2, ahead: { source: 1, sink: 1, both: 0 }, kinds: { missing: { source: 1 }, tombstone: { sink: 1 } } } });
      expect(diff.stdout).not.toMatch(/blue|pink/);

      const table = await aae('compare', a, b, ...FAST);
      expect(table.code).toBe(1);
      expect(table.stdout).toContain('new-on-a');

      // A partial exchange over one bucket sees the same; another bucket is in sync.
      expect((await aae('compare', a, b, ...FAST, '--bucket', 'b', '--json')).json<{ differences: unknown[] }>().differences).toHaveLength(2);
      expect((await aae('compare', a, b, ...FAST, '--bucket', 'other')).code).toBe(0);
    }));

  test('inspect shows dirty segments with key counts, one segment\'s keys, and writes a heat map', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      expect((await aae('put', a, 'b', 'extra', 'x')).code).toBe(0);
      const r = await aae('inspect', a, b, '--json');
      expect(r.code).toBe(1);
      const body = r.json<{ pairs: Array<{ segments: Array<{ segment: number; sourceKeys: number; sinkKeys: number; differing: number }> }> }>();
      const segs = body.pairs[0]!.segments;
      expect(segs).toHaveLength(1);
      expect(segs[0]!.sourceKeys).toBe(segs[0]!.sinkKeys + 1);
      expect(segs[0]!.differing).toBe(1);
      const html = join(tmp, 'diff.html');
      const one = await aae('inspect', a, b, '--segment', String(segs[0]!.segment), '--html', html, '--json');
      const seg = one.json<{ pairs: Array<{ segment: { source: Array<{ key: string }>; sink: Array<{ key: string }> } }> }>().pairs[0]!.segment;
      expect(seg.source.map((k) => k.key)).toContain('extra');
      expect(seg.sink.map((k) => k.key)).not.toContain('extra');
      expect(one.stdout).not.toMatch(/blue|pink/);
      const page = await readFile(html, 'utf8');
      expect(page).toContain('<svg');
      expect(page).toContain('a ↔ b: 1 differing key<');
      expect(page).toContain('1 of 256 branches differ');
      expect(page).not.toMatch(/blue|pink/);
    }));

  test('repair --dry-run changes nothing; repair makes them agree and exits 0; a second repair has nothing to do', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      await aae('put', a, 'b', 'new-on-a', 'x');
      await aae('put', b, 'b', 'k3', 'changed-on-b');
      const dry = await aae('repair', a, b, ...FAST, '--dry-run', '--json');
      expect(dry.code).toBe(1);
      expect(dry.json()).toMatchObject({ source: 'a', sink: 'b', dryRun: true, totals: { copied: 2, writes: 0 }, summary: { total: 2 } });
      expect(dry.stdout).not.toMatch(/blue|pink|placesWritten/);
      // Its actions are the writes it would make: keys found level (in_sync) are not listed.
      const actions = dry.json<{ loops: Array<{ actions: Array<{ kind: string }>; actionsOmitted: number }> }>().loops.flatMap((l) => l.actions);
      expect(actions.map((x) => x.kind).sort()).toEqual(['copy', 'copy']);
      expect((await aae('compare', a, b, ...FAST)).code).toBe(1);

      const log = join(tmp, 'conflicts.jsonl');
      const fixed = await aae('repair', a, b, ...FAST, '--conflict-log', log, '--json');
      expect(fixed.code).toBe(0);
      expect(fixed.json()).toMatchObject({ inSync: true, totals: { copied: 2 } });
      expect((await aae('get', b, 'b', 'new-on-a')).stdout).toBe('x\n');
      expect((await aae('get', a, 'b', 'k3')).stdout).toBe('changed-on-b\n');
      expect((await aae('compare', a, b, ...FAST)).code).toBe(0);
      expect((await aae('repair', a, b, ...FAST, '--json')).json()).toMatchObject({ inSync: true, loops: [] });
    }));

  test('concurrent versions: lww logs the loser to the conflict log file', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      const file = (name: string, actor: string, lm: number) => {
        const p = join(tmp, name);
        return writeFile(p, JSON.stringify({ bucket: 'b', key: 'k1', value: `from-${actor}`, clock: [['src', 1], [actor, 1]], lastModified: lm })).then(() => p);
      };
      expect((await aae('load', a, await file('ca.jsonl', 'a', 100))).code).toBe(0);
      expect((await aae('load', b, await file('cb.jsonl', 'b', 200))).code).toBe(0);
      const log = join(tmp, 'conflicts.jsonl');
      const r = await aae('repair', a, b, ...FAST, '--conflict-log', log);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('appended to');
      const lines = (await readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ bucket: 'b', key: 'k1', value: 'from-a', clock: [['a', 1], ['src', 1]], policy: 'lww', where: 'a' });
      expect((await aae('get', a, 'b', 'k1')).stdout).toBe('from-b\n');
    }));

  test('replicas inside one cluster: compare finds them, repair fixes them', () =>
    withTempDir(async (tmp) => {
      const [a] = await twoClusters(tmp);
      await aae('put', a, 'b', 'lonely', 'x', '--replicas', '1');
      const c = await aae('compare', a, ...FAST, '--json');
      expect(c.code).toBe(1);
      // One key on one replica of three: missing on each of the two pairs that hold it.
      expect(c.json()).toMatchObject({ kind: 'replicas', keys: 1, summary: { total: 2, kinds: { missing: { a: 2 } } } });
      expect(c.stdout).not.toMatch(/blue|pink/);
      expect((await aae('repair', a, ...FAST)).code).toBe(0);
      expect((await aae('compare', a, ...FAST)).code).toBe(0);
      expect((await aae('repair', a, '--conflict', 'source')).code).toBe(2);
    }));

  test('bad input exits 2 with a coded message', () =>
    withTempDir(async (tmp) => {
      const [a, b] = await twoClusters(tmp);
      const missing = await aae('compare', a, join(tmp, 'nope'));
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('CLUSTER_NOT_FOUND');
      const seeded = join(tmp, 's');
      await aae('cluster', 'create', seeded, '--seed', '9', '--ring-size', '8', '--tree-size', 'small');
      const incompatible = await aae('compare', a, seeded, ...FAST);
      expect(incompatible.code).toBe(2);
      expect(incompatible.stderr).toContain('CLUSTERS_INCOMPATIBLE');
      expect((await aae('compare', a, a)).code).toBe(2);
      expect((await aae('compare', a, b, '--n-val', '2')).code).toBe(2);
      expect((await aae('compare', a, b, '--key-range', 'a..b')).code).toBe(2);
      expect((await aae('compare', a, b, '--bogus')).code).toBe(2);
      expect((await aae('repair', a, b, '--conflict', 'coin-toss')).code).toBe(2);
    }));

  test('demo runs the whole story and ends in sync', async () => {
    const r = await aae('demo', '--json');
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ loaded: 3500, replicaKeysMissing: 6, differencesFound: 28, ahead: { primary: 22, dr: 5, concurrent: 1 }, conflictsLogged: 1, inSyncAfter: true });
  });
});
