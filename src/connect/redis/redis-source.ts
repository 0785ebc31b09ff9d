import { AaeError } from '../../errors.js';
import type { ChangeSource, FeedStream, SnapshotRow, Subscription } from '../feed.js';
import { RedisTopology, redisError, type RedisNode } from './redis-connection.js';
import { openRedisStream, RedisSubscription, type NoticeClock } from './redis-feed.js';
import type { RedisSourceSpec } from './redis-spec.js';
import { readBatch, readValue, type ReadKey, type RedisValue } from './redis-value.js';

/**
 * Redis keys (one server, or a cluster's masters) as a keystore's change source (feed.ts).
 *
 * subscribe: PSUBSCRIBE to the keys' keyspace notifications on every master, confirmed, *then*
 * SCAN each master for the glob and read every key (redis-value.ts). A write during the scan is
 * both maybe-seen by the scan and certainly notified, and the feed's refetch reads its latest
 * value: nothing is lost, and what is seen twice is applied idempotently. In a cluster each
 * master's keys go into the one keystore: its tree is the XOR of the masters' trees (their key
 * sets are disjoint), which is exactly how TicTac trees merge.
 *
 * The subscription lives in this object (Redis has no server-side subscription to resume):
 * checkResume answers a gap for any subscription it does not hold unbroken, so a follower that
 * restarts, or whose subscriber lost its connection, rebuilds. See redis-feed.ts.
 */

/** Keys a SCAN call asks for (COUNT). */
const SCAN_COUNT = 1_000;
/**
 * SCAN steps scanned and read ahead of the one being handed over (scanSteps): enough GETRANGEs
 * queued at Redis to last while this process hashes and stores a batch (a step is ~1,000 keys,
 * ~100 KB of replies at 100-byte values), few enough that a stopped scan wastes little.
 */
export const SCAN_AHEAD = 6;
/**
 * Rows a snapshot batch hands to the keystore: about one SCAN step. The SCAN cursor only moves
 * on when this process reads Redis's replies, which it cannot while it hashes and stores a batch;
 * with batches of 5,000 rows Redis ran out of queued work during each one, and the build sat idle
 * a sixth of its scan (300k keys: 160–180k keys/s, against 185–193k with one step a batch and six
 * steps ahead, four runs each, alternated).
 */
const ROWS_PER_BATCH = 1_000;
/** Keys read in one pipeline (refetch, readValues). */
const READ_BATCH = 1_000;

export class RedisChangeSource implements ChangeSource {
  private readonly held = new Map<string, RedisSubscription>();
  /** The ticks every subscription's notifications take: positions that compare across rebuilds (redis-feed.ts). */
  private readonly clock: NoticeClock = { tick: 0 };
  /** The latest subscription: what currentPosition() measures. */
  private active: RedisSubscription | null = null;
  /** The read connections, or their opening: one promise, so calls that race for them share one topology (two opened at once left one open for good, and the process never exited). */
  private data: Promise<RedisTopology> | null = null;
  private closed = false;
  private readonly prefix: Buffer;
  private readonly notifyPrefix: Buffer;

  constructor(readonly spec: RedisSourceSpec) {
    this.prefix = Buffer.from(spec.prefix);
    this.notifyPrefix = Buffer.from(`__keyspace@${spec.db}__:`);
  }

  /** The connections for reads, (re)opened on demand. */
  topology(): Promise<RedisTopology> {
    // After close(), a call still in flight (a retry, say) must not open a set nothing would close.
    if (this.closed) return Promise.reject(new AaeError('STORE_CLOSED', 'the Redis change source is closed'));
    if (this.data === null) {
      const opening = this.openTopology();
      this.data = opening;
      // A failed opening is forgotten, so the next call tries again.
      opening.catch(() => {
        if (this.data === opening) this.data = null;
      });
    }
    return this.data;
  }

  /** Closes the topology `used` (if it is still the current one) so the next call opens a fresh one. */
  private async dropTopology(used: Promise<RedisTopology>): Promise<void> {
    if (this.data !== used) return;
    this.data = null;
    await used.then(
      (t) => t.close(),
      () => undefined,
    );
  }

  /** Every master seen so far: seeds for a cluster whose first node is down. */
  private readonly seen = new Set<string>();

  private async openTopology(): Promise<RedisTopology> {
    const t = await RedisTopology.open(this.spec, [...this.seen]);
    for (const m of t.masters) this.seen.add(m.url);
    return t;
  }

