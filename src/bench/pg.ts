import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { compareClusters } from '../aae/index.js';
import { changeSourceOf, connectPostgres, followKeystore, KeystoreStore, readSourceSpec, startLocalServer, type FollowOptions, type LocalServer, type SourceSpec } from '../connect/index.js';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import { clientConfig } from '../connect/pg/pg-connection.js';
import { AaeError } from '../errors.js';
import { bestOf, machineInfo, round, type BenchFigure, type BenchReport } from './report.js';
import type { BenchOptions, BenchSuite } from './suite.js';

/**
 * `aae bench pg`: PostgreSQL keystores against baselines measured in the same run on the same
 * server (a private one this suite starts: initdb in a temp directory, default durability).
 *
 * 1. Build: a keystore built from an N-row table (slot, snapshot scan, heads and trees, swap)
 *    against a plain client read of the same rows (the same cursor in a REPEATABLE READ
 *    transaction, rows discarded).
 * 2. Change apply: C changed rows applied by `follow --once` against a plain consumer of a second
 *    slot holding the same changes (pg-logical-replication's pgoutput plugin), discarding them.
 * 3. Compare: two keystores of the same N rows, in sync and with 100 differences.
 * 4. Lag under a steady write load: the follower's lag per applied round (commit → applied and
 *    checkpointed), p50 and p99, at the writes/s the load reached.
 * 5. Source write throughput with the feed attached (a follower running) against without it.
 */

/** N at scale 1 (the issue: a 1M-row table). */
const ROWS = 1_000_000;
/** C at scale 1. */
const CHANGES = 200_000;
const DIFFERENCES = 100;
const VALUE_BYTES = 100;
/** Seconds of each write-load phase at scale 1 (at least 2 s at small scales). */
const LOAD_SECONDS = 10;
/** Rows per transaction of the steady load, and transactions a second asked for. */
const LOAD_ROWS_PER_TXN = 10;
const LOAD_TXNS_PER_SECOND = 200;
/** Connections writing in the throughput phases. */
const WRITERS = 4;

function pgSpec(spec: SourceSpec): Extract<SourceSpec['source'], { engine: 'postgresql' }> {
  if (spec.source.engine !== 'postgresql') throw new AaeError('INTERNAL', 'bench pg: not a PostgreSQL keystore');
  return spec.source;
}

async function exec(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

/** The baseline read: the keystore scan's own cursor, rows discarded. */
async function plainRead(url: string): Promise<number> {
  const c = new pg.Client(clientConfig(url));
  await c.connect();
  let n = 0;
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await c.query('DECLARE r NO SCROLL CURSOR FOR SELECT "id", "val" FROM "public"."kv"');
    for (;;) {
      const r = await c.query<string[]>({ text: 'FETCH 10000 FROM r', rowMode: 'array' });
      if (r.rows.length === 0) break;
      n += r.rows.length;
    }
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
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

/** A follower running until `stop()`. */
function running(dir: string, onLag: (ms: number) => void): { stop(): Promise<void> } {
  const ac = new AbortController();
  const done = follow(dir, { signal: ac.signal, retryMs: 200, onProgress: (p) => p.kind === 'applied' && onLag(p.lagMs) }).catch((e: unknown) => {
    if ((e as { code?: string }).code !== 'ABORTED') throw e;
  });
  return {
    async stop() {
      ac.abort();
      await done;
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Single-row updates of random keys from WRITERS connections for `seconds`: writes/s. */
async function writeThroughput(url: string, rows: number, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        while (performance.now() < end) {
          await c.query('UPDATE kv SET val = md5(random()::text) WHERE id = $1', [`k${1 + Math.floor(Math.random() * rows)}`]);
          n++;
        }
      } finally {
        await c.end();
      }
    }),
  );
  return n / seconds;
}

/**
 * The change-apply baseline: a plain consumer of the slot, as pg-logical-replication's README
 * shows it (its pgoutput plugin, its default acknowledgement), counting the rows changed and
 * discarding them, until `expected` have arrived.
 */
async function plainConsume(url: string, slot: string, publication: string, from: string, expected: number): Promise<number> {
  const service = new LogicalReplicationService({ connectionString: url });
  let n = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  service.on('data', (_lsn: string, msg: { tag: string }) => {
    if (msg.tag === 'insert' || msg.tag === 'update' || msg.tag === 'delete') n++;
    if (n >= expected) done();
  });
  const running = service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] }), slot, from).catch(() => undefined);
  await finished;
  await service.destroy();
  await running;
  return n;
}

