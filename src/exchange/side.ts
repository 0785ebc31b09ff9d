/**
 * One side of an exchange (blue or pink): a list of sources seen as one. Tree words are the XOR of
 * the sources' answers, key clocks their union. Every call goes to all sources at once, is raced
 * against the exchange's signal (a source that ignores its signal cannot hold an exchange past its
 * timeout), and is counted: one round trip per source asked, bytes by payload size (sizes.ts).
 * Answers are validated before anything is counted or compared.
 */
import { AaeError } from '../errors.js';
import { LEAVES_PER_BRANCH, syndromeWords } from '../tictac/index.js';
import { BRANCH_BYTES, SKETCH_BYTES, WORD_BYTES, keyClockBytes } from './sizes.js';
import type { WalkMode } from './levels.js';
import type { ExchangeScope, ExchangeSource, KeyClock } from './source.js';
import { raceAbort } from '../abort.js';

export type Colour = 'blue' | 'pink';

/** A source's call rejected (or answered with something malformed). */
export class SourceFailure extends Error {
  constructor(
    readonly colour: Colour,
    readonly index: number,
    cause: unknown,
  ) {
    super(`${colour} source ${index} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export class Side {
  bytes = 0;
  roundTrips = 0;

  constructor(
    readonly colour: Colour,
    private readonly sources: readonly ExchangeSource[],
    private readonly scope: ExchangeScope,
    private readonly branchCount: number,
    private readonly walk: WalkMode,
    private readonly signal: AbortSignal,
  ) {}

  /** The side's words for `ids` at `width` (ascending ids). */
  async words(width: number, ids: readonly number[]): Promise<Uint32Array> {
    const out = new Uint32Array(ids.length);
    if (ids.length === 0) return out;
    const answers = await this.each((source) => this.sourceWords(source, width, ids));
    for (const words of answers) for (let i = 0; i < out.length; i++) out[i]! ^= words[i]!;
    return out;
  }

  /** The side's sketch of its words for `ids` at `width` (the XOR of its sources' sketches): 8 bytes a source. */
  async sketch(width: number, ids: readonly number[], seed: number): Promise<Uint32Array> {
    const out = new Uint32Array(2);
    const answers = await this.each(async (source) => {
      const s = await source.fetchSketch!(this.scope, { width, ids }, seed, { signal: this.signal });
      expectWords(s, 2, 'fetchSketch');
      this.bytes += SKETCH_BYTES;
      return s;
    });
    for (const s of answers) {
      out[0]! ^= s[0]!;
      out[1]! ^= s[1]!;
    }
    return out;
  }

  /** The side's syndromes of `ids` (groups of `fanout` children at `width`): the XOR of its sources'. */
  async syndromes(width: number, fanout: number, ids: readonly number[], seed: number): Promise<Uint32Array> {
    const out = new Uint32Array(ids.length * syndromeWords(fanout));
    if (ids.length === 0) return out;
    const answers = await this.each(async (source) => {
      const s = await source.fetchSyndromes!(this.scope, { width, fanout, ids }, seed, { signal: this.signal });
      expectWords(s, out.length, 'fetchSyndromes');
      this.bytes += out.length * WORD_BYTES;
      return s;
    });
    for (const s of answers) for (let i = 0; i < out.length; i++) out[i]! ^= s[i]!;
    return out;
  }

  /** The union of the sources' key clocks for `segments`. */
  async clocks(segments: readonly number[]): Promise<KeyClock[]> {
    if (segments.length === 0) return [];
    const answers = await this.each(async (source) => {
      const list = await source.fetchClocks(this.scope, segments, { signal: this.signal });
      if (!Array.isArray(list)) throw new AaeError('EXCHANGE_FAILED', 'fetchClocks did not answer a list');
      let bytes = 0;
      for (const kc of list) bytes += keyClockBytes(kc);
      this.bytes += bytes;
      return list;
    });
    return answers.flat();
  }

  private async sourceWords(source: ExchangeSource, width: number, ids: readonly number[]): Promise<Uint32Array> {
    const options = { signal: this.signal };
    if (this.walk === 'fine') {
      const words = await source.fetchHashes!(narrowed(this.scope, width, ids), { width, ids }, options);
      expectWords(words, ids.length, `fetchHashes at width ${width}`);
      this.bytes += ids.length * WORD_BYTES;
      return words;
    }
    if (width === LEAVES_PER_BRANCH) {
      const root = await source.fetchRoot(this.scope, options);
      expectWords(root, this.branchCount, 'fetchRoot');
      this.bytes += root.length * WORD_BYTES;
      return Uint32Array.from(ids, (id) => root[id]!);
    }
    if (width === 1) {
      const branchIds = [...new Set(ids.map((s) => Math.floor(s / LEAVES_PER_BRANCH)))];
      const branches = await source.fetchBranches(this.scope, branchIds, options);
      if (!(branches instanceof Map) || branches.size !== branchIds.length) {
        throw new AaeError('TREE_ROOT_INVALID', `fetchBranches must answer exactly the ${branchIds.length} branches asked for`);
      }
      for (const id of branchIds) expectWords(branches.get(id), LEAVES_PER_BRANCH, `branch ${id}`);
      this.bytes += branchIds.length * BRANCH_BYTES;
      return Uint32Array.from(ids, (s) => branches.get(Math.floor(s / LEAVES_PER_BRANCH))![s % LEAVES_PER_BRANCH]!);
    }
    throw new AaeError('INTERNAL', `a classic walk has no level of width ${width}`);
  }

  /** Runs `call` on every source at once; a rejection becomes a SourceFailure naming the source. */
  private each<T>(call: (source: ExchangeSource) => Promise<T>): Promise<T[]> {
    this.roundTrips += this.sources.length;
    return Promise.all(
      this.sources.map(async (source, index) => {
        try {
          return await raceSignal(call(source), this.signal);
        } catch (e) {
          if (this.signal.aborted) throw e;
          throw new SourceFailure(this.colour, index, e);
        }
      }),
    );
  }
}

function expectWords(words: unknown, length: number, what: string): asserts words is Uint32Array {
  if (!(words instanceof Uint32Array) || words.length !== length) {
    throw new AaeError('TREE_ROOT_INVALID', `${what} must answer ${length} words`);
  }
}

/** Settles with `promise`, or rejects with the signal's reason as soon as the signal fires. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return raceAbort(promise, signal);
}

/**
 * Past this many segments a segment filter costs more than a pass over the range: the store seeks
 * each filtered segment in each keyspace (~25 µs a seek), while a pass reads entries at ~2–3 µs.
 */
export const NARROW_SEGMENTS = 4096;

/**
 * A partial exchange narrows with a segment filter once few segments stay dirty: a round whose
 * words cover at most NARROW_SEGMENTS segments asks the source for a tree over exactly those
 * segments, so its fold seeks them instead of re-reading the whole range. The words asked for are
 * unchanged, since every segment under them is inside the filter. A full scope (cached trees) and
 * a scope that already carries a filter are left as they are.
 */
export function narrowed(scope: ExchangeScope, width: number, ids: readonly number[]): ExchangeScope {
  if (scope.kind !== 'range' || scope.segments !== undefined || ids.length * width > NARROW_SEGMENTS) return scope;
  const segments: number[] = [];
  for (const id of ids) for (let s = id * width; s < (id + 1) * width; s++) segments.push(s);
  return { ...scope, segments: { ids: segments, treeSize: scope.treeSize } };
}
