/**
 * A fold request's session on a plugin's worker, seen from the node's main thread (the worker's side
 * is worker.ts). The store stays here: the node's executor reads a batch, this session ships it to
 * the worker (a hash-and-size batch packed into a transferred buffer, pack.ts) and returns at once,
 * so the executor reads the next batch while the worker folds this one. At most
 * MAX_BATCHES_IN_FLIGHT are unanswered: memory stays bounded and a failure surfaces within two
 * batches. A flush waits for its answer (it may write into the vnode, which only this thread can).
 *
 * Every call into the plugin — loading it in the worker that took the session (a worker piscina
 * starts later imports it afresh), then each request — has a deadline (PoolLimits.callTimeoutMs),
 * counted from when the worker took the session. A worker that cannot load the plugin answers an
 * error instead of `ready`, and the session fails with it. Past it the session fails with PLUGIN_TIMEOUT and its task is aborted,
 * which terminates the worker (piscina starts another); a worker that dies (out of memory) fails the
 * session with PLUGIN_CRASHED. A throw in the plugin's code answers FOLD_MODULE_FAILED from the
 * worker, whose session then ends cleanly and whose worker serves on.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { AaeError, ERROR_CODES, type AaeErrorCode } from '../errors.js';
import { abortError, type FlushContext, type FoldSession, type InputBatch, type ModuleFilter, type StateNeeds } from '../fold/index.js';
import type { KeyClock } from '../node/index.js';
import { packHashSizes } from './pack.js';
import { workerLoss, type PluginPool } from './pool.js';
import type { FromWorker, ToWorker, WireError } from './protocol.js';

/** Batches sent and not yet answered: two keeps the worker busy while the next is read, and bounds what waits in its queue. */
export const MAX_BATCHES_IN_FLIGHT = 2;

/**
 * How batches travel: the defaults, or (for `aae bench plugins`, to measure what each buys)
 * hash-and-size batches by structured clone instead of packed, and no batch in flight while the
 * next is read.
 */
export interface SessionTuning {
  packed: boolean;
  inFlight: number;
}

export const DEFAULT_TUNING: SessionTuning = { packed: true, inFlight: MAX_BATCHES_IN_FLIGHT };

interface Pending {
  resolve: (m: FromWorker) => void;
  reject: (e: unknown) => void;
}

export function fromWire(e: WireError): AaeError {
  const code = e.code !== undefined && e.code in ERROR_CODES ? (e.code as AaeErrorCode) : 'FOLD_MODULE_FAILED';
  return new AaeError(code, e.message, e.details === undefined ? {} : { details: e.details });
}

export interface SessionHooks {
  /** A worker was lost (its deadline passed, or it died): for the host's log and metrics. */
  onWorkerLost(e: AaeError): void;
}

export class WorkerSession implements FoldSession {
  needs: StateNeeds = 'hash_size_only';
  filter: ModuleFilter = {};
  private hasFlush = false;
  private readonly pending: Pending[] = [];
  private readonly unanswered: Array<Promise<FromWorker>> = [];
  private failure: unknown;
  private finished = false;
  private timedOut = false;
  private timer: NodeJS.Timeout | undefined;
  private vnode: FlushContext['vnode'] | undefined;
  private readonly abort = new AbortController();
  private readonly port: MessagePort;
  private readonly ready: Promise<FromWorker>;
  /** A worker has taken the session (its deadlines run from here). */
  private taken = false;

