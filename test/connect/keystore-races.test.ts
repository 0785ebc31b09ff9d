import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { repairClusters } from '../../src/aae/index.js';
import { builtinFoldModule, runAnyFold } from '../../src/fold/index.js';
import { canonicalRowBytes, connectPostgres, keyBytesOf, KeystoreCluster, keystoreStatus } from '../../src/connect/index.js';
import { keystoreLine, statusLine } from '../../src/cli/keystore-status.js';
import { initHash } from '../../src/hash/index.js';
import { usePostgres } from '../support/postgres.js';
import { dropSlots, followOnce, sql, tempDir } from './pg-helpers.js';

/**
 * A keystore node under the races a server meets, against real PostgreSQL: folds arriving while a
 * rebuild swaps the store in, a repair's insert losing to a live writer's uncommitted insert, and
 * its database refusing connections for longer than the feed's retry interval.
 */

const pgs = usePostgres();
let dir: { path: string; dispose(): Promise<void> };

beforeAll(async () => {
  await initHash();
  dir = await tempDir();
});
afterAll(async () => {
  await dir.dispose();
});

async function table(name: string, rows: number): Promise<string> {
  const url = await pgs.db(name);
  await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text)');
  if (rows > 0) await sql(url, `INSERT INTO kv SELECT 'k' || i, 'v' || i FROM generate_series(1, ${rows}) i`);
  return url;
}

