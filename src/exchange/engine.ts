/**
 * The exchange engine: finds the keys on which two sides (blue and pink) disagree, moving as few
 * bytes as it can, and never reporting a write that was merely in flight.
 *
 * Stages, as in kv_index_tictactree's aae_exchange:
 *   root compare   — fetch both roots, find the dirty branches;
 *   branch compare — fetch the dirty branches' leaves, find the dirty segments;
 *   clock compare  — fetch the keys and clocks of the dirty segments, find the keys that differ.
 * The exchange stops at the first stage that finds nothing: two sides in sync cost one root fetch
 * per side. The state machine only sequences pure functions (compareWords/compareRoots,
 * intersectConfirmed, selectIds, compareClocks); sources are injected (source.ts), so a test can
 * hand it a source that throws, hangs or changes between calls.
 *
 * Confirmation. Every tree level is fetched twice, a jittered pause apart (500 ms ± 250 by default,
 * the original's TRANSITION_PAUSE_MS and jitter_pause), and only the ids dirty both times go on. A
 * put is applied to the replicas one after another; caught between two of them, its segment looks
 * dirty for a moment. Such a write is not a difference, and "repairing" it would race the write.
 * The confirm fetch asks only for the words of the ids found dirty (4 bytes each), not for the whole
 * level again: the ids that were clean cannot become confirmed, so re-reading them buys nothing.
 * (A source without the `hashes` capability can only answer whole roots and whole branches; for it
 * the confirm re-fetches those, as the original does.)
 *
 * Sizes. A large tree has 4096 branches of 256 segments: a 16 KiB root, 1 KiB a branch. With the
 * `hashes` capability the walk goes down with fan-out 16 (levels.ts): a 1 KiB top of 256 words, 16
 * words (64 B) per dirty parent at each of three more levels. Measured for 100 differing keys among
 * 1M (large tree): the fine walk moves 55 KB in all (both sides, confirm rounds and clocks
 * included); the classic root/branch walk 485 KB (2 × 2 × 16 KiB of roots, 2 × 2 × 100 branches of
 * 1 KiB); Negentropy ~163 KB.
 *
 * maxResults (128, the original's MAX_RESULTS). At most maxResults ids go forward from any level
 * into a finer one (and at most maxResults segments into the clock fetch), chosen by selectIds as a
 * tight window. The levels above the branches are not capped: all of them together cost at most
 * one root. One exchange therefore repairs at most maxResults segments; as in the original, the
 * caller loops (exchange → repair → exchange) and `truncated` says that dirty ids were left over.
 *
 * Large deltas. When more than half of the branches are confirmed dirty (an empty or restored
 * sink, thousands of lost writes), capped rounds would each pay the walk's top levels again and
 * need thousands of loops. The engine flags `largeDelta` and, by default, lifts the cap for this
 * exchange and finds every difference at once: the fine walk does it in 0.58× the bytes of shipping
 * every (bucket, key, hash) pair from both sides (10,000 differences among 100k keys); a classic
 * walk skips the branches and fetches the clocks of every dirty branch (~1.4× that baseline, since
 * a clock is longer than a hash). With `largeDelta: 'report'` it stops instead, so the caller can
 * switch to range replication.
 */
import { AaeError } from '../errors.js';
import { segmentCountOf, branchCountOf, LEAVES_PER_BRANCH, type TreeSize } from '../tictac/index.js';
import { compareClocks, type KeyDelta } from './compare-clocks.js';
import { compareWords } from './compare-roots.js';
import { intersectConfirmed } from './intersect.js';
import { planLevels, type Level, type TreeStage, type WalkMode } from './levels.js';
import type { ExchangeLogCode, ExchangeLogger, ExchangeLogLine } from './log.js';
import { selectIds } from './select-ids.js';
import { Side, SourceFailure, raceSignal } from './side.js';
import type { ExchangeScope, ExchangeSource, SourceDescription } from './source.js';

/** The original's MAX_RESULTS: ids a round may carry forward. */
export const DEFAULT_MAX_RESULTS = 128;
/** The original's TRANSITION_PAUSE_MS: lets in-flight writes land between a fetch and its confirm. */
export const DEFAULT_PAUSE_MS = 500;
/**
 * Dirty branches / all branches above which an exchange is a large delta. Past half, the damage is
 * not a few lost writes but a replica that missed a period of them, and the capped walk would need
 * (dirty segments / maxResults) exchanges, each paying the top of the tree again.
 */
