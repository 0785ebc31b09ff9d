import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { etcdClient } from '../../src/connect/etcd/etcd-connection.js';
import { connectEtcd } from '../../src/connect/etcd/etcd-connect.js';
import { connectPostgres } from '../../src/connect/pg/pg-connect.js';
import { connectRedis } from '../../src/connect/redis/redis-connect.js';
import { RedisNode } from '../../src/connect/redis/redis-connection.js';
import { sourceAccessOf } from '../../src/connect/open-source.js';
import type { SourceAccess } from '../../src/connect/source-access.js';
import { readSourceSpec } from '../../src/connect/source-spec.js';
import { initHash } from '../../src/hash/index.js';
import { usePostgres } from '../support/postgres.js';
import { useEtcd, useRedis } from '../support/redis.js';
import { sql, tempDir } from './pg-helpers.js';

/**
 * The engine-neutral access a keystore node serves object reads and compare-and-set writes with:
 * for every engine, what is written as canonical bytes reads back as the same bytes and hash (a
 * Redis value keeps its type), a write over a value the decision did not see is skipped, and
 * canonical bytes move between engines (a row into a cache).
 */

const pgs = usePostgres();
const redis = useRedis();
const etcd = useEtcd();
let dir: { path: string; dispose(): Promise<void> };
beforeAll(async () => {
  await initHash();
  dir = await tempDir();
});
afterAll(async () => {
  await dir.dispose();
});

async function access(name: string, connect: (ks: string) => Promise<unknown>): Promise<SourceAccess> {
  const ks = join(dir.path, name);
  await connect(ks);
  return sourceAccessOf(await readSourceSpec(ks));
}

const k = (s: string): Uint8Array => Buffer.from(s);
const outcomes = async (a: SourceAccess, writes: Parameters<SourceAccess['write']>[0]) => (await a.write(writes)).outcomes;
/** A value as hex and hash (Buffer and Uint8Array compare alike). */
const plain = (v: { bytes: Uint8Array; hash: number } | null | undefined) => (v == null ? v : { hex: Buffer.from(v.bytes).toString('hex'), hash: v.hash });

test('Redis: every type written as canonical bytes reads back as the same bytes and hash, and keeps its type', async () => {
  const a = await access('redis', (ks) => connectRedis(ks, { url: redis.server.url, match: 'sa:*' }));
  const node = await RedisNode.connect(redis.server.url);
  try {
    const { vectors } = JSON.parse(readFileSync(new URL('../../fixtures/redis-values-v1.json', import.meta.url), 'utf8')) as {
      vectors: Array<{ name: string; fields?: string[]; commands: Array<Array<string | { hex: string }>>; type: string; hex: string; hashSeed0: number }>;
    };
    for (const v of vectors.filter((x) => x.fields === undefined)) {
      await node.run(['DEL', 'sa:from', 'sa:to']);
      for (const cmd of v.commands) await node.run(cmd.map((x, i) => (i === 1 ? 'sa:from' : typeof x === 'string' ? x : Buffer.from(x.hex, 'hex'))));
      const [from] = await a.read([k('from')]);
      expect(Buffer.from(from!.bytes).toString('hex'), v.name).toBe(v.hex);
      expect(await outcomes(a, [{ key: k('to'), expect: null, value: from!.bytes }]), v.name).toEqual(['written']);
      const [to] = await a.read([k('to')]);
      expect(plain(to), v.name).toEqual(plain(from));
      expect((await node.run<Buffer>(['TYPE', 'sa:to'])).toString(), v.name).toBe(v.type);
      // Over a value the decision did not see: skipped, nothing changed.
      expect(await outcomes(a, [{ key: k('to'), expect: (from!.hash + 1) >>> 0, value: null }])).toEqual(['skipped']);
      expect(plain((await a.read([k('to')]))[0])).toEqual(plain(from));
    }
  } finally {
    await node.close();
    await a.close();
  }
});

test('PostgreSQL and etcd round trips, and a row written into a cache as it is', async () => {
  const url = await pgs.db('access');
  await sql(url, 'CREATE TABLE t (id text PRIMARY KEY, a text, b text)');
  await sql(url, "INSERT INTO t VALUES ('1', 'x', NULL)");
  const pg = await access('pg', (ks) => connectPostgres(ks, { url, table: 't' }));
  const one = await access('pg1', (ks) => connectPostgres(ks, { url, table: 't', columns: ['a'], slot: 'access_one' }));
  const et = await access('etcd', (ks) => connectEtcd(ks, { url: etcd.server.url, prefix: 'sa/' }));
  const cache = await access('cache', (ks) => connectRedis(ks, { url: redis.server.url, match: 'sc:*' }));
  const e = etcdClient([etcd.server.endpoint]);
  try {
    const [row] = await pg.read([k('1')]);
    expect(await outcomes(pg, [{ key: k('2'), expect: null, value: row!.bytes }])).toEqual(['written']);
    expect((await sql(url, "SELECT a, b FROM t WHERE id = '2'")).rows).toEqual([{ a: 'x', b: null }]);
    expect(plain((await pg.read([k('2')]))[0])).toEqual(plain(row));
    await e.put('sa/v').value(Buffer.from([0, 1, 255])).exec();
    const [v] = await et.read([k('v')]);
    expect(await outcomes(et, [{ key: k('w'), expect: null, value: v!.bytes }, { key: k('v'), expect: 0, value: null }])).toEqual(['written', 'skipped']);
    expect(plain((await et.read([k('w')]))[0])).toEqual(plain(v));
    // A one-column row's canonical bytes are its text: written into the cache, the same hash.
    const [text] = await one.read([k('1')]);
    expect(await outcomes(cache, [{ key: k('1'), expect: null, value: text!.bytes }])).toEqual(['written']);
    expect(plain((await cache.read([k('1')]))[0])).toEqual(plain(text));
  } finally {
    e.close();
    for (const x of [pg, one, et, cache]) await x.close();
  }
});
