import { mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectEtcd, connectPostgres, connectRedis, type SourceSpec } from '../../src/connect/index.js';
import { etcdClient } from '../../src/connect/etcd/etcd-connection.js';
import { isAaeError } from '../../src/errors.js';
import { aae } from '../cli/helpers.js';
import { usePostgres } from '../support/postgres.js';
import { redisClient, useEtcd, useRedis } from '../support/redis.js';
import { sql, tempDir } from './pg-helpers.js';

/**
 * `aae connect --name`: a keystore's cluster name is what compare, status and sync call it, and
 * what `sync --lock` elects one runner by, so machines whose keystore directories differ must be
 * able to give the same name. For every engine: the name lands in cluster.json (and survives the
 * first build, which makes a new store and swaps it in), shows in `cluster status` and `compare`;
 * without --name it is the directory's basename; a bad name is refused before anything is made,
 * from the CLI (USAGE, as `cluster create --name` refuses it) and from the library
 * (CONNECT_SPEC_INVALID, field `name`).
 */

const pgs = usePostgres();
const redis = useRedis();
const etcd = useEtcd();
let dir: { path: string; dispose(): Promise<void> };
let pgUrl = '';

beforeAll(async () => {
  dir = await tempDir();
  pgUrl = await pgs.db('named_db');
  await sql(pgUrl, 'CREATE TABLE kv (id text PRIMARY KEY, val text)');
  await sql(pgUrl, "INSERT INTO kv (id, val) SELECT 'k' || i, 'v' || i FROM generate_series(1, 20) i");
  const r = await redisClient(redis.server.url);
  const e = etcdClient([etcd.server.endpoint]);
  try {
    for (let i = 1; i <= 20; i++) {
      await r.set(`kv:k${i}`, `v${i}`);
      await e.put(`/kv/k${i}`).value(`v${i}`).exec();
    }
  } finally {
    await r.close();
    e.close();
  }
});
afterAll(async () => {
  await dir.dispose();
});

interface Engine {
  engine: 'postgresql' | 'redis' | 'etcd';
  /** The URL and the engine's own options, as `aae connect` takes them. */
  args(): string[];
  /** The same connect as a library call. */
  connect(at: string, name: string): Promise<SourceSpec>;
}

const engines: Engine[] = [
  { engine: 'postgresql', args: () => [pgUrl, '--table', 'kv'], connect: (at, name) => connectPostgres(at, { url: pgUrl, table: 'kv', name }) },
  { engine: 'redis', args: () => [redis.server.url, '--match', 'kv:*'], connect: (at, name) => connectRedis(at, { url: redis.server.url, match: 'kv:*', name }) },
  { engine: 'etcd', args: () => [etcd.server.url, '--prefix', '/kv/'], connect: (at, name) => connectEtcd(at, { url: etcd.server.url, prefix: '/kv/', name }) },
];

const clusterName = async (at: string): Promise<string> => (JSON.parse(await readFile(join(at, 'cluster.json'), 'utf8')) as { name: string }).name;

/** Names no cluster.json may hold, or that say nothing: refused alike by `cluster create` and `connect`. */
const BAD_NAMES = ['', '   ', 'a\0b', 'a\ud800b'];

async function publications(): Promise<string[]> {
  return (await sql(pgUrl, 'SELECT pubname FROM pg_publication ORDER BY 1')).rows.map((r: { pubname: string }) => r.pubname);
}

