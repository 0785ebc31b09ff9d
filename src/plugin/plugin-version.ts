/**
 * One loaded version of a plugin on a node: its manifest, its digest, its worker pool, and how many
 * folds hold it. A version serves until replaced or removed; then it *retires*: new requests never
 * get it, folds that started on it finish on it, and when the last lets go its workers stop and
 * its snapshot (the copy of its files they imported) is deleted.
 */
import { AaeError } from '../errors.js';
import type { ModuleLease, NodeModule } from '../fold/index.js';
import type { ModuleInfo, PluginState } from '../node/index.js';
import type { PluginManifest } from './manifest.js';
import type { PluginPool } from './pool.js';
import type { PluginSnapshot } from './snapshot.js';
import { DEFAULT_TUNING, WorkerSession, type SessionHooks, type SessionTuning } from './worker-session.js';

export interface VersionHooks extends SessionHooks {
  /** The version retired and its last fold finished: its workers are stopping. */
  onRetired(v: PluginVersion): void;
  /** A fold on this version began (for metrics: calls, duration, errors). */
  onCall(v: PluginVersion): { done(error?: unknown): void };
}

export class PluginVersion {
  state: 'serving' | 'retiring' = 'serving';
  /** Why a newer copy at this path was refused, while this one serves on. */
  newerRefused: { reason: string; code: string } | undefined;
  private leases = 0;
  private stopped = false;

  constructor(
    readonly manifest: PluginManifest,
    readonly digest: string,
    readonly pool: PluginPool,
    /** The copy of its files its workers import (snapshot.ts): deleted once its workers have stopped. */
    private readonly snapshot: PluginSnapshot,
    private readonly hooks: VersionHooks,
    private readonly tuning: SessionTuning = DEFAULT_TUNING,
  ) {}

  get name(): string {
    return this.manifest.name;
  }

  get version(): string {
    return this.manifest.version;
  }

  info(): ModuleInfo {
    const plugin: PluginState = {
      state: this.state,
      apiRange: this.manifest.apiRange,
      digest: this.digest,
      path: this.manifest.path,
      ...(this.newerRefused === undefined ? {} : { reason: this.newerRefused.reason, code: this.newerRefused.code }),
    };
    return { name: this.name, version: this.version, mutates: this.manifest.mutates, plugin };
  }

  /** Held for one request; a retiring version stops when its last lease is released. */
  lease(): ModuleLease {
    if (this.state !== 'serving') throw new AaeError('INTERNAL', `plugin ${this.name} ${this.version} is retiring`);
    this.leases++;
    let released = false;
    const module: NodeModule = {
      info: this.info(),
      open: async (query, { signal }) => {
        const call = this.hooks.onCall(this);
        try {
          const session = await WorkerSession.open(this.pool, query, signal, this.hooks, this.tuning);
          return observed(session, call);
        } catch (e) {
          call.done(e);
          throw e;
        }
      },
    };
    return {
      module,
      release: () => {
        if (released) return;
        released = true;
        this.leases--;
        this.maybeStop();
      },
    };
  }

  retire(): void {
    this.state = 'retiring';
    this.maybeStop();
  }

  private maybeStop(): void {
    if (this.state !== 'retiring' || this.leases > 0 || this.stopped) return;
    this.stopped = true;
    this.hooks.onRetired(this);
    void this.stop();
  }

  private async stop(): Promise<void> {
    await this.pool.destroy().catch(() => undefined);
    await this.snapshot.remove().catch(() => undefined);
  }

  /** Stops the workers now (the node is closing). */
  async destroy(): Promise<void> {
    this.stopped = true;
    await this.stop();
  }
}

/** The session, reporting when it finishes or fails (a fold's duration and outcome, for metrics). */
function observed(s: WorkerSession, call: { done(error?: unknown): void }): WorkerSession {
  let reported = false;
  const report = (e?: unknown): void => {
    if (reported) return;
    reported = true;
    call.done(e);
  };
  const finish = s.finish.bind(s);
  const close = s.close.bind(s);
  const fold = s.fold.bind(s);
  const afterBatch = s.afterBatch.bind(s);
  const guard = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      report(e);
      throw e;
    }
  };
  s.fold = (b, w) => guard(fold(b, w));
  s.afterBatch = (c, w) => guard(afterBatch(c, w));
  s.finish = async (w) => {
    const bytes = await guard(finish(w));
    report();
    return bytes;
  };
  s.close = () => {
    report(new AaeError('ABORTED', 'the fold stopped'));
    close();
  };
  return s;
}
