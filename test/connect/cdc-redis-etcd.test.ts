import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { etcdClient } from '../../src/connect/etcd/etcd-connection.js';
import { connectEtcd } from '../../src/connect/etcd/etcd-connect.js';
import type { EtcdChangeSource } from '../../src/connect/etcd/etcd-source.js';
import { readState } from '../../src/connect/keystore-state.js';
import { connectRedis } from '../../src/connect/redis/redis-connect.js';
import { canonicalRowBytes } from '../../src/connect/row-bytes.js';
import { initHash, objectHashOfValue } from '../../src/hash/index.js';
import { redisClient, useEtcd, useRedis, type Redis } from '../support/redis.js';
import { startFollowing, waitFor } from './keystore-helpers.js';
import { expectTreesEqualRebuild, keystoreHashes, tempDir } from './pg-helpers.js';

/**
 * The CDC validation workload (issue 13) on Redis and on etcd: N = 400 writers × M keys, each key
 * written v then v+1, all writers at once, while a keystore follows; at a barrier in the middle of
 * the workload (every writer stopped there), the feed's connection is forcibly cut. Redis: the
 * killed notification connection is a gap, the keystore is rebuilt and swapped while the writes go
 * on. etcd: the watch's connection is dropped, and the follower resumes from its revision, exactly.
 * Afterwards each keystore holds v+1 of every key, and its cached trees equal a fresh fold of its
 * heads. M is scaled for CI (CDC_KEYS_PER_WRITER=1000 runs the size).
 */

const WRITERS = 400;
const KEYS_PER_WRITER = Number(process.env.CDC_KEYS_PER_WRITER ?? 10);
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

const keyName = (w: number, i: number): string => `w${w}-k${i}`;
const valueOf = (key: string, v: number): string => `${key}:v${v}`;
const h = (v: string): number => objectHashOfValue(canonicalRowBytes([v]), 0);

/** Runs the workload; `atMiddle` is called while every writer waits at the barrier halfway. */
async function workload(write: (key: string, value: string) => Promise<unknown>, atMiddle: () => Promise<void>): Promise<void> {
  const half = Math.floor(KEYS_PER_WRITER / 2);
  let reached = 0;
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; i < KEYS_PER_WRITER; i++) {
      if (i === half) {
        reached++;
        await opened;
      }
      const key = keyName(w, i);
      await write(key, valueOf(key, 1));
      await write(key, valueOf(key, 2));
    }
  };
  const all = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  try {
    await waitFor('every writer at the barrier', () => reached === WRITERS);
    await atMiddle();
  } finally {
    open();
    await all;
  }
}

function expectedAll(): Map<string, number> {
  const out = new Map<string, number>();
  for (let w = 0; w < WRITERS; w++) for (let i = 0; i < KEYS_PER_WRITER; i++) out.set(keyName(w, i), h(valueOf(keyName(w, i), 2)));
  return out;
}

test(`Redis: ${WRITERS} writers × ${KEYS_PER_WRITER} keys, v then v+1, a killed notification connection mid-run`, async () => {
  const ks = join(dir.path, 'redis');
  const clients: Redis[] = await Promise.all(Array.from({ length: 8 }, () => redisClient(redis.server.url)));
  const admin = await redisClient(redis.server.url);
  try {
    await connectRedis(ks, { url: redis.server.url, match: 'cdc:*' });
    const f = await startFollowing(ks);
    try {
      await f.caughtUp();
      let n = 0;
      await workload(
        (key, value) => clients[n++ % clients.length]!.set(`cdc:${key}`, value),
        async () => {
          await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
          await waitFor('the gap to be found', () => f.logs.some((l) => l.code === 'CN004'));
        },
      );
      await waitFor('the rebuild', () => f.logs.filter((l) => l.code === 'CN002').length >= 2);
      await f.caughtUp();
    } finally {
      await f.stop();
    }
    expect(f.logs.filter((l) => l.code === 'CN004')).toHaveLength(1);
    expect((await readState(ks)).reliable).toBe(true);
    expect(await keystoreHashes(ks, 'cdc')).toEqual(expectedAll());
    await expectTreesEqualRebuild(ks, 'cdc');
  } finally {
    await Promise.all([...clients, admin].map((c) => c.close()));
  }
}, 300_000);

test(`etcd: ${WRITERS} writers × ${KEYS_PER_WRITER} keys, v then v+1, a dropped watch connection mid-run`, async () => {
  const ks = join(dir.path, 'etcd');
  const c = etcdClient([etcd.server.endpoint]);
  try {
    await connectEtcd(ks, { url: etcd.server.url, prefix: 'cdc/' });
    const f = await startFollowing(ks);
    try {
      await f.caughtUp();
      await workload(
        (key, value) => c.put(`cdc/${key}`).value(value).exec(),
        async () => {
          (f.source as EtcdChangeSource).dropConnection();
          await waitFor('the follower to reconnect', () => f.logs.some((l) => l.code === 'CN005'));
        },
      );
      await f.caughtUp();
    } finally {
      await f.stop();
    }
    const codes = f.logs.map((l) => l.code);
    expect(codes.filter((x) => x === 'CN004'), 'a lost connection resumes from the revision: no gap').toEqual([]);
    expect(codes.filter((x) => x === 'CN001')).toHaveLength(1);
    expect(await keystoreHashes(ks, 'cdc')).toEqual(expectedAll());
    await expectTreesEqualRebuild(ks, 'cdc');
  } finally {
    c.close();
  }
}, 300_000);