describe.each(engines)('aae connect --name ($engine)', ({ engine, args, connect }) => {
  test('the name lands in cluster.json, survives the build, and shows in cluster status and compare', async () => {
    // Directories named differently, as on two machines; the names are chosen.
    const src = join(dir.path, `${engine}-ks-src`);
    const cache = join(dir.path, `${engine}-cache-src`);
    const plain = join(dir.path, `${engine}-plain`);
    const c1 = await aae('connect', src, ...args(), '--name', `${engine}-east`, '--json');
    expect(c1.code, c1.stderr).toBe(0);
    expect(c1.json<{ name: string }>().name).toBe(`${engine}-east`);
    const c2 = await aae('connect', cache, ...args(), '--name', `${engine}-west`);
    expect(c2.code, c2.stderr).toBe(0);
    expect(c2.stdout).toContain(`created keystore '${engine}-west' at ${cache}`);
    const c3 = await aae('connect', plain, ...args());
    expect(c3.code, c3.stderr).toBe(0);
    expect(await clusterName(plain)).toBe(basename(plain)); // the default is unchanged

    for (const at of [src, cache]) expect((await aae('follow', at, '--once')).code).toBe(0);
    // The first follow built a new store under rebuild/ and swapped it in: the name stays.
    expect(await clusterName(src)).toBe(`${engine}-east`);
    expect(await clusterName(cache)).toBe(`${engine}-west`);

    const status = await aae('cluster', 'status', src, '--json');
    expect(status.code, status.stderr).toBe(0);
    expect(status.json<{ cluster: string }>().cluster).toBe(`${engine}-east`);
    const statusText = await aae('cluster', 'status', src);
    expect(statusText.stdout).toContain(`keystore ${engine}-east: reliable`);

    const cmp = await aae('compare', src, cache, '--json');
    expect(cmp.code, cmp.stderr).toBe(0);
    const j = cmp.json<{ source: string; sink: string; keystores: Array<{ cluster: string }> }>();
    expect([j.source, j.sink]).toEqual([`${engine}-east`, `${engine}-west`]);
    expect(j.keystores.map((k) => k.cluster)).toEqual([`${engine}-east`, `${engine}-west`]);
    const cmpText = await aae('compare', src, cache);
    expect(cmpText.stdout).toContain(`keystore ${engine}-east: reliable`);
    expect(cmpText.stdout).toContain(`keystore ${engine}-west: reliable`);
    expect(cmpText.stdout).not.toContain(basename(src));
  });

  test('a bad name is refused before anything is made: no directory, an existing one unchanged', async () => {
    const absent = join(dir.path, `${engine}-bad-absent`);
    const empty = join(dir.path, `${engine}-bad-empty`);
    await mkdir(empty);
    const pubs = engine === 'postgresql' ? await publications() : [];
    for (const name of BAD_NAMES) {
      for (const at of [absent, empty]) {
        const r = await aae('connect', at, ...args(), '--name', name);
        expect(r.code, JSON.stringify(name)).toBe(2);
        expect(r.stderr).toMatch(/--name must (not be empty|be well-formed text without NUL characters).*\[USAGE\]/);
        // The library refuses it too, with its own code and the field named.
        const e = await connect(at, name).then(
          () => null,
          (x: unknown) => x,
        );
        expect(isAaeError(e, 'CONNECT_SPEC_INVALID'), String(e)).toBe(true);
        expect((e as { details?: { fields?: string[] } }).details?.fields).toEqual(['name']);
      }
    }
    await expect(readdir(absent)).rejects.toThrow(/ENOENT/);
    expect(await readdir(empty)).toEqual([]);
    // A PostgreSQL connect creates a publication: a refused name must not leave one behind.
    if (engine === 'postgresql') expect(await publications()).toEqual(pubs);
  });
});

test('cluster create --name and connect --name refuse the same names with the same words', async () => {
  for (const name of BAD_NAMES) {
    const created = await aae('cluster', 'create', join(dir.path, 'never'), '--name', name);
    // Nothing listens on port 1: the name is refused before the source is asked.
    const connected = await aae('connect', join(dir.path, 'never'), 'postgresql://aae@127.0.0.1:1/x', '--table', 'kv', '--name', name);
    expect([created.code, connected.code]).toEqual([2, 2]);
    expect(connected.stderr).toBe(created.stderr);
    expect(created.stderr).toMatch(/\[USAGE\]/);
  }
  await expect(readdir(join(dir.path, 'never'))).rejects.toThrow(/ENOENT/);
});