  /** Runs `fn` over the topology; once more over a fresh one if a connection failed or the cluster moved a slot. */
  private async withTopology<T>(fn: (t: RedisTopology) => Promise<T>): Promise<T> {
    const used = this.topology();
    try {
      return await fn(await used);
    } catch (e) {
      const moved = e instanceof Error && /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN)/.test(e.message);
      if (!(moved || (e instanceof AaeError && e.code === 'SOURCE_UNAVAILABLE') || (e instanceof Error && /closed|ECONNRE/i.test(e.message)))) throw redisError(e, 'reading keys');
      await this.dropTopology(used);
      try {
        return await fn(await this.topology());
      } catch (e2) {
        throw redisError(e2, 'reading keys');
      }
    }
  }

  /** The key name a keystore key stands for. */
  nameOf(key: Uint8Array): Buffer {
    return Buffer.concat([this.prefix, key]);
  }

  private keyOfName(name: Buffer): Buffer | null {
    return name.subarray(0, this.prefix.length).equals(this.prefix) ? name.subarray(this.prefix.length) : null;
  }

  private keyOfChannel = (channel: Buffer): Buffer | null => {
    if (!channel.subarray(0, this.notifyPrefix.length).equals(this.notifyPrefix)) return null;
    return this.keyOfName(Buffer.from(channel.subarray(this.notifyPrefix.length)));
  };

  /** Why notifications cannot be trusted on this server now (null: they can). */
  async checkNotifications(node: RedisNode): Promise<string | null> {
    let flags: string;
    try {
      const r = await node.run<Buffer[]>(['CONFIG', 'GET', 'notify-keyspace-events']);
      flags = r[1]?.toString() ?? '';
    } catch (e) {
      if (e instanceof Error && /unknown command|NOPERM/i.test(e.message)) return null; // CONFIG renamed or forbidden: cannot check (docs/CONNECT.md)
      throw redisError(e, 'reading notify-keyspace-events');
    }
    return notificationsMissing(flags);
  }

  async subscribe(name: string, options: { signal?: AbortSignal } = {}): Promise<Subscription> {
    await this.drop(name);
    const t = await this.openTopology();
    let sub: RedisSubscription;
    try {
      for (const m of t.masters) {
        const why = await this.checkNotifications(m);
        if (why !== null) throw new AaeError('SOURCE_INVALID', `${m.url.replace(/\/\/[^@]*@/, '//')}: ${why}`);
      }
      sub = await RedisSubscription.open(name, t, `__keyspace@${this.spec.db}__:${this.spec.match}`, this.keyOfChannel, this.clock);
    } catch (e) {
      await t.close();
      throw e;
    }
    this.held.set(name, sub);
    this.active = sub;
    const spec = this.spec;
    const self = this;
    const scanTime = Date.now();
    return {
      name,
      position: String(sub.start),
      async *rows(signal = options.signal): AsyncIterable<SnapshotRow[]> {
        let batch: SnapshotRow[] = [];
        for (const node of t.masters) {
          for await (const { names, read } of scanSteps(node, spec, signal)) {
            for (let i = 0; i < names.length; i++) {
              const r = read[i]!;
              const key = r === null ? null : self.keyOfName(names[i]!);
              if (r === null || key === null) continue;
              batch.push(r.digest === undefined ? { key, values: r.values, lastModified: scanTime } : { key, values: r.values, lastModified: scanTime, digest: r.digest });
            }
            if (batch.length >= ROWS_PER_BATCH) {
              yield batch;
              batch = [];
            }
          }
        }
        if (batch.length > 0) yield batch;
      },
      async close() {
        await t.close();
      },
    };
  }

  async checkResume(name: string, _position: string): Promise<string | null> {
    const sub = this.held.get(name);
    if (sub === undefined) return `Redis keeps no change log: the notifications since subscription ${name} was last held by a running follower are lost`;
    return sub.broken;
  }

  async stream(name: string, position: string): Promise<FeedStream> {
    const sub = this.held.get(name);
    if (sub === undefined) throw new AaeError('FEED_GAP', `Redis subscription ${name} is not held by this process`);
    this.active = sub;
    return openRedisStream(sub, Number(position), async () => {
      const used = this.topology();
      try {
        const t = await used;
        const now = await t.currentSignature();
        if (now !== sub.signature) return `the cluster's masters changed (a failover or a reshard): was ${sub.signature}, now ${now}`;
        for (const m of t.masters) {
          const why = await this.checkNotifications(m);
          if (why !== null) return why;
        }
        return null;
      } catch (e) {
        await this.dropTopology(used);
        return `the source could not be checked (${(e as Error).message})`;
      }
    });
  }

  async currentPosition(): Promise<string> {
    const sub = this.active;
    if (sub !== null) await sub.barrier();
    // A broken subscription (or none) vouches for nothing received: answer a tick past everything,
    // which only a new subscription (a rebuild, whose snapshot comes after) can reach.
    if (sub === null || sub.broken !== null) return String(++this.clock.tick);
    return String(this.clock.tick);
  }

  comparePositions(a: string, b: string): number {
    return Number(a) - Number(b);
  }

  distance(a: string, b: string): number {
    return Math.max(0, Number(b) - Number(a));
  }

  async fetchRows(keys: readonly Uint8Array[]): Promise<Array<SnapshotRow | null>> {
    const now = Date.now();
    return this.withTopology(async (t) => {
      const out: Array<SnapshotRow | null> = new Array<SnapshotRow | null>(keys.length).fill(null);
      const byNode = new Map<RedisNode, number[]>();
      keys.forEach((k, i) => {
        const n = t.nodeFor(this.nameOf(k));
        const list = byNode.get(n);
        if (list === undefined) byNode.set(n, [i]);
        else list.push(i); // not a copy per key: a batch of 10,000 keys on one node copied 50M entries
      });
      for (const [node, idx] of byNode) {
        for (let j = 0; j < idx.length; j += READ_BATCH) {
          const part = idx.slice(j, j + READ_BATCH);
          const read = await readBatch(node, part.map((i) => this.nameOf(keys[i]!)), this.spec.fields);
          read.forEach((r, m) => {
            const i = part[m]!;
            if (r !== null) out[i] = r.digest === undefined ? { key: keys[i]!, values: r.values, lastModified: now } : { key: keys[i]!, values: r.values, lastModified: now, digest: r.digest };
          });
        }
      }
      return out;
    });
  }

  /**
   * The current values of some keys, as canonical bytes with their hash, and their expiry time
   * (PEXPIRETIME: absolute ms, null without one): what a keystore node's object reads serve.
   */
  async readValues(keys: readonly Uint8Array[]): Promise<Array<(RedisValue & { expiresAt: number | null }) | null>> {
    return this.withTopology(async (t) =>
      Promise.all(
        keys.map(async (k) => {
          const node = t.nodeFor(this.nameOf(k));
          const v = await readValue(node, this.nameOf(k), this.spec.fields, true);
          if (v === null) return null;
          const at = Number(await node.run<number>(['PEXPIRETIME', this.nameOf(k)]));
          return { ...v, expiresAt: at >= 0 ? at : null };
        }),
      ),
    );
  }

  async drop(name: string): Promise<void> {
    const sub = this.held.get(name);
    if (sub === undefined) return;
    this.held.delete(name);
    if (this.active === sub) this.active = null;
    await sub.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const name of [...this.held.keys()]) await this.drop(name);
    if (this.data !== null) await this.dropTopology(this.data);
  }
}

