import type { Etcd3, IWatchResponse } from 'etcd3';
import { AaeError } from '../../errors.js';
import type { ChangeSource, FeedBatch, FeedChange, FeedStream, FeedTransaction, SnapshotRow, Subscription } from '../feed.js';
import { isClockCounter, sourceActor } from '../keystore-clock.js';
import { etcdClient, etcdError, isCompacted } from './etcd-connection.js';
import { prefixEnd, type EtcdSourceSpec } from './etcd-spec.js';

/**
 * The keys under a prefix of an etcd cluster as a keystore's change source (feed.ts).
 *
 * etcd keeps a history, numbered by revision, so its feed is exact:
 * - the snapshot is a range read of the prefix *at* revision R (the revision of its first page;
 *   every later page reads at R too), so it is one consistent view however long it takes;
 * - the feed is a watch from R + 1: every put and delete after the snapshot, grouped by revision
 *   (one etcd transaction), in order;
 * - the position is the last revision applied; a follower that stops resumes from it, whatever
 *   the time in between, unless etcd compacted its history past it. A compacted revision is a gap
 *   (unreliable, rebuild, swap), found when resuming or when the watch is cancelled for it; so is
 *   every other watch error and cancellation, and a source whose revision went backwards (a
 *   restore from an older backup). A lost connection is not a gap: the follower reconnects and
 *   resumes from its checkpoint, which the history makes exact.
 *
 * Caught up: when no event is pending, the feed asks for the current revision N and checks, with
 * two count-only range reads, that no key of the prefix changed in (position, N]: none has a
 * mod revision in it, and every key that existed at `position` still exists with its old mod
 * revision. Then N is a position every change before which has been delivered (etcd's own watch
 * progress notification could run ahead of unsent events before 3.4.24 and 3.5.8).
 */

/** Keys a snapshot page reads. */
const PAGE = 2_000;
const ROWS_PER_BATCH = 5_000;
const IDLE_WAIT_MS = 250;
/** Events buffered beyond this break the feed (a gap) rather than the process. */
const MAX_BUFFERED = 2_000_000;
/** Keys per refetch read. */
const READ_BATCH = 500;

export class EtcdChangeSource implements ChangeSource {
  private client: Etcd3 | null = null;
  private readonly prefix: Buffer;
  private readonly end: Buffer;

  constructor(readonly spec: EtcdSourceSpec) {
    this.prefix = Buffer.from(spec.prefix);
    this.end = prefixEnd(this.prefix);
  }

  etcd(): Etcd3 {
    if (this.client === null) this.client = etcdClient(this.spec.endpoints);
    return this.client;
  }

  /** Closes the connection (the next call opens a new one): a lost connection, or a test forcing one. */
  dropConnection(): void {
    const c = this.client;
    this.client = null;
    const open = [...this.watches];
    this.watches.clear();
    for (const w of open) w.cancel(); // a closed client lets its calls run on: end them
    c?.close();
  }

  private readonly watches = new Set<{ cancel(): void }>();

  /** The etcd key a keystore key stands for. */
  nameOf(key: Uint8Array): Buffer {
    return Buffer.concat([this.prefix, key]);
  }

  private keyOf(name: Buffer): Buffer {
    return name.subarray(this.prefix.length);
  }

  /** The actor of this prefix's history in the cluster `clusterId` (docs/FORMAT.md, "Keystore clocks"). */
  private actorOf(clusterId: string): string {
    return sourceActor(['etcd', clusterId, this.spec.prefix]);
  }

  /** The cluster's current revision. */
  async revision(): Promise<number> {
    try {
      const r = await this.etcd().kv.range({ key: this.prefix, range_end: this.end, count_only: true });
      return Number(r.header.revision);
    } catch (e) {
      throw etcdError(e, 'reading the current revision');
    }
  }

