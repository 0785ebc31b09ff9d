import { AaeError } from '../../errors.js';
import type { FeedBatch, FeedChange, FeedStream } from '../feed.js';
import type { RedisClient, RedisTopology } from './redis-connection.js';
import { redisError } from './redis-connection.js';

/**
 * A Redis keystore's change feed: keyspace notifications (`__keyspace@<db>__:<key>`, one PSUBSCRIBE
 * per master, for the keystore's glob), each one a *refetch* of its key: the follower reads the
 * key's current value and applies that. A notification says only that a key changed, and reading
 * after it can never go back in time, so applying them late, twice, or merged is harmless.
 *
 * Redis keeps no change log and no subscription state: a notification published while no
 * connection listened is gone. So a feed is only as good as its connections:
 * - it is subscribed before the snapshot's SCAN starts, and buffers what arrives meanwhile;
 * - any disconnect, of any master's subscriber, breaks it for good (a gap: unreliable, rebuild, swap);
 * - a change of the masters (a failover, a reshard) or of notify-keyspace-events breaks it too;
 * - it lives in this process only: a follower that stops and starts again rebuilds.
 * This is best effort, where PostgreSQL's slot is a guarantee (docs/CONNECT.md).
 *
 * Positions are ticks of one clock per change source (`NoticeClock`), shared by its
 * subscriptions: every notification received, by whichever subscription, takes the next tick. A
 * subscription starts at the tick its PSUBSCRIBEs were confirmed at (its snapshot, scanned after,
 * covers everything before), and its feed is idle at the clock's current tick once it has
 * delivered all it received. So positions of a subscription and of the one a rebuild replaces it
 * with compare, as PostgreSQL's LSNs and etcd's revisions do, and a wait for a position taken
 * before a rebuild (a keystore node's read-your-writes) ends after it. A PING on each subscriber
 * connection is a barrier: Redis queues a notification on the subscriber's connection when the
 * write executes, before it answers the writer, and the PING's reply comes after everything
 * queued before it; so once the PINGs return, every write acknowledged before them has been
 * received, with a tick at most the clock's then.
 */

/** Notifications one batch takes (their keys are deduplicated and refetched together). */
const BATCH = 10_000;
/** How long next() waits for a notification before answering idle. */
const IDLE_WAIT_MS = 250;
/** How often a following feed checks the masters and the notification setting. */
const CHECK_EVERY_MS = 2_000;
/** Notifications buffered beyond this (a follower far behind a write storm) break the feed rather than the process. */
export const MAX_BUFFERED = 5_000_000;

interface Notice {
  key: Buffer;
  at: number;
  tick: number;
}

/** The tick clock of one change source's subscriptions (see the file comment). */
export interface NoticeClock {
  tick: number;
}

/** One subscription: its subscriber connections and the notifications they delivered. */
export class RedisSubscription {
  /** Notifications received and not yet acknowledged, in tick order. */
  private queue: Notice[] = [];
  /** The tick the subscription started at: its snapshot covers everything before. */
  start = 0;
  private waiter: (() => void) | null = null;
  broken: string | null = null;

  private constructor(
    readonly name: string,
    readonly signature: string,
    private readonly subscribers: RedisClient[],
    private readonly clock: NoticeClock,
  ) {}

  /** Subscribes on every master of `topology`; resolves once every PSUBSCRIBE is confirmed. */
  static async open(name: string, topology: RedisTopology, channelPattern: string, keyOf: (channel: Buffer) => Buffer | null, clock: NoticeClock): Promise<RedisSubscription> {
    const subs: RedisClient[] = [];
    const s = new RedisSubscription(name, topology.signature, subs, clock);
    try {
      for (const master of topology.masters) {
        const c = master.duplicate();
        subs.push(c);
        const lost = (why: string) => () => s.breakWith(`the notification connection to ${master.url.replace(/\/\/[^@]*@/, '//')} ${why}: notifications may have been lost`);
        c.on('error', (e: Error) => lost(`failed (${e.message})`)());
        c.on('end', lost('closed'));
        await c.connect();
        await c.pSubscribe(channelPattern, (_message: Buffer, channel: Buffer) => s.push(keyOf(channel)), true);
      }
    } catch (e) {
      await s.close();
      throw redisError(e, 'subscribing to keyspace notifications');
    }
    s.start = clock.tick;
    return s;
  }

