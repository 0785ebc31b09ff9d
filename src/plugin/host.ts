/**
 * The plugin host of a node: the modules the node runs (ModuleSource) are its built-ins plus the
 * plugins of one directory, loaded at start and reloaded whenever the directory changes.
 *
 * Loading a plugin, in order — nothing of the plugin runs before step 5:
 * 1. its files are listed and hashed (sha-256: the digest a coordinator's copy must match; a link
 *    counts as its target, which must lie inside the plugin);
 * 2. its manifest is read (manifest.ts) and its plugin-API range checked against PLUGIN_API_VERSION
 *    with semver: a mismatch is refused (PL002) and never loaded;
 * 3. a plugin that would shadow a built-in, repeat another's name and version, or mutate on a node
 *    that does not allow mutating plugins (PL008) is refused too; a repeat is checked again at every
 *    rescan, so when the path serving that version goes, the repeat loads in its place;
 * 4. its files are copied into a snapshot of this version, whose digest must be the one checked
 *    (snapshot.ts): every worker of the version, however much later it starts, imports from there;
 * 5. a worker pool is made for it and one worker imports and validates it (pool.ts). A plugin that
 *    fails here is refused (PL003) — and if an older copy at the same path was serving, that copy
 *    keeps serving and carries the reason.
 * A refused plugin is listed (`aae plugins`) with its reason, and the node serves on.
 *
 * Reloading: the directory is watched (fs.watch, recursive) and also rescanned every `pollMs`, for
 * filesystems whose events do not arrive (network mounts). A rescan compares each entry's
 * fingerprint (names, sizes, times) and then its digest, so unchanged plugins cost a stat. A changed
 * plugin is loaded in a new pool; only when it has loaded does it replace the old version, which
 * retires: folds that hold it (leases, plugin-version.ts) finish on it, new requests get the new
 * one, and its workers stop when the last fold lets go. Node's ESM cache cannot unload a module, so
 * old code goes with its workers; the node's own thread never imports a plugin.
 *
 * Several versions of one plugin may serve at once (from different paths); a request's range picks
 * the highest that satisfies it, and a request's digest must match the one picked (PLUGIN_MISMATCH).
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import semver from 'semver';
import { AaeError, isAaeError, type AaeErrorCode } from '../errors.js';
import { ModuleRegistry, type ModuleLease, type ModuleSource } from '../fold/index.js';
import type { ModuleInfo } from '../node/index.js';
import { PLUGIN_API_VERSION } from './api.js';
import { pluginLine, silent, type LogSink } from './log.js';
import { digestOf, fingerprintOf, isPluginEntryName, pluginFiles, readManifest, type PluginManifest } from './manifest.js';
import { DEFAULT_POOL_LIMITS, PluginPool, type PoolLimits } from './pool.js';
import { PluginVersion } from './plugin-version.js';
import { snapshotPlugin, type PluginSnapshot } from './snapshot.js';
import type { SessionTuning } from './worker-session.js';

/** What the host reports for metrics (metrics.ts implements it over prom-client). */
export interface PluginObserver {
  /** A fold began on a plugin; `done` when it finished (error: how it failed). */
  call(module: string, version: string): { done(error?: unknown): void };
  /** A request for a plugin was refused (its code: FOLD_VERSION_UNSATISFIED, PLUGIN_API_MISMATCH, …). */
  refused(module: string, code: AaeErrorCode): void;
  /** A plugin's worker was lost: a deadline passed (PLUGIN_TIMEOUT) or it died (PLUGIN_CRASHED). */
  workerLost(module: string, code: AaeErrorCode): void;
  /** The plugins by state, after every rescan. */
  states?(counts: Record<'serving' | 'retiring' | 'refused', number>): void;
}

export interface PluginHostOptions {
  dir: string;
  /** Load plugins whose manifest says they mutate (default false: they are refused, PL008). */
  allowMutations?: boolean;
  limits?: Partial<PoolLimits>;
  /** The node's built-in modules (default: all of them). A plugin may not shadow one. */
  builtins?: ModuleRegistry;
  log?: LogSink;
  observer?: PluginObserver;
  /** Watch the directory (default true). */
  watch?: boolean;
  /** Rescan this often whether or not an event came, ms (default 2000; 0: never). */
  pollMs?: number;
  /** How batches travel to the workers (default: packed, two in flight); `aae bench plugins` measures the others. */
  tuning?: SessionTuning;
}

