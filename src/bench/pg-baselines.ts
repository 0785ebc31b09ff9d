import { spawn } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import { KeystoreStore } from '../connect/index.js';
import { clientConfig } from '../connect/pg/pg-connection.js';
import { findPgBin, type LocalServer } from '../connect/pg/local-server.js';
import { NodeDb } from '../store/index.js';
import { KIND_HEAD, kindPrefix, prefixEnd } from '../store/layout.js';
import { ownCpuMs, processTreeCpuMs } from './cpu.js';

/**
 * What `aae bench pg` measures the keystore against, in the same run on the same server: a plain
 * read of the rows, a plain consumer of the slot, source writes without a feed, and the floor of
 * the build (the keystore's heads alone, written into LevelDB). Each phase's wall time and CPU
 * time (this process and the database server's) are measured together.
 */

export async function exec(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

export interface Measured<T> {
  value: T;
  ms: number;
  /** CPU of this process and the server's processes during the phase; null where it cannot be read. */
  cpuMs: number | null;
}

/** Runs `fn`, timing it by the wall clock and by the CPU this process and the server (`serverPid`) used. */
export async function measure<T>(serverPid: number, fn: () => Promise<T>): Promise<Measured<T>> {
  const server0 = await processTreeCpuMs(serverPid);
  const own0 = ownCpuMs();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const own = ownCpuMs() - own0;
  const server1 = await processTreeCpuMs(serverPid);
  return { value, ms, cpuMs: server0 === null || server1 === null ? null : own + server1 - server0 };
}

/** The baseline read: the keystore scan's rows through a pg cursor, FETCH 10,000, discarded. */
export async function plainRead(url: string): Promise<number> {
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

/**
 * The change-apply baseline: a plain consumer of the slot, as pg-logical-replication's README
 * shows it (its pgoutput plugin, its default acknowledgement), counting the rows changed and
 * discarding them, until `expected` have arrived.
 */
export async function plainConsume(url: string, slot: string, publication: string, from: string, expected: number): Promise<number> {
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

/** A plain consumer of a new slot, running until `stop()` (which drops the slot): what logical decoding costs the source. */
export async function plainConsumer(url: string, publication: string): Promise<{ stop(): Promise<void> }> {
  await exec(url, "SELECT pg_create_logical_replication_slot('bench_attached', 'pgoutput')");
  const service = new LogicalReplicationService({ connectionString: url });
  service.on('data', () => undefined);
  const running = service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] }), 'bench_attached').catch(() => undefined);
  return {
    async stop() {
      await service.destroy();
      await running;
      // The server's walsender lets go of the slot a moment after the client has gone.
      for (let i = 0; ; i++) {
        const active = await exec(url, "SELECT active FROM pg_replication_slots WHERE slot_name = 'bench_attached'");
        if (active.rows[0]?.active !== true || i >= 100) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await exec(url, "SELECT pg_drop_replication_slot('bench_attached')");
    },
  };
}

/**
 * Single-row updates of random keys from `writers` connections for `seconds`: writes/s. The
 * writers are PostgreSQL's own pgbench, in its own process: writers in this process would share
 * its event loop and its CPU with the follower being measured, and every apply round would hold
 * them back, which no application writing to its database suffers. Without pgbench, connections
 * of this process write instead (and the figure says so).
 */
export async function writeThroughput(server: LocalServer, db: string, rows: number, seconds: number, writers: number): Promise<{ perSecond: number; by: 'pgbench' | 'in-process' }> {
  const bin = await findPgBin().catch(() => null);
  const pgbench = bin === null ? null : join(bin, 'pgbench');
  if (pgbench !== null && (await access(pgbench).then(() => true, () => false))) {
    const dir = await mkdtemp(join(tmpdir(), 'aae-bench-pgbench-'));
    try {
      const script = join(dir, 'update.sql');
      await writeFile(script, `\\set id random(1, ${rows})\nUPDATE kv SET val = md5(random()::text) WHERE id = 'k' || :id;\n`);
      const out = await run(pgbench, ['-n', '-c', String(writers), '-j', String(writers), '-T', String(seconds), '-f', script, '-h', server.host, '-p', String(server.port), '-U', server.user, db]);
      const m = /tps = ([0-9.]+)/.exec(out);
      if (m === null) throw new Error(`pgbench printed no tps:\n${out}`);
      return { perSecond: Number(m[1]), by: 'pgbench' };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const url = server.url(db);
  const end = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
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
  return { perSecond: n / seconds, by: 'in-process' };
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out}`))));
  });
}

/**
 * The build's floor: the very head records a build wrote (read back from the keystore `dir`),
 * already encoded and in key order, written into an empty LevelDB in batches of 16,384 as the
 * bulk load writes them, with nothing else done. No keystore build can write its heads for less.
 */
export async function headsFloor(dir: string, serverPid: number): Promise<Measured<number>> {
  const store = await KeystoreStore.open(dir, 'kv');
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  try {
    const db = store.cluster.nodeDb('n1');
    for (const v of store.cluster.vnodes()) {
      const prefix = kindPrefix(v.id, KIND_HEAD);
      const it = db.iterator({ gte: prefix, lt: prefixEnd(prefix) });
      try {
        for (;;) {
          const batch = await it.nextv(10_000);
          if (batch.length === 0) break;
          for (const [k, val] of batch) {
            keys.push(new Uint8Array(k));
            values.push(new Uint8Array(val));
          }
        }
      } finally {
        await it.close();
      }
    }
  } finally {
    await store.close();
  }
  const scratch = await mkdtemp(join(tmpdir(), 'aae-bench-floor-'));
  try {
    const db = await NodeDb.open('floor', join(scratch, 'db'), { createIfMissing: true });
    try {
      return await measure(serverPid, async () => {
        for (let i = 0; i < keys.length; i += 16_384) {
          const w = db.writer();
          for (let j = i; j < Math.min(keys.length, i + 16_384); j++) w.put(keys[j]!, values[j]!);
          await w.write();
        }
        return keys.length;
      });
    } finally {
      await db.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
