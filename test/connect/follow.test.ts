import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readState } from '../../src/connect/keystore-state.js';
import { connectPostgres } from '../../src/connect/pg/pg-connect.js';
import { readSourceSpec } from '../../src/connect/source-spec.js';
import { usePostgres } from '../support/postgres.js';
import { expectTreesEqualRebuild, followOnce, keystoreHashes, sql, tableHashes, tempDir } from './pg-helpers.js';
import { KeystoreStore } from '../../src/connect/keystore-store.js';
import { sourceActor } from '../../src/connect/keystore-clock.js';
import { parseLsn } from '../../src/connect/pg/lsn.js';
import { NodeDb } from '../../src/store/index.js';
import { join } from 'node:path';

/** Each key's clock entries in the keystore, as key text → entries. */
async function keystoreClocks(dir: string): Promise<Map<string, Array<readonly [string, number]>>> {
  const store = await KeystoreStore.open(dir, 'kv');
  const out = new Map<string, Array<readonly [string, number]>>();
  try {
    for (const v of store.cluster.vnodes()) for await (const batch of v.foldHeads({})) for (const h of batch) out.set(Buffer.from(h.key).toString(), [...h.clock.entries]);
  } finally {
    await store.close();
  }
  return out;
}

/**
 * A keystore of a real PostgreSQL table, built and kept current by the follower: after every
 * step, its heads hold exactly the table's rows (by hash) and its trees equal a rebuild.
 */

const pgs = usePostgres();
let url = '';
let dir: { path: string; dispose(): Promise<void> };
let n = 0;

beforeEach(async () => {
  url = await pgs.db(`follow${n++}`);
  dir = await tempDir();
  await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text, n int)');
});
afterEach(async () => {
  await dir.dispose();
});

const SELECT = 'SELECT id, val, n FROM kv';

async function expectInSync(path: string): Promise<void> {
  expect(await keystoreHashes(path, 'kv')).toEqual(await tableHashes(url, SELECT));
  await expectTreesEqualRebuild(path, 'kv');
}

