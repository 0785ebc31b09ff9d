/**
 * The exchange's options: their types, their defaults (each with its reason), and the checks that
 * turn what a caller passed into exactly what the engine expects.
 */
import { AaeError } from '../errors.js';
import type { TreeSize } from '../tictac/index.js';
import { DEFAULT_EXPECTED_DIFFERENCES } from './levels.js';
import type { ExchangeLogger } from './log.js';
import type { ExchangeScope, SourceDescription } from './source.js';
import type { ExchangeProgress } from './result.js';
import type { KeyDelta } from './compare-clocks.js';

/** The original's MAX_RESULTS: ids a round may carry forward. */
export const DEFAULT_MAX_RESULTS = 128;
/** The original's TRANSITION_PAUSE_MS: lets in-flight writes land between a fetch and its confirm. */
export const DEFAULT_PAUSE_MS = 500;

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
  /**
   * A complete listing: every difference, handed over window by window as the clock stage finds
   * them (awaited), and not kept in the result (`deltaCount` counts them). The walk then goes past
   * maxResults and through a large delta until every dirty segment has been compared, holding the
   * key clocks of at most CLOCK_WINDOW_SEGMENTS segments at once (engine.ts).
   */
  readonly onDeltas?: (deltas: KeyDelta[]) => void | Promise<void>;
  /** In [0, 1): the pause jitter and selectIds's tie-break. */
  readonly random?: () => number;
  readonly logger?: ExchangeLogger;
  /** 'auto' (default) walks fine when every source declares `hashes`; 'classic' forces root/branch. */
  readonly walk?: 'auto' | 'classic';
  /** What a large delta does: lift the cap and walk on (default), or stop and report it. */
  readonly largeDelta?: 'walk' | 'report';
  /**
   * Differences the fine walk plans its top level for (default 100, see levels.ts). A caller that
   * exchanges often and is usually in sync may pass 1 (a top of 128 words for a large tree); one
   * that expects damage may pass more.
   */
  readonly expectedDifferences?: number;
  readonly id?: string;
}

export interface Normalised {
  id: string;
  scope: ExchangeScope;
  maxResults: number;
  pauseMs: number;
  jitter: boolean;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  timeoutMs: number | undefined;
  onProgress: ((p: ExchangeProgress) => void) | undefined;
  onDeltas: ((deltas: KeyDelta[]) => void | Promise<void>) | undefined;
  random: () => number;
  logger: ExchangeLogger;
  walk: 'auto' | 'classic';
  largeDelta: 'walk' | 'report';
  expectedDifferences: number;
}

export function normalise(blue: readonly unknown[], pink: readonly unknown[], o: ExchangeOptions): Normalised {
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
  const expectedDifferences = o.expectedDifferences ?? DEFAULT_EXPECTED_DIFFERENCES;
  if (!Number.isFinite(expectedDifferences) || expectedDifferences < 1) {
    throw new AaeError('INVALID_ARGUMENT', `expectedDifferences must be ≥ 1, got ${expectedDifferences}`);
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
    onDeltas: o.onDeltas,
    random: o.random ?? Math.random,
    logger: o.logger ?? (() => undefined),
    walk: o.walk ?? 'auto',
    largeDelta: o.largeDelta ?? 'walk',
    expectedDifferences,
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
