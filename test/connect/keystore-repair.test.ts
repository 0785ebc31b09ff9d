import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { repairClusters } from '../../src/aae/index.js';
import { KeystoreCluster } from '../../src/connect/keystore-cluster.js';
import { loopbackNode } from '../../src/testing/index.js';
import { aae } from '../cli/helpers.js';
import { usePostgres } from '../support/postgres.js';
import { dropSlots, sql, tempDir } from './pg-helpers.js';

/**
 * Compare and repair through keystore nodes, against real PostgreSQL: two databases (a primary and
 * a DR copy that missed, changed and kept writes) compared with exact deltas and repaired into the
 * DR by the one-way default; a live write racing the repair, never overwritten; a table repaired
 * into an embedded cluster and back, where position clocks make a later change at the source a
 * plain copy rather than a conflict.
 */

const pgs = usePostgres();
let dir: { path: string; dispose(): Promise<void> };
let n = 0;

beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.dispose();
});

const ks = (name: string): string => join(dir.path, name);

async function rows(url: string): Promise<Array<[string, string | null]>> {
  return (await sql(url, 'SELECT id, val FROM kv ORDER BY id')).rows.map((r) => [r.id as string, r.val as string | null]);
}

/** A primary of k1..k200, and a DR that lacks k10, k20, k30, holds old values of k40 and k50, and a row the primary never had. */
async function pair(): Promise<{ primary: string; dr: string; p: string; d: string }> {
  const i = n++;
  const primary = await pgs.db(`primary${i}`);
  const dr = await pgs.db(`dr${i}`);
  for (const u of [primary, dr]) {
    await sql(u, 'CREATE TABLE kv (id text PRIMARY KEY, val text)');
    await sql(u, "INSERT INTO kv SELECT 'k' || i, 'v' || i FROM generate_series(1, 200) i");
  }
  await sql(dr, "DELETE FROM kv WHERE id IN ('k10', 'k20', 'k30')");
  await sql(dr, "UPDATE kv SET val = 'old' WHERE id IN ('k40', 'k50')");
  await sql(dr, "INSERT INTO kv VALUES ('ghost', 'never at the primary')");
  const p = ks(`p${i}`);
  const d = ks(`d${i}`);
  expect((await aae('connect', p, primary, '--table', 'kv')).code).toBe(0);
  expect((await aae('connect', d, dr, '--table', 'kv')).code).toBe(0);
  return { primary, dr, p, d };
}

