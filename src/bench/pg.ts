import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { compareClusters } from '../aae/index.js';
import { changeSourceOf, connectPostgres, Follower, followKeystore, KeystoreStore, openKeystore, readSourceSpec, startLocalServer, type FollowOptions, type LocalServer, type SourceSpec } from '../connect/index.js';
import { AaeError } from '../errors.js';
import { exec, headsFloor, measure, plainConsume, plainConsumer, plainRead, writeThroughput, type Measured } from './pg-baselines.js';
import { bestOf, machineInfo, percentile, round, type BenchFigure, type BenchReport } from './report.js';
import type { BenchOptions, BenchSuite } from './suite.js';

/**
 * `aae bench pg`: PostgreSQL keystores against baselines measured in the same run on the same
 * server (a private one this suite starts: initdb in a temp directory, default durability).
 *
 * 1. Build: a keystore built from an N-row table (slot, snapshot scan, heads and trees, swap)
 *    against a plain client read of the same rows (a cursor in a REPEATABLE READ transaction,
 *    rows discarded); and the floor: the build's own head records, encoded and sorted, written
 *    into an empty LevelDB with nothing else done.
 * 2. Change apply: C changed rows applied by a running follower in its steady state (the keystore
 *    open, its trees loaded, a first burst of C/2 changes behind it: what `aae follow` does all
 *    day) against a plain consumer of a second slot holding the
 *    same changes (pg-logical-replication's pgoutput plugin), discarding them; and, reported, the
 *    same by `follow --once`, which also opens the store and reads and saves its trees.
 * 3. Compare: two keystores of the same N rows, in sync and with 100 differences.
 * 4. Lag under a steady write load: the follower's lag per applied round (commit → applied), p50
 *    and p99, at the writes/s the load reached.
 * 5. Source write throughput with the feed attached (a follower running) against without it.
 *
 * Every rate is also given as CPU time (this process and the server's processes) against its
 * baseline's: the machine the figures come from is shared, and a phase's wall time there is mostly
 * how long it waited for a core.
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

/** C single-column updates in transactions of 1,000 rows; then the table is vacuumed and checkpointed, so the server is quiet while the phases that follow are timed. */
async function makeChanges(url: string, changes: number, rows: number): Promise<void> {
  const perTxn = 1_000;
  for (let i = 0; i < changes; i += perTxn) {
    await exec(url, `UPDATE kv SET val = md5(val) WHERE id IN (SELECT 'k' || j FROM generate_series(${1 + (i % rows)}, ${Math.min(rows, (i % rows) + perTxn)}) j)`);
  }
  await exec(url, 'VACUUM kv');
  await exec(url, 'CHECKPOINT');
}