/** One SCAN step of a master: the keys it found, each read (null: gone, or not the keystore's). */
interface ScanStep {
  names: Buffer[];
  read: Array<ReadKey | null>;
}

/**
 * A master's SCAN, step by step, with up to SCAN_AHEAD steps scanned and read ahead of the one
 * being handed over. Redis answers one connection's commands in order, so the order they are sent
 * in decides what overlaps: as soon as a SCAN answers, the *next* SCAN is sent, then this step's
 * GETRANGEs. The next cursor then comes back before this step's values, and the step after it is
 * on its way to Redis while these values are still being read and hashed here. Sent the other way
 * round (reads, then the next SCAN), each SCAN answered only after the reads before it, so Redis
 * and this process took turns, each idle while the other worked (a quarter of the scan).
 */
export async function* scanSteps(node: RedisNode, spec: RedisSourceSpec, signal: AbortSignal | undefined): AsyncGenerator<ScanStep> {
  const ready: Array<Promise<ScanStep>> = [];
  let cursor = '0';
  let scanning = false;
  let finished = false;
  let failure: unknown = null;
  /** Steps scanned and not yet handed over (their reads sent, or done). */
  let ahead = 0;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const pump = (): void => {
    if (scanning || finished || failure !== null || ahead >= SCAN_AHEAD) return;
    scanning = true;
    node.run<[Buffer, Buffer[]]>(['SCAN', cursor, 'MATCH', spec.match, 'COUNT', String(SCAN_COUNT)]).then(
      ([next, found]) => {
        scanning = false;
        cursor = next.toString();
        finished = cursor === '0';
        ahead++;
        const names = dedupe(found);
        pump(); // the next SCAN goes out before this step's reads (see above)
        const step = readBatch(node, names, spec.fields).then(
          (read) => ({ names, read }),
          (e: unknown) => {
            throw redisError(e, 'snapshot read');
          },
        );
        step.catch(() => undefined); // awaited in order below, unless the scan is stopped first
        ready.push(step);
        notify();
      },
      (e: unknown) => {
        scanning = false;
        failure = redisError(e, 'snapshot SCAN');
        notify();
      },
    );
  };
  pump();
  for (;;) {
    if (signal?.aborted) throw new AaeError('ABORTED', 'snapshot scan stopped', { cause: signal.reason });
    if (ready.length === 0) {
      if (failure !== null) throw failure;
      if (finished && !scanning) return;
      await new Promise<void>((r) => (wake = r));
      continue;
    }
    const step = await ready.shift()!;
    ahead--;
    pump();
    yield step;
  }
}

function dedupe(names: Buffer[]): Buffer[] {
  const seen = new Set<string>();
  return names.filter((n) => {
    const id = n.toString('latin1');
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** The classes of notify-keyspace-events a keystore needs: keyspace events (K) of every key type and expiry/eviction. */
export function notificationsMissing(flags: string): string | null {
  const f = flags.includes('A') ? `${flags}g$lshzxet` : flags;
  const missing = ['K', 'g', '$', 'l', 's', 'h', 'z', 'x', 'e', 't'].filter((c) => !f.includes(c));
  if (missing.length === 0) return null;
  return `keyspace notifications are off or partial (notify-keyspace-events is '${flags}'; it needs K and A): run CONFIG SET notify-keyspace-events KA (and keep it in redis.conf)`;
}
