import pg from 'pg';
import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { AaeError } from '../../errors.js';
import type { FeedBatch, FeedChange, FeedStream, FeedTransaction } from '../feed.js';
import { keyBytesOf } from '../row-bytes.js';
import { isClockCounter } from '../keystore-clock.js';
import { clientConfig, sourceError } from './pg-connection.js';
import { formatLsn, parseLsn } from './lsn.js';
import { parseTimestampMs, type StreamTable } from './pg-rows.js';

export type { StreamTable };

/**
 * One replication stream of a logical slot, decoded by `pgoutput`, as whole committed
 * transactions for the follower to pull.
 *
 * - The stream is driven here, on a `pg` client in replication mode: START_REPLICATION, then each
 *   CopyData message handled as it is parsed (XLogData: a pgoutput message; keepalive: the server's
 *   position). pg-logical-replication's service did this before, with a promise, an event and a
 *   position string per message and a pause and resume of the socket per chunk: under a load of
 *   small transactions that alone was a quarter of the follower's CPU. Its pgoutput parser still
 *   decodes begin, commit, relation and truncate messages.
 * - Acknowledgement is ours alone: a standby status update reports `p` as written, flushed and
 *   applied only when the keystore has made it durable (`acknowledge(p)`). When the server asks
 *   for a reply, we send the last position acknowledged: the connection stays alive and nothing is
 *   claimed early.
 * - A transaction's position is its commit's end LSN: restarting there skips it and nothing after.
 * - Keepalives carry the server's sent position; with no transaction open, every commit before it
 *   has been delivered, which is what a catch-up (`follow --once`) waits for, and what lets an idle
 *   keystore move its position (and the slot) forward.
 * - Values stay the bytes of the text PostgreSQL sent (rows are decoded here, not by the library's
 *   type parsers). An unchanged TOASTed column arrives without its value: such a change becomes a
 *   `refetch` of the row.
 * - Backpressure: the library waits for our handler; the handler waits while more than
 *   MAX_BUFFERED changes are waiting to be pulled.
 */

/** Changes buffered before the stream is paused: a few MiB of keys and texts. */
const MAX_BUFFERED = 50_000;
/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01), for status updates. */
const PG_EPOCH_MS = 946_684_800_000;

/** The driver's view of `pg`'s connection: CopyData messages in, CopyData out, the socket to pause. */
interface ReplicationConnection {
  on(event: 'copyData', fn: (msg: { chunk: Buffer }) => void): void;
  once(event: 'replicationStart', fn: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  stream: { pause(): void; resume(): void };
}

/**
 * How long a pull waits for data before asking the server for a keepalive (whose position tells a
 * catch-up it is done): short, so `follow --once` ends promptly; a status message is 34 bytes.
 */
const KEEPALIVE_ASK_MS = 100;
/** Changes a pull hands over at most (one apply round). */
const MAX_BATCH = 20_000;

/** A column of a decoded tuple: its bytes (UTF-8 text), null (SQL NULL), undefined (unchanged TOAST). */
type Field = Uint8Array | null | undefined;

/** An insert, update or delete as this plugin decodes it: tuples as fields in column order. */
interface RowMessage {
  tag: 'row';
  kind: 'insert' | 'update' | 'delete';
  relation: Pgoutput.MessageRelation;
  /** The new tuple (insert, update). */
  new: Field[] | null;
  /** The old key ('K': key columns set, others null) or old row ('O', REPLICA IDENTITY FULL). */
  old: Field[] | null;
}

/**
 * pgoutput (pg-logical-replication's parser) with inserts, updates and deletes decoded here, as
 * byte ranges of the message (no strings: a row is hashed from its bytes), and every other
 * message (begin, commit, relation, truncate) left to the library.
 */
class BytesPgoutputPlugin extends PgoutputPlugin {
  private readonly relations = new Map<number, Pgoutput.MessageRelation>();

