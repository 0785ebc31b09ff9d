import { beforeAll, expect, test } from 'vitest';
import { writeRows } from '../../src/connect/pg/pg-repair.js';
import type { PgSourceSpec } from '../../src/connect/pg/pg-spec.js';
import { canonicalRowBytes, keyBytesOf } from '../../src/connect/row-bytes.js';
import { initHash, objectHashOfValue } from '../../src/hash/index.js';
import { usePostgres } from '../support/postgres.js';
import { sql } from './pg-helpers.js';

/**
 * Repair into PostgreSQL: each write lands only if the row still holds the hash the decision saw
 * (or is still absent), checked under row locks in the write's own transaction.
 */

const pgs = usePostgres();
const h = (...v: Array<string | null>): number => objectHashOfValue(canonicalRowBytes(v), 0);
let url = '';
let n = 0;

const specOf = (u: string, key: string[], columns: string[], table = 'kv'): PgSourceSpec => ({
  engine: 'postgresql', url: u, schema: 'public', table, key, columns, updatedAt: null, slot: 's', publication: 'p', ownPublication: false,
});

beforeAll(async () => {
  await initHash();
});

async function fresh(): Promise<string> {
  url = await pgs.db(`repair${n++}`);
  await sql(url, 'CREATE TABLE kv (id int PRIMARY KEY, val text, flag boolean)');
  await sql(url, "INSERT INTO kv VALUES (1, 'one', true), (2, 'two', false), (3, NULL, NULL), (4, 'four', true)");
  return url;
}

async function rows(u: string): Promise<Record<string, [string | null, string | null]>> {
  const r = await sql(u, 'SELECT id::text, val, flag::text FROM kv ORDER BY id');
  return Object.fromEntries(r.rows.map((x) => [x.id, [x.val, x.flag === null ? null : x.flag === 'true' ? 't' : 'f']]));
}

test('writes land where the row still matches the decision, and are skipped (never overwriting) where it does not', async () => {
  const u = await fresh();
  const spec = specOf(u, ['id'], ['val', 'flag']);
  const k = (i: number): Uint8Array => keyBytesOf([String(i)]);
  const report = await writeRows(spec, [
    { key: k(1), expect: h('one', 't'), row: ['uno', 'f'] }, // matches: updated
    { key: k(2), expect: h('stale', 'f'), row: ['dos', 't'] }, // a live write changed it since: skipped
    { key: k(3), expect: h(null, null), row: null }, // matches: deleted
    { key: k(5), expect: null, row: ['five', null] }, // absent as expected: inserted
    { key: k(4), expect: null, row: ['x', 't'] }, // expected absent, but present: skipped
    { key: k(6), expect: h('six', 't'), row: ['y', 't'] }, // expected present, but absent: skipped
    { key: k(7), expect: null, row: null }, // absent, delete: nothing to do
  ], { batchSize: 3 });
  expect(report.outcomes).toEqual(['written', 'skipped', 'written', 'written', 'skipped', 'skipped', 'written']);
  expect(report).toMatchObject({ written: 4, skipped: 3 });
  expect(await rows(u)).toEqual({ 1: ['uno', 'f'], 2: ['two', 'f'], 4: ['four', 't'], 5: ['five', null] });
});

test('a write racing a live transaction that holds the row waits for it, then sees its change and skips', async () => {
  const u = await fresh();
  const spec = specOf(u, ['id'], ['val', 'flag']);
  const pg = (await import('pg')).default;
  const live = new pg.Client({ connectionString: u });
  await live.connect();
  try {
    await live.query('BEGIN');
    await live.query("UPDATE kv SET val = 'live' WHERE id = 1");
    const pending = writeRows(spec, [{ key: keyBytesOf(['1']), expect: h('one', 't'), row: ['repair', 't'] }]);
    await new Promise((r) => setTimeout(r, 200)); // the repair is blocked on the row lock meanwhile
    await live.query('COMMIT');
    expect((await pending).outcomes).toEqual(['skipped']);
  } finally {
    await live.end();
  }
  expect((await rows(u))[1]).toEqual(['live', 't']);
});

test('keys of several columns, and a bad row width is refused before anything is written', async () => {
  const u = await pgs.db(`repair${n++}`);
  await sql(u, 'CREATE TABLE m (a text, b int, v text, PRIMARY KEY (a, b))');
  await sql(u, "INSERT INTO m VALUES ('x', 1, 'old')");
  const spec = specOf(u, ['a', 'b'], ['v'], 'm');
  const r = await writeRows(spec, [
    { key: keyBytesOf(['x', '1']), expect: h('old'), row: ['new'] },
    { key: keyBytesOf(['y', '2']), expect: null, row: ['added'] },
  ]);
  expect(r.outcomes).toEqual(['written', 'written']);
  expect((await sql(u, 'SELECT a, b, v FROM m ORDER BY a')).rows).toEqual([{ a: 'x', b: 1, v: 'new' }, { a: 'y', b: 2, v: 'added' }]);
  await expect(writeRows(spec, [{ key: keyBytesOf(['x', '1']), expect: null, row: ['a', 'b'] }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
});
