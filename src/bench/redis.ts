import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { changeSourceOf, connectRedis, followKeystore, readSourceSpec, startLocalRedis, type FollowOptions, type LocalRedis } from '../connect/index.js';
import { AaeError } from '../errors.js';
import { initHash, objectHashOfValue } from '../hash/index.js';
import { bestOf, machineInfo, percentile, round, type BenchFigure, type BenchReport } from './report.js';
import type { BenchOptions, BenchSuite } from './suite.js';

/**
 * `aae bench redis`: Redis keystores against baselines measured in the same run on a private
 * redis-server this suite starts (keyspace notifications on, no persistence).
 *
 * 1. Build: a keystore built from N string keys (subscribe, SCAN, read, hash, heads and trees,
 *    swap) against a plain SCAN + GET pass of the same keys (the same SCAN COUNT, each batch's GETs
 *    pipelined, values discarded).
 * 2. The engine-side fold: a read-only Redis Function that SCANs and hashes in Lua (SHA-1, the only
 *    hash Redis has) against the client-side fold (SCAN, GET, xxh32 here), both without the store.
 * 3. Change apply: C writes while a follower runs, until it has applied them, against a plain
 *    subscriber that GETs each notified key and discards it.
 * 4. Lag under a steady write load: the follower's lag per applied round, p50 and p99.
 * 5. Source write throughput with notifications on and a follower attached, against notifications
 *    off and no follower; and between the two, notifications alone and notifications read by a
 *    plain subscriber, which split the cost between Redis and the reader.
 */

const KEYS = 1_000_000;
const CHANGES = 100_000;
const VALUE_BYTES = 100;
const SCAN_COUNT = 1_000;
const LOAD_SECONDS = 10;
const LOAD_WRITES_PER_SECOND = 2_000;
const WRITERS = 4;

type Client = ReturnType<typeof createClient>;

