import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { KeystoreCluster } from '../../src/connect/keystore-cluster.js';
import { connectPostgres } from '../../src/connect/pg/pg-connect.js';
import { canonicalRowBytes } from '../../src/connect/row-bytes.js';
import { initHash, objectHashOfValue } from '../../src/hash/index.js';
import type { NodeService } from '../../src/node/index.js';
import { loopbackNode } from '../../src/testing/index.js';
import { usePostgres } from '../support/postgres.js';
import { dropSlots, followOnce, keyText, sql, tempDir } from './pg-helpers.js';

/**
 * A keystore node's own side of the contract, against a real PostgreSQL table, through the
 * loopback codec: compare-and-set writes into the table (ifHeld, tombstones and erases), the row
 * each write found as `previous`, read-your-writes, objects read from the table (with the hash
 * clock for a row the feed has not applied), the keystore status in info, and the refusals.
 */

const pgs = usePostgres();
let url = '';
let dir: { path: string; dispose(): Promise<void> };
let n = 0;
const open: KeystoreCluster[] = [];
const h = (...v: Array<string | null>): number => objectHashOfValue(canonicalRowBytes(v), 0);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const row = (...v: Array<string | null>): Uint8Array => new Uint8Array(canonicalRowBytes(v));

beforeEach(async () => {
  await initHash();
  url = await pgs.db(`node${n++}`);
  dir = await tempDir();
  await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text, n int)');
  await sql(url, "INSERT INTO kv SELECT 'k' || i, 'v' || i, i FROM generate_series(1, 40) i");
});
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  await dropSlots(url);
  await dir.dispose();
});

async function keystore(source: 'off' | 'follow'): Promise<{ cluster: KeystoreCluster; node: NodeService; ks: string }> {
  const ks = join(dir.path, 'ks');
  await connectPostgres(ks, { url, table: 'kv' }).catch(() => undefined); // made once per test
  if (source === 'off') await followOnce(ks);
  const cluster = await KeystoreCluster.open(ks, { source, wrapNode: loopbackNode, retryMs: 100 });
  open.push(cluster);
  return { cluster, node: cluster.node('n1'), ks };
}

const vnodeOf = (c: KeystoreCluster, key: string): number => c.preflistOf('kv', key)[0]!;

async function tableRow(key: string): Promise<[string | null, string | null] | null> {
  const r = await sql(url, 'SELECT val, n::text FROM kv WHERE id = $1', [key]);
  return r.rows.length === 0 ? null : [r.rows[0].val, r.rows[0].n];
}

