import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { AaeError } from '../../errors.js';
import type { FeedBatch, FeedChange, FeedStream, FeedTransaction } from '../feed.js';
import { keyBytesOf } from '../row-bytes.js';
import { clientConfig, sourceError } from './pg-connection.js';
import { formatLsn, parseLsn } from './lsn.js';
import { parseTimestampMs } from './pg-rows.js';

/**
 * One replication stream of a logical slot, decoded by `pgoutput` (pg-logical-replication), as
 * whole committed transactions for the follower to pull.
 *
 * - Acknowledgement is ours alone: the library's auto-acknowledge (every message, and a timer that
 *   reports the last *received* position) is off. `acknowledge(p)` reports `p` as written,
 *   flushed and applied only when the keystore has made it durable. (The library reports its
 *   argument + 1, so we pass p − 1.) When the server asks for a reply, we send the last position
 *   acknowledged: the connection stays alive and nothing is claimed early.
 * - A transaction's position is its commit's end LSN: restarting there skips it and nothing after.
 * - Keepalives carry the server's sent position; with no transaction open, every commit before it
 *   has been delivered, which is what a catch-up (`follow --once`) waits for, and what lets an idle
 *   keystore move its position (and the slot) forward.
 * - Values stay the text PostgreSQL sent (the column parsers are replaced on each relation
 *   message, before any tuple of that relation is parsed). An unchanged TOASTed column arrives
 *   without its value: such a change becomes a `refetch` of the row.
 * - Backpressure: the library waits for our handler; the handler waits while more than
 *   MAX_BUFFERED changes are waiting to be pulled.
 */

/** Changes buffered before the stream is paused: a few MiB of keys and texts. */
const MAX_BUFFERED = 50_000;
/**
 * How long a pull waits for data before asking the server for a keepalive (whose position tells a
 * catch-up it is done): short, so `follow --once` ends promptly; a status message is 34 bytes.
 */
const KEEPALIVE_ASK_MS = 100;
/** Changes a pull hands over at most (one apply round). */
const MAX_BATCH = 20_000;

/** pgoutput with values left as text. */
class TextPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const msg = super.parse(buffer) as Pgoutput.Message;
    if (msg.tag === 'relation') for (const c of msg.columns) c.parser = (raw: unknown) => raw;
    return msg;
  }
}

export interface StreamTable {
  schema: string;
  table: string;
  key: readonly string[];
  columns: readonly string[];
  updatedAt: string | null;
}

export async function openPgStream(url: string, slot: string, publication: string, from: string, table: StreamTable): Promise<FeedStream> {
  const service = new LogicalReplicationService(clientConfig(url), { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } });
  const plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
  const ready: FeedTransaction[] = [];
  let buffered = 0;
  let open: { changes: FeedChange[]; patch: Array<Extract<FeedChange, { kind: 'upsert' }>> } | null = null;
  let idleAt: bigint | null = null;
  let lastCommit = parseLsn(from);
  let acked = parseLsn(from);
  let failure: AaeError | null = null;
  let ended = false;
  let wake: (() => void) | null = null;
  let drained: (() => void) | null = null;
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  const ours = (r: Pgoutput.MessageRelation): boolean => r.schema === table.schema && r.name === table.table;
  const texts = (tuple: Record<string, unknown>, names: readonly string[]): Array<string | null | undefined> =>
    names.map((n) => {
      const v = tuple[n];
      return v === undefined ? undefined : v === null ? null : String(v);
    });

  const onChange = (msg: Pgoutput.Message): void => {
    if (open === null) return; // outside a transaction: nothing of ours
    const changes = open.changes;
    if (msg.tag === 'insert' || msg.tag === 'update') {
      if (!ours(msg.relation)) return;
      const keyTexts = texts(msg.new, table.key);
      if (keyTexts.some((k) => k === undefined || k === null)) {
        throw new AaeError('SOURCE_INVALID', `a ${msg.tag} of ${table.schema}.${table.table} arrived without its key columns`);
      }
      const key = keyBytesOf(keyTexts as string[]);
      if (msg.tag === 'update') {
        // The key changed: the old key goes (pgoutput sends the old key tuple only then, or always under REPLICA IDENTITY FULL).
        const before = msg.key ?? msg.old;
        if (before !== null) {
          const oldTexts = texts(before, table.key);
          if (oldTexts.every((k) => typeof k === 'string')) {
            const oldKey = keyBytesOf(oldTexts as string[]);
            if (Buffer.compare(oldKey, key) !== 0) changes.push({ kind: 'delete', key: oldKey });
          }
        }
      }
      const values = texts(msg.new, table.columns);
      if (values.some((v) => v === undefined)) {
        changes.push({ kind: 'refetch', key });
        return;
      }
      const u: Extract<FeedChange, { kind: 'upsert' }> = { kind: 'upsert', key, values: values as Array<string | null>, lastModified: -1 };
      if (table.updatedAt !== null) {
        const t = msg.new[table.updatedAt];
        const ms = typeof t === 'string' ? parseTimestampMs(t) : null;
        if (ms !== null) u.lastModified = ms;
      }
      if (u.lastModified < 0) open.patch.push(u);
      changes.push(u);
    } else if (msg.tag === 'delete') {
      if (!ours(msg.relation)) return;
      const before = msg.key ?? msg.old;
      if (before === null) throw new AaeError('SOURCE_INVALID', `a delete from ${table.schema}.${table.table} arrived without its key`);
      changes.push({ kind: 'delete', key: keyBytesOf(texts(before, table.key) as string[]) });
    } else if (msg.tag === 'truncate') {
      if (msg.relations.some((r) => r !== undefined && ours(r))) changes.push({ kind: 'truncate' });
    }
  };

  service.on('data', async (_lsn: string, msg: Pgoutput.Message) => {
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
        ready.push({ position: formatLsn(end), commitTime, changes: txn.changes });
        buffered += txn.changes.length;
      }
      notify();
    } else {
      onChange(msg);
    }
    while (buffered > MAX_BUFFERED && failure === null && !ended) await new Promise<void>((r) => (drained = r));
  });
  service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
    if (open === null) {
      const at = parseLsn(lsn);
      if (idleAt === null || at > idleAt) idleAt = at;
      notify();
    }
    if (shouldRespond) void sendStatus(acked, false);
  });
  service.on('error', (e: Error) => {
    failure ??= sourceError(e, `replication stream of slot ${slot}`, { feed: true });
    notify();
  });

  const sendStatus = async (position: bigint, ping: boolean): Promise<void> => {
    // The library reports its argument + 1 (the next byte wanted).
    if (position > 0n) await service.acknowledge(formatLsn(position - 1n), ping).catch(() => undefined);
  };

  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  service.on('start', () => started());
  const running = service.subscribe(plugin, slot, from).then(
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
    await service.destroy().catch(() => undefined);
    throw failure;
  }
  // Ask for a keepalive now: an idle slot answers with its position at once.
  void sendStatus(acked, true);

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
          if (buffered <= MAX_BUFFERED) {
            drained?.();
            drained = null;
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
        const timer = setTimeout(() => void sendStatus(acked, true), KEEPALIVE_ASK_MS);
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
      await sendStatus(acked, false);
    },
    async close(): Promise<void> {
      ended = true;
      drained?.();
      await service.destroy().catch(() => undefined);
      await running.catch(() => undefined);
    },
  };
}