  async subscribe(name: string, options: { signal?: AbortSignal } = {}): Promise<Subscription> {
    const kv = this.etcd().kv;
    const first = await kv.range({ key: this.prefix, range_end: this.end, limit: PAGE }).catch((e: unknown) => {
      throw etcdError(e, `reading ${JSON.stringify(this.spec.prefix)}`);
    });
    const rev = first.header.revision;
    const scanTime = Date.now();
    const self = this;
    const counter = Number(rev);
    return {
      name,
      position: String(rev),
      // Position clocks (keystore-clock.ts): one history per etcd cluster (its id) and prefix; the counter is the revision.
      ...(isClockCounter(counter) ? { clock: { actor: this.actorOf(first.header.cluster_id), counter } } : {}),
      async *rows(signal = options.signal): AsyncIterable<SnapshotRow[]> {
        let page = first;
        let batch: SnapshotRow[] = [];
        for (;;) {
          for (const kv of page.kvs) batch.push({ key: self.keyOf(kv.key), values: [kv.value], lastModified: scanTime });
          if (batch.length >= ROWS_PER_BATCH) {
            yield batch;
            batch = [];
          }
          if (!page.more || page.kvs.length === 0) break;
          if (signal?.aborted) throw new AaeError('ABORTED', 'snapshot scan stopped', { cause: signal.reason });
          const next = Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.from([0])]);
          try {
            page = await kv.range({ key: next, range_end: self.end, limit: PAGE, revision: rev });
          } catch (e) {
            if (isCompacted(e)) throw new AaeError('FEED_GAP', `etcd compacted revision ${rev} while the snapshot was read; rebuild`, { cause: e });
            throw etcdError(e, 'snapshot range read');
          }
        }
        if (batch.length > 0) yield batch;
      },
      async close() {},
    };
  }

  async checkResume(_name: string, position: string): Promise<string | null> {
    const at = Number(position);
    const now = await this.revision();
    if (now < at) return `etcd's revision ${now} is behind the keystore's ${at}: the cluster was restored from an older backup or replaced`;
    try {
      await this.etcd().kv.range({ key: this.prefix, range_end: this.end, count_only: true, revision: at });
    } catch (e) {
      if (isCompacted(e)) return `etcd compacted its history past revision ${at}: the changes since are gone`;
      throw etcdError(e, 'checking the keystore revision');
    }
    return null;
  }

  async stream(_name: string, start: string): Promise<FeedStream> {
    const from = Number(start);
    let stream: Awaited<ReturnType<Etcd3['watchClient']['watch']>>;
    try {
      stream = await this.etcd().watchClient.watch();
    } catch (e) {
      throw etcdError(e, 'opening a watch');
    }
    this.watches.add(stream);
    const queue: FeedTransaction[] = [];
    let buffered = 0;
    let failure: AaeError | null = null;
    let wake: (() => void) | null = null;
    const notify = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    const fail = (e: AaeError): void => {
      failure ??= e;
      notify();
    };
    stream.on('data', (res: IWatchResponse) => {
      if (res.canceled || Number(res.compact_revision) > 0) {
        fail(
          Number(res.compact_revision) > 0
            ? new AaeError('FEED_GAP', `etcd compacted its history to revision ${res.compact_revision}, past the keystore's ${from}: the changes since are gone`)
            : new AaeError('FEED_GAP', `etcd cancelled the watch (${res.cancel_reason || 'no reason given'})`),
        );
        return;
      }
      if (res.events.length === 0) return; // created, or a progress notification
      const now = Date.now();
      for (const ev of res.events) {
        const rev = String(ev.kv.mod_revision);
        let t = queue[queue.length - 1];
        if (t === undefined || t.position !== rev) {
          const counter = Number(rev);
          queue.push((t = isClockCounter(counter) ? { position: rev, counter, commitTime: now, changes: [] } : { position: rev, commitTime: now, changes: [] }));
        }
        const key = this.keyOf(ev.kv.key);
        const change: FeedChange = ev.type === 'Delete' ? { kind: 'delete', key } : { kind: 'upsert', key, values: [ev.kv.value], lastModified: now };
        t.changes.push(change);
        buffered++;
      }
      if (buffered > MAX_BUFFERED) fail(new AaeError('FEED_GAP', `more than ${MAX_BUFFERED} etcd events are waiting to be applied`));
      notify();
    });
    stream.on('error', (e: Error) => {
      // A lost connection resumes exactly from the checkpoint; any other watch error is a gap.
      const lost = /UNAVAILABLE|ECONNREFUSED|ECONNRESET|No connection|socket|CANCELLED|closed|14 /i.test(e.message);
      if (lost) this.dropConnection();
      fail(lost ? etcdError(e, 'the etcd watch') : new AaeError('FEED_GAP', `the etcd watch failed: ${e.message}`, { cause: e }));
    });
    stream.on('end', () => fail(new AaeError('SOURCE_UNAVAILABLE', 'the etcd watch stream ended')));
    stream.write({ create_request: { key: this.prefix, range_end: this.end, start_revision: String(from + 1) } });

    let position = from;
    const wait = (ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, ms);
        signal?.addEventListener('abort', done, { once: true });
        wake = done;
      });
    return {
      next: async (signal?: AbortSignal): Promise<FeedBatch> => {
        for (;;) {
          if (signal?.aborted) throw new AaeError('ABORTED', 'stopped', { cause: signal.reason });
          if (failure !== null) throw failure;
          if (queue.length > 0) {
            const transactions = queue.splice(0, queue.length);
            buffered = 0;
            position = Number(transactions[transactions.length - 1]!.position);
            return { kind: 'transactions', transactions };
          }
          await wait(IDLE_WAIT_MS, signal);
          if (queue.length > 0 || failure !== null || signal?.aborted) continue;
          const now = await this.revision();
          if (now > position) {
            // Nothing of ours changed up to `now`: a position every earlier change has been
            // delivered before. Otherwise those changes are on their way: wait for them.
            if (!(await this.quiet(position, now))) continue;
            position = now;
          }
          return { kind: 'idle', position: String(position) };
        }
      },
      acknowledge: async () => undefined,
      close: async () => {
        failure ??= new AaeError('SOURCE_UNAVAILABLE', 'the etcd watch was closed');
        stream.on('error', () => undefined);
        this.watches.delete(stream);
        stream.cancel();
      },
    };
  }

  /** Whether no key of the prefix changed in revisions (from, to] (see the essay above). */
  private async quiet(from: number, to: number): Promise<boolean> {
    const kv = this.etcd().kv;
    try {
      const [changed, before, kept] = await Promise.all([
        kv.range({ key: this.prefix, range_end: this.end, count_only: true, revision: to, min_mod_revision: from + 1 }),
        kv.range({ key: this.prefix, range_end: this.end, count_only: true, revision: from }),
        kv.range({ key: this.prefix, range_end: this.end, count_only: true, revision: to, max_mod_revision: from }),
      ]);
      return Number(changed.count) === 0 && Number(before.count) === Number(kept.count);
    } catch (e) {
      if (isCompacted(e)) throw new AaeError('FEED_GAP', `etcd compacted its history past revision ${from}`, { cause: e });
      throw etcdError(e, 'checking for changes');
    }
  }

  async currentPosition(): Promise<string> {
    return String(await this.revision());
  }

  comparePositions(a: string, b: string): number {
    return Number(a) - Number(b);
  }

  distance(a: string, b: string): number {
    return Math.max(0, Number(b) - Number(a));
  }

  async fetchRows(keys: readonly Uint8Array[]): Promise<Array<SnapshotRow | null>> {
    const values = await this.readValues(keys);
    const now = Date.now();
    return values.map((v, i) => (v === null ? null : { key: keys[i]!, values: [v.value], lastModified: now }));
  }

  /** The current value of some keys (bytes, and the mod revision a conditional write compares), null where absent. */
  async readValues(keys: readonly Uint8Array[]): Promise<Array<{ value: Buffer; modRevision: string } | null>> {
    const kv = this.etcd().kv;
    const out: Array<{ value: Buffer; modRevision: string } | null> = [];
    try {
      for (let i = 0; i < keys.length; i += READ_BATCH) {
        const part = keys.slice(i, i + READ_BATCH);
        const r = await kv.txn({ compare: [], success: part.map((k) => ({ request_range: { key: this.nameOf(k) } })), failure: [] });
        for (const resp of r.responses) {
          const hit = resp.response_range?.kvs[0];
          out.push(hit === undefined ? null : { value: hit.value, modRevision: String(hit.mod_revision) });
        }
      }
    } catch (e) {
      throw etcdError(e, 'reading keys');
    }
    return out;
  }

  async drop(): Promise<void> {
    // Nothing to drop: an etcd keystore's only position is a revision.
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    c?.close();
  }
}
