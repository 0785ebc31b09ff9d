import type pg from 'pg';
import { AaeError } from '../../errors.js';
import type { ChangeSource, FeedStream, SnapshotRow, Subscription } from '../feed.js';
import { decodeRowBytes } from '../row-bytes.js';
import { isClockCounter, sourceActor } from '../keystore-clock.js';
import { compareLsn, lsnDistance, parseLsn } from './lsn.js';
import { connect, ident, qualified, sourceError } from './pg-connection.js';
import { rowOf, selectSql, selectWidth } from './pg-rows.js';
import { CopyTextParser } from './copy-text.js';
import { to as copyTo } from 'pg-copy-streams';
import type { PgSourceSpec } from './pg-spec.js';
import { openPgStream, type StreamTable } from './pg-stream.js';

/**
 * A PostgreSQL table as a keystore's change source (feed.ts).
 *
 * Subscribing creates a logical replication slot with `pgoutput` on a replication connection,
 * exporting its snapshot (`CREATE_REPLICATION_SLOT … LOGICAL pgoutput (SNAPSHOT 'export')`). A
 * second connection imports that snapshot (`SET TRANSACTION SNAPSHOT` in a REPEATABLE READ
 * transaction) and reads the table with COPY: the scan sees exactly the transactions
 * committed before the slot's consistent point, and the slot streams exactly those after it, so
 * nothing is missed or seen twice. The replication connection closes once the snapshot is
 * imported (the importing transaction holds it from then on).
 */

/** Rows a snapshot batch hands to the writer: one apply round (5k-row vnode writes). */
const SCAN_BATCH = 10_000;
/** Keys per refetch query. */
const REFETCH_BATCH = 1_000;

export class PgChangeSource implements ChangeSource {
  private client: pg.Client | null = null;
  readonly table: StreamTable;

  constructor(readonly spec: PgSourceSpec) {
    this.table = { schema: spec.schema, table: spec.table, key: spec.key, columns: spec.columns, updatedAt: spec.updatedAt };
  }

  /** Queries take turns on the one connection (a keystore node's requests and its feed share it). */
  private turn: Promise<unknown> = Promise.resolve();

