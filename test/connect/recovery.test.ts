import { cp, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { readState, writeState } from '../../src/connect/keystore-state.js';
import { openKeystore } from '../../src/connect/keystore.js';
import { connectPostgres } from '../../src/connect/pg/pg-connect.js';
import { readSourceSpec } from '../../src/connect/source-spec.js';
import { usePostgres } from '../support/postgres.js';
import { expectTreesEqualRebuild, followOnce, keystoreHashes, sql, tableHashes, tempDir } from './pg-helpers.js';

/**
 * The follower's recoveries: a feed stopped past its limit is a gap; a scheduled rebuild swaps in a
 * fresh store and stays reliable; an open finishes a swap a crash interrupted; a build a crash
 * abandoned has its slot dropped (a forgotten slot would hold the source's WAL forever).
 */

const pgs = usePostgres();
let url = '';
let dir: { path: string; dispose(): Promise<void> };
let n = 0;
const DAY = 24 * 3600 * 1000;

beforeEach(async () => {
  url = await pgs.db(`recovery${n++}`);
  dir = await tempDir();
  await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text)');
  await sql(url, "INSERT INTO kv SELECT 'k' || i, 'v' || i FROM generate_series(1, 100) i");
});
afterEach(async () => {
  await dir.dispose();
});

async function built(): Promise<string> {
  const ks = join(dir.path, 'ks');
  await connectPostgres(ks, { url, table: 'kv' });
  await followOnce(ks);
  return ks;
}

async function slots(): Promise<string[]> {
  return (await sql(url, 'SELECT slot_name FROM pg_replication_slots WHERE database = current_database() ORDER BY 1')).rows.map((r) => r.slot_name as string);
}

async function expectInSync(ks: string): Promise<void> {
  expect(await keystoreHashes(ks, 'kv')).toEqual(await tableHashes(url, 'SELECT id, val FROM kv'));
  await expectTreesEqualRebuild(ks, 'kv');
}

test('a feed stopped longer than maxStoppedMs is a gap: unreliable, then rebuilt', async () => {
  const ks = await built();
  await sql(url, "UPDATE kv SET val = 'later' WHERE id = 'k1'");
  const eightDaysOn = Date.now() + 8 * DAY;
  const r = await followOnce(ks, { now: () => eightDaysOn });
  expect(r.gaps).toHaveLength(1);
  expect(r.gaps[0]).toMatch(/stopped for \d+ min, past the limit of 10080 min/);
  expect(r.builds).toBe(1);
  expect(await readState(ks)).toMatchObject({ reliable: true, rebuilds: 1 });
  await expectInSync(ks);
});

test('a scheduled rebuild swaps in a fresh store, stays reliable, and drops the old slot', async () => {
  const ks = await built();
  const first = await readState(ks);
  expect(first.nextRebuildAt).toBeGreaterThanOrEqual(first.builtAt! + 14 * DAY);
  expect(first.nextRebuildAt).toBeLessThan(first.builtAt! + 18 * DAY);
  await sql(url, "DELETE FROM kv WHERE id = 'k2'");
  const due = first.nextRebuildAt! + 1;
  const logs: string[] = [];
  // Stopped 15 days "ago" would be a gap: this keystore followed until a moment before the rebuild was due.
  await writeState(ks, { ...first, followedAt: due - 1000 });
  const r = await followOnce(ks, { now: () => due, log: (l) => logs.push(l.message) });
  expect(r.gaps).toEqual([]);
  expect(logs.some((m) => /scheduled rebuild/.test(m))).toBe(true);
  const after = await readState(ks);
  expect(after).toMatchObject({ reliable: true, rebuilds: 1, generation: 2 });
  expect(await slots()).toEqual([after.subscription]);
  await expectInSync(ks);
});

test('an open finishes a swap a crash interrupted', async () => {
  const ks = await built();
  // A complete rebuild in rebuild/ (a copy of the store), and state.json saying swapping, as if the process died between the renames.
  await sql(url, "UPDATE kv SET val = 'changed' WHERE id = 'k3'");
  const state = await readState(ks);
  await mkdir(join(ks, 'rebuild'));
  await cp(join(ks, 'n1'), join(ks, 'rebuild', 'n1'), { recursive: true });
  await writeState(ks, { ...state, phase: 'swapping', pending: state.subscription });
  const opened = await openKeystore(ks);
  await opened.store.close();
  expect(opened.state).toMatchObject({ phase: 'ready', pending: null, subscription: state.subscription });
  expect(await readdir(ks)).not.toContain('rebuild');
  await followOnce(ks);
  await expectInSync(ks);
});

test('a build a crash abandoned has its slot dropped, and the keystore builds afresh', async () => {
  const ks = join(dir.path, 'ks');
  await connectPostgres(ks, { url, table: 'kv' });
  const spec = await readSourceSpec(ks);
  // The crash: a slot made for the build, a half-written rebuild/, state.json saying building.
  const orphan = `${spec.source.slot}_1`;
  await sql(url, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [orphan]);
  await mkdir(join(ks, 'rebuild', 'n1'), { recursive: true });
  await writeState(ks, { ...(await readState(ks)), phase: 'building', pending: orphan, generation: 1 });
  const logs: string[] = [];
  const r = await followOnce(ks, { log: (l) => logs.push(l.code) });
  expect(logs[0]).toBe('CN008');
  expect(r.builds).toBe(1);
  const state = await readState(ks);
  expect(state).toMatchObject({ reliable: true, phase: 'ready', subscription: `${spec.source.slot}_2` });
  expect(await slots()).toEqual([state.subscription]);
  await expectInSync(ks);
});
