/**
 * A serial queue that batches: the one place a vnode's writes are ordered.
 *
 * A vnode's cached trees must agree with its data after every write, and a write's tree update
 * needs the head it replaces (its old contribution goes out, the new one in). Two concurrent writes
 * to one key that each read the old head and then write would both XOR out the same old
 * contribution: the tree would drift from the data. So every write goes through this queue. While
 * one flush runs, later writes gather; when it ends they all go in the next flush as one LevelDB
 * batch (one getMany, one batch write), so serialising costs throughput nothing under load.
 *
 * `exclusive(fn)` runs work that must see no write in flight (a tree rebuild, saving trees on
 * close) in queue order, between flushes.
 *
 * Pipelining: a flush may call the `release` it is given once the order of its effects is fixed
 * (the cluster calls it when it has handed its writes to the vnode queues, which keep them in
 * order); the next flush then starts while this one finishes, up to `depth` unfinished flushes.
 * A flush that never calls it runs alone, as a vnode's always does. Callers' promises settle when
 * their own flush finishes, so they may settle out of push order across flushes.
 */

type Task<Op, R> =
  | { kind: 'write'; ops: Op[]; waiters: Array<{ start: number; count: number; resolve: (r: R[]) => void; reject: (e: unknown) => void }> }
  | { kind: 'exclusive'; run: () => Promise<void> };

export class WriteQueue<Op, R> {
  private readonly tasks: Array<Task<Op, R>> = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];
  /** Flushes started and not yet finished (each settles, never rejects: errors go to its callers). */
  private readonly unfinished = new Set<Promise<void>>();
  /** Set while drain waits on unfinished flushes: a push wakes it. */
  private wake: (() => void) | null = null;

  /** `flush` applies a batch and returns one result per op, in order (see `release` above). */
  constructor(
    private readonly flush: (ops: Op[], release: () => void) => Promise<R[]>,
    /** A flush takes at most this many ops; later ones wait for the next flush. */
    private readonly maxBatch: number,
    /** Unfinished flushes at most (≥ 1); more than one only for flushes that release. */
    private readonly depth = 1,
  ) {
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`depth must be an integer ≥ 1, got ${depth}`);
  }

  /** Queues ops; resolves with their results once they are applied (all in one flush). */
  push(ops: readonly Op[]): Promise<R[]> {
    if (ops.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      const last = this.tasks[this.tasks.length - 1];
      let task: Extract<Task<Op, R>, { kind: 'write' }>;
      if (last !== undefined && last.kind === 'write' && last.ops.length + ops.length <= this.maxBatch) {
        task = last;
      } else {
        task = { kind: 'write', ops: [], waiters: [] };
        this.tasks.push(task);
      }
      task.waiters.push({ start: task.ops.length, count: ops.length, resolve, reject });
      for (const op of ops) task.ops.push(op);
      this.pump();
    });
  }

  /** Runs `fn` alone: after every write queued before it, before every write queued after it. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.tasks.push({
        kind: 'exclusive',
        run: () => fn().then(resolve, reject),
      });
      this.pump();
    });
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.running && this.tasks.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get pending(): number {
    let n = 0;
    for (const t of this.tasks) n += t.kind === 'write' ? t.ops.length : 1;
    return n;
  }

  private async finishAll(): Promise<void> {
    while (this.unfinished.size > 0) await Promise.all(this.unfinished);
  }

  private pump(): void {
    this.wake?.();
    if (this.running) return;
    this.running = true;
    // Start on a microtask so that writes pushed in the same tick join the first flush.
    queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    for (;;) {
      await this.drainTasks();
      // A push may land in the microtask between drainTasks finding no task and this line (pump
      // does nothing while running): look again before stopping, or that task would be stranded.
      if (this.tasks.length > 0) continue;
      if (this.unfinished.size === 0) break;
      // Wait for the last flushes to finish, or for a new task (which may start at once if they released).
      const pushed = new Promise<void>((r) => (this.wake = r));
      await Promise.race([Promise.all(this.unfinished), pushed]);
      this.wake = null;
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async drainTasks(): Promise<void> {
    for (let task = this.tasks.shift(); task !== undefined; task = this.tasks.shift()) {
      if (task.kind === 'exclusive') {
        await this.finishAll();
        await task.run();
        continue;
      }
      while (this.unfinished.size >= this.depth) await Promise.race(this.unfinished);
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const waiters = task.waiters;
      let flushed: Promise<R[]>;
      try {
        flushed = this.flush(task.ops, release);
      } catch (e) {
        flushed = Promise.reject(e); // a flush that throws at once fails its callers, not the queue
      }
      const done: Promise<void> = flushed.then(
        (results) => {
          for (const w of waiters) w.resolve(results.slice(w.start, w.start + w.count));
        },
        (e: unknown) => {
          for (const w of waiters) w.reject(e);
        },
      ).finally(() => this.unfinished.delete(done));
      this.unfinished.add(done);
      await Promise.race([released, done]);
    }
  }
}
