import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readClusterSpec } from '../../src/cluster/index.js';
import { aae } from '../cli/helpers.js';
import { usePostgres } from '../support/postgres.js';
import { redisClient, useRedis } from '../support/redis.js';
import { clientDir, serveNode, type ServedNode } from '../support/served.js';
import { dropSlots, sql, tempDir } from './pg-helpers.js';

/**
 * A keystore served as a node by its own `aae node serve` process, against real PostgreSQL: it
 * follows its table while serving, says how far it can be trusted in `aae cluster status` and
 * `/metrics`, and takes a repair's writes over gRPC into its database, each one read back before it
 * is answered, so the compare after the repair finds the two in sync. A served Redis cache takes
 * a table's rows the same way.
 */

const pgs = usePostgres();
const redis = useRedis();
let dir: { path: string; dispose(): Promise<void> };

beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.dispose();
});

async function rows(url: string): Promise<Array<[string, string | null]>> {
  return (await sql(url, 'SELECT id, val FROM kv ORDER BY id')).rows.map((r) => [r.id as string, r.val as string | null]);
}

/** The metrics endpoint a served node announced (NS010). */
function metricsAddress(node: ServedNode): string {
  const m = /"code":"NS010".*?"address":"([^"]+)"/.exec(node.log());
  if (m === null) throw new Error(`no NS010 line: ${node.log()}`);
  return m[1]!;
}