describe('two PostgreSQL databases through their keystores', () => {
  test('compare finds exactly the planted differences; the one-way default repairs the DR into a copy of the primary, deletions included', async () => {
    const { primary, dr, p, d } = await pair();
    // A row both had, deleted at the primary only.
    await sql(primary, "DELETE FROM kv WHERE id = 'k60'");
    for (const k of [p, d]) expect((await aae('follow', k, '--once')).code).toBe(0);

    const cmp = await aae('compare', p, d, '--pause-ms', '0', '--json');
    expect(cmp.code, cmp.stderr).toBe(1);
    const differences = cmp.json<{ differences: Array<{ key: string; ahead: string }> }>().differences;
    expect(Object.fromEntries(differences.map((x) => [x.key, x.ahead]))).toEqual({ k10: 'source', k20: 'source', k30: 'source', k40: 'both', k50: 'both', k60: 'sink', ghost: 'sink' });

    // The dry run's plan says which writes delete: k60 (deleted at the primary) and ghost (the DR's only).
    const plan = await aae('repair', p, d, '--pause-ms', '0', '--dry-run', '--json-lines', '--conflict-log', join(dir.path, 'dry.jsonl'));
    expect(plan.code, plan.stderr).toBe(1); // a dry run leaves the differences: exit 1
    const planned = plan.stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; status: string; deletes?: boolean });
    expect(planned.every((a) => a.status === 'planned')).toBe(true);
    expect(planned.filter((a) => a.deletes === true).map((a) => a.key).sort()).toEqual(['ghost', 'k60']);

    const log = join(dir.path, 'conflicts.jsonl');
    const rep = await aae('repair', p, d, '--pause-ms', '0', '--conflict-log', log, '--json');
    expect(rep.code, rep.stderr).toBe(0);
    const report = rep.json<{ inSync: boolean; policy: string; direction: string; totals: Record<string, number> }>();
    expect(report).toMatchObject({ inSync: true, policy: 'source', direction: 'to-sink' });
    // Three copies; two changed rows and two deletions resolved for the source; each a write into the DR.
    expect(report.totals).toMatchObject({ copied: 3, resolved: 4, writes: 7, skipped: 0, heldBack: 0, conflictsLogged: 4 });
    expect(await rows(dr)).toEqual(await rows(primary));
    // What the DR lost is in the conflict log.
    const losers = (await readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { key: string; value: string; deleted: boolean });
    expect(losers.map((l) => l.key).sort()).toEqual(['ghost', 'k40', 'k50', 'k60']);
    // The primary was never written.
    expect((await rows(primary)).length).toBe(199);

    const again = await aae('compare', p, d, '--pause-ms', '0', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()).toMatchObject({ inSync: true, keystores: [{ reliable: true }, { reliable: true }] });

    // The other commands read keystores as they stand: a fold on the node, inspect over both.
    const stats = await aae('fold', p, 'object_stats', '--json');
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.json<{ result: { count: number } }>().result.count).toBe(199);
    const looked = await aae('inspect', p, d, '--json');
    expect(looked.code, looked.stderr).toBe(0);

    // aae sync does the same on a schedule: one check now.
    await sql(primary, "UPDATE kv SET val = 'synced' WHERE id IN ('k1', 'k2')");
    await sql(primary, "DELETE FROM kv WHERE id = 'k3'");
    const sync = await aae('sync', p, d, '--once', 'all', '--pause-ms', '0', '--state', join(dir.path, 'sync.json'), '--json');
    expect(sync.code, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout.trim().split('\n').at(-1)!)).toMatchObject({ outcome: 'repaired' });
    expect(await rows(dr)).toEqual(await rows(primary));
    for (const u of [primary, dr]) await dropSlots(u);
  });

  test('a live write racing the repair is never overwritten: the repair decided before it, so it skips that row', async () => {
    const { primary, dr, p, d } = await pair();
    const [blue, pink] = [await KeystoreCluster.open(p, { source: 'follow', wrapNode: loopbackNode, retryMs: 100 }), await KeystoreCluster.open(d, { source: 'follow', wrapNode: loopbackNode, retryMs: 100 })];
    const live = new pg.Client({ connectionString: dr });
    await live.connect();
    try {
      // The live writer holds k40's row (uncommitted): the repair decides on the DR as it was, then waits on the row.
      await live.query('BEGIN');
      await live.query("UPDATE kv SET val = 'live' WHERE id = 'k40'");
      const repairing = repairClusters(blue, pink, { policy: 'source', direction: 'to-sink', pauseMs: 0, maxLoops: 1 });
      for (let i = 0; ; i++) {
        const waiting = await sql(dr, "SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'");
        if (waiting.rows[0].n > 0) break;
        if (i > 600) throw new Error('the repair never reached the locked row');
        await new Promise((r) => setTimeout(r, 50));
      }
      await live.query('COMMIT');
      const report = await repairing;
      expect(report.totals.placesSkipped).toBe(1);
      expect(report.totals.placesWritten).toBe(5);
    } finally {
      await live.end();
      await blue.close();
      await pink.close();
    }
    const after = Object.fromEntries(await rows(dr));
    expect(after.k40).toBe('live');
    expect(after.k50).toBe('v50');
    expect(after.k10).toBe('v10');
    expect(after.ghost).toBeUndefined();
    for (const u of [primary, dr]) await dropSlots(u);
  });
});