  /** The clock's current tick: every notification this subscription received has a tick at most this. */
  get now(): number {
    return this.clock.tick;
  }

  private push(key: Buffer | null): void {
    if (key === null || this.broken !== null) return;
    this.queue.push({ key, at: Date.now(), tick: ++this.clock.tick });
    if (this.queue.length > MAX_BUFFERED) this.breakWith(`more than ${MAX_BUFFERED} notifications are waiting to be applied`);
    this.wake();
  }

  breakWith(reason: string): void {
    if (this.broken === null) this.broken = reason;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Waits until a notification arrives, the feed breaks, `ms` pass or the signal fires. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        if (this.waiter === done) this.waiter = null;
        resolve();
      };
      const t = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.waiter = done;
    });
  }

  /** Up to `max` notifications with ticks after `position`. */
  after(position: number, max: number): Notice[] {
    const from = this.firstAfter(position);
    return this.queue.slice(from, from + max);
  }

  /** Forgets the notifications up to `position` (applied durably). */
  trim(position: number): void {
    const n = this.firstAfter(position);
    if (n > 0) this.queue = this.queue.slice(n);
  }

  /** The index of the first queued notification with a tick after `position` (binary search: ticks ascend). */
  private firstAfter(position: number): number {
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queue[mid]!.tick <= position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A barrier: resolves when every notification for a write acknowledged before the call has been received. */
  async barrier(): Promise<void> {
    try {
      await Promise.all(this.subscribers.map((c) => c.ping()));
    } catch (e) {
      this.breakWith(`a subscriber did not answer a PING (${(e as Error).message})`);
    }
  }

  async close(): Promise<void> {
    this.breakWith('closed');
    await Promise.all(this.subscribers.map((c) => (c.isOpen ? c.close().catch(() => c.destroy()) : undefined)));
  }
}

/** Checks that can break a feed without a disconnect: the masters changed, or notifications were turned off. */
export type FeedCheck = () => Promise<string | null>;

export function openRedisStream(sub: RedisSubscription, from: number, check: FeedCheck): FeedStream {
  let position = from;
  let lastCheck = Date.now();
  /**
   * The clock's tick at the last idle answer. Nothing pending at a tick not yet answered idle is
   * answered at once: a catch-up (`follow --once`, just after a build) used to wait IDLE_WAIT_MS
   * to learn it had nothing to do. Only a second idle at the same tick waits, so a follower with
   * nothing to apply still polls at that pace.
   */
  let idleAt: number | null = null;
  const gap = (): never => {
    throw new AaeError('FEED_GAP', `Redis subscription ${sub.name}: ${sub.broken}`);
  };
  return {
    async next(signal?: AbortSignal): Promise<FeedBatch> {
      for (let waited = false; ; waited = true) {
        if (signal?.aborted) throw new AaeError('ABORTED', 'stopped', { cause: signal.reason });
        if (sub.broken !== null) gap();
        if (Date.now() - lastCheck >= CHECK_EVERY_MS) {
          lastCheck = Date.now();
          const why = await check();
          if (why !== null) sub.breakWith(why);
          if (sub.broken !== null) gap();
        }
        // Everything received so far has a tick at most `now`: read it first, then the queue.
        const now = sub.now;
        const notices = sub.after(position, BATCH);
        if (notices.length > 0) {
          const keys = new Map<string, Buffer>();
          for (const n of notices) keys.set(n.key.toString('latin1'), n.key);
          const changes: FeedChange[] = [...keys.values()].map((key) => ({ kind: 'refetch', key }));
          position = notices[notices.length - 1]!.tick;
          return { kind: 'transactions', transactions: [{ position: String(position), commitTime: notices[0]!.at, changes }] };
        }
        if (waited || idleAt !== now) {
          // Nothing of this subscription's is pending: every tick up to `now` has been delivered.
          idleAt = now;
          position = Math.max(position, now);
          return { kind: 'idle', position: String(position) };
        }
        await sub.wait(IDLE_WAIT_MS, signal);
      }
    },
    async acknowledge(p: string): Promise<void> {
      sub.trim(Number(p));
    },
    async close(): Promise<void> {
      // The subscription outlives its streams (the follower streams again after a scheduled
      // rebuild check); it ends with drop() or the source's close().
    },
  };
}