/** Waits until `cond` holds, polling; fails after `ms`. */
async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a keystore node under races', () => {
  test('folds that arrive while a rebuild swaps the store in all see a whole store, never a closed one', async () => {
    const url = await table('swaps', 3000);
    const ks = join(dir.path, 'swaps');
    await connectPostgres(ks, { url, table: 'kv', rebuildEveryMs: 400, rebuildJitterMs: 0 });
    const codes: string[] = [];
    const cluster = await KeystoreCluster.open(ks, { source: 'follow', rebuilds: true, retryMs: 100, log: (l) => codes.push(l.code) });
    const failures: string[] = [];
    let folds = 0;
    try {
      const module = builtinFoldModule('object_stats');
      const folding = async (): Promise<void> => {
        // Until at least three swaps have happened under the folds.
        while (codes.filter((c) => c === 'CN002').length < 3) {
          try {
            const r = await runAnyFold(cluster, module, {});
            folds++;
            if (r.items !== 3000) failures.push(`items ${r.items}`);
          } catch (e) {
            failures.push(`${(e as { code?: string }).code}: ${(e as Error).message}`);
          }
        }
      };
      await Promise.all([folding(), folding(), folding()]);
    } finally {
      await cluster.close();
    }
    expect(failures).toEqual([]);
    expect(folds).toBeGreaterThan(3);
    await dropSlots(url);
  });

  test("a repair's insert that loses to a live writer's insert is reported lost, and the live row stays", async () => {
    const url = await table('inserts', 1);
    const ks = join(dir.path, 'inserts');
    await connectPostgres(ks, { url, table: 'kv' });
    const cluster = await KeystoreCluster.open(ks, { source: 'follow', retryMs: 100 });
    const live = new pg.Client({ connectionString: url });
    await live.connect();
    try {
      // A live writer has inserted 'new' and not committed yet.
      await live.query('BEGIN');
      await live.query("INSERT INTO kv VALUES ('new', 'live')");
      // The repair decided 'new' is absent (held: null) and copies another version in.
      const key = keyBytesOf(['new']);
      const object = { bucket: 'kv', key, clock: { entries: [['repair', 1]] as Array<[string, number]>, lastModified: 1 }, value: new Uint8Array(canonicalRowBytes(['repair'])), deleted: false, indexes: [] };
      const writing = cluster.writeIfHeld([{ object, targets: [{ vnode: cluster.preflistOf('kv', key)[0]!, held: null }] }]);
      // The repair's insert now waits on the live writer's key.
      await until(async () => (await sql(url, "SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'")).rows[0].n > 0, 30_000, 'the insert to wait');
      await live.query('COMMIT');
      const outcomes = await writing;
      expect(outcomes).toEqual([[expect.not.stringMatching(/^written$/)]]);
      expect((await sql(url, "SELECT val FROM kv WHERE id = 'new'")).rows).toEqual([{ val: 'live' }]);
    } finally {
      await live.end();
      await cluster.close();
    }
    await dropSlots(url);
  });

  test('a row its keystore has not applied yet is not a deletion: a one-way repair never deletes it on the other side', async () => {
    const primary = await table('lag_primary', 20);
    const dr = await table('lag_dr', 20);
    const p = join(dir.path, 'lag-primary');
    const d = join(dir.path, 'lag-dr');
    await connectPostgres(p, { url: primary, table: 'kv' });
    await connectPostgres(d, { url: dr, table: 'kv' });
    await followOnce(p);
    // Written at the primary after its keystore caught up, and already at the DR.
    await sql(primary, "INSERT INTO kv VALUES ('late', 'x')");
    await sql(dr, "INSERT INTO kv VALUES ('late', 'x')");
    const source = await KeystoreCluster.open(p); // as it stands: it has not seen 'late'
    const sink = await KeystoreCluster.open(d, { source: 'follow', retryMs: 100 });
    try {
      const report = await repairClusters(source, sink, { policy: 'source', direction: 'to-sink', pauseMs: 0, maxLoops: 1 });
      expect(report.totals.placesSkipped).toBe(1);
      expect(report.totals.placesWritten).toBe(0);
    } finally {
      await source.close();
      await sink.close();
    }
    expect((await sql(dr, "SELECT val FROM kv WHERE id = 'late'")).rows).toEqual([{ val: 'x' }]);
    for (const u of [primary, dr]) await dropSlots(u);
  });

  test('a follower stopped while it reconnects leaves no "unreachable" behind: nothing is reconnecting any more', async () => {
    const url = await table('outage_stop', 20);
    const ks = join(dir.path, 'outage_stop');
    await connectPostgres(ks, { url, table: 'kv' });
    const codes: string[] = [];
    const cluster = await KeystoreCluster.open(ks, { source: 'follow', retryMs: 100, log: (l) => codes.push(l.code) });
    const admin = pgs.server.url('postgres');
    const db = new URL(url).pathname.slice(1);
    try {
      await sql(admin, `ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS false`);
      await sql(admin, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db]);
      await until(async () => (await keystoreStatus(ks)).unreachable !== null, 30_000, 'the unreachable mark');
      await cluster.close();
      expect((await keystoreStatus(ks)).unreachable).toBeNull();
      expect(statusLine(await keystoreStatus(ks))).not.toContain('UNREACHABLE');
    } finally {
      await sql(admin, `ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
      await cluster.close().catch(() => undefined);
    }
    await dropSlots(url);
  });

  test('a database that refuses connections for longer than the retry interval is waited out: the feed resumes and follows on', async () => {
    const url = await table('outage', 50);
    const ks = join(dir.path, 'outage');
    await connectPostgres(ks, { url, table: 'kv' });
    const codes: string[] = [];
    const lines: string[] = [];
    const cluster = await KeystoreCluster.open(ks, { source: 'follow', retryMs: 100, log: (l) => (codes.push(l.code), lines.push(`${l.code} ${l.message}`)) });
    const admin = pgs.server.url('postgres');
    const db = new URL(url).pathname.slice(1);
    try {
      // The outage: no new connections to the database, and the feed's own connections cut.
      await sql(admin, `ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS false`);
      await sql(admin, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db]);
      // Several retry rounds fail while it lasts (each a refused connection, not a gap).
      await until(async () => codes.filter((c) => c === 'CN005').length >= 3, 30_000, 'three reconnect attempts').catch((e: Error) => {
        throw new Error(`${e.message}; the feed said ${JSON.stringify(lines)}; the node says ${JSON.stringify(cluster.keystore.following)}`);
      });
      // state.json says so while it lasts (follow --status, cluster status read it): still reliable, source unreachable.
      const during = await keystoreStatus(ks);
      expect(during.reliable).toBe(true);
      // Why, in the words of whichever call met the outage (the resume check, the stream, the slot check).
      expect(during.unreachable?.reason.length).toBeGreaterThan(0);
      expect(Number.isFinite(during.unreachable?.since)).toBe(true);
      expect(statusLine(during)).toMatch(/; SOURCE UNREACHABLE since \S+ \(reconnecting: /);
      // The node says so too (Info, contract 1.2), so a served keystore's cluster status and compare lines do.
      const asNode = (await cluster.keystore.info()).keystore!;
      expect(asNode.unreachable).toEqual(during.unreachable);
      expect(keystoreLine({ ...asNode, cluster: 'outage', node: 'ks' })).toMatch(/; SOURCE UNREACHABLE since \S+ \(reconnecting: /);
      await sql(admin, `ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS true`);
      await sql(url, "INSERT INTO kv VALUES ('after', 'the outage')");
      const node = cluster.keystore;
      await until(async () => (await node.readHeads({ vnode: cluster.preflistOf('kv', keyBytesOf(['after']))[0]!, keys: [{ bucket: 'kv', key: keyBytesOf(['after']) }] })).heads[0] !== null, 30_000, 'the row written after the outage');
      const status = (await node.info()).keystore!;
      expect(status).toMatchObject({ reliable: true, following: true });
      expect(status.unreachable).toBeUndefined();
      expect(codes).not.toContain('CN004');
      expect((await keystoreStatus(ks)).unreachable).toBeNull();
    } finally {
      await sql(admin, `ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
      await cluster.close();
    }
    await dropSlots(url);
  });
});