/** The CPU-time figure that goes with a rate: how the CPU of a phase compares with its baseline's. */
function cpuFigure(name: string, phase: Measured<unknown>, baseline: Measured<unknown>, baselineName: string): BenchFigure[] {
  if (phase.cpuMs === null || baseline.cpuMs === null) return [];
  return [
    {
      name: `${name}: CPU time (this process and the server's)`,
      value: round(phase.cpuMs, 0),
      unit: 'ms',
      baseline: { name: `${baselineName}: CPU time`, value: round(baseline.cpuMs, 0), unit: 'ms' },
      ratio: round(baseline.cpuMs / Math.max(1, phase.cpuMs)),
      ratioMeaning: 'baseline CPU / CPU (the rate ratio a machine with cores to spare would see, were the work as parallel)',
    },
  ];
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
      // Autovacuum off: it would run in whichever phase follows a burst of updates (makeChanges vacuums instead).
      await exec(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text NOT NULL) WITH (autovacuum_enabled = false)');
      options.log(`pg: loading ${n} rows`);
      await exec(url, `INSERT INTO kv SELECT 'k' || i, repeat(md5(i::text), ${Math.ceil(VALUE_BYTES / 32)}) FROM generate_series(1, ${n}) i`);
      await exec(url, 'VACUUM ANALYZE kv');

      // 1. Build vs a plain read, and the build's floor.
      options.log('pg: plain client read (baseline)');
      const reads: Array<Measured<number>> = [];
      for (let i = 0; i < 2; i++) reads.push(await measure(server.pid, () => plainRead(url)));
      const read = reads.reduce((a, b) => (b.ms < a.ms ? b : a));
      const k1 = join(dir, 'k1');
      const k2 = join(dir, 'k2');
      await connectPostgres(k1, { url, table: 'kv', slot: 'bench_k1' });
      await connectPostgres(k2, { url, table: 'kv', slot: 'bench_k2', publication: pgSpec(await readSourceSpec(k1)).publication });
      options.log('pg: building a keystore');
      const built = await measure(server.pid, () => follow(k1, { once: true }));
      const buildRate = n / (built.ms / 1000);
      const readRate = n / (read.ms / 1000);
      figures.push({
        name: `keystore build from a ${n}-row table (slot, snapshot scan, heads and trees, swap)`,
        value: round(buildRate, 0),
        unit: 'rows/s',
        baseline: { name: 'plain client read of the same rows (a cursor, FETCH 10,000, discarded)', value: round(readRate, 0), unit: 'rows/s' },
        ratio: round(buildRate / readRate),
        ratioMeaning: 'build rate / plain read rate',
        target: '≥ 0.7×',
        met: buildRate / readRate >= 0.7,
      });
      figures.push(...cpuFigure('keystore build', built, read, 'plain read'));
      options.log('pg: the floor: the same heads written into an empty LevelDB');
      const floor = await headsFloor(k1, server.pid);
      const floorRate = floor.value / (floor.ms / 1000);
      figures.push({
        name: "floor of the build: its own head records, encoded and sorted, written into an empty LevelDB in 16k batches, nothing else",
        value: round(floorRate, 0),
        unit: 'rows/s',
        baseline: { name: 'plain client read of the same rows', value: round(readRate, 0), unit: 'rows/s' },
        ratio: round(floorRate / readRate),
        ratioMeaning: 'floor rate / plain read rate (no build can exceed it)',
      });
      figures.push(...cpuFigure('floor of the build', floor, read, 'plain read'));
      options.log('pg: building a second keystore of the same table');
      await follow(k2, { once: true });

      // 2. Change apply vs consume-and-discard, on two slots holding the same changes.
      const spec = pgSpec(await readSourceSpec(k1));
      const pid = server.pid;
      const source = changeSourceOf(await readSourceSpec(k1));
      const follower = new Follower(await openKeystore(k1), source);
      try {
        // A follower in its steady state: its trees loaded, and LevelDB past the reorganisation
        // that the first burst of random updates after a bulk load sets off (its sorted tables are
        // compacted into the levels below for the first time). Measured right after a build, that
        // one-off cost doubled the first burst's time (1M rows: 12.5 s, then 5.7 s and 6.2 s).
        options.log(`pg: ${Math.round(changes / 2)} changes to bring the follower to its steady state (not timed)`);
        await makeChanges(url, Math.round(changes / 2), n);
        await follower.run({ once: true });
        const applyOnce = async (what: string, apply: () => Promise<unknown>): Promise<{ applied: Measured<unknown>; discarded: Measured<number> }> => {
          await exec(url, "SELECT pg_create_logical_replication_slot('bench_discard', 'pgoutput')");
          const start = (await exec(url, "SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = 'bench_discard'")).rows[0].l as string;
          options.log(`pg: ${changes} changes (${what})`);
          await makeChanges(url, changes, n);
          const discarded = await measure(pid, () => plainConsume(url, 'bench_discard', spec.publication, start, changes));
          await exec(url, "SELECT pg_drop_replication_slot('bench_discard')");
          options.log(`pg: applying the same changes (${what})`);
          const applied = await measure(pid, apply);
          return { applied, discarded };
        };
        const warm = await applyOnce('a running follower', () => follower.run({ once: true }));
        const applyRate = changes / (warm.applied.ms / 1000);
        const discardRate = warm.discarded.value / (warm.discarded.ms / 1000);
        figures.push({
          name: `change apply: ${changes} updated rows by a running follower (store open, trees loaded, ${Math.round(changes / 2)} changes applied before)`,
          value: round(applyRate, 0),
          unit: 'changes/s',
          baseline: { name: 'a plain pg-logical-replication consumer of a slot with the same changes, discarding them', value: round(discardRate, 0), unit: 'changes/s' },
          ratio: round(applyRate / discardRate),
          ratioMeaning: 'apply rate / consume-and-discard rate',
          target: '≥ 0.8×',
          met: applyRate / discardRate >= 0.8,
        });
        figures.push(...cpuFigure('change apply by a running follower', warm.applied, warm.discarded, 'consume and discard'));
        await follower.keystore.store.close();
        const cold = await applyOnce('follow --once', () => follow(k1, { once: true }));
        const onceRate = changes / (cold.applied.ms / 1000);
        const onceDiscard = cold.discarded.value / (cold.discarded.ms / 1000);
        figures.push({
          name: `change apply: ${changes} updated rows by follow --once (opens the store, reads and saves its trees)`,
          value: round(onceRate, 0),
          unit: 'changes/s',
          baseline: { name: 'the same consume-and-discard', value: round(onceDiscard, 0), unit: 'changes/s' },
          ratio: round(onceRate / onceDiscard),
          ratioMeaning: 'apply rate / consume-and-discard rate',
        });
      } finally {
        await follower.keystore.store.close();
        await source.close();
      }

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

      // 5. Source write throughput: without a feed, with ours, and with a plain consumer (what
      // logical decoding alone costs the source), alternating, twice each: the load on a shared
      // machine drifts over a minute, and alternating spreads the drift over all three.
      const spec1 = pgSpec(await readSourceSpec(k1));
      const sums = { none: 0, feed: 0, consumer: 0 };
      let by = '';
      for (let round = 0; round < 2; round++) {
        for (const mode of ['none', 'feed', 'consumer'] as const) {
          options.log(`pg: write throughput, ${mode === 'none' ? 'no feed' : mode === 'feed' ? 'the feed attached' : 'a plain consumer attached'} (${seconds} s)`);
          const attached = mode === 'feed' ? running(k1, () => undefined) : mode === 'consumer' ? await plainConsumer(url, spec1.publication) : null;
          try {
            const w = await writeThroughput(server, 'bench', n, seconds, WRITERS);
            sums[mode] += w.perSecond / 2;
            by = w.by;
          } finally {
            await attached?.stop();
          }
          await exec(url, 'VACUUM kv');
        }
      }
      const writers = `${WRITERS} connections of ${by === 'pgbench' ? 'pgbench' : 'this process'}, single-row updates`;
      figures.push({
        name: `source write throughput with the feed attached (${writers})`,
        value: round(sums.feed, 0),
        unit: 'writes/s',
        baseline: { name: 'the same writes without a feed', value: round(sums.none, 0), unit: 'writes/s' },
        ratio: round(sums.feed / sums.none),
        ratioMeaning: 'with feed / without',
        target: '≥ 0.9×',
        met: sums.feed / sums.none >= 0.9,
      });
      figures.push({
        name: `source write throughput with a plain consumer attached (logical decoding alone, the changes discarded; ${writers})`,
        value: round(sums.consumer, 0),
        unit: 'writes/s',
        baseline: { name: 'the same writes without a feed', value: round(sums.none, 0), unit: 'writes/s' },
        ratio: round(sums.consumer / sums.none),
        ratioMeaning: 'with a plain consumer / without (no feed can cost the source less than decoding does)',
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