async function client(url: string): Promise<Client> {
  const c = createClient({ url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const value = (i: number): string => `${i}:`.padEnd(VALUE_BYTES, 'x');

async function load(c: Client, from: number, to: number, tag = ''): Promise<void> {
  for (let i = from; i < to; i += 10_000) {
    const args: string[] = [];
    for (let j = i; j < Math.min(to, i + 10_000); j++) args.push(`kv:${j}`, tag + value(j));
    await c.sendCommand(['MSET', ...args]);
  }
}

/** The baseline: SCAN with the keystore's COUNT, each batch's GETs pipelined, values discarded. */
async function scanGet(c: Client): Promise<number> {
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = (await c.sendCommand(['SCAN', cursor, 'MATCH', 'kv:*', 'COUNT', String(SCAN_COUNT)])) as [string, string[]];
    cursor = next;
    const values = await Promise.all(keys.map((k) => c.sendCommand(['GET', k])));
    n += values.length;
  } while (cursor !== '0');
  return n;
}

/** The client-side fold without the store: SCAN, GET, xxh32 of each value. */
async function clientFold(c: Client): Promise<number> {
  let n = 0;
  let cursor = '0';
  let acc = 0;
  const bytes = { typeMapping: { 36: Buffer } } as never;
  do {
    const [next, keys] = (await c.sendCommand(['SCAN', cursor, 'MATCH', 'kv:*', 'COUNT', String(SCAN_COUNT)])) as [string, string[]];
    cursor = next;
    const values = (await Promise.all(keys.map((k) => c.sendCommand(['GET', k], bytes)))) as unknown as Buffer[];
    for (const v of values) acc ^= objectHashOfValue(v, 0);
    n += values.length;
  } while (cursor !== '0');
  return acc === -1 ? n : n;
}

/** A read-only Redis Function: one SCAN step, each string hashed with SHA-1 in the engine; returns the next cursor and the key/hash pairs. */
const FOLD_LIBRARY = `#!lua name=aae_bench
redis.register_function{function_name='aae_fold_step', flags={'no-writes'}, callback=function(keys, args)
  local r = redis.call('SCAN', args[1], 'MATCH', args[2], 'COUNT', args[3])
  local out = {r[1]}
  for _, k in ipairs(r[2]) do
    local v = redis.call('GET', k)
    out[#out + 1] = k
    out[#out + 1] = string.sub(redis.sha1hex(v), 1, 8)
  end
  return out
end}`;

async function engineFold(c: Client): Promise<number> {
  let n = 0;
  let cursor = '0';
  do {
    const r = (await c.sendCommand(['FCALL_RO', 'aae_fold_step', '0', cursor, 'kv:*', String(SCAN_COUNT)])) as string[];
    cursor = r[0]!;
    n += (r.length - 1) / 2;
  } while (cursor !== '0');
  return n;
}

async function follow(dir: string, options: FollowOptions): Promise<void> {
  const source = changeSourceOf(await readSourceSpec(dir));
  try {
    await followKeystore(dir, source, options);
  } finally {
    await source.close();
  }
}

/** A follower running until stop(); `ready` resolves when it streams. */
function running(dir: string, onApplied: (p: { changes: number; lagMs: number }) => void): { ready: Promise<void>; stop(): Promise<void> } {
  const ac = new AbortController();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const done = follow(dir, {
    signal: ac.signal,
    retryMs: 200,
    onProgress: (p) => {
      if (p.kind === 'idle') ready();
      if (p.kind === 'applied') {
        ready();
        onApplied({ changes: p.changes, lagMs: p.lagMs });
      }
    },
  }).catch((e: unknown) => {
    if ((e as { code?: string }).code !== 'ABORTED') throw e;
  });
  return {
    ready: Promise.race([isReady, done]),
    async stop() {
      ac.abort();
      await done;
    },
  };
}

/**
 * A plain subscriber: a pattern subscription to the keys' keyspace notifications, and a GET of each
 * notified key on a second connection, the value discarded (the least a notification-fed reader does).
 */
async function plainSubscriber(c: Client, url: string): Promise<{ seen(): number; got(): number; stop(): Promise<void> }> {
  const sub = c.duplicate();
  sub.on('error', () => undefined);
  await sub.connect();
  const reader = await client(url);
  let seen = 0;
  let got = 0;
  await sub.pSubscribe('__keyspace@0__:kv:*', (_m, channel) => {
    seen++;
    void reader.get(channel.slice('__keyspace@0__:'.length)).then(
      () => got++,
      () => undefined,
    );
  });
  return {
    seen: () => seen,
    got: () => got,
    async stop() {
      await sub.close();
      await reader.close();
    },
  };
}

/**
 * SET throughput from redis-benchmark (a separate process, so the writers do not share this
 * process's one JS thread with the follower): WRITERS connections, `requests` SETs of keys kv:<random>.
 */
async function writeThroughput(port: number, keys: number, requests: number): Promise<number> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-c', String(WRITERS), '-n', String(requests), '-r', String(keys), '--csv', 'SET', 'kv:__rand_int__', 'x'.repeat(VALUE_BYTES)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new AaeError('INTERNAL', `redis-benchmark exited ${code}: ${text.slice(-500)}`))));
  });
  const line = out.split('\n').find((l) => /^"SET/.test(l));
  const rps = line === undefined ? NaN : Number(line.split(',')[1]!.replace(/"/g, ''));
  if (!Number.isFinite(rps)) throw new AaeError('INTERNAL', `redis-benchmark printed no SET rate: ${out.slice(-500)}`);
  return rps;
}

export const redisBench: BenchSuite = {
  name: 'redis',
  description: 'Redis keystores: build, the engine-side fold, change apply, lag and source write throughput, against same-run baselines',
  async run(options: BenchOptions): Promise<BenchReport> {
    await initHash();
    const n = Math.max(1_000, Math.round(KEYS * options.scale));
    const changes = Math.max(1_000, Math.round(CHANGES * options.scale));
    const seconds = Math.max(2, Math.round(LOAD_SECONDS * Math.min(1, options.scale * 10)));
    const dir = await mkdtemp(join(tmpdir(), 'aae-bench-redis-'));
    let server: LocalRedis | undefined;
    let c: Client | undefined;
    const figures: BenchFigure[] = [];
    try {
      options.log('redis: starting a private redis-server');
      server = await startLocalRedis();
      c = await client(server.url);
      options.log(`redis: loading ${n} keys`);
      await load(c, 0, n);

      // 1. Build vs SCAN + GET.
      options.log('redis: plain SCAN + GET (baseline)');
      const readMs = await bestOf(2, () => scanGet(c!));
      const k1 = join(dir, 'k1');
      await connectRedis(k1, { url: server.url, match: 'kv:*' });
      options.log('redis: building a keystore');
      const b0 = performance.now();
      await follow(k1, { once: true });
      const buildMs = performance.now() - b0;
      const buildRate = n / (buildMs / 1000);
      const readRate = n / (readMs / 1000);
      figures.push({
        name: `keystore build from ${n} string keys (subscribe, SCAN, read, hash, heads and trees, swap)`,
        value: round(buildRate, 0),
        unit: 'keys/s',
        baseline: { name: `plain SCAN (COUNT ${SCAN_COUNT}) + pipelined GET of the same keys, discarded`, value: round(readRate, 0), unit: 'keys/s' },
        ratio: round(buildRate / readRate),
        ratioMeaning: 'build rate / SCAN+GET rate',
        target: '≥ 0.7×',
        met: buildRate / readRate >= 0.7,
      });

      // 2. The engine-side fold (a Redis Function) vs the client-side fold, neither writing a store.
      options.log('redis: engine-side fold (Redis Function, SHA-1) vs client-side fold (SCAN + GET + xxh32)');
      await c.sendCommand(['FUNCTION', 'LOAD', 'REPLACE', FOLD_LIBRARY]);
      const engineMs = await bestOf(2, () => engineFold(c!));
      const clientMs = await bestOf(2, () => clientFold(c!));
      figures.push({
        name: 'snapshot fold in the engine: a read-only Redis Function over a SCAN cursor, SHA-1 per value (no store writes)',
        value: round(n / (engineMs / 1000), 0),
        unit: 'keys/s',
        baseline: { name: 'the client-side fold: SCAN + pipelined GET + xxh32 here (no store writes)', value: round(n / (clientMs / 1000), 0), unit: 'keys/s' },
        ratio: round(clientMs / engineMs),
        ratioMeaning: 'engine fold rate / client fold rate (> 1: the engine is faster)',
      });

      // 3. Change apply vs subscribe-and-GET.
      options.log(`redis: ${changes} changes applied by a running follower`);
      let applied = 0;
      const f = running(k1, (p) => (applied += p.changes));
      await f.ready;
      const a0 = performance.now();
      await load(c, 0, changes, 'a');
      while (applied < changes) await new Promise((r) => setTimeout(r, 20));
      const applyMs = performance.now() - a0;
      await f.stop();
      options.log('redis: the same changes to a plain subscriber that GETs each key (baseline)');
      const plain = await plainSubscriber(c, server.url);
      const s0 = performance.now();
      await load(c, 0, changes, 'b');
      while (plain.got() < changes) await new Promise((r) => setTimeout(r, 5));
      const baseMs = performance.now() - s0;
      const seen = plain.seen();
      await plain.stop();
      if (seen < changes) throw new AaeError('INTERNAL', `bench redis: the plain subscriber saw ${seen} of ${changes} notifications`);
      figures.push({
        name: `change apply: ${changes} writes (MSET batches of 10k) applied by a running follower`,
        value: round(changes / (applyMs / 1000), 0),
        unit: 'changes/s',
        baseline: { name: 'a plain subscriber that GETs each notified key and discards it', value: round(changes / (baseMs / 1000), 0), unit: 'changes/s' },
        ratio: round(baseMs / applyMs),
        ratioMeaning: 'apply rate / subscribe-and-GET rate',
      });

      // 4. Lag under a steady load.
      options.log(`redis: lag under a steady write load (${seconds} s)`);
      const lags: number[] = [];
      const g = running(k1, (p) => lags.push(p.lagMs));
      await g.ready;
      const w = await client(server.url);
      let written = 0;
      try {
        const end = performance.now() + seconds * 1000;
        let next = performance.now();
        while (performance.now() < end) {
          await w.set(`kv:${Math.floor(Math.random() * n)}`, value(written));
          written++;
          next += 1000 / LOAD_WRITES_PER_SECOND;
          const wait = next - performance.now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        }
      } finally {
        await w.close();
      }
      await new Promise((r) => setTimeout(r, 1000));
      await g.stop();
      lags.sort((x, y) => x - y);
      figures.push({ name: `lag under a steady load of ${round(written / seconds, 0)} writes/s: p50 over ${lags.length} rounds`, value: percentile(lags, 50), unit: 'ms' });
      figures.push({ name: 'lag under the same load: p99', value: percentile(lags, 99), unit: 'ms' });

      // 5. Source writes with notifications and the feed, against neither; and between them, where
      // the cost lies: notifications alone (nobody subscribed), and notifications read by a plain
      // subscriber. Alternated, best of two each.
      const requests = Math.max(20_000, changes);
      const best = { without: 0, notifications: 0, subscriber: 0, feed: 0 };
      for (let round = 0; round < 2; round++) {
        options.log(`redis: write throughput, notifications off and no feed (${requests} SETs, redis-benchmark)`);
        await c.configSet('notify-keyspace-events', '');
        best.without = Math.max(best.without, await writeThroughput(server.port, n, requests));
        await c.configSet('notify-keyspace-events', 'KA');
        options.log(`redis: write throughput, notifications on, nobody subscribed (${requests} SETs)`);
        best.notifications = Math.max(best.notifications, await writeThroughput(server.port, n, requests));
        options.log(`redis: write throughput, notifications on and a plain subscriber that GETs each key (${requests} SETs)`);
        const p = await plainSubscriber(c, server.url);
        try {
          best.subscriber = Math.max(best.subscriber, await writeThroughput(server.port, n, requests));
        } finally {
          await p.stop();
        }
        options.log(`redis: write throughput, notifications on and a follower attached (${requests} SETs)`);
        const h = running(k1, () => undefined);
        await h.ready;
        try {
          best.feed = Math.max(best.feed, await writeThroughput(server.port, n, requests));
        } finally {
          await h.stop();
        }
      }
      const without = { name: 'the same writes with notifications off and no feed', value: round(best.without, 0), unit: 'writes/s' };
      const label = `redis-benchmark, ${WRITERS} connections, SET of ${VALUE_BYTES} B`;
      figures.push({
        name: `source write throughput with notifications on and the feed attached (${label})`,
        value: round(best.feed, 0),
        unit: 'writes/s',
        baseline: without,
        ratio: round(best.feed / best.without),
        ratioMeaning: 'with / without',
        target: '≥ 0.9×',
        met: best.feed / best.without >= 0.9,
      });
      figures.push({
        name: `source write throughput with notifications on and nobody subscribed (what notifications alone cost Redis; ${label})`,
        value: round(best.notifications, 0),
        unit: 'writes/s',
        baseline: without,
        ratio: round(best.notifications / best.without),
        ratioMeaning: 'with notifications / without',
      });
      figures.push({
        name: `source write throughput with notifications on and a plain subscriber GETting each notified key (the least any notification-fed reader costs; ${label})`,
        value: round(best.subscriber, 0),
        unit: 'writes/s',
        baseline: without,
        ratio: round(best.subscriber / best.without),
        ratioMeaning: 'with a plain subscriber / without',
      });
      return {
        suite: 'redis',
        machine: machineInfo(),
        params: { keys: n, changes, valueBytes: VALUE_BYTES, scanCount: SCAN_COUNT, loadSeconds: seconds, writers: WRITERS, server: 'private redis-server (no persistence)' },
        figures,
      };
    } finally {
      await c?.close().catch(() => undefined);
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