  // The library types parse() as returning its own messages; our handler takes RowMessage too.
  override parse(buffer: Buffer): Pgoutput.Message {
    const tag = buffer[0];
    if (tag === 0x49 /* I */ || tag === 0x55 /* U */ || tag === 0x44 /* D */) return this.row(buffer) as unknown as Pgoutput.Message;
    const msg = super.parse(buffer) as Pgoutput.Message;
    if (msg.tag === 'relation') this.relations.set(msg.relationOid, msg);
    return msg;
  }

  private row(message: Buffer): RowMessage {
    // One copy of the message: its fields are views of it, held until their transaction is
    // applied, and pg-protocol reuses the buffer a message arrives in for later socket data.
    const b = Buffer.from(message);
    const relation = this.relations.get(b.readInt32BE(1));
    if (relation === undefined) throw new AaeError('SOURCE_UNAVAILABLE', 'pgoutput sent a row of a relation it never described');
    const cursor = { p: 5 };
    const kind = b[0] === 0x49 ? 'insert' : b[0] === 0x55 ? 'update' : 'delete';
    let old: Field[] | null = null;
    let next: Field[] | null = null;
    let marker = b[cursor.p++];
    if (marker === 0x4b /* K */ || marker === 0x4f /* O */) {
      old = tuple(b, cursor);
      marker = kind === 'delete' ? undefined : b[cursor.p++];
    }
    if (marker === 0x4e /* N */) next = tuple(b, cursor);
    return { tag: 'row', kind, relation, new: next, old };
  }
}

function tuple(b: Buffer, cursor: { p: number }): Field[] {
  const n = b.readInt16BE(cursor.p);
  cursor.p += 2;
  const out: Field[] = new Array<Field>(n);
  for (let i = 0; i < n; i++) {
    const kind = b[cursor.p++];
    if (kind === 0x6e /* n */) out[i] = null;
    else if (kind === 0x75 /* u */) out[i] = undefined;
    else if (kind === 0x74 /* t */ || kind === 0x62 /* b */) {
      const len = b.readInt32BE(cursor.p);
      cursor.p += 4;
      out[i] = b.subarray(cursor.p, cursor.p + len);
      cursor.p += len;
    } else throw new AaeError('SOURCE_UNAVAILABLE', `pgoutput sent a column of unknown kind ${kind}`);
  }
  return out;
}

/** Where our columns sit in a relation's tuples (by name: a relation message may reorder them). */
interface Layout {
  key: number[];
  values: number[];
  updatedAt: number;
}


export async function openPgStream(url: string, slot: string, publication: string, from: string, table: StreamTable): Promise<FeedStream> {
  const client = new pg.Client(clientConfig(url, { replication: 'database' } as Partial<pg.ClientConfig>));
  const connection = (client as unknown as { connection: ReplicationConnection }).connection;
  const plugin = new BytesPgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
  const ready: FeedTransaction[] = [];
  let buffered = 0;
  let open: { changes: FeedChange[]; patch: Array<Extract<FeedChange, { kind: 'upsert' }>> } | null = null;
  let idleAt: bigint | null = null;
  let lastCommit = parseLsn(from);
  let acked = parseLsn(from);
  let failure: AaeError | null = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  const ours = (r: Pgoutput.MessageRelation): boolean => r.schema === table.schema && r.name === table.table;
  const layouts = new WeakMap<Pgoutput.MessageRelation, Layout>();
  const layoutOf = (r: Pgoutput.MessageRelation): Layout => {
    let l = layouts.get(r);
    if (l === undefined) {
      const names = r.columns.map((c) => c.name);
      const at = (n: string): number => {
        const i = names.indexOf(n);
        if (i < 0) throw new AaeError('SOURCE_INVALID', `${table.schema}.${table.table} no longer has column '${n}' (the keystore's spec names it): make a new keystore`);
        return i;
      };
      l = { key: table.key.map(at), values: table.columns.map(at), updatedAt: table.updatedAt === null ? -1 : at(table.updatedAt) };
      layouts.set(r, l);
    }
    return l;
  };
  const latin1 = new TextDecoder('latin1');
  const keyOf = (fields: Field[], l: Layout): Uint8Array | null => {
    const parts = l.key.map((i) => fields[i]);
    if (parts.some((k) => k === undefined || k === null)) return null;
    return parts.length === 1 ? (parts[0] as Uint8Array) : keyBytesOf(parts as Uint8Array[]);
  };

  const onChange = (msg: Pgoutput.Message | RowMessage): void => {
    if (open === null) return; // outside a transaction: nothing of ours
    const changes = open.changes;
    if (msg.tag === 'row') {
      if (!ours(msg.relation)) return;
      const l = layoutOf(msg.relation);
      if (msg.kind === 'delete') {
        const key = msg.old === null ? null : keyOf(msg.old, l);
        if (key === null) throw new AaeError('SOURCE_INVALID', `a delete from ${table.schema}.${table.table} arrived without its key`);
        changes.push({ kind: 'delete', key });
        return;
      }
      const fields = msg.new!;
      const key = keyOf(fields, l);
      if (key === null) throw new AaeError('SOURCE_INVALID', `an ${msg.kind} of ${table.schema}.${table.table} arrived without its key columns`);
      if (msg.old !== null) {
        // The key changed (pgoutput sends the old key only then, or always under REPLICA IDENTITY FULL): the old key goes.
        const oldKey = keyOf(msg.old, l);
        if (oldKey !== null && Buffer.compare(oldKey, key) !== 0) changes.push({ kind: 'delete', key: oldKey });
      }
      const values = l.values.map((i) => fields[i]);
      if (values.some((v) => v === undefined)) {
        changes.push({ kind: 'refetch', key });
        return;
      }
      const u: Extract<FeedChange, { kind: 'upsert' }> = { kind: 'upsert', key, values: values as Array<Uint8Array | null>, lastModified: -1 };
      if (l.updatedAt >= 0) {
        const t = fields[l.updatedAt];
        const ms = t === null || t === undefined ? null : parseTimestampMs(latin1.decode(t));
        if (ms !== null) u.lastModified = ms;
      }
      if (u.lastModified < 0) open.patch.push(u);
      changes.push(u);
    } else if (msg.tag === 'truncate') {
      if (msg.relations.some((r) => r !== undefined && ours(r))) changes.push({ kind: 'truncate' });
    }
  };

  let paused = false;
  const onMessage = (msg: Pgoutput.Message | RowMessage): void => {
    if (msg.tag === 'begin') {
      open = { changes: [], patch: [] };
    } else if (msg.tag === 'commit') {
      const txn = open;
      open = null;
      const end = msg.commitEndLsn === null ? lastCommit : parseLsn(msg.commitEndLsn);
      if (end > lastCommit) lastCommit = end;
      const commitTime = Number(BigInt(msg.commitTime as unknown as bigint) / 1000n);
      if (txn !== null && txn.changes.length > 0) {
        for (const u of txn.patch) u.lastModified = commitTime;
        const counter = Number(end);
        ready.push(isClockCounter(counter) ? { position: formatLsn(end), counter, commitTime, changes: txn.changes } : { position: formatLsn(end), commitTime, changes: txn.changes });
        buffered += txn.changes.length;
        if (buffered > MAX_BUFFERED && !paused) {
          // Backpressure: the socket stops being read until a pull takes the buffer down.
          paused = true;
          connection.stream.pause();
        }
      }
      notify();
    } else {
      onChange(msg);
    }
  };
  connection.on('copyData', ({ chunk }) => {
    if (failure !== null || ended) return;
    try {
      if (chunk[0] === 0x77 /* w: XLogData */) onMessage(plugin.parse(chunk.subarray(25)));
      else if (chunk[0] === 0x6b /* k: primary keepalive */) {
        if (open === null) {
          const at = chunk.readBigUInt64BE(1);
          if (idleAt === null || at > idleAt) idleAt = at;
          notify();
        }
        if (chunk[17] === 1) sendStatus(acked, false);
      }
    } catch (e) {
      failure ??= e instanceof AaeError ? e : sourceError(e, `decoding the replication stream of slot ${slot}`, { feed: true });
      notify();
    }
  });
  client.on('error', (e: Error) => {
    failure ??= sourceError(e, `replication stream of slot ${slot}`, { feed: true });
    notify();
  });

  /** A standby status update: `position` (the next byte wanted) as written, flushed and applied; `ping` asks for a reply. */
  const sendStatus = (position: bigint, ping: boolean): void => {
    if (position <= 0n || ended) return;
    const msg = Buffer.alloc(34);
    msg[0] = 0x72; // 'r'
    msg.writeBigUInt64BE(position, 1);
    msg.writeBigUInt64BE(position, 9);
    msg.writeBigUInt64BE(position, 17);
    msg.writeBigUInt64BE(BigInt(Date.now() - PG_EPOCH_MS) * 1000n, 25);
    msg[33] = ping ? 1 : 0;
    try {
      connection.sendCopyFromChunk(msg);
    } catch {
      // the connection is gone: its error or end is reported by the stream
    }
  };

  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw sourceError(e, `replication stream of slot ${slot}`, { feed: true });
  }
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  connection.once('replicationStart', () => started());
  const names = quoteLiteral(quoteIdent(publication));
  const running = client.query(`START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${from} (proto_version '1', publication_names ${names})`).then(
    () => {
      ended = true;
      failure ??= new AaeError('SOURCE_UNAVAILABLE', `the replication stream of slot ${slot} ended`);
      notify();
    },
    (e: unknown) => {
      ended = true;
      failure ??= sourceError(e, `replication stream of slot ${slot}`, { feed: true });
      notify();
    },
  );
  await Promise.race([startedP, running]);
  if (failure !== null) {
    ended = true;
    await client.end().catch(() => undefined);
    throw failure;
  }
  // Ask for a keepalive now: an idle slot answers with its position at once.
  sendStatus(acked, true);

