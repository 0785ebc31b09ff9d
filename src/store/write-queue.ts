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
 */

type Task<Op, R> =
  | { kind: 'write'; ops: Op[]; waiters: Array<{ start: number; count: number; resolve: (r: R[]) => void; reject: (e: unknown) => void }> }
  | { kind: 'exclusive'; run: () => Promise<void> };

export class WriteQueue<Op, R> {
  private readonly tasks: Array<Task<Op, R>> = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];

  /** `flush` applies a batch and returns one result per op, in order. */
  constructor(
    private readonly flush: (ops: Op[]) => Promise<R[]>,
    /** A flush takes at most this many ops; later ones wait for the next flush. */
    private readonly maxBatch: number,
  ) {}

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

  private pump(): void {
    if (this.running) return;
    this.running = true;
    // Start on a microtask so that writes pushed in the same tick join the first flush.
    queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    for (let task = this.tasks.shift(); task !== undefined; task = this.tasks.shift()) {
      if (task.kind === 'exclusive') {
        await task.run();
        continue;
      }
      try {
        const results = await this.flush(task.ops);
        for (const w of task.waiters) w.resolve(results.slice(w.start, w.start + w.count));
      } catch (e) {
        for (const w of task.waiters) w.reject(e);
      }
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