describe('follow', () => {
  test('builds from a snapshot, then applies inserts, updates, deletes and truncate', async () => {
    await sql(url, "INSERT INTO kv SELECT 'k' || i, 'v' || i, i FROM generate_series(1, 500) i");
    const ks = `${dir.path}/ks`;
    const spec = await connectPostgres(ks, { url, table: 'kv' });
    expect(spec.source).toMatchObject({ key: ['id'], columns: ['val', 'n'], updatedAt: null, ownPublication: true });
    const first = await followOnce(ks);
    expect(first).toMatchObject({ builds: 1, reliable: true });
    await expectInSync(ks);

    await sql(url, "INSERT INTO kv SELECT 'k' || i, 'v' || i, i FROM generate_series(501, 600) i");
    await sql(url, "UPDATE kv SET val = 'changed', n = NULL WHERE n % 7 = 0");
    await sql(url, "UPDATE kv SET id = 'moved-' || id WHERE id IN ('k1', 'k2')"); // a key change: old key goes
    await sql(url, 'DELETE FROM kv WHERE n % 11 = 0');
    const second = await followOnce(ks);
    expect(second.builds).toBe(0);
    expect(second.transactions).toBeGreaterThan(0);
    await expectInSync(ks);

    await sql(url, 'TRUNCATE kv');
    await sql(url, "INSERT INTO kv VALUES ('after', 'truncate', 1)");
    await followOnce(ks);
    await expectInSync(ks);
    expect((await keystoreHashes(ks, 'kv')).size).toBe(1);
    const state = await readState(ks);
    expect(state).toMatchObject({ phase: 'ready', reliable: true, unreliable: null });
    expect(state.lag).not.toBeNull();
  });

  test('a burst of 20k changes in large transactions (the client reuses its socket buffers under us)', async () => {
    await sql(url, "INSERT INTO kv SELECT 'k' || i, 'v' || i, i FROM generate_series(1, 20000) i");
    const ks = `${dir.path}/ks`;
    await connectPostgres(ks, { url, table: 'kv' });
    await followOnce(ks);
    for (let i = 0; i < 20; i++) await sql(url, `UPDATE kv SET val = md5(val) || repeat('x', n % 300) WHERE n % 20 = ${i}`);
    await followOnce(ks);
    await expectInSync(ks);
  });

  test('an idle catch-up returns; a replay from an older checkpoint changes nothing', async () => {
    await sql(url, "INSERT INTO kv VALUES ('a', 'x', 1)");
    const ks = `${dir.path}/ks`;
    await connectPostgres(ks, { url, table: 'kv' });
    await followOnce(ks);
    await sql(url, "UPDATE kv SET val = 'y'");
    await followOnce(ks);
    const before = await keystoreHashes(ks, 'kv');
    // Nothing new: a catch-up applies nothing and returns.
    const idle = await followOnce(ks);
    expect(idle.transactions).toBe(0);
    expect(await keystoreHashes(ks, 'kv')).toEqual(before);
    await expectInSync(ks);
  });

  test('a dropped slot is a gap: the keystore says unreliable, rebuilds and swaps', async () => {
    await sql(url, "INSERT INTO kv SELECT 'k' || i, 'v' || i, i FROM generate_series(1, 50) i");
    const ks = `${dir.path}/ks`;
    await connectPostgres(ks, { url, table: 'kv' });
    await followOnce(ks);
    const state = await readState(ks);
    await sql(url, 'SELECT pg_drop_replication_slot($1)', [state.subscription]);
    // Changes while nobody follows: lost with the slot, found by the rebuild's snapshot.
    await sql(url, "UPDATE kv SET val = 'lost' WHERE n < 10");
    const logs: string[] = [];
    const r = await followOnce(ks, { log: (l) => logs.push(l.code) });
    expect(r.gaps).toHaveLength(1);
    expect(r.gaps[0]).toMatch(/does not exist/);
    expect(r.builds).toBe(1);
    expect(logs).toEqual(expect.arrayContaining(['CN004', 'CN001', 'CN002']));
    const after = await readState(ks);
    expect(after).toMatchObject({ reliable: true, rebuilds: 1, generation: 2 });
    expect(after.subscription).not.toBe(state.subscription);
    await expectInSync(ks);
    // Only the keystore's current slot is left on the server.
    const slots = await sql(url, 'SELECT slot_name FROM pg_replication_slots WHERE database = current_database()');
    expect(slots.rows.map((x) => x.slot_name)).toEqual([after.subscription]);
    const spec = await readSourceSpec(ks);
    expect(after.subscription).toBe(`${spec.source.slot}_2`);
  });

  test('a slot that moved past the keystore is a gap', async () => {
    await sql(url, "INSERT INTO kv VALUES ('a', 'x', 1)");
    const ks = `${dir.path}/ks`;
    await connectPostgres(ks, { url, table: 'kv' });
    await followOnce(ks);
    const { subscription } = await readState(ks);
    await sql(url, "INSERT INTO kv VALUES ('b', 'y', 2)");
    // Someone else consumed the slot: the change is gone for us.
    // (The test server commits asynchronously: consume until the insert has been flushed and taken.)
    const pgSource = (await readSourceSpec(ks)).source;
    if (pgSource.engine !== 'postgresql') throw new Error('a PostgreSQL keystore');
    const publication = pgSource.publication;
    let taken = 0;
    for (let i = 0; i < 100 && taken === 0; i++) {
      const r = await sql(url, 'SELECT count(*)::int AS n FROM pg_logical_slot_get_binary_changes($1, NULL, NULL, $2, $3, $4, $5)', [subscription, 'proto_version', '1', 'publication_names', publication]);
      taken = r.rows[0].n as number;
      if (taken === 0) await new Promise((res) => setTimeout(res, 50));
    }
    expect(taken).toBeGreaterThan(0);
    const r = await followOnce(ks);
    expect(r.gaps[0]).toMatch(/past the keystore's position/);
    await expectInSync(ks);
  });

  test('rows carry position clocks: the source history as actor, the snapshot or commit position as counter', async () => {
    await sql(url, "INSERT INTO kv SELECT 'k' || i, 'v' || i, i FROM generate_series(1, 20) i");
    const ks = `${dir.path}/ks`;
    await connectPostgres(ks, { url, table: 'kv' });
    await followOnce(ks);
    const id = (await sql(url, 'SELECT (SELECT system_identifier::text FROM pg_control_system()) AS s, (SELECT timeline_id::text FROM pg_control_checkpoint()) AS t, current_database() AS d')).rows[0];
    const actor = sourceActor(['postgresql', id.s, id.t, id.d, 'public', 'kv']);
    const built = await keystoreClocks(ks);
    const snapshot = Number(parseLsn((await readState(ks)).position!));
    expect(built.size).toBe(20);
    for (const entries of built.values()) expect(entries).toEqual([[actor, snapshot]]);
    await sql(url, "UPDATE kv SET val = 'later' WHERE id = 'k3'");
    const after = await sql(url, 'SELECT pg_current_wal_insert_lsn()::text AS l');
    await followOnce(ks);
    const changed = (await keystoreClocks(ks)).get('k3')!;
    expect(changed).toHaveLength(1);
    expect(changed[0]![0]).toBe(actor);
    expect(changed[0]![1]).toBeGreaterThan(snapshot);
    expect(changed[0]![1]).toBeLessThanOrEqual(Number(parseLsn(after.rows[0].l)));
  });

  test('a store built before position clocks is rebuilt (not a gap), and its rows then carry them', async () => {
    await sql(url, "INSERT INTO kv SELECT 'k' || i, 'v' || i, i FROM generate_series(1, 30) i");
    const ks = `${dir.path}/ks`;
    await connectPostgres(ks, { url, table: 'kv' });
    await followOnce(ks);
    // What a format-1 store looks like: no clock record.
    const db = await NodeDb.open('n1', join(ks, 'n1'), { createIfMissing: false });
    await db.batch([{ type: 'del', key: Uint8Array.of(0x00, 0x61) }]);
    await db.close();
    const logs: string[] = [];
    const r = await followOnce(ks, { log: (l) => logs.push(`${l.code} ${l.message}`) });
    expect(r).toMatchObject({ builds: 1, gaps: [], reliable: true });
    expect(logs.some((l) => l.startsWith('CN001 rebuild for position clocks'))).toBe(true);
    for (const entries of (await keystoreClocks(ks)).values()) expect(entries[0]![0]).toMatch(/^@[0-9a-f]{16}$/);
    await expectInSync(ks);
  });
});
