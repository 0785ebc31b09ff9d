import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { aae } from '../cli/helpers.js';
import { usePostgres } from '../support/postgres.js';
import { dropSlots, sql, tempDir } from './pg-helpers.js';

/** aae connect refuses before it leaves anything in the database. Real PostgreSQL. */

const pgs = usePostgres();
let dir: { path: string; dispose(): Promise<void> };
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.dispose();
});

const publications = async (url: string): Promise<string[]> => (await sql(url, 'SELECT pubname FROM pg_publication ORDER BY pubname')).rows.map((r) => r.pubname as string);

test('a directory that already holds a keystore is refused before any publication is made', async () => {
  const url = await pgs.db('again');
  await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text)');
  const ks = join(dir.path, 'again');
  expect((await aae('connect', ks, url, '--table', 'kv')).code).toBe(0);
  const before = await publications(url);
  for (let i = 0; i < 2; i++) {
    const r = await aae('connect', ks, url, '--table', 'kv');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[KEYSTORE_EXISTS]');
  }
  expect(await publications(url)).toEqual(before);
  await dropSlots(url);
});

test('--publication names one that must exist: a missing one is refused, never created', async () => {
  const url = await pgs.db('named');
  await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text)');
  const r = await aae('connect', join(dir.path, 'named'), url, '--table', 'kv', '--publication', 'nopub');
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('[SOURCE_INVALID]');
  expect(r.stderr).toContain('nopub does not exist');
  expect(await publications(url)).toEqual([]);
  await sql(url, 'CREATE PUBLICATION nopub FOR TABLE kv');
  const ok = await aae('connect', join(dir.path, 'named'), url, '--table', 'kv', '--publication', 'nopub');
  expect(ok.code, ok.stderr).toBe(0);
  await dropSlots(url);
});