describe('a table and an embedded cluster', () => {
  test('repaired into a cluster; a later change at the source is a plain copy (position clocks), a deletion a tombstone; and back into the table', async () => {
    const { primary, dr, p } = await pair();
    const c = ks(`cluster${n}`);
    const made = await aae('cluster', 'create', c, '--nodes', '2', '--ring-size', '8', '--n-val', '2', '--hash-method', 'value', '--seed', '0', '--tree-size', 'large');
    expect(made.code, made.stderr).toBe(0);
    const first = await aae('repair', p, c, '--pause-ms', '0', '--conflict-log', join(dir.path, 'cluster-conflicts.jsonl'), '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(first.json<{ totals: { copied: number; resolved: number } }>().totals).toMatchObject({ copied: 200, resolved: 0 });
    const got = await aae('get', c, 'kv', 'k7', '--json');
    const k7 = got.json<{ value: string; clock: Array<[string, number]> }>();
    expect(k7.value).toBe('v7');
    expect(k7.clock[0]![0]).toMatch(/^@[0-9a-f]{16}$/);

    await sql(primary, "UPDATE kv SET val = 'v7 again' WHERE id = 'k7'");
    const second = await aae('repair', p, c, '--pause-ms', '0', '--conflict-log', join(dir.path, 'cluster-conflicts.jsonl'), '--json');
    expect(second.code, second.stderr).toBe(0);
    // The source's new version descends from the copy the cluster holds: copied, no conflict, nothing logged.
    expect(second.json<{ totals: Record<string, number> }>().totals).toMatchObject({ copied: 1, resolved: 0, conflictsLogged: 0 });
    const k7b = (await aae('get', c, 'kv', 'k7', '--json')).json<{ value: string; clock: Array<[string, number]> }>();
    expect(k7b.value).toBe('v7 again');
    expect(k7b.clock).toHaveLength(1);
    expect(k7b.clock[0]![1]).toBeGreaterThan(k7.clock[0]![1]);

    // A deletion at the source becomes a tombstone in the cluster (which keeps tombstones); once
    // reaped, the two agree again.
    await sql(primary, "DELETE FROM kv WHERE id = 'k8'");
    const third = await aae('repair', p, c, '--pause-ms', '0', '--conflict-log', join(dir.path, 'cluster-conflicts.jsonl'), '--json');
    expect(third.json<{ totals: Record<string, number> }>().totals).toMatchObject({ resolved: 1 });
    expect((await aae('get', c, 'kv', 'k8')).code).toBe(1);
    expect((await aae('fold', c, 'reap_tombs', '--query', '{"change": "reap"}')).code).toBe(0);
    expect((await aae('compare', p, c, '--pause-ms', '0')).code).toBe(0);

    // The other way: the cluster as the source writes its objects into the DR's table. A key the
    // cluster lacks proves nothing there (a cluster keeps tombstones: it may just never have had
    // it), so the DR's rows of ghost and k8 are held back, not deleted.
    const d2 = ks(`d2-${n}`);
    expect((await aae('connect', d2, dr, '--table', 'kv', '--slot', `back_${n}`)).code).toBe(0);
    const back = await aae('repair', c, d2, '--pause-ms', '0', '--conflict-log', join(dir.path, 'cluster-conflicts.jsonl'), '--json');
    expect(back.code, back.stderr).toBe(1);
    // Copied k10, k20, k30; resolved k7, k40, k50 for the source; ghost and k8 held back (met by
    // both loops, counted once: what still stands).
    expect(back.json<{ totals: Record<string, number> }>().totals).toMatchObject({ copied: 3, resolved: 3, heldBack: 2 });
    const drRows = Object.fromEntries(await rows(dr));
    expect(drRows).toEqual({ ...Object.fromEntries(await rows(primary)), ghost: 'never at the primary', k8: 'v8' });
    for (const u of [primary, dr]) await dropSlots(u);
  });
});
