/**
 * One plugin version's workers: a piscina pool with a memory limit on each worker (V8's
 * `resourceLimits`), and the deadline every call into the plugin's code must meet. A pool is made
 * for each version a node loads and destroyed when that version retires, so a reload never
 * re-imports into a worker that ran the old code (Node's ESM cache cannot unload a module; a new
 * worker starts with an empty one).
 *
 * piscina keeps the workers: it queues a request while every worker is busy, starts a new worker
 * when one dies (out of memory, an exit) and terminates a worker whose task is aborted — which is
 * how a plugin that loops forever is stopped at its deadline. What this file adds: the worker file,
 * the limits, the describe call that loads a plugin, and telling the host when a worker was lost.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { AaeError } from '../errors.js';
import type { PluginManifest } from './manifest.js';
import type { DescribeResult, Described, WorkerTask } from './protocol.js';

export interface PoolLimits {
  /** Workers per plugin version: folds of one plugin running at once (more wait in the pool's queue). */
  threads: number;
  /** Each worker's V8 heap limit (old generation), MiB: a plugin that passes it fails its call, not the node. */
  memoryMb: number;
  /** How long one call into the plugin (load, open, a batch, a flush, encoding) may take, ms. */
  callTimeoutMs: number;
}

/** 2 threads: a node folds 2 vnodes at once by default (FoldQueue); 256 MiB: a plugin's bounded accumulator and a batch need far less; 30 s: a batch of 1000 items takes milliseconds. */
export const DEFAULT_POOL_LIMITS: PoolLimits = { threads: 2, memoryMb: 256, callTimeoutMs: 30_000 };

/**
 * The compiled worker. Under a TypeScript test runner this file is the .ts source and a worker
 * cannot load TypeScript, so the build's copy is used (npm ci builds it).
 */
export function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts') ? join(dirname(here), '../../dist/src/plugin/worker.js') : join(dirname(here), 'worker.js');
  if (!existsSync(file)) throw new AaeError('INTERNAL', `the plugin worker ${file} is missing: run npm run build`);
  return file;
}

/** Why a call into a plugin failed, when the worker itself went: a deadline, or the worker died. */
export function workerLoss(plugin: string, e: unknown, limits: PoolLimits, timedOut: boolean): AaeError {
  if (timedOut) {
    return new AaeError('PLUGIN_TIMEOUT', `plugin ${plugin}: a call ran past its ${limits.callTimeoutMs} ms deadline; its worker was replaced`, { cause: e, details: { module: plugin, deadlineMs: limits.callTimeoutMs } });
  }
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new AaeError('PLUGIN_CRASHED', `plugin ${plugin}: its worker ran out of memory (limit ${limits.memoryMb} MiB); it was replaced`, { cause: e, details: { module: plugin, memoryMb: limits.memoryMb } });
  }
  return new AaeError('PLUGIN_CRASHED', `plugin ${plugin}: its worker died (${e instanceof Error ? e.message : String(e)}); it was replaced`, { cause: e, details: { module: plugin } });
}

export class PluginPool {
  readonly pool: Piscina<WorkerTask, DescribeResult | undefined>;

  constructor(
    readonly manifest: PluginManifest,
    readonly digest: string,
    readonly limits: PoolLimits,
    onError: (e: unknown) => void,
  ) {
    this.pool = new Piscina({
      filename: workerFile(),
      name: 'default',
      minThreads: 1,
      maxThreads: limits.threads,
      // Idle workers beyond the first stop after a minute; a kept one answers the next fold at once.
      idleTimeout: 60_000,
      // A session talks over its own MessagePort for its whole life; piscina's Atomics wait between tasks would stall it.
      atomics: 'disabled',
      resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb, maxYoungGenerationSizeMb: Math.max(8, Math.min(64, limits.memoryMb >> 2)), stackSizeMb: 4 },
    });
    // A worker's own error event (one not tied to a task) must not become an uncaught exception on the node.
    this.pool.on('error', onError);
  }

  /** Loads the plugin in a worker and says what it is (PLUGIN_INVALID, PLUGIN_TIMEOUT, PLUGIN_CRASHED). */
  async describe(): Promise<Described> {
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.limits.callTimeoutMs);
    try {
      const d = await this.pool.run({ op: 'describe', manifest: this.manifest, digest: this.digest }, { signal: ac.signal });
      if (d?.ok !== undefined) return d.ok;
      const code = d?.error.code === 'FOLD_API_MISMATCH' ? 'FOLD_API_MISMATCH' : 'PLUGIN_INVALID';
      throw new AaeError(code, d?.error.message ?? 'the plugin did not load', { details: { path: this.manifest.path } });
    } catch (e) {
      if (e instanceof AaeError) throw e;
      throw workerLoss(this.manifest.name, e, this.limits, timedOut);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops every worker (a retired version: its folds have finished). */
  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}
