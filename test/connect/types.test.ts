import { afterEach, beforeEach, expect, test } from 'vitest';
import { connectPostgres } from '../../src/connect/pg/pg-connect.js';
import { usePostgres } from '../support/postgres.js';
import { expectTreesEqualRebuild, followOnce, keystoreHashes, sql, tableHashes, tempDir } from './pg-helpers.js';

/**
 * One row, three readers: the snapshot's COPY, the feed's pgoutput tuples and a plain client's
 * text must hash every column type and awkward value the same (the walsender and the scan print
 * under the same session settings, whatever the server's defaults).
 */

const pgs = usePostgres();
let url = '';
let dir: { path: string; dispose(): Promise<void> };
let n = 0;

beforeEach(async () => {
  url = await pgs.db(`types${n++}`);
  dir = await tempDir();
  // Server-side defaults unlike ours: the keystore's session settings must win on every connection.
  await sql(url, `ALTER DATABASE ${`types${n - 1}`} SET DateStyle = 'SQL, DMY'`);
  await sql(url, `ALTER DATABASE ${`types${n - 1}`} SET TimeZone = 'Asia/Kolkata'`);
  await sql(url, `ALTER DATABASE ${`types${n - 1}`} SET bytea_output = 'escape'`);
  await sql(
    url,
    `CREATE TABLE t (id text PRIMARY KEY, s text, b boolean, i bigint, num numeric, f double precision, ts timestamptz, d date,
       bin bytea, j jsonb, arr int[], iv interval, u uuid)`,
  );
});
afterEach(async () => {
  await dir.dispose();
});

const ROWS = `
  ('plain', 'hello', true, 1, 1.50, 0.1, '2024-05-01 10:00:00.123456+00', '2024-05-01', '\\x00ff', '{"a": [1, 2]}', '{1,2}', '1 day 02:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
  ('escapes', E'tab\\there\\nnew line\\\\back\\rcr', false, -9223372036854775808, 1e-20, 1e300, 'infinity', '0001-01-01', '\\x5c09', '"\\\\u00e9"', '{}', '-3 mons', NULL),
  ('nulls', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  ('empty', '', false, 0, 0, -0, '1970-01-01 00:00:00+00', '1970-01-01', '', '{}', '{NULL}', '0', NULL),
  ('ünïcødé ✓ 𝄞', 'ünïcødé ✓ 𝄞', true, 42, 'NaN', 'NaN', '2000-02-29 23:59:59+05:30', '2000-02-29', '\\xdeadbeef', '[]', '{-1}', '1 year', NULL)`;

test('snapshot (COPY), feed (pgoutput) and a plain read hash every type alike', async () => {
  await sql(url, `INSERT INTO t VALUES ${ROWS}`);
  const snap = `${dir.path}/snap`;
  await connectPostgres(snap, { url, table: 't' });
  await followOnce(snap); // built from COPY
  const fed = `${dir.path}/fed`;
  await sql(url, 'CREATE TABLE t2 (LIKE t INCLUDING ALL)');
  await connectPostgres(fed, { url, table: 't2', bucket: 't' });
  await followOnce(fed); // empty
  await sql(url, 'INSERT INTO t2 SELECT * FROM t'); // these arrive through the feed
  await sql(url, "UPDATE t2 SET s = s || '' WHERE id = 'escapes'");
  await followOnce(fed);
  const plain = await tableHashes(url, 'SELECT * FROM t');
  expect(plain.size).toBe(5);
  expect(await keystoreHashes(snap, 't')).toEqual(plain);
  expect(await keystoreHashes(fed, 't')).toEqual(plain);
  await expectTreesEqualRebuild(snap, 't');
  await expectTreesEqualRebuild(fed, 't');
});