export const LARGE_DELTA_FRACTION = 0.5;

export type ExchangeStage = TreeStage | 'clock_compare';
export type ExchangeState = ExchangeStage | 'timeout' | 'error';

export interface ExchangeProgress {
  readonly id: string;
  readonly stage: ExchangeStage;
  readonly round: number;
  /** Segments per word at this round (0 for the clock round). */
  readonly width: number;
  /** Words (or segments, for clocks) asked for in this round. */
  readonly asked: number;
  /** Dirty ids after this round (deltas, for clocks). */
  readonly dirty: number;
  readonly bytes: number;
  readonly roundTrips: number;
}

export interface ExchangeOptions {
  /** Default: `{ kind: 'full' }`. */
  readonly scope?: ExchangeScope;
  readonly maxResults?: number;
  /** Base pause between rounds, ms (default 500). */
  readonly pauseMs?: number;
  /** Jitter the pause to pauseMs/2 + random × pauseMs, as the original (default true). */
  readonly jitter?: boolean;
  /** Injected for tests; must reject when the signal fires. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Aborting rejects the exchange with AaeError ABORTED. */
  readonly signal?: AbortSignal;
  /** Past this the exchange ends in state 'timeout'. */
  readonly timeoutMs?: number;
  readonly onProgress?: (progress: ExchangeProgress) => void;
  /** In [0, 1): the pause jitter and selectIds's tie-break. */
  readonly random?: () => number;
  readonly logger?: ExchangeLogger;
  /** 'auto' (default) walks fine when every source declares `hashes`; 'classic' forces root/branch. */
  readonly walk?: 'auto' | 'classic';
  /** What a large delta does: lift the cap and walk on (default), or stop and report it. */
  readonly largeDelta?: 'walk' | 'report';
  readonly id?: string;
}

export interface ExchangeResult {
  readonly id: string;
  /** The stage the exchange ended in, or 'timeout' / 'error'. In sync at the root: 'root_compare'. */
  readonly state: ExchangeState;
  /** The stage it had reached (differs from state only for 'timeout' and 'error'). */
  readonly stage: ExchangeStage;
  /** No confirmed differences, and none left over. */
  readonly inSync: boolean;
  readonly deltas: KeyDelta[];
  /** Branches confirmed dirty (before the maxResults cap). */
  readonly dirtyBranches: number;
  /** Segments confirmed dirty among those walked (before the cap). */
  readonly dirtySegments: number;
  /** Dirty ids were left for a later exchange (maxResults, or a large delta reported). */
  readonly truncated: boolean;
  readonly largeDelta: boolean;
  readonly walk: WalkMode;
  /** Rounds of requests (each asks every source of both sides once). */
  readonly rounds: number;
  /** Requests answered or attempted, all sources of both sides. */
  readonly roundTrips: number;
  readonly bytes: { readonly blue: number; readonly pink: number; readonly total: number };
  /** ms per stage, and in pauses. */
  readonly timings: Partial<Record<ExchangeStage | 'pause', number>>;
  readonly error?: AaeError;
}

const TIMED_OUT = Symbol('exchange timed out');