async function compareMs(a: string, b: string, runs: number): Promise<{ ms: number; differences: number }> {
  const ka = await KeystoreStore.open(a, 'kv');
  const kb = await KeystoreStore.open(b, 'kv');
  try {
    let differences = -1;
    // Trees are loaded by the first compare; the figure is the best of the runs after it.
    await compareClusters(ka.cluster, kb.cluster, { pauseMs: 0, maxResults: 10_000 });
    const ms = await bestOf(runs, async () => {
      const r = await compareClusters(ka.cluster, kb.cluster, { pauseMs: 0, maxResults: 10_000 });
      differences = r.differences.length;
    });
    return { ms, differences };
  } finally {
    await ka.close();
    await kb.close();
  }
}

export const pgBench: BenchSuite = {
  name: 'pg',
  description: 'PostgreSQL keystores: build, change apply, compare, lag and source write throughput, against same-run baselines',
  async run(options: BenchOptions): Promise<BenchReport> {
    const n = Math.max(1_000, Math.round(ROWS * options.scale));
    const changes = Math.max(500, Math.round(CHANGES * options.scale));
    const seconds = Math.max(2, Math.round(LOAD_SECONDS * Math.min(1, options.scale * 10)));
    const dir = await mkdtemp(join(tmpdir(), 'aae-bench-pg-'));
    let server: LocalServer | undefined;
    const figures: BenchFigure[] = [];
    try {
      options.log('pg: starting a private PostgreSQL server');
      server = await startLocalServer({ prefix: 'aae-bench-pg-server-' });
      const url = await server.createDatabase('bench');
      await exec(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text NOT NULL)');
      options.log(`pg: loading ${n} rows`);
      await exec(url, `INSERT INTO kv SELECT 'k' || i, repeat(md5(i::text), ${Math.ceil(VALUE_BYTES / 32)}) FROM generate_series(1, ${n}) i`);
      await exec(url, 'VACUUM ANALYZE kv');

      // 1. Build vs a plain read.
      options.log('pg: plain client read (baseline)');
      const readMs = await bestOf(2, () => plainRead(url));
      const k1 = join(dir, 'k1');
      const k2 = join(dir, 'k2');
      await connectPostgres(k1, { url, table: 'kv', slot: 'bench_k1' });
      await connectPostgres(k2, { url, table: 'kv', slot: 'bench_k2', publication: pgSpec(await readSourceSpec(k1)).publication });
      options.log('pg: building a keystore');
      const b0 = performance.now();
      await follow(k1, { once: true });
      const buildMs = performance.now() - b0;
      const buildRate = n / (buildMs / 1000);
      const readRate = n / (readMs / 1000);
      figures.push({
        name: `keystore build from a ${n}-row table (slot, snapshot scan, heads and trees, swap)`,
        value: round(buildRate, 0),
        unit: 'rows/s',
        baseline: { name: 'plain client read of the same rows (same cursor, discarded)', value: round(readRate, 0), unit: 'rows/s' },
        ratio: round(buildRate / readRate),
        ratioMeaning: 'build rate / plain read rate',
        target: '≥ 0.7×',
        met: buildRate / readRate >= 0.7,
      });
      options.log('pg: building a second keystore of the same table');
      await follow(k2, { once: true });

      // 2. Change apply vs consume-and-discard, on two slots holding the same changes.
      await exec(url, "SELECT pg_create_logical_replication_slot('bench_discard', 'pgoutput')");
      const start = (await exec(url, "SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = 'bench_discard'")).rows[0].l as string;
      options.log(`pg: ${changes} changes`);
      const perTxn = 1_000;
      for (let i = 0; i < changes; i += perTxn) {
        await exec(url, `UPDATE kv SET val = md5(val) WHERE id IN (SELECT 'k' || j FROM generate_series(${1 + (i % n)}, ${Math.min(n, (i % n) + perTxn)}) j)`);
      }
      const target = (await exec(url, 'SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string;
      const spec = pgSpec(await readSourceSpec(k1));
      const d0 = performance.now();
      const consumed = await plainConsume(url, 'bench_discard', spec.publication, start, changes);
      const discardMs = performance.now() - d0;
      await exec(url, "SELECT pg_drop_replication_slot('bench_discard')");
      options.log('pg: applying the same changes to the keystore');
      const a0 = performance.now();
      await follow(k1, { once: true });
      const applyMs = performance.now() - a0;
      const applyRate = changes / (applyMs / 1000);
      const discardRate = consumed / (discardMs / 1000);
      figures.push({
        name: `change apply: ${changes} updated rows (follow --once up to ${target})`,
        value: round(applyRate, 0),
        unit: 'changes/s',
        baseline: { name: 'a plain pg-logical-replication consumer of a slot with the same changes, discarding them', value: round(discardRate, 0), unit: 'changes/s' },
        ratio: round(applyRate / discardRate),
        ratioMeaning: 'apply rate / consume-and-discard rate',
        target: '≥ 0.8×',
        met: applyRate / discardRate >= 0.8,
      });

      // 3. Compare: in sync, then 100 differences.
      await follow(k2, { once: true });
      options.log('pg: compare in sync');
      const inSync = await compareMs(k1, k2, 5);
      if (inSync.differences !== 0) throw new AaeError('INTERNAL', `bench pg: keystores of one table differ by ${inSync.differences} keys`);
      figures.push({ name: `in-sync compare of two ${n}-row keystores (pause 0)`, value: round(inSync.ms, 1), unit: 'ms', target: '≤ 20 ms', met: inSync.ms <= 20 });
      await exec(url, `UPDATE kv SET val = 'different' WHERE id IN (SELECT 'k' || (j * ${Math.floor(n / DIFFERENCES)}) FROM generate_series(1, ${DIFFERENCES}) j)`);
      await follow(k1, { once: true });
      options.log(`pg: compare with ${DIFFERENCES} differences`);
      const diff = await compareMs(k1, k2, 3);
      if (diff.differences !== DIFFERENCES) throw new AaeError('INTERNAL', `bench pg: expected ${DIFFERENCES} differences, found ${diff.differences}`);
      figures.push({ name: `compare of two ${n}-row keystores with ${DIFFERENCES} differences (pause 0)`, value: round(diff.ms, 1), unit: 'ms', target: '≤ 300 ms', met: diff.ms <= 300 });
      await follow(k2, { once: true });

      // 4. Lag under a steady load.
      options.log(`pg: lag under a steady write load (${seconds} s)`);
      const lags: number[] = [];
      const feed = running(k1, (ms) => lags.push(ms));
      let written = 0;
      const loadEnd = performance.now() + seconds * 1000;
      const writerClient = new pg.Client({ connectionString: url });
      await writerClient.connect();
      try {
        let next = performance.now();
        while (performance.now() < loadEnd) {
          const ids = Array.from({ length: LOAD_ROWS_PER_TXN }, () => `k${1 + Math.floor(Math.random() * n)}`);
          await writerClient.query('UPDATE kv SET val = md5(random()::text) WHERE id = ANY($1)', [ids]);
          written += LOAD_ROWS_PER_TXN;
          next += 1000 / LOAD_TXNS_PER_SECOND;
          const wait = next - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      } finally {
        await writerClient.end();
      }
      await new Promise((r) => setTimeout(r, 1000)); // let the feed drain what was written last
      await feed.stop();
      lags.sort((x, y) => x - y);
      const writesPerSecond = written / seconds;
      figures.push({ name: `lag under a steady load of ${round(writesPerSecond, 0)} row writes/s (${LOAD_ROWS_PER_TXN} a transaction): p50 over ${lags.length} rounds`, value: percentile(lags, 50), unit: 'ms' });
      figures.push({ name: 'lag under the same load: p99', value: percentile(lags, 99), unit: 'ms' });

      // 5. Source write throughput with and without the feed.
      options.log(`pg: write throughput without the feed (${seconds} s)`);
      const without = await writeThroughput(url, n, seconds);
      options.log(`pg: write throughput with the feed attached (${seconds} s)`);
      const attached = running(k1, () => undefined);
      let withFeed: number;
      try {
        withFeed = await writeThroughput(url, n, seconds);
      } finally {
        await attached.stop();
      }
      figures.push({
        name: `source write throughput with the feed attached (${WRITERS} connections, single-row updates)`,
        value: round(withFeed, 0),
        unit: 'writes/s',
        baseline: { name: 'the same writes without a feed', value: round(without, 0), unit: 'writes/s' },
        ratio: round(withFeed / without),
        ratioMeaning: 'with feed / without',
        target: '≥ 0.9×',
        met: withFeed / without >= 0.9,
      });
      return {
        suite: 'pg',
        machine: machineInfo(),
        params: { rows: n, changes, differences: DIFFERENCES, valueBytes: VALUE_BYTES, loadSeconds: seconds, writers: WRITERS, server: 'private PostgreSQL (default durability)' },
        figures,
      };
    } finally {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