describe('a keystore served by aae node serve', () => {
  test('refuses what only a cluster node takes, and a node name it does not have', async () => {
    const url = await pgs.db('refusals');
    await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text)');
    const k = join(dir.path, 'refusals');
    expect((await aae('connect', k, url, '--table', 'kv')).code).toBe(0);
    const plugins = await aae('node', 'serve', k, '--insecure', '--listen', '127.0.0.1:0', '--plugins', dir.path);
    expect(plugins.code).toBe(2);
    expect(plugins.stderr).toMatch(/keystore: --plugins apply to cluster nodes only/);
    const named = await aae('node', 'serve', k, 'n2', '--insecure', '--listen', '127.0.0.1:0');
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/its one node is 'n1'/);
    await dropSlots(url);
  });

  test('follows its table, reports trust and lag, and takes a one-way repair over gRPC into its database', async () => {
    const primary = await pgs.db('served_primary');
    const dr = await pgs.db('served_dr');
    for (const u of [primary, dr]) {
      await sql(u, 'CREATE TABLE kv (id text PRIMARY KEY, val text)');
      await sql(u, "INSERT INTO kv SELECT 'k' || i, 'v' || i FROM generate_series(1, 300) i");
    }
    await sql(dr, "DELETE FROM kv WHERE id IN ('k7', 'k77')");
    await sql(dr, "UPDATE kv SET val = 'stale' WHERE id = 'k150'");
    await sql(dr, "INSERT INTO kv VALUES ('extra', 'only at the DR')");
    const p = join(dir.path, 'primary');
    const d = join(dir.path, 'dr');
    expect((await aae('connect', p, primary, '--table', 'kv')).code).toBe(0);
    expect((await aae('connect', d, dr, '--table', 'kv')).code).toBe(0);
    expect((await aae('follow', p, '--once')).code).toBe(0);

    // The DR keystore is built by its server as it starts (it never was), then followed.
    const node = await serveNode(d, 'n1', { flags: ['--insecure', '--metrics-listen', '127.0.0.1:0'] });
    try {
      const remote = await clientDir(join(dir.path, 'dr-remote'), await readClusterSpec(d), { n1: node.address });

      const status = await aae('cluster', 'status', remote, '--json');
      expect(status.code, status.stderr).toBe(0);
      const served = status.json<{ nodes: Array<{ node: string; reachable: boolean; keystore?: { engine: string; reliable: boolean; following: boolean; phase: string } }> }>().nodes;
      expect(served).toEqual([expect.objectContaining({ node: 'n1', reachable: true, keystore: expect.objectContaining({ engine: 'postgresql', reliable: true, following: true, phase: 'ready' }) })]);
      const text = await aae('cluster', 'status', remote);
      expect(text.stdout).toMatch(/keystore .*: reliable; position \S+; lag .*; following/);

      const scrape = await (await fetch(`http://${metricsAddress(node)}/metrics`)).text();
      expect(scrape).toMatch(/^aae_keystore_reliable\{engine="postgresql"\} 1$/m);
      expect(scrape).toMatch(/^aae_keystore_following\{engine="postgresql"\} 1$/m);
      expect(scrape).toMatch(/^aae_keystore_lag_seconds\{engine="postgresql"\} [0-9.e+-]+$/m);
      expect((await fetch(`http://${metricsAddress(node)}/healthz`)).status).toBe(200);

      // The served keystore compares like a local one: exactly the planted differences.
      const cmp = await aae('compare', p, remote, '--pause-ms', '0', '--json');
      expect(cmp.code, cmp.stderr).toBe(1);
      const found = cmp.json<{ differences: Array<{ key: string; ahead: string }> }>().differences;
      expect(Object.fromEntries(found.map((x) => [x.key, x.ahead]))).toEqual({ k7: 'source', k77: 'source', k150: 'both', extra: 'sink' });

      // One-way by default (a keystore is involved): the DR's database is written over gRPC, never the primary.
      const before = await rows(primary);
      const rep = await aae('repair', p, remote, '--pause-ms', '0', '--conflict-log', join(dir.path, 'conflicts.jsonl'), '--json');
      expect(rep.code, rep.stderr).toBe(0);
      expect(rep.json()).toMatchObject({ inSync: true, policy: 'source', direction: 'to-sink' });
      expect(await rows(dr)).toEqual(before);
      expect(await rows(primary)).toEqual(before);
      // Read back before answered: the next compare, straight away, finds them in sync.
      expect((await aae('compare', p, remote, '--pause-ms', '0')).code).toBe(0);

      // A write at the DR while it is served is followed: the served keystore sees it without a restart.
      await sql(dr, "UPDATE kv SET val = 'changed at the DR' WHERE id = 'k200'");
      let seen = false;
      for (let i = 0; i < 200 && !seen; i++) {
        const again = await aae('compare', p, remote, '--pause-ms', '0', '--json');
        seen = again.code === 1 && again.json<{ differences: Array<{ key: string }> }>().differences.some((x) => x.key === 'k200');
        if (!seen) await new Promise((r) => setTimeout(r, 50));
      }
      expect(seen).toBe(true);
    } finally {
      node.process.kill('SIGTERM');
      expect(await node.exited).toBe(0);
    }
    expect(node.log()).toMatch(/"code":"NS011"/);
    for (const u of [primary, dr]) await dropSlots(u);
  });

  test('a served Redis cache takes a one-way repair from its table over gRPC, read back before answered', async () => {
    const url = await pgs.db('served_cache');
    await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text NOT NULL)');
    await sql(url, "INSERT INTO kv SELECT 'k' || i, 'v' || i FROM generate_series(1, 100) i");
    const c = await redisClient(redis.server.url);
    try {
      for (let i = 1; i <= 100; i++) if (i !== 5) await c.set(`kv:k${i}`, i === 9 ? 'stale' : `v${i}`);
      await c.set('kv:gone', 'not in the table');
      const p = join(dir.path, 'cache-db');
      const k = join(dir.path, 'cache');
      expect((await aae('connect', p, url, '--table', 'kv')).code).toBe(0);
      expect((await aae('connect', k, redis.server.url, '--match', 'kv:*', '--bucket', 'kv')).code).toBe(0);
      expect((await aae('follow', p, '--once')).code).toBe(0);
      const node = await serveNode(k, 'n1', { flags: ['--insecure', '--metrics-listen', '127.0.0.1:0'] });
      try {
        const remote = await clientDir(join(dir.path, 'cache-remote'), await readClusterSpec(k), { n1: node.address });
        const scrape = await (await fetch(`http://${metricsAddress(node)}/metrics`)).text();
        expect(scrape).toMatch(/^aae_keystore_reliable\{engine="redis"\} 1$/m);
        const cmp = await aae('compare', p, remote, '--pause-ms', '0', '--json');
        expect(cmp.code, cmp.stderr).toBe(1);
        const found = cmp.json<{ differences: Array<{ key: string; ahead: string }> }>().differences;
        expect(Object.fromEntries(found.map((x) => [x.key, x.ahead]))).toEqual({ k5: 'source', k9: 'both', gone: 'sink' });
        const rep = await aae('repair', p, remote, '--pause-ms', '0', '--conflict-log', join(dir.path, 'cache-conflicts.jsonl'), '--json');
        expect(rep.code, rep.stderr).toBe(0);
        expect(rep.json()).toMatchObject({ inSync: true, policy: 'source', direction: 'to-sink', totals: { writes: 3, skipped: 0 } });
        expect(await c.mGet(['kv:k5', 'kv:k9', 'kv:gone'])).toEqual(['v5', 'v9', null]);
        expect((await aae('compare', p, remote, '--pause-ms', '0')).code).toBe(0);
      } finally {
        node.process.kill('SIGTERM');
        expect(await node.exited).toBe(0);
      }
      await dropSlots(url);
    } finally {
      await c.close();
    }
  });
});
