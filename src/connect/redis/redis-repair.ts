import { WatchError } from 'redis';
import { AaeError, throwIfAborted } from '../../errors.js';
import { decodeRowBytes, type RowValues } from '../row-bytes.js';
import { commandsForCanonical } from './redis-decode.js';
import { redisError, type RedisArg, type RedisClient } from './redis-connection.js';
import type { RedisChangeSource } from './redis-source.js';
import { readValue } from './redis-value.js';
import type { ValueDigest } from '../feed.js';

/**
 * Repair's writes into Redis, each conditional on the key still holding the value the decision
 * saw (its hash; null: absent), so a write that landed since is never overwritten. Per key, on a
 * connection of its own to the key's master: WATCH the key, read and hash its value as the
 * keystore does (redis-value.ts), and only if it matches, MULTI … EXEC the write. EXEC fails if
 * anything touched the key after the WATCH (including an expiry), and then the write is skipped.
 *
 * What is written:
 * - `row`: a string (one value: SET), or under a fields mapping the hash's fields (DEL, then HSET
 *   of the non-null fields), so a row of a database refreshes its cache entry;
 * - `dump`: a DUMP payload (RESTORE … REPLACE), for Redis → Redis repair of any type;
 * - `canonical`: a value's canonical bytes (what readValues and a keystore node's object reads
 *   give), written back as the same type (redis-decode.ts);
 * - null: DEL.
 * `ttlMs` (optional) is set with the value (PX); without it, a written key has no expiry.
 */

export type RedisWriteValue = { row: RowValues } | { dump: Uint8Array } | { canonical: Uint8Array };

export interface RedisWrite {
  key: Uint8Array;
  /** The hash the decision saw: the key must still hash to it; null: the key must still be absent; absent: no condition. */
  expect?: number | null;
  value: RedisWriteValue | null;
  ttlMs?: number;
}

export type RedisWriteOutcome = 'written' | 'skipped';

export interface RedisWriteReport {
  outcomes: RedisWriteOutcome[];
  /** One per write: the value the write found (hash and size of its canonical bytes), or null where the key was absent. */
  found: Array<ValueDigest | null>;
  written: number;
  skipped: number;
}

export interface RedisWriteOptions {
  signal?: AbortSignal;
  /** Called between the check and MULTI/EXEC (tests inject a racing write here). */
  beforeExec?: (key: Uint8Array) => Promise<void>;
}

export async function writeRedis(source: RedisChangeSource, writes: readonly RedisWrite[], options: RedisWriteOptions = {}): Promise<RedisWriteReport> {
  const fields = source.spec.fields;
  for (const w of writes) {
    if (w.value !== null && 'row' in w.value) {
      const want = fields === null ? 1 : fields.length;
      if (w.value.row.length !== want) throw new AaeError('INVALID_ARGUMENT', `a row to write into Redis has ${w.value.row.length} value(s); the keystore's mapping has ${want}`);
      if (fields === null && w.value.row[0] === null) throw new AaeError('INVALID_ARGUMENT', 'a Redis string cannot hold a NULL: write null (a delete) instead');
    }
  }
  const topology = await source.topology();
  const conns = new Map<string, RedisClient>();
  const outcomes: RedisWriteOutcome[] = [];
  const found: Array<ValueDigest | null> = [];
  try {
    for (const w of writes) {
      throwIfAborted(options.signal);
      const node = topology.nodeFor(source.nameOf(w.key));
      let conn = conns.get(node.url);
      if (conn === undefined) {
        conn = node.duplicate();
        await conn.connect().catch((e: unknown) => {
          throw redisError(e, 'connecting for repair writes');
        });
        conns.set(node.url, conn);
      }
      const r = await writeOne(conn, node, source.nameOf(w.key), w, fields, options.beforeExec);
      outcomes.push(r.outcome);
      found.push(r.found);
    }
  } finally {
    await Promise.all([...conns.values()].map((c) => c.close().catch(() => c.destroy())));
  }
  const written = outcomes.filter((o) => o === 'written').length;
  return { outcomes, found, written, skipped: outcomes.length - written };
}

/** Tries of an unconditional write whose key kept changing between its read and EXEC. */
const UNCONDITIONAL_TRIES = 5;

async function writeOne(
  conn: RedisClient,
  node: Parameters<typeof readValue>[0],
  name: Buffer,
  w: RedisWrite,
  fields: readonly string[] | null,
  beforeExec?: (key: Uint8Array) => Promise<void>,
): Promise<{ outcome: RedisWriteOutcome; found: ValueDigest | null }> {
  let found: ValueDigest | null = null;
  for (let tries = 1; ; tries++) {
    try {
      await conn.watch(name);
      // Read through the key's node connection: WATCH is on `conn`, and any write after it, from
      // anyone, aborts our EXEC; the read itself may use any connection.
      const now = await readValue(node, name, fields, false);
      found = now === null ? null : now.digest;
      if (w.expect !== undefined && (found === null ? null : found.hash) !== w.expect) {
        await conn.unwatch();
        return { outcome: 'skipped', found };
      }
      await beforeExec?.(w.key);
      const m = conn.multi();
      for (const cmd of commandsFor(name, w, fields)) m.addCommand(cmd);
      await m.exec();
      return { outcome: 'written', found };
    } catch (e) {
      if (!(e instanceof WatchError)) throw redisError(e, 'a repair write');
      // A conditional write over a key touched since its check is skipped; an unconditional one reads again.
      if (w.expect !== undefined || tries >= UNCONDITIONAL_TRIES) return { outcome: 'skipped', found };
    }
  }
}

function commandsFor(name: Buffer, w: RedisWrite, fields: readonly string[] | null): RedisArg[][] {
  const px = w.ttlMs === undefined ? [] : ['PX', String(w.ttlMs)];
  if (w.value === null) return [['DEL', name]];
  if ('dump' in w.value) return [['RESTORE', name, String(w.ttlMs ?? 0), Buffer.from(w.value.dump), 'REPLACE']];
  if ('canonical' in w.value) {
    const cmds = fields === null ? commandsForCanonical(name, w.value.canonical) : commandsForRow(name, decodeRowBytes(w.value.canonical, fields.length), fields);
    if (w.ttlMs !== undefined) cmds.push(['PEXPIRE', name, String(w.ttlMs)]);
    return cmds;
  }
  const row = w.value.row;
  if (fields === null) return [['SET', name, bytes(row[0]!), ...px]];
  const cmds = commandsForRow(name, row, fields);
  if (w.ttlMs !== undefined) cmds.push(['PEXPIRE', name, String(w.ttlMs)]);
  return cmds;
}

const bytes = (v: string | Uint8Array): RedisArg => (typeof v === 'string' ? v : Buffer.from(v));

/** A row as a hash of the mapped fields: DEL, then HSET of the non-null ones. */
function commandsForRow(name: Buffer, row: RowValues, fields: readonly string[]): RedisArg[][] {
  const set = fields.flatMap((f, i) => (row[i] === null || row[i] === undefined ? [] : [f, bytes(row[i]!)]));
  const cmds: RedisArg[][] = [['DEL', name]];
  if (set.length > 0) cmds.push(['HSET', name, ...set]);
  return cmds;
}