  private constructor(
    private readonly plugin: PluginPool,
    private readonly hooks: SessionHooks,
    signal: AbortSignal,
    private readonly tuning: SessionTuning,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    // Waiting for the plugin to load is the session's first call: answered by `ready`, failed like
    // any other (an `error` before it, a dead worker, the port closing, the caller's abort), and under
    // the call deadline from when a worker takes the session (`taken`), not while it waits in the queue.
    this.ready = new Promise<FromWorker>((resolve, reject) => this.pending.push({ resolve, reject }));
    this.ready.catch(() => undefined);
    port1.on('message', (m: FromWorker) => {
      if (m.t === 'taken') {
        this.taken = true;
        return this.rearm();
      }
      if (m.t === 'write') return void this.write(m.id, m.ops);
      if (m.t === 'error') {
        // The worker ended the session itself and serves on: nothing to terminate.
        this.workerEnded = true;
        return this.fail(fromWire(m.error));
      }
      const p = this.pending.shift();
      this.rearm();
      p?.resolve(m);
    });
    const task = plugin.pool.run({ op: 'session', manifest: plugin.manifest, digest: plugin.digest, port: port2 }, { transferList: [port2], signal: this.abort.signal });
    // The session is over when the worker has closed its end (that close arrives after every message
    // it sent) and its task has settled (on piscina's own channel, in either order). A task that
    // rejects means the worker died or was terminated: the session fails at once.
    port1.on('close', () => {
      this.portClosed = true;
      this.maybeEnded();
    });
    task.then(
      () => {
        this.taskDone = true;
        this.maybeEnded();
      },
      (e: unknown) => {
        const timeout = this.failure instanceof AaeError && this.failure.code === 'PLUGIN_TIMEOUT';
        const loss = timeout ? (this.failure as AaeError) : workerLoss(plugin.manifest.name, e, plugin.limits, this.timedOut);
        if (!timeout && !this.cancelled) {
          hooks.onWorkerLost(loss);
          this.fail(loss);
        }
      },
    );
    const onAbort = (): void => {
      this.cancelled = true;
      this.fail(abortError(signal));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    this.detach = () => signal.removeEventListener('abort', onAbort);
  }

  /** The caller stopped the session (an abort, or close before it finished): a terminated worker is not a crash. */
  private cancelled = false;
  private workerEnded = false;
  private portClosed = false;
  private taskDone = false;

  private maybeEnded(): void {
    // A worker that closed the session with calls unanswered (even the load) ended it early.
    if (this.portClosed && this.taskDone && !this.finished && this.pending.length > 0) {
      this.fail(this.failure ?? new AaeError('PLUGIN_CRASHED', `plugin ${this.plugin.manifest.name}: its session ended early`));
    }
  }
  private readonly detach: () => void;

  get name(): string {
    return this.plugin.manifest.name;
  }

  /**
   * Opens a session: waits for a worker to take it (as long as the pool's queue takes: the caller's
   * signal bounds that), then for the plugin to load and parse the query there, each under the call
   * deadline. Rejects, never hangs, when the worker cannot load the plugin.
   */
  static async open(plugin: PluginPool, query: unknown, signal: AbortSignal, hooks: SessionHooks, tuning: SessionTuning = DEFAULT_TUNING): Promise<WorkerSession> {
    const s = new WorkerSession(plugin, hooks, signal, tuning);
    try {
      const ready = await s.ready;
      if (ready.t !== 'ready') throw new AaeError('INTERNAL', `plugin worker answered ${ready.t} before it was ready`);
      const opened = await s.call({ t: 'open', query });
      if (opened.t !== 'opened') throw new AaeError('INTERNAL', `plugin worker answered ${opened.t} to open`);
      s.needs = opened.needs;
      s.filter = opened.filter;
      s.hasFlush = opened.hasFlush;
      return s;
    } catch (e) {
      s.close();
      throw e;
    }
  }

  /** Sends a request and waits for its answer, under the call deadline. */
  private call(m: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const p = new Promise<FromWorker>((resolve, reject) => this.pending.push({ resolve, reject }));
    this.port.postMessage(m, transfer);
    this.rearm();
    return p;
  }

  /** The deadline runs while anything is unanswered, restarting at each answer: one call's time, not the session's. */
  private rearm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.taken || this.pending.length === 0 || this.failure !== undefined) return;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      const e = workerLoss(this.plugin.manifest.name, undefined, this.plugin.limits, true);
      this.hooks.onWorkerLost(e);
      this.fail(e);
      // Aborting a running task terminates its worker: the only way to stop code that never yields.
      this.abort.abort(e);
    }, this.plugin.limits.callTimeoutMs);
  }

  private fail(e: unknown): void {
    if (this.failure === undefined) this.failure = e;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const p of this.pending.splice(0)) p.reject(this.failure);
  }

  private async write(id: number, ops: Parameters<FlushContext['vnode']['write']>[0]): Promise<void> {
    try {
      if (this.vnode === undefined) throw new AaeError('INTERNAL', 'a plugin wrote outside a flush');
      const previous = await this.vnode.write(ops);
      this.port.postMessage({ t: 'written', id, previous } satisfies ToWorker);
    } catch (e) {
      const error: WireError = e instanceof AaeError ? { code: e.code, message: e.message } : { message: e instanceof Error ? e.message : String(e) };
      this.port.postMessage({ t: 'written', id, error } satisfies ToWorker);
    }
  }

  async fold(batch: InputBatch, where: string): Promise<void> {
    let m: ToWorker;
    let transfer: ArrayBuffer[] = [];
    if (batch.kind === 'hash_size' && this.tuning.packed) {
      const packed = packHashSizes(batch.items);
      m = { t: 'batch', batch: packed, where };
      transfer = [packed.buffer];
    } else m = { t: 'batch', batch: { kind: batch.kind, items: batch.items }, where };
    const answer = this.call(m, transfer);
    answer.catch(() => undefined);
    this.unanswered.push(answer);
    while (this.unanswered.length > this.tuning.inFlight) await this.unanswered.shift();
  }

  private async settle(): Promise<void> {
    while (this.unanswered.length > 0) await this.unanswered.shift();
  }

  async afterBatch(ctx: FlushContext, where: string): Promise<ReadonlyArray<readonly KeyClock[]> | undefined> {
    if (this.failure !== undefined) throw this.failure;
    if (!this.hasFlush) return undefined;
    await this.settle();
    this.vnode = ctx.vnode;
    const out = await this.call({ t: 'flush', final: ctx.final, vnode: ctx.vnode.id, emits: ctx.emits, where });
    if (out.t !== 'flushed') throw new AaeError('INTERNAL', `plugin worker answered ${out.t} to flush`);
    return out.emit;
  }

  async finish(where: string): Promise<Uint8Array> {
    await this.settle();
    const out = await this.call({ t: 'finish', where });
    if (out.t !== 'done') throw new AaeError('INTERNAL', `plugin worker answered ${out.t} to finish`);
    this.finished = true;
    return out.acc;
  }

  close(): void {
    this.detach();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.finished) {
      if (this.failure === undefined) {
        this.cancelled = true;
        this.fail(new AaeError('ABORTED', `plugin ${this.name}: the fold stopped`));
      }
      // A session that ended without finishing may still be running plugin code: stop its worker.
      if (!this.workerEnded) this.abort.abort();
    }
    this.port.close();
  }
}