/** Events of one save or deploy arrive in a burst: rescan once it has passed. */
const DEBOUNCE_MS = 50;
/** A stat of every plugin file every 2 s costs nothing noticeable, and bounds a missed event's delay. */
const DEFAULT_POLL_MS = 2000;

interface Refused {
  readonly path: string;
  readonly digest: string;
  readonly manifest: Partial<PluginManifest>;
  readonly reason: string;
  readonly code: AaeErrorCode;
  /** The refusal's own facts (a manifest's `field` at fault, …), passed on to a request for the plugin. */
  readonly details: Readonly<Record<string, unknown>>;
  /** Refused for what another path holds (the same name and version): checked again at every rescan, as that path may go. */
  readonly dependsOnOthers: boolean;
}

interface PathState {
  fingerprint: string;
  serving?: PluginVersion;
  /** The last copy at this path that was refused (while `serving` may serve on). */
  refused?: Refused;
}

export class PluginHost implements ModuleSource {
  readonly dir: string;
  private readonly builtins: ModuleRegistry;
  private readonly limits: PoolLimits;
  private readonly log: LogSink;
  private readonly paths = new Map<string, PathState>();
  private readonly retiring = new Set<PluginVersion>();
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;
  private closed = false;

  private constructor(
    private readonly o: PluginHostOptions,
    private readonly versionsDir: string,
  ) {
    this.dir = resolve(o.dir);
    this.builtins = o.builtins ?? new ModuleRegistry();
    this.limits = { ...DEFAULT_POOL_LIMITS, ...o.limits };
    this.log = o.log ?? silent;
  }

  /** Loads every plugin of the directory, then watches it. A plugin that fails is refused; the host starts. */
  static async start(o: PluginHostOptions): Promise<PluginHost> {
    // The loaded versions' snapshots: the host's own, outside the plugin directory (which a node may not write, and whose rescans must not see them).
    const h = new PluginHost(o, await mkdtemp(join(tmpdir(), 'aae-plugin-versions-')));
    await h.rescan();
    if (o.watch !== false) h.startWatching();
    const pollMs = o.pollMs ?? DEFAULT_POLL_MS;
    if (pollMs > 0) {
      h.poll = setInterval(() => void h.rescan(), pollMs);
      h.poll.unref();
    }
    return h;
  }