describe('a keystore node following its table', () => {
  test('a put with ifHeld lands only while the row holds the version the decision saw; previous is the row found; the answer reads its own write', async () => {
    const { cluster, node } = await keystore('follow');
    const info = await node.info();
    expect(info.capabilities).toMatchObject({ writes: true, objectFold: false, indexFold: false, erasesDeletes: true });
    expect(info.keystore).toMatchObject({ engine: 'postgresql', reliable: true, following: true });
    expect(info.contract).toEqual({ major: 1, minor: 2 });

    const v = vnodeOf(cluster, 'k1');
    const [held] = (await node.readHeads({ vnode: v, keys: [{ bucket: 'kv', key: keyText('k1') }] })).heads;
    expect(held!.hash).toBe(h('v1', '1'));
    const put = (value: Uint8Array, ifHeld: { hash: number; deleted: boolean } | null) =>
      node.write({ vnode: v, writes: [{ op: { kind: 'put', object: { bucket: 'kv', key: keyText('k1'), clock: held!.clock, value, deleted: false, indexes: [] }, ifHeld } }] });

    // A stale expectation: nothing written, previous says what is there.
    const stale = await put(row('x', '9'), { hash: h('other', '1'), deleted: false });
    expect(stale.previous[0]).toMatchObject({ hash: h('v1', '1'), deleted: false });
    expect(await tableRow('k1')).toEqual(['v1', '1']);
    // Expected absent, but present: nothing written.
    await put(row('x', '9'), null);
    expect(await tableRow('k1')).toEqual(['v1', '1']);
    // The version the decision saw: written, and the keystore holds it as soon as the answer comes.
    const done = await put(row('new', '7'), { hash: held!.hash, deleted: false });
    expect(done.previous[0]).toEqual(held);
    expect(await tableRow('k1')).toEqual(['new', '7']);
    const [now] = (await node.readHeads({ vnode: v, keys: [{ bucket: 'kv', key: keyText('k1') }] })).heads;
    expect(now!.hash).toBe(h('new', '7'));
    expect(now!.clock.entries[0]![1]).toBeGreaterThan(held!.clock.entries[0]![1]); // a later position in the same history
    // A new key, expected absent: inserted.
    const w = vnodeOf(cluster, 'fresh');
    await node.write({ vnode: w, writes: [{ op: { kind: 'put', object: { bucket: 'kv', key: keyText('fresh'), clock: held!.clock, value: row('f', null), deleted: false, indexes: [] }, ifHeld: null } }] });
    expect(await tableRow('fresh')).toEqual(['f', null]);
  });

  test('tombstones and erases delete the row under the same condition; a held tombstone never matches', async () => {
    const { cluster, node } = await keystore('follow');
    const del = (key: string, op: 'tomb' | 'erase', cond: unknown) => {
      const v = vnodeOf(cluster, key);
      const w =
        op === 'tomb'
          ? { kind: 'put' as const, object: { bucket: 'kv', key: keyText(key), clock: { entries: [['x', 1] as const], lastModified: 1 }, value: new Uint8Array(0), deleted: true, indexes: [] }, ifHeld: cond as { hash: number; deleted: boolean } | null }
          : { kind: 'erase' as const, bucket: 'kv', key: keyText(key), ...(cond as object) };
      return node.write({ vnode: v, writes: [{ op: w }] });
    };
    await del('k2', 'tomb', { hash: h('nope', '2'), deleted: false });
    expect(await tableRow('k2')).not.toBeNull();
    await del('k2', 'tomb', { hash: h('v2', '2'), deleted: true }); // a keystore never holds a tombstone
    expect(await tableRow('k2')).not.toBeNull();
    await del('k2', 'tomb', { hash: h('v2', '2'), deleted: false });
    expect(await tableRow('k2')).toBeNull();
    expect((await node.readHeads({ vnode: vnodeOf(cluster, 'k2'), keys: [{ bucket: 'kv', key: keyText('k2') }] })).heads[0]).toBeNull();
    await del('k3', 'erase', { ifHash: h('nope', '3') });
    expect(await tableRow('k3')).not.toBeNull();
    await del('k3', 'erase', { ifHash: h('v3', '3') });
    expect(await tableRow('k3')).toBeNull();
  });

  test('refusals: clock dominance, another bucket, a value that is no row of the table; nothing is written', async () => {
    const { cluster, node } = await keystore('follow');
    const v = vnodeOf(cluster, 'k4');
    const object = { bucket: 'kv', key: keyText('k4'), clock: { entries: [['x', 1] as const], lastModified: 1 }, value: row('a', '1'), deleted: false, indexes: [] };
    await expect(node.write({ vnode: v, writes: [{ op: { kind: 'put', object, ifDominates: true } }] })).rejects.toMatchObject({ code: 'NODE_REQUEST_INVALID' });
    await expect(node.write({ vnode: v, writes: [{ op: { kind: 'put', object: { ...object, bucket: 'other' } } }] })).rejects.toMatchObject({ code: 'NODE_REQUEST_INVALID' });
    // Two value columns: one text alone is not a row of them. The good write before it does not land either.
    const sameVnode = [...Array(200).keys()].map((i) => `k${i}`).find((k) => k !== 'k4' && vnodeOf(cluster, k) === v)!;
    await expect(
      node.write({ vnode: v, writes: [{ op: { kind: 'put', object: { ...object, key: keyText(sameVnode) } } }, { op: { kind: 'put', object: { ...object, value: enc('just text') } } }] }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await tableRow('k4')).toEqual(['v4', '4']);
    const drain = async (it: AsyncIterable<unknown>) => {
      for await (const _ of it) {
        // drained
      }
    };
    await expect(drain(node.fold({ module: 'erase_keys', query: { bucket: 'kv', change: 'erase' }, vnodes: [{ vnode: v, keyspaces: [v] }] }))).rejects.toMatchObject({ code: 'FOLD_MUTATION_REFUSED' });
    // The values live in the table: no index folds (and no object folds).
    await expect(drain(node.fold({ module: 'index_tree', query: { bucket: 'kv', index: 'i' }, vnodes: [{ vnode: v, keyspaces: [v] }] }))).rejects.toMatchObject({ code: 'NODE_REQUEST_INVALID' });
    // Folds over heads run.
    let items = 0;
    for await (const e of node.fold({ module: 'object_stats', query: {}, vnodes: [{ vnode: v, keyspaces: [v] }] })) if (e.kind === 'result') items = e.items;
    expect(items).toBeGreaterThan(0);
  });
});

describe('a keystore node serving the keystore as it stands', () => {
  test('takes no writes; reads rows from the table, with the hash clock for a row its feed has not applied, null for a row gone', async () => {
    const { cluster, node } = await keystore('off');
    const info = await node.info();
    expect(info.capabilities.writes).toBe(false);
    expect(info.keystore).toMatchObject({ reliable: true, following: false });
    const v = vnodeOf(cluster, 'k6');
    await expect(node.write({ vnode: v, writes: [{ op: { kind: 'erase', bucket: 'kv', key: keyText('k6') } }] })).rejects.toMatchObject({ code: 'NODE_REQUEST_INVALID' });
    expect(await tableRow('k6')).not.toBeNull();

    const read = async (key: string) => (await node.readObjects({ vnode: vnodeOf(cluster, key), keys: [{ bucket: 'kv', key: keyText(key) }] })).objects[0];
    const applied = await read('k6');
    expect(applied!.hash).toBe(h('v6', '6'));
    expect(Buffer.from(applied!.object.value)).toEqual(Buffer.from(row('v6', '6')));
    expect(applied!.object.clock.entries[0]![0]).toMatch(/^@/);

    await sql(url, "UPDATE kv SET val = 'moved on' WHERE id = 'k6'");
    await sql(url, "DELETE FROM kv WHERE id = 'k7'");
    const ahead = await read('k6');
    expect(ahead!.hash).toBe(h('moved on', '6'));
    expect(ahead!.object.clock.entries).toEqual([[`#${h('moved on', '6').toString(16).padStart(8, '0')}`, 1]]);
    expect(await read('k7')).toBeNull();
    // A key of another bucket, or one no row can have, is simply not there.
    expect((await node.readObjects({ vnode: cluster.preflistOf('other', 'k6')[0]!, keys: [{ bucket: 'other', key: keyText('k6') }] })).objects[0]).toBeNull();
  });
});