/** Runs one exchange between two lists of sources. */
export async function runExchange(
  blue: readonly ExchangeSource[],
  pink: readonly ExchangeSource[],
  options: ExchangeOptions = {},
): Promise<ExchangeResult> {
  const opts = normalise(blue, pink, options);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const timer =
    opts.timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(TIMED_OUT), opts.timeoutMs);
  try {
    return await new Exchange(blue, pink, opts, controller.signal).run();
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

interface Normalised {
  id: string;
  scope: ExchangeScope;
  maxResults: number;
  pauseMs: number;
  jitter: boolean;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  timeoutMs: number | undefined;
  onProgress: ((p: ExchangeProgress) => void) | undefined;
  random: () => number;
  logger: ExchangeLogger;
  walk: 'auto' | 'classic';
  largeDelta: 'walk' | 'report';
}

function normalise(blue: readonly ExchangeSource[], pink: readonly ExchangeSource[], o: ExchangeOptions): Normalised {
  if (!Array.isArray(blue) || blue.length === 0 || !Array.isArray(pink) || pink.length === 0) {
    throw new AaeError('INVALID_ARGUMENT', 'an exchange needs at least one source on each side');
  }
  const maxResults = o.maxResults ?? DEFAULT_MAX_RESULTS;
  if (!Number.isInteger(maxResults) || maxResults < 1) {
    throw new AaeError('INVALID_ARGUMENT', `maxResults must be a positive integer, got ${maxResults}`);
  }
  const pauseMs = o.pauseMs ?? DEFAULT_PAUSE_MS;
  if (!Number.isFinite(pauseMs) || pauseMs < 0) throw new AaeError('INVALID_ARGUMENT', `pauseMs must be ≥ 0, got ${pauseMs}`);
  if (o.timeoutMs !== undefined && (!Number.isFinite(o.timeoutMs) || o.timeoutMs <= 0)) {
    throw new AaeError('INVALID_ARGUMENT', `timeoutMs must be > 0, got ${o.timeoutMs}`);
  }
  return {
    id: o.id ?? crypto.randomUUID(),
    scope: o.scope ?? { kind: 'full' },
    maxResults,
    pauseMs,
    jitter: o.jitter ?? true,
    sleep: o.sleep ?? sleep,
    timeoutMs: o.timeoutMs,
    onProgress: o.onProgress,
    random: o.random ?? Math.random,
    logger: o.logger ?? (() => undefined),
    walk: o.walk ?? 'auto',
    largeDelta: o.largeDelta ?? 'walk',
  };
}

/** The default pause: a timer that the signal cancels. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Refuses sides that cannot be compared: different hash method, seed or (for full scope) tree size. */
export function checkCompatible(descriptions: readonly SourceDescription[], scope: ExchangeScope): TreeSize {
  const first = descriptions[0]!;
  for (const d of descriptions) {
    const sizeDiffers = scope.kind === 'full' && d.treeSize !== first.treeSize;
    if (d.hashMethod !== first.hashMethod || d.seed !== first.seed || sizeDiffers) {
      throw new AaeError(
        'CLUSTERS_INCOMPATIBLE',
        `sources differ: ${describeSource(first)} against ${describeSource(d)}; their trees are never compared`,
        { details: { expected: { ...first }, found: { ...d } } },
      );
    }
  }
  return scope.kind === 'range' ? scope.treeSize : first.treeSize;
}

function describeSource(d: SourceDescription): string {
  return `tree size ${d.treeSize}, hash method ${d.hashMethod}, seed ${d.seed}`;
}

class Exchange {
  private stage: ExchangeStage = 'root_compare';
  private rounds = 0;
  private readonly timings: Partial<Record<ExchangeStage | 'pause', number>> = {};
  private dirtyBranches = 0;
  private dirtySegments = 0;
  private truncated = false;
  private largeDelta = false;
  private uncapped = false;
  private walk: WalkMode = 'classic';
  private blueSide: Side | undefined;
  private pinkSide: Side | undefined;

  constructor(
    private readonly blue: readonly ExchangeSource[],
    private readonly pink: readonly ExchangeSource[],
    private readonly o: Normalised,
    private readonly signal: AbortSignal,
  ) {}

  async run(): Promise<ExchangeResult> {
    // Compatibility is the caller's input: refused by throwing, before any exchange begins.
    let descriptions: SourceDescription[];
    try {
      descriptions = await raceSignal(Promise.all([...this.blue, ...this.pink].map((s) => s.describe())), this.signal);
    } catch (e) {
      return this.fail(e);
    }
    const treeSize = checkCompatible(descriptions, this.o.scope);
    const fine = this.o.walk === 'auto' && descriptions.every((d) => d.capabilities?.hashes === true);
    if (fine) {
      for (const s of [...this.blue, ...this.pink]) {
        if (typeof s.fetchHashes !== 'function') throw new TypeError('a source declares hashes but has no fetchHashes');
      }
    }
    this.walk = fine ? 'fine' : 'classic';
    const branchCount = branchCountOf(treeSize);
    this.blueSide = new Side('blue', this.blue, this.o.scope, branchCount, this.walk, this.signal);
    this.pinkSide = new Side('pink', this.pink, this.o.scope, branchCount, this.walk, this.signal);
    this.log('EX001', 'info', 'exchange started', {
      blue: this.blue.length,
      pink: this.pink.length,
      treeSize,
      walk: this.walk,
      scope: this.o.scope.kind,
    });
    try {
      return await this.walkTree(treeSize);
    } catch (e) {
      return this.fail(e);
    }
  }

  private async walkTree(treeSize: TreeSize): Promise<ExchangeResult> {
    const levels = planLevels(treeSize, this.walk);
    const branchCount = branchCountOf(treeSize);
    let ids = range(segmentCountOf(treeSize) / levels[0]!.width);
    for (let l = 0; l < levels.length; l++) {
      const level = levels[l]!;
      this.stage = level.stage;
      const found = await this.treeRound(level, ids);
      if (found.length === 0) return this.finish([]);
      const confirmed = await this.confirmRound(level, found);
      if (level.width === LEAVES_PER_BRANCH) {
        this.dirtyBranches = confirmed.length;
        this.log('EX002', 'info', 'root compare confirmed', { dirtyBranches: confirmed.length, branchCount });
        if (confirmed.length / branchCount > LARGE_DELTA_FRACTION) {
          this.largeDelta = true;
          this.log('EX006', 'warn', 'large delta: most branches differ', {
            dirtyBranches: confirmed.length,
            branchCount,
            action: this.o.largeDelta,
          });
          if (this.o.largeDelta === 'report') {
            this.truncated = true;
            return this.finish([]);
          }
          this.uncapped = true;
          // Classic sources can only answer whole 1 KiB branches (twice, to confirm): dearer than
          // the keys of a densely dirty branch. Go straight to the clocks of every dirty branch.
          if (this.walk === 'classic') return this.clockRound(segmentsOf(confirmed));
        }
      }
      if (level.width === 1) {
        this.dirtySegments = confirmed.length;
        this.log('EX003', 'info', 'branch compare confirmed', { dirtySegments: confirmed.length });
      }
      if (confirmed.length === 0) return this.finish([]);
      const next = levels[l + 1];
      const forward = next === undefined || next.width < LEAVES_PER_BRANCH ? this.cap(confirmed) : confirmed;
      if (next === undefined) return this.clockRound(forward);
      ids = children(forward, level.width / next.width);
    }
    throw new AaeError('INTERNAL', 'a walk ended without reaching its last level');
  }

  /** First fetch of a level: every id asked; returns the dirty ones. */
  private async treeRound(level: Level, ids: readonly number[]): Promise<number[]> {
    const [b, p] = await this.round(() => Promise.all([this.blueSide!.words(level.width, ids), this.pinkSide!.words(level.width, ids)]));
    const dirty = compareWords(ids, b, p);
    this.progress(level.width, ids.length, dirty.length);
    return dirty;
  }

  /** The confirm fetch: only the ids found dirty, a pause later; keeps those dirty both times. */
  private async confirmRound(level: Level, found: readonly number[]): Promise<number[]> {
    const [b, p] = await this.round(() =>
      Promise.all([this.blueSide!.words(level.width, found), this.pinkSide!.words(level.width, found)]),
    );
    const confirmed = intersectConfirmed(found, compareWords(found, b, p));
    if (confirmed.length < found.length) {
      this.log('EX010', 'debug', 'dirty once, clean on confirm: writes in flight', {
        width: level.width,
        dropped: found.length - confirmed.length,
      });
    }
    this.progress(level.width, found.length, confirmed.length);
    return confirmed;
  }

  private async clockRound(segments: readonly number[]): Promise<ExchangeResult> {
    this.stage = 'clock_compare';
    const [b, p] = await this.round(() => Promise.all([this.blueSide!.clocks(segments), this.pinkSide!.clocks(segments)]));
    const deltas = compareClocks(b, p);
    this.log('EX004', 'info', 'clock compare', { segments: segments.length, deltas: deltas.length });
    this.progress(0, segments.length, deltas.length);
    return this.finish(deltas);
  }

  /** One round: a pause first (but for the very first round), then the fetches, timed by stage. */
  private async round<T>(fetch: () => Promise<T>): Promise<T> {
    if (this.rounds > 0) await this.pause();
    this.rounds++;
    const start = performance.now();
    try {
      return await fetch();
    } finally {
      this.addTime(this.stage, performance.now() - start);
    }
  }

  private async pause(): Promise<void> {
    const { pauseMs, jitter, random } = this.o;
    // As the original's jitter_pause: uniform over [pauseMs/2, 3·pauseMs/2), so exchanges started
    // together do not keep hitting the sources in step.
    const ms = jitter ? pauseMs / 2 + random() * pauseMs : pauseMs;
    const start = performance.now();
    await this.o.sleep(ms, this.signal);
    this.addTime('pause', performance.now() - start);
  }

  /** The maxResults cap, unless a large delta lifted it. */
  private cap(ids: number[]): number[] {
    if (this.uncapped || ids.length <= this.o.maxResults) return ids;
    this.truncated = true;
    const kept = selectIds(ids, this.o.maxResults, this.o.random);
    this.log('EX005', 'info', 'throttled to maxResults', { stage: this.stage, dirty: ids.length, kept: kept.length });
    return kept;
  }

  private finish(deltas: KeyDelta[]): ExchangeResult {
    const result = this.result(this.stage, deltas);
    this.log('EX009', 'info', 'exchange finished', {
      state: result.state,
      inSync: result.inSync,
      deltas: deltas.length,
      rounds: result.rounds,
      bytes: result.bytes.total,
    });
    return result;
  }

  private fail(e: unknown): ExchangeResult {
    if (this.signal.aborted && this.signal.reason === TIMED_OUT) {
      const error = new AaeError('TIMEOUT', `exchange timed out in ${this.stage} after ${this.o.timeoutMs} ms`, {
        details: { stage: this.stage },
      });
      this.log('EX007', 'warn', 'exchange timed out', { stage: this.stage, timeoutMs: this.o.timeoutMs ?? 0 });
      return this.result('timeout', [], error);
    }
    if (this.signal.aborted) throw new AaeError('ABORTED', 'exchange aborted', { cause: this.signal.reason });
    const side = e instanceof SourceFailure ? e.colour : 'engine';
    const cause = e instanceof SourceFailure ? e.cause : e;
    const error = new AaeError('EXCHANGE_FAILED', `exchange failed in ${this.stage}: ${e instanceof Error ? e.message : String(e)}`, {
      cause,
      details: { stage: this.stage, side },
    });
    this.log('EX008', 'error', 'a source failed', { stage: this.stage, side, message: error.message });
    return this.result('error', [], error);
  }

  private result(state: ExchangeState, deltas: KeyDelta[], error?: AaeError): ExchangeResult {
    const blueBytes = this.blueSide?.bytes ?? 0;
    const pinkBytes = this.pinkSide?.bytes ?? 0;
    return {
      id: this.o.id,
      state,
      stage: this.stage,
      inSync: error === undefined && deltas.length === 0 && !this.truncated,
      deltas,
      dirtyBranches: this.dirtyBranches,
      dirtySegments: this.dirtySegments,
      truncated: this.truncated,
      largeDelta: this.largeDelta,
      walk: this.walk,
      rounds: this.rounds,
      roundTrips: (this.blueSide?.roundTrips ?? 0) + (this.pinkSide?.roundTrips ?? 0),
      bytes: { blue: blueBytes, pink: pinkBytes, total: blueBytes + pinkBytes },
      timings: { ...this.timings },
      ...(error === undefined ? {} : { error }),
    };
  }

  private progress(width: number, asked: number, dirty: number): void {
    this.o.onProgress?.({
      id: this.o.id,
      stage: this.stage,
      round: this.rounds,
      width,
      asked,
      dirty,
      bytes: (this.blueSide?.bytes ?? 0) + (this.pinkSide?.bytes ?? 0),
      roundTrips: (this.blueSide?.roundTrips ?? 0) + (this.pinkSide?.roundTrips ?? 0),
    });
  }

  private addTime(key: ExchangeStage | 'pause', ms: number): void {
    this.timings[key] = (this.timings[key] ?? 0) + ms;
  }

  private log(code: ExchangeLogCode, level: ExchangeLogLine['level'], message: string, fields: Record<string, string | number | boolean>): void {
    this.o.logger({ code, level, message, fields: { id: this.o.id, ...fields } });
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Every segment of the given branches. */
function segmentsOf(branches: readonly number[]): number[] {
  return children(branches, LEAVES_PER_BRANCH);
}

/** The ids one level finer under each parent, ascending. */
function children(parents: readonly number[], fanOut: number): number[] {
  const out: number[] = [];
  for (const p of parents) for (let c = 0; c < fanOut; c++) out.push(p * fanOut + c);
  return out;
}