  return {
    async next(signal?: AbortSignal): Promise<FeedBatch> {
      for (;;) {
        if (signal?.aborted) throw new AaeError('ABORTED', 'feed stopped', { cause: signal.reason });
        if (ready.length > 0) {
          const out: FeedTransaction[] = [];
          let n = 0;
          while (ready.length > 0 && (out.length === 0 || n + ready[0]!.changes.length <= MAX_BATCH)) {
            const t = ready.shift()!;
            n += t.changes.length;
            out.push(t);
          }
          buffered -= n;
          if (paused && buffered <= MAX_BUFFERED) {
            paused = false;
            connection.stream.resume();
          }
          return { kind: 'transactions', transactions: out };
        }
        if (failure !== null) throw failure;
        if (idleAt !== null && open === null) {
          const at = idleAt > lastCommit ? idleAt : lastCommit;
          idleAt = null;
          return { kind: 'idle', position: formatLsn(at) };
        }
        // Nothing yet: ask for a keepalive in a while, so an idle source still reports its position.
        const timer = setTimeout(() => sendStatus(acked, true), KEEPALIVE_ASK_MS);
        const onAbort = (): void => notify();
        signal?.addEventListener('abort', onAbort, { once: true });
        await new Promise<void>((r) => (wake = r));
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    },
    async acknowledge(position: string): Promise<void> {
      const p = parseLsn(position);
      if (p > acked) acked = p;
      sendStatus(acked, false);
    },
    async close(): Promise<void> {
      if (!ended) sendStatus(acked, false);
      ended = true;
      await client.end().catch(() => undefined);
      await running.catch(() => undefined);
    },
  };
}

/** An identifier, double-quoted for PostgreSQL. */
function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal, single-quoted for PostgreSQL. */
function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