  private startWatching(): void {
    const onEvent = (): void => {
      if (this.debounce !== undefined) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.rescan(), DEBOUNCE_MS);
      this.debounce.unref();
    };
    try {
      this.watcher = watch(this.dir, { recursive: true }, onEvent);
    } catch {
      this.watcher = watch(this.dir, onEvent);
    }
    this.watcher.on('error', (e) => this.log(pluginLine('PL009', 'warn', { dir: this.dir, message: e.message })));
    this.watcher.unref();
    this.log(pluginLine('PL007', 'info', { dir: this.dir, pollMs: this.o.pollMs ?? DEFAULT_POLL_MS }));
  }

  /**
   * Rescans the directory and applies what changed; resolves when a scan that began after this call
   * has finished (scans never overlap: one asked for during a scan runs right after it).
   */
  rescan(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.scanning !== undefined) {
      this.again = true;
      return this.scanning.then(() => this.scanning ?? undefined);
    }
    this.scanning = (async () => {
      do {
        this.again = false;
        try {
          await this.scanOnce();
        } catch (e) {
          this.log(pluginLine('PL009', 'warn', { dir: this.dir, message: e instanceof Error ? e.message : String(e) }));
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const names = (await readdir(this.dir)).filter(isPluginEntryName).sort();
    const present = new Set(names.map((n) => join(this.dir, n)));
    for (const [path, st] of this.paths) {
      if (present.has(path)) continue;
      this.paths.delete(path);
      if (st.serving !== undefined) {
        this.log(pluginLine('PL004', 'info', { plugin: st.serving.name, version: st.serving.version, path }));
        this.retire(st.serving);
      }
    }
    for (const path of present) {
      if (this.closed) return;
      try {
        await this.scanPath(path);
      } catch (e) {
        // One entry that cannot be read (it vanished midway, a permission) never stops the others.
        this.log(pluginLine('PL009', 'warn', { dir: this.dir, path, message: e instanceof Error ? e.message : String(e) }));
      }
    }
    this.reportStates();
  }

  private async scanPath(path: string): Promise<void> {
    const st = this.paths.get(path);
    let files;
    let fingerprint;
    try {
      files = await pluginFiles(path);
      fingerprint = fingerprintOf(files);
    } catch (e) {
      if (isAaeError(e, 'PLUGIN_INVALID')) {
        // Its files themselves are refused (a link outside its folder, too many files): once per change.
        if (st?.fingerprint === e.message) return;
        const state: PathState = st ?? { fingerprint: e.message };
        state.fingerprint = e.message;
        this.refuse(path, state, '', await readManifest(path).catch(namedBy), e);
        return;
      }
      // Gone between readdir and now, or unreadable: the next scan sees it as it is.
      if (st === undefined) this.refuse(path, { fingerprint: '' }, '', {}, e);
      return;
    }
    const unchanged = st !== undefined && st.fingerprint === fingerprint;
    const recheck = st?.refused?.dependsOnOthers === true;
    if (unchanged && !recheck) return;
    // Unchanged files refused for another path's sake: the digest is the one they were refused with.
    const digest = unchanged && st.refused !== undefined ? st.refused.digest : await digestOf(files);
    const state: PathState = st ?? { fingerprint };
    state.fingerprint = fingerprint;
    this.paths.set(path, state);
    if (state.serving?.digest === digest || (state.refused?.digest === digest && !recheck)) return;

    let checked: PluginManifest;
    try {
      checked = await readManifest(path);
    } catch (e) {
      this.refuse(path, state, digest, namedBy(e), e);
      return;
    }
    const refusal = this.checkBeforeLoad(checked, path);
    if (refusal !== undefined) {
      this.refuse(path, state, digest, checked, refusal.error, refusal.dependsOnOthers);
      return;
    }
    // Every worker of this version imports from its snapshot, never from the directory (snapshot.ts).
    let snapshot: PluginSnapshot | undefined;
    let manifest: PluginManifest;
    try {
      snapshot = await snapshotPlugin(this.versionsDir, path, files, digest);
      manifest = { ...(await readManifest(snapshot.path)), path };
      if (!sameManifest(manifest, checked)) throw new AaeError('PLUGIN_INVALID', `plugin at ${path}: its manifest changed while it was being loaded; the next rescan loads it`, { details: { path } });
    } catch (e) {
      await snapshot?.remove();
      this.refuse(path, state, digest, checked, e);
      return;
    }
    const pool = new PluginPool(manifest, digest, this.limits, (e) =>
      this.log(pluginLine('PL006', 'warn', { plugin: manifest.name, version: manifest.version, message: e instanceof Error ? e.message : String(e) })),
    );
    try {
      await pool.describe();
    } catch (e) {
      await pool.destroy().catch(() => undefined);
      await snapshot.remove();
      this.refuse(path, state, digest, manifest, e);
      return;
    }
    if (this.closed) {
      await pool.destroy().catch(() => undefined);
      await snapshot.remove();
      return;
    }
    const v = new PluginVersion(manifest, digest, pool, snapshot, {
      onWorkerLost: (e) => {
        this.o.observer?.workerLost(manifest.name, e.code);
        this.log(pluginLine('PL006', 'warn', { plugin: manifest.name, version: manifest.version, error: e.code, message: e.message }));
      },
      onRetired: (r) => {
        this.retiring.delete(r);
        this.log(pluginLine('PL005', 'info', { plugin: r.name, version: r.version, path: r.manifest.path }));
      },
      onCall: (r) => this.o.observer?.call(r.name, r.version) ?? { done: () => undefined },
    }, this.o.tuning);
    const old = state.serving;
    state.serving = v;
    delete state.refused;
    this.log(pluginLine('PL001', 'info', { plugin: manifest.name, version: manifest.version, apiRange: manifest.apiRange, path, digest, ...(old === undefined ? {} : { replaces: old.version }) }));
    if (old !== undefined) this.retire(old);
  }

  /** A refusal decided from the manifest alone (no code has run); `dependsOnOthers` when another path's plugin decided it. */
  private checkBeforeLoad(m: PluginManifest, path: string): { error: AaeError; dependsOnOthers: boolean } | undefined {
    const alone = (error: AaeError): { error: AaeError; dependsOnOthers: boolean } => ({ error, dependsOnOthers: false });
    if (!semver.satisfies(PLUGIN_API_VERSION, m.apiRange, { includePrerelease: true })) {
      return alone(new AaeError('PLUGIN_API_MISMATCH', `plugin ${m.name} ${m.version} was built for plugin API ${m.apiRange}; this node speaks ${PLUGIN_API_VERSION}`, {
        details: { module: m.name, apiRange: m.apiRange, api: PLUGIN_API_VERSION },
      }));
    }
    if (this.builtins.list().some((b) => b.name === m.name)) return alone(new AaeError('PLUGIN_INVALID', `plugin ${m.name} would shadow the built-in module of that name; rename it`));
    if (m.mutates && this.o.allowMutations !== true) {
      return alone(new AaeError('FOLD_MUTATION_REFUSED', `plugin ${m.name} ${m.version} mutates, and this node does not allow mutating plugins (aae node serve --allow-mutating-plugins)`));
    }
    for (const [p, st] of this.paths) {
      if (p !== path && st.serving?.name === m.name && st.serving.version === m.version) {
        return { error: new AaeError('PLUGIN_INVALID', `plugin ${m.name} ${m.version} is already served from ${p}`, { details: { module: m.name, version: m.version, servedFrom: p } }), dependsOnOthers: true };
      }
    }
    return undefined;
  }

  private refuse(path: string, state: PathState, digest: string, manifest: Partial<PluginManifest>, e: unknown, dependsOnOthers = false): void {
    const err = isAaeError(e) ? e : new AaeError('PLUGIN_INVALID', e instanceof Error ? e.message : String(e));
    const code = err.code;
    const before = state.refused;
    state.refused = { path, digest, manifest, reason: err.message, code, details: err.details ?? {}, dependsOnOthers };
    this.paths.set(path, state);
    // A refusal checked again (dependsOnOthers) and unchanged is logged once, not at every rescan.
    if (before !== undefined && before.digest === digest && before.reason === err.message && before.code === code) return;
    if (state.serving !== undefined) state.serving.newerRefused = { reason: `a newer copy was refused: ${err.message}`, code };
    const fields = { plugin: manifest.name ?? basename(path), version: manifest.version ?? '', path, error: code, message: err.message, ...(state.serving === undefined ? {} : { keepsServing: state.serving.version }) };
    if (code === 'PLUGIN_API_MISMATCH') this.log(pluginLine('PL002', 'warn', fields));
    else if (code === 'FOLD_MUTATION_REFUSED') this.log(pluginLine('PL008', 'warn', fields));
    else this.log(pluginLine('PL003', 'warn', fields));
  }

  private retire(v: PluginVersion): void {
    this.retiring.add(v);
    v.retire();
  }

  private reportStates(): void {
    if (this.o.observer?.states === undefined) return;
    const counts = { serving: 0, retiring: this.retiring.size, refused: 0 };
    for (const st of this.paths.values()) {
      if (st.serving !== undefined) counts.serving++;
      else if (st.refused !== undefined) counts.refused++;
    }
    this.o.observer.states(counts);
  }

  private serving(name: string): PluginVersion[] {
    const out: PluginVersion[] = [];
    for (const st of this.paths.values()) if (st.serving?.name === name) out.push(st.serving);
    return out.sort((a, b) => semver.rcompare(a.version, b.version));
  }

  acquire(name: string, range?: string, digest?: string): ModuleLease {
    if (this.builtins.list().some((m) => m.name === name)) return this.builtins.acquire(name, range, digest);
    try {
      return this.acquirePlugin(name, range, digest);
    } catch (e) {
      if (isAaeError(e)) this.o.observer?.refused(this.knows(name) ? name : '(unknown)', e.code);
      throw e;
    }
  }

  private knows(name: string): boolean {
    for (const st of this.paths.values()) if (st.serving?.name === name || st.refused?.manifest.name === name) return true;
    return false;
  }

  private acquirePlugin(name: string, range?: string, digest?: string): ModuleLease {
    const list = this.serving(name);
    if (list.length === 0) {
      const refused = [...this.paths.values()].map((s) => s.refused).find((r) => r?.manifest.name === name);
      if (refused !== undefined) throw new AaeError(refused.code, `plugin ${name} is not loaded on this node: ${refused.reason}`, { details: { ...refused.details, module: name, path: refused.path } });
      const plugins = [...new Set([...this.paths.values()].flatMap((s) => (s.serving === undefined ? [] : [s.serving.name])))].sort();
      throw new AaeError('FOLD_MODULE_UNKNOWN', `no fold module '${name}' here (built-in: ${this.builtins.list().map((m) => m.name).join(', ')}; plugins: ${plugins.join(', ') || 'none'})`, { details: { module: name } });
    }
    if (range !== undefined && semver.validRange(range) === null) throw new AaeError('FOLD_QUERY_INVALID', `'${range}' is not a semver range`, { details: { module: name, range } });
    const pick = range === undefined ? list[0] : list.find((v) => semver.satisfies(v.version, range));
    if (pick === undefined) {
      throw new AaeError('FOLD_VERSION_UNSATISFIED', `plugin '${name}' is here at ${list.map((v) => v.version).join(', ')}, none in '${range}'`, {
        details: { module: name, range, versions: list.map((v) => v.version) },
      });
    }
    if (digest !== undefined && digest !== pick.digest) {
      throw new AaeError('PLUGIN_MISMATCH', `plugin '${name}' ${pick.version} here has other files than the caller's copy (digest ${pick.digest.slice(0, 12)}…, the caller's ${digest.slice(0, 12)}…): deploy the same files to both`, {
        details: { module: name, version: pick.version, digest: pick.digest, callerDigest: digest },
      });
    }
    return pick.lease();
  }

  list(): ModuleInfo[] {
    const out: ModuleInfo[] = this.builtins.list();
    for (const st of this.paths.values()) {
      if (st.serving !== undefined) out.push(st.serving.info());
      else if (st.refused !== undefined) out.push(refusedInfo(st.refused));
    }
    for (const v of this.retiring) out.push(v.info());
    return out;
  }

  /** Stops watching and stops every plugin's workers (folds still running on them fail). */
  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    if (this.poll !== undefined) clearInterval(this.poll);
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    await this.scanning?.catch(() => undefined);
    const all = [...this.retiring, ...[...this.paths.values()].flatMap((s) => (s.serving === undefined ? [] : [s.serving]))];
    await Promise.all(all.map((v) => v.destroy()));
    await rm(this.versionsDir, { recursive: true, force: true });
  }
}

/**
 * What a malformed manifest still tells: the plugin's name as far as it is known (manifest.ts), so
 * that a request for the plugin by that name is answered with why it was refused, not "no such module".
 */
function namedBy(e: unknown): Partial<PluginManifest> {
  const name = isAaeError(e) ? e.details?.['plugin'] : undefined;
  return typeof name === 'string' ? { name } : {};
}

/** The fields a node checks before loading: a snapshot's must be those checked. */
function sameManifest(a: PluginManifest, b: PluginManifest): boolean {
  return a.name === b.name && a.version === b.version && a.apiRange === b.apiRange && a.mutates === b.mutates;
}

function refusedInfo(r: Refused): ModuleInfo {
  return {
    name: r.manifest.name ?? basename(r.path),
    version: r.manifest.version ?? '0.0.0',
    mutates: r.manifest.mutates ?? false,
    plugin: { state: 'refused', apiRange: r.manifest.apiRange ?? '', digest: r.digest, path: r.path, reason: r.reason, code: r.code },
  };
}
