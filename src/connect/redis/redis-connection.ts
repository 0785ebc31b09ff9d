import { isAscii } from 'node:buffer';
import calculateSlot from 'cluster-key-slot';
import { createClient, RESP_TYPES } from 'redis';
import { AaeError } from '../../errors.js';
import type { RedisSourceSpec } from './redis-spec.js';

/**
 * Connections to a Redis server or cluster, as the keystore uses them: every reply as bytes
 * (keys and values are byte strings; nothing becomes a JS string on the way to the hash), no
 * automatic reconnect (a Redis feed that reconnects has lost notifications, and must say so), and
 * errors mapped to the keystore's codes (SOURCE_UNAVAILABLE for a lost or refused connection).
 *
 * A cluster is reached through its masters, found with CLUSTER SLOTS: each master gets its own
 * connection (SCAN and keyspace notifications are per node), and a key's reads and writes go to
 * the master of its slot. `signature()` names the masters and their slot ranges, so a feed can
 * tell that a failover or a reshard changed them.
 */

export type RedisArg = string | Buffer;
export type RedisClient = ReturnType<typeof createClient>;

const BYTES = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer } } as const;
/** Connect and command timeout: a server that does not answer in this long is unavailable. */
const CONNECT_TIMEOUT_MS = 10_000;

/** The URL without its password, for messages and logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:/@]*):[^@]*@/, '$1:***@');
}

export function redisError(e: unknown, what: string): AaeError {
  if (e instanceof AaeError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/^(NOAUTH|WRONGPASS|NOPERM)/.test(msg)) return new AaeError('SOURCE_INVALID', `${what}: ${msg} (check the user and password in the URL, and its ACL)`, { cause: e });
  return new AaeError('SOURCE_UNAVAILABLE', `${what}: ${msg}`, { cause: e });
}

/**
 * A key as a command argument: the same bytes, as a string when they are ASCII. node-redis writes
 * a command of string arguments as one chunk and a Buffer argument as three (the text before it,
 * the Buffer, the text after), and the snapshot's pipelines of GETRANGEs spent a fifth of their time
 * in the socket's writev of those chunks. A string argument is written as UTF-8, which is the same
 * bytes only for ASCII; any other key stays a Buffer.
 */
export function keyArg(key: Buffer): RedisArg {
  return isAscii(key) ? key.toString('latin1') : key;
}

/** One server: a connection whose replies are bytes. */
export class RedisNode {
  private constructor(
    readonly url: string,
    readonly client: RedisClient,
  ) {}

  static async connect(url: string, db = 0): Promise<RedisNode> {
    const client = createClient({ url, database: db, socket: { reconnectStrategy: false, connectTimeout: CONNECT_TIMEOUT_MS } });
    client.on('error', () => undefined); // surfaced by the command that fails, never as an unhandled event
    try {
      await client.connect();
    } catch (e) {
      throw redisError(e, `cannot connect to ${redactRedisUrl(url)}`);
    }
    return new RedisNode(url, client);
  }

  /** A command whose reply keeps bytes as Buffers. Redis's own error replies (WRONGTYPE …) are thrown as they are. */
  run<T = unknown>(args: readonly RedisArg[]): Promise<T> {
    return this.client.sendCommand(args as RedisArg[], BYTES) as Promise<T>;
  }

  /** A new connection to the same server (the subscriber, a WATCH transaction). */
  duplicate(): RedisClient {
    const c = this.client.duplicate();
    c.on('error', () => undefined);
    return c;
  }

  async close(): Promise<void> {
    if (this.client.isOpen) await this.client.close().catch(() => this.client.destroy());
  }
}

/** A standalone server, or a cluster's masters and who holds which slot. */
export class RedisTopology {
  private constructor(
    readonly spec: RedisSourceSpec,
    readonly masters: RedisNode[],
    /** slot → index into masters (cluster only). */
    private readonly slots: Uint16Array | null,
    readonly signature: string,
  ) {}

  /** Opens the topology from the spec's URL, or (a cluster whose seed node is down) from any of `seeds`. */
  static async open(spec: RedisSourceSpec, seeds: readonly string[] = []): Promise<RedisTopology> {
    let seed: RedisNode | null = null;
    let failure: unknown;
    for (const url of [spec.url, ...(spec.cluster ? seeds.filter((s) => s !== spec.url) : [])]) {
      try {
        seed = await RedisNode.connect(url, spec.db);
        break;
      } catch (e) {
        failure = e;
      }
    }
    if (seed === null) throw failure;
    if (!spec.cluster) {
      return new RedisTopology(spec, [seed], null, `standalone ${redactRedisUrl(spec.url)}`);
    }
    try {
      const { masters, slots, signature } = await discoverMasters(seed, spec.url);
      const nodes: RedisNode[] = [];
      try {
        for (const m of masters) nodes.push(await RedisNode.connect(m));
      } catch (e) {
        await Promise.all(nodes.map((n) => n.close()));
        throw e;
      }
      return new RedisTopology(spec, nodes, slots, signature);
    } finally {
      await seed.close();
    }
  }

  /** The master that holds `key`. */
  nodeFor(key: Uint8Array): RedisNode {
    if (this.slots === null) return this.masters[0]!;
    return this.masters[this.slots[calculateSlot(Buffer.from(key.buffer, key.byteOffset, key.byteLength))]!]!;
  }

  /** The signature the cluster shows now (CLUSTER SLOTS asked of the masters we hold). */
  async currentSignature(): Promise<string> {
    if (this.slots === null) return this.signature;
    let last: unknown;
    for (const n of this.masters) {
      try {
        return (await discoverMasters(n, this.spec.url)).signature;
      } catch (e) {
        last = e;
      }
    }
    throw redisError(last, 'reading the cluster topology');
  }

  async close(): Promise<void> {
    await Promise.all(this.masters.map((n) => n.close()));
  }
}

type SlotsReply = Array<[number, number, [Buffer, number, Buffer?, ...unknown[]], ...unknown[]]>;

async function discoverMasters(node: RedisNode, url: string): Promise<{ masters: string[]; slots: Uint16Array; signature: string }> {
  let reply: SlotsReply;
  try {
    reply = await node.run<SlotsReply>(['CLUSTER', 'SLOTS']);
  } catch (e) {
    throw redisError(e, 'CLUSTER SLOTS (is it a cluster?)');
  }
  const base = new URL(url);
  const byAddr = new Map<string, number>();
  const masters: string[] = [];
  const slots = new Uint16Array(16384).fill(0xffff);
  const ranges: string[] = [];
  for (const [from, to, [host, port, id]] of reply) {
    const addr = `${host.toString() || base.hostname}:${port}`;
    let i = byAddr.get(addr);
    if (i === undefined) {
      i = masters.length;
      byAddr.set(addr, i);
      const u = new URL(url);
      u.hostname = host.toString() || base.hostname;
      u.port = String(port);
      masters.push(u.toString());
    }
    slots.fill(i, from, to + 1);
    ranges.push(`${from}-${to}@${addr}/${id?.toString() ?? ''}`);
  }
  const missing = slots.indexOf(0xffff);
  if (missing >= 0) throw new AaeError('SOURCE_UNAVAILABLE', `the cluster does not serve slot ${missing} (no master holds it)`);
  return { masters, slots, signature: ranges.sort().join(' ') };
}
