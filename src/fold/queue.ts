import { AaeError } from '../errors.js';

/**
 * A node's fold queue: at most `maxRunning` vnode folds run at once, at most `maxWaiting` wait, and
 * one more is refused at once with BACKLOG — a busy node says so instead of piling work up until it
 * runs out of memory or every caller times out. A waiting fold whose signal fires leaves the queue
 * (ABORTED, or whatever reason the signal carries when it is an AaeError such as TIMEOUT).
 *
 * Each node owns one queue (a LocalNode makes its own), so two clusters whose nodes share a name
 * never share a queue, and every fold on a node, from whichever caller, shares that node's limits.
 */

/** Folds at once per node: a vnode fold is mostly LevelDB reads on libuv's 4 threads; 2 keeps a 2-core node responsive. */
export const DEFAULT_MAX_RUNNING = 2;
/** Folds waiting per node: enough for a few concurrent runs' in-flight vnodes, small enough to refuse a pile-up. */
export const DEFAULT_MAX_WAITING = 32;

export interface FoldQueueLimits {
  maxRunning?: number;
  maxWaiting?: number;
}

interface Waiter {
  start: () => void;
}

export class FoldQueue {
  readonly maxRunning: number;
  readonly maxWaiting: number;
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(readonly node: string, limits: FoldQueueLimits = {}) {
    this.maxRunning = limits.maxRunning ?? DEFAULT_MAX_RUNNING;
    this.maxWaiting = limits.maxWaiting ?? DEFAULT_MAX_WAITING;
    if (!Number.isInteger(this.maxRunning) || this.maxRunning < 1) throw new TypeError('maxRunning must be a positive integer');
    if (!Number.isInteger(this.maxWaiting) || this.maxWaiting < 0) throw new TypeError('maxWaiting must be a non-negative integer');
  }

  /** Folds running now and waiting now (for progress and tests). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `task` when a slot is free; BACKLOG when the queue is full. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  /** Takes a slot when one is free (BACKLOG when the queue is full); the returned function gives it back, once. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw abortError(signal);
    if (this.running >= this.maxRunning) await this.wait(signal);
    else this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    if (this.waiting.length >= this.maxWaiting) {
      return Promise.reject(
        new AaeError('BACKLOG', `node ${this.node} is busy: ${this.running} folds running and ${this.waiting.length} waiting`, {
          details: { node: this.node, running: this.running, waiting: this.waiting.length },
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortError(signal!));
      };
      const waiter: Waiter = {
        // The slot passes straight from the finishing fold to this one: `running` stays as it was.
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.running--;
    else next.start();
  }
}

/** The error an aborted signal stands for: its reason when that is an AaeError (TIMEOUT), else ABORTED. */
export function abortError(signal: AbortSignal): AaeError {
  const reason: unknown = signal.reason;
  if (reason instanceof AaeError) return reason;
  return new AaeError('ABORTED', 'fold aborted', { cause: reason });
}