  /** A plain (non-replication) connection for queries, made on first use. */
  private query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = [], what = 'query'): Promise<pg.QueryResult<T>> {
    const run = this.turn.then(() => this.queryNow<T>(sql, params, what));
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async queryNow<T extends pg.QueryResultRow>(sql: string, params: unknown[], what: string): Promise<pg.QueryResult<T>> {
    if (this.client === null) this.client = await connect(this.spec.url);
    try {
      return await this.client.query<T>(sql, params);
    } catch (e) {
      const broken = this.client;
      this.client = null;
      await broken.end().catch(() => undefined);
      throw sourceError(e, what);
    }
  }

  async subscribe(name: string, options: { signal?: AbortSignal } = {}): Promise<Subscription> {
    const repl = await connect(this.spec.url, { replication: 'database' } as Partial<pg.ClientConfig>);
    let scan: pg.Client | null = null;
    try {
      // The history the slot follows, for position clocks (keystore-clock.ts): the server's system
      // identifier and timeline (a restore to an earlier point starts a new timeline), the database, the table.
      // Asked before the slot is made: any command on this connection after it ends the exported snapshot.
      let id: { systemid: string; timeline: string | number; dbname: string | null };
      try {
        id = (await repl.query<{ systemid: string; timeline: string | number; dbname: string | null }>('IDENTIFY_SYSTEM')).rows[0]!;
      } catch (e) {
        throw sourceError(e, 'identifying the server (IDENTIFY_SYSTEM)');
      }
      let created: { consistent_point: string; snapshot_name: string };
      try {
        created = (await repl.query<{ consistent_point: string; snapshot_name: string }>(`CREATE_REPLICATION_SLOT ${ident(name)} LOGICAL pgoutput (SNAPSHOT 'export')`)).rows[0]!;
      } catch (e) {
        throw sourceError(e, `creating replication slot ${name}`);
      }
      const counter = Number(parseLsn(created.consistent_point));
      const clock: Subscription['clock'] = isClockCounter(counter)
        ? { actor: sourceActor(['postgresql', String(id.systemid), String(id.timeline), id.dbname ?? '', this.spec.schema, this.spec.table]), counter }
        : undefined;
      scan = await connect(this.spec.url);
      try {
        await scan.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        await scan.query(`SET TRANSACTION SNAPSHOT '${created.snapshot_name.replace(/'/g, "''")}'`);
      } catch (e) {
        throw sourceError(e, `reading ${this.spec.schema}.${this.spec.table} in the slot's snapshot`);
      }
      await repl.end().catch(() => undefined);
      const reader = scan;
      const table = this.table;
      const scanTime = Date.now();
      return {
        name,
        position: created.consistent_point,
        ...(clock === undefined ? {} : { clock }),
        async *rows(signal = options.signal): AsyncIterable<SnapshotRow[]> {
          // COPY streams the rows as bytes (copy-text.ts): no per-row protocol messages, no
          // strings; the socket keeps filling while the caller writes a batch.
          const stream = reader.query(copyTo(`COPY (${selectSql(table)}) TO STDOUT`));
          const parser = new CopyTextParser(selectWidth(table));
          let batch: SnapshotRow[] = [];
          try {
            for await (const chunk of stream as AsyncIterable<Buffer>) {
              if (signal?.aborted) throw new AaeError('ABORTED', 'snapshot scan stopped', { cause: signal.reason });
              for (const fields of parser.push(chunk)) batch.push(rowOf(table, fields, scanTime));
              if (batch.length >= SCAN_BATCH) {
                yield batch;
                batch = [];
              }
            }
            parser.end();
          } catch (e) {
            stream.destroy();
            throw sourceError(e, 'snapshot scan');
          }
          if (batch.length > 0) yield batch;
        },
        async close() {
          await reader.query('COMMIT').catch(() => undefined);
          await reader.end().catch(() => undefined);
        },
      };
    } catch (e) {
      await repl.end().catch(() => undefined);
      await scan?.end().catch(() => undefined);
      throw e;
    }
  }

  async checkResume(name: string, position: string): Promise<string | null> {
    const r = await this.query<{ wal_status: string | null; confirmed_flush_lsn: string | null; database: string | null; plugin: string | null; here: string }>(
      `SELECT wal_status, confirmed_flush_lsn::text AS confirmed_flush_lsn, database, plugin, current_database() AS here
         FROM pg_replication_slots WHERE slot_name = $1`,
      [name],
      'checking the replication slot',
    );
    const s = r.rows[0];
    if (s === undefined) return `replication slot ${name} does not exist (dropped, or the source was restored or failed over)`;
    if (s.database !== s.here || s.plugin !== 'pgoutput') return `replication slot ${name} belongs to database ${s.database} / plugin ${s.plugin}, not this keystore's`;
    if (s.wal_status === 'lost') return `replication slot ${name} lost WAL it needed (max_slot_wal_keep_size was exceeded)`;
    if (s.confirmed_flush_lsn !== null && compareLsn(s.confirmed_flush_lsn, position) > 0) {
      return `replication slot ${name} is at ${s.confirmed_flush_lsn}, past the keystore's position ${position}: the changes between them are gone`;
    }
    return null;
  }

  stream(name: string, position: string): Promise<FeedStream> {
    return openPgStream(this.spec.url, name, this.spec.publication, position, this.table);
  }

  async currentPosition(): Promise<string> {
    // The insert position, not pg_current_wal_lsn() (the write position): with synchronous_commit
    // off a committed transaction can sit in WAL buffers past the write position for a while.
    const r = await this.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn', [], 'reading the current WAL position');
    return r.rows[0]!.lsn;
  }

  comparePositions(a: string, b: string): number {
    return compareLsn(a, b);
  }

  distance(a: string, b: string): number {
    return lsnDistance(a, b);
  }

  async fetchRows(keys: readonly Uint8Array[]): Promise<Array<SnapshotRow | null>> {
    const t = this.table;
    const out: Array<SnapshotRow | null> = new Array<SnapshotRow | null>(keys.length).fill(null);
    const byKey = new Map<string, number[]>();
    keys.forEach((k, i) => {
      const id = Buffer.from(k).toString('latin1');
      byKey.set(id, [...(byKey.get(id) ?? []), i]);
    });
    for (let i = 0; i < keys.length; i += REFETCH_BATCH) {
      const part = keys.slice(i, i + REFETCH_BATCH);
      const params: Array<string | null> = [];
      const tuples = part.map((k) => {
        const texts = decodeRowBytes(k, t.key.length);
        const ph = texts.map((v) => {
          params.push(v);
          return `$${params.length}`;
        });
        return `(${ph.join(', ')})`;
      });
      const cols = `(${t.key.map(ident).join(', ')})`;
      const r = await this.query<string[]>(`${selectSql(t)} WHERE ${cols} IN (${tuples.join(', ')})`, params, 'refetching rows');
      const now = Date.now();
      // rowMode is not set on this path: rows are objects; rebuild the array in select order.
      const names = [...t.key, ...t.columns, ...(t.updatedAt === null ? [] : [t.updatedAt])];
      for (const obj of r.rows as unknown as Array<Record<string, string | null>>) {
        const row = rowOf(t, names.map((n) => obj[n] ?? null), now);
        for (const j of byKey.get(Buffer.from(row.key).toString('latin1')) ?? []) out[j] = row;
      }
    }
    return out;
  }

  async drop(name: string): Promise<void> {
    // pg_drop_replication_slot fails on a slot in use; a slot we are dropping is ours and idle.
    await this.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [name], `dropping replication slot ${name}`);
  }

  async close(): Promise<void> {
    await this.turn;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}

/** A position is a PostgreSQL LSN; checked where a spec or state hands one in. */
export function isLsn(text: string): boolean {
  try {
    parseLsn(text);
    return true;
  } catch {
    return false;
  }
}

export { qualified };
