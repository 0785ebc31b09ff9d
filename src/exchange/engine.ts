/**
 * The exchange engine: finds the keys on which two sides (blue and pink) disagree, moving as few
 * bytes as it can in as few round trips, and never reporting a write that was merely in flight.
 *
 * Stages, as in kv_index_tictactree's aae_exchange:
 *   root compare   — fetch the top of both trees, find the dirty words;
 *   branch compare — fetch the words under the dirty ones, down to the leaves (dirty segments);
 *   clock compare  — fetch the keys and clocks of the dirty segments, find the keys that differ.
 * The exchange stops at the first level that finds nothing: two sides in sync cost one round. The
 * state machine only sequences pure functions (compareWords, confirmByChildren, intersectConfirmed,
 * selectIds, compareClocks, the cost model of levels.ts); sources are injected (source.ts), so a
 * test can hand it a source that throws, hangs or changes between calls.
 *
 * Confirmation. Every tree level is looked at twice, a jittered pause apart (500 ms ± 250 by
 * default, the original's TRANSITION_PAUSE_MS and jitter_pause), and only ids dirty both times go
 * on. A put is applied to the replicas one after another; caught between two of them, its segment
 * looks dirty for a moment. Such a write is not a difference, and "repairing" it would race it.
 *
 * The fine walk (sources that declare `hashes`) piggybacks each level's second look on the next
 * level's fetch, and re-sends nothing for it: a word IS the XOR of its children's words, so the
 * children fetched a pause later are the parent's second look (confirmByChildren). A parent whose
 * children XOR equal on both sides has healed and is dropped with them. So:
 *   round 1  the top (S/w1 words: 2048 for a large tree);
 *   round 2  the children of the dirty top words at w2 — confirms the top;
 *   round 3  the leaves of the dirty children — confirms the middle;
 *   round 4  the clocks of the dirty leaves.
 * Three round trips of tree data, whatever the tree size. The leaves get their second look from the
 * clock round itself: a key is reported only if its clocks differ when fetched, a pause after its
 * leaf was seen dirty — the same two looks a re-fetch of the leaf words beside the clocks would
 * give (both would be read at the same moment), for no extra bytes and no extra call. Repair
 * writes only if the copied version still dominates (src/repair), so a write that lands just then
 * is never clobbered either way.
 *
 * Widths (levels.ts). The top width is planned for an expected number of differences (100 unless
 * the caller says), never finer than a branch: an in-sync check costs at most one root (a large
 * tree: 2048 words, 8 KiB a side, against a 16 KiB root). The middle width is planned once the top
 * has been compared, from the differences its dirty fraction implies. Measured for 100 differing
 * keys among 1M (large tree, see `aae bench exchange`): w1 = 512, w2 = 32, ≈ 27 KB of tree words a
 * side, ~59 KB in all with the clocks; Negentropy ~163 KB; the classic root/branch walk 485 KB.
 *
 * Sketches and syndromes (sources that declare them; a cluster through its folds does). Tree words
 * are linear over XOR, and so are two summaries of them, which lets a side whose words are the XOR
 * of many nodes' partial words move far fewer of them (docs/PROTOCOL.md):
 *   - the first round asks for a 64-bit sketch of the top (src/tictac/sketch.ts), 8 bytes a
 *     source; equal sketches end the exchange, in sync, in one round trip. Only when they differ
 *     are the top's words fetched, at once (the same look, one more round trip);
 *   - below a dirty top word, while differences are few (under 1.5 a word expected), the next
 *     round asks for each dirty word's syndrome (src/tictac/syndrome.ts): log2(w) + 2 words that
 *     name the one differing leaf under it (11 words for 512 leaves, against 2 KiB), and whose
 *     total is the word's second look. A word holding more than one difference is walked by its
 *     words at once. Then the clocks. Two tree rounds, three in all; for 100 differences among
 *     1M keys ≈ 14 KB a side, against ≈ 27 KB walking words.
 *
 * The classic walk (sources without `hashes`, or `walk: 'classic'`) is the original's: the root
 * twice, the dirty branches twice (whole 1 KiB branches: such a source answers nothing finer), the
 * clocks — five rounds.
 *
 * maxResults (128, the original's MAX_RESULTS). At most maxResults ids go on from any level to the
 * next (and at most maxResults segments into the clock fetch), chosen by selectIds as a tight
 * window. One exchange therefore repairs at most maxResults segments; as in the original, the
 * caller loops (exchange → repair → exchange) and `truncated` says that dirty ids were left over.
 *
 * Complete listings (`onDeltas`). An operator who asks for every difference (`aae compare
 * --output FILE.jsonl`) wants neither a window of maxResults segments nor every key clock of a
 * damaged cluster in memory at once. With `onDeltas` the cap is lifted at every tree level (tree
 * words are 4 bytes an id: even all 2^20 segments of a large tree are 4 MiB), a large delta is
 * walked rather than reported, and the clock round goes window by window: at most
 * CLOCK_WINDOW_SEGMENTS segments' key clocks are held at once, their differences handed to
 * `onDeltas` (awaited: a slow writer slows the walk, it does not fill memory) and dropped. Only the
 * first window pauses before it: the later ones are fetched later still after their leaves were
 * seen dirty, so they too get their second look. The result then keeps no deltas; `deltaCount`
 * counts them.
 *
 * Large deltas. When the differences the top implies would make more than half of the branches
 * dirty (an empty or restored sink, thousands of lost writes), capped exchanges would each pay the
 * top again and need thousands of loops. The engine flags `largeDelta` and, by default, lifts the
 * cap and finds every difference in this exchange. With `largeDelta: 'report'` it confirms the top
 * (one re-fetch of the dirty top words) and stops, so the caller can switch to range replication.
 * Walking on, the middle width follows the measured damage (finer as it grows); should most of the
 * middle words turn out dirty too, the walk stops fetching tree words and moves key lists: the
 * clocks of every segment under the dirty middle words, since leaves would be mostly dirty and
 * save little. Key lists are not the first resort: a key clock is ~28 bytes against 4 for a leaf,
 * and unless nearly every segment is dirty the leaves pay for themselves (10,000 differences
 * among 100k keys: the walk moves ~0.6× the bytes of shipping every (bucket, key, hash) from both
 * sides; key lists of every key would be ~1.6×). A classic walk skips its branches (1 KiB each,
 * twice) and fetches the clocks of every dirty branch.
 */
import { AaeError } from '../errors.js';
import { decodeSyndrome, segmentCountOf, branchCountOf, syndromeWords, LEAVES_PER_BRANCH, type TreeSize } from '../tictac/index.js';
import { compareClocks, type KeyDelta } from './compare-clocks.js';
import { compareWords } from './compare-roots.js';
import { confirmByChildren, intersectConfirmed } from './intersect.js';
import { estimateDifferences, expectedDirty, planChildWidth, planTopWidth, stageOf, type WalkMode } from './levels.js';
import type { ExchangeLogCode, ExchangeLogLine } from './log.js';
import { checkCompatible, normalise, type ExchangeOptions, type Normalised } from './options.js';
import type { ExchangeResult, ExchangeStage, ExchangeState } from './result.js';
import { selectIds } from './select-ids.js';
import { Side, SourceFailure, raceSignal } from './side.js';
import type { ExchangeSource, SourceDescription } from './source.js';

/**
 * Dirty branches / all branches above which an exchange is a large delta. Past half, the damage is
 * not a few lost writes but a replica that missed a period of them, and the capped walk would need
 * (dirty segments / maxResults) exchanges, each paying the top of the tree again. The same fraction
 * of dirty middle words sends a large delta's walk to key lists.
 */
export const LARGE_DELTA_FRACTION = 0.5;

const TIMED_OUT = Symbol('exchange timed out');

/**
 * Segments whose key clocks one window of a complete listing fetches (onDeltas). It bounds memory:
 * a large tree holds ~1 key a segment per million keys, so a window is ~1,000 clocks a side per
 * million keys (a small tree: 16 times that). Each window is one clock fetch a side (a fold over
 * the coverage plan), so windows much smaller cost time: `aae compare --output` of 20,000
 * differences between clusters of ~105k keys (large trees, three runs each) took 5.6 s in
 * 256-segment windows, 2.8 s in 1,024 and 2.7 s in 4,096.
 */
export const CLOCK_WINDOW_SEGMENTS = 1024;

/**
 * Syndromes are used below the top while the differences a dirty top word holds are expected to be
 * below this: most words then decode, and the few that hold two or more are walked by their words.
 */
const SYNDROME_MAX_PER_WORD = 1.5;
/** The width at which a word holding several differences is walked: 16 leaves a word (64 bytes). */
const SYNDROME_FALLBACK_WIDTH = 16;

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

class Exchange {
  private stage: ExchangeStage = 'root_compare';
  private rounds = 0;
  private treeRounds = 0;
  private readonly timings: Partial<Record<ExchangeStage | 'pause', number>> = {};
  private dirtyBranches = 0;
  private dirtySegments = 0;
  private estimatedDifferences = 0;
  private truncated = false;
  private largeDelta = false;
  private uncapped = false;
  private deltaCount = 0;
  private walk: WalkMode = 'classic';
  /** Both sides answer sketches: the top is compared by 8 bytes a source first (see walkFine). */
  private sketch = false;
  /** Both sides answer syndromes: a dirty top word's one difference is located without its leaves (walkSyndromes). */
  private syndromes = false;
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
    // A complete listing goes past every cap (see "Complete listings" above).
    if (this.o.onDeltas !== undefined) this.uncapped = true;
    this.sketch = fine && this.o.scope.kind === 'full' && descriptions.every((d) => d.capabilities?.sketch === true);
    if (this.sketch) {
      for (const s of [...this.blue, ...this.pink]) {
        if (typeof s.fetchSketch !== 'function') throw new TypeError('a source declares sketch but has no fetchSketch');
      }
    }
    this.syndromes = fine && this.o.scope.kind === 'full' && descriptions.every((d) => d.capabilities?.syndromes === true);
    if (this.syndromes) {
      for (const s of [...this.blue, ...this.pink]) {
        if (typeof s.fetchSyndromes !== 'function') throw new TypeError('a source declares syndromes but has no fetchSyndromes');
      }
    }
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
      return fine ? await this.walkFine(treeSize) : await this.walkClassic(treeSize);
    } catch (e) {
      return this.fail(e);
    }
  }

  /** Top, middle, leaves (three tree rounds, each confirming the one before), then clocks. */
  private async walkFine(treeSize: TreeSize): Promise<ExchangeResult> {
    const segments = segmentCountOf(treeSize);
    const branchCount = branchCountOf(treeSize);
    let width = planTopWidth(segments, this.o.expectedDifferences, this.o.maxResults);
    const top = range(segments / width);
    this.stage = stageOf(width);
    let dirty: number[];
    if (this.sketch) {
      // In sync is the common answer: 8 bytes a source say so (src/tictac/sketch.ts). Only when the
      // sketches differ are the top's words fetched — at once, no pause: the same look at the trees.
      const seed = Math.floor(this.o.random() * 0x1_0000_0000) >>> 0;
      const [b, p] = await this.round(() => Promise.all([this.blueSide!.sketch(width, top, seed), this.pinkSide!.sketch(width, top, seed)]));
      this.progress(width, top.length, b[0] === p[0] && b[1] === p[1] ? 0 : top.length);
      if (b[0] === p[0] && b[1] === p[1]) {
        this.log('EX012', 'debug', 'in sync: the tops\' sketches agree', { width, words: top.length });
        return this.finish([]);
      }
      dirty = await this.compareRound(width, top, false);
    } else dirty = await this.compareRound(width, top);
    if (dirty.length === 0) return this.finish([]);
    let d = estimateDifferences(dirty.length, top.length);
    this.estimatedDifferences = d;
    if (expectedDirty(branchCount, d) / branchCount > LARGE_DELTA_FRACTION) {
      this.flagLargeDelta(dirty.length, top.length);
      if (this.o.largeDelta === 'report' && this.o.onDeltas === undefined) {
        // Confirm before stopping: a burst of writes in flight is no reason for range replication.
        dirty = await this.confirmRound(width, dirty);
        this.noteDirty(width, dirty);
        d = estimateDifferences(dirty.length, top.length);
        this.estimatedDifferences = d;
        if (expectedDirty(branchCount, d) / branchCount > LARGE_DELTA_FRACTION) {
          this.truncated = true;
          return this.finish([]);
        }
        // It healed to a small delta: walk on, capped (one tree round more than usual).
        this.largeDelta = false;
        if (dirty.length === 0) return this.finish([]);
      } else {
        this.uncapped = true;
      }
    }
    // Few differences a dirty top word: locate each by its syndrome (src/tictac/syndrome.ts).
    if (this.syndromes && !this.uncapped && d / dirty.length < SYNDROME_MAX_PER_WORD) return this.walkSyndromes(width, dirty);
    let atTop = true;
    for (;;) {
      const parents = this.cap(dirty);
      const cap = this.uncapped ? Infinity : this.o.maxResults;
      // The middle width follows the measured damage; below the middle come the leaves.
      const child = atTop ? planChildWidth(parents.length, width, (d * parents.length) / dirty.length, cap) : 1;
      atTop = false;
      const fanOut = width / child;
      const ids = children(parents, fanOut);
      this.stage = stageOf(child);
      const [b, p] = await this.fetchRound(child, ids);
      const found = confirmByChildren(parents, fanOut, b, p);
      if (found.confirmed.length < parents.length) {
        this.log('EX010', 'debug', 'dirty once, clean on confirm: writes in flight', {
          width,
          dropped: parents.length - found.confirmed.length,
        });
      }
      this.noteDirty(width, found.confirmed);
      this.progress(child, ids.length, found.dirty.length);
      if (found.dirty.length === 0) return this.finish([]);
      if (child === 1) {
        this.noteDirty(1, found.dirty);
        this.dirtySegments = found.dirty.length;
        this.log('EX003', 'info', 'branch compare: dirty segments', { dirtySegments: found.dirty.length });
        return this.clockRound(this.cap(found.dirty));
      }
      if (this.uncapped && found.dirty.length / ids.length > LARGE_DELTA_FRACTION) {
        const listed = children(found.dirty, child);
        this.dirtySegments = listed.length;
        this.log('EX011', 'info', 'large delta: most middle words dirty, moving key lists', {
          width: child,
          dirty: found.dirty.length,
          segments: listed.length,
        });
        return this.clockRound(listed);
      }
      width = child;
      dirty = found.dirty;
    }
  }

  /**
   * Below a dirty top (width `width`): one round asks each side for the syndromes of the dirty
   * top words' leaves — log2(width) + 2 words a word instead of `width` leaves. The syndromes' own
   * totals are the top's second look (a word that came back clean was a write in flight); a
   * word with exactly one differing leaf names it. Words with two or more differences (rare when
   * differences are few: ~1 in 40 of the dirty words for 100 among 2048) are walked at once, with
   * no pause (the same look), by their words at width 16 and then the leaves of the dirty ones.
   */
  private async walkSyndromes(width: number, dirty: number[]): Promise<ExchangeResult> {
    const parents = this.cap(dirty);
    const seed = Math.floor(this.o.random() * 0x1_0000_0000) >>> 0;
    this.stage = 'branch_compare';
    const [b, p] = await this.round(() => Promise.all([this.blueSide!.syndromes(1, width, parents, seed), this.pinkSide!.syndromes(1, width, parents, seed)]));
    const size = syndromeWords(width);
    const confirmed: number[] = [];
    const leaves: number[] = [];
    const many: number[] = [];
    parents.forEach((g, j) => {
      const v = decodeSyndrome(b, p, j * size, width, g, seed);
      if (v.kind === 'clean') return;
      confirmed.push(g);
      if (v.kind === 'one') leaves.push(g * width + v.child);
      else many.push(g);
    });
    if (confirmed.length < parents.length) {
      this.log('EX010', 'debug', 'dirty once, clean on confirm: writes in flight', { width, dropped: parents.length - confirmed.length });
    }
    this.noteDirty(width, confirmed);
    this.progress(1, parents.length, confirmed.length);
    if (many.length > 0) {
      const mid = Math.min(SYNDROME_FALLBACK_WIDTH, width / 2);
      const ids = children(many, width / mid);
      const [mb, mp] = await this.fetchRound(mid, ids, false);
      const dirtyMid = compareWords(ids, mb, mp);
      const leafIds = children(dirtyMid, mid);
      const [lb, lp] = await this.fetchRound(1, leafIds, false);
      leaves.push(...compareWords(leafIds, lb, lp));
      this.log('EX013', 'debug', 'syndromes: words with more than one difference walked by their words', { words: many.length, leaves: leafIds.length });
    }
    leaves.sort((x, y) => x - y);
    if (leaves.length === 0) return this.finish([]);
    this.noteDirty(1, leaves);
    this.dirtySegments = leaves.length;
    this.log('EX003', 'info', 'branch compare: dirty segments', { dirtySegments: leaves.length });
    return this.clockRound(this.cap(leaves));
  }

  /** The original's walk: root, root again, branches, branches again, clocks. */
  private async walkClassic(treeSize: TreeSize): Promise<ExchangeResult> {
    const branchCount = branchCountOf(treeSize);
    this.stage = 'root_compare';
    const found = await this.compareRound(LEAVES_PER_BRANCH, range(branchCount));
    if (found.length === 0) return this.finish([]);
    const confirmed = await this.confirmRound(LEAVES_PER_BRANCH, found);
    this.dirtyBranches = confirmed.length;
    this.estimatedDifferences = estimateDifferences(confirmed.length, branchCount);
    this.log('EX002', 'info', 'root compare confirmed', { dirtyBranches: confirmed.length, branchCount });
    if (confirmed.length === 0) return this.finish([]);
    if (confirmed.length / branchCount > LARGE_DELTA_FRACTION) {
      this.flagLargeDelta(confirmed.length, branchCount);
      if (this.o.largeDelta === 'report' && this.o.onDeltas === undefined) {
        this.truncated = true;
        return this.finish([]);
      }
      this.uncapped = true;
      // Such a source answers only whole 1 KiB branches (twice, to confirm): dearer than the keys
      // of a densely dirty branch. Go straight to the clocks of every dirty branch.
      return this.clockRound(children(confirmed, LEAVES_PER_BRANCH));
    }
    this.stage = 'branch_compare';
    const segments = children(this.cap(confirmed), LEAVES_PER_BRANCH);
    const foundSegments = await this.compareRound(1, segments);
    if (foundSegments.length === 0) return this.finish([]);
    const confirmedSegments = await this.confirmRound(1, foundSegments);
    this.dirtySegments = confirmedSegments.length;
    this.log('EX003', 'info', 'branch compare: dirty segments', { dirtySegments: confirmedSegments.length });
    if (confirmedSegments.length === 0) return this.finish([]);
    return this.clockRound(this.cap(confirmedSegments));
  }

  private flagLargeDelta(dirty: number, asked: number): void {
    this.largeDelta = true;
    this.log('EX006', 'warn', 'large delta: most branches differ', { dirty, asked, action: this.o.largeDelta });
  }

  /** Records the branches that confirmed dirty ids at `width` fall in (a coarser word counts once). */
  private noteDirty(width: number, ids: readonly number[]): void {
    this.dirtyBranches = width >= LEAVES_PER_BRANCH ? ids.length : new Set(ids.map((id) => Math.floor((id * width) / LEAVES_PER_BRANCH))).size;
    if (width >= LEAVES_PER_BRANCH) {
      this.log('EX002', 'info', 'root compare confirmed', { width, dirty: ids.length });
    }
  }

  /** Words for `ids` at `width` from both sides, in one round (or, `newRound` false, as part of the round before). */
  private fetchRound(width: number, ids: readonly number[], newRound = true): Promise<[Uint32Array, Uint32Array]> {
    const fetch = (): Promise<[Uint32Array, Uint32Array]> => Promise.all([this.blueSide!.words(width, ids), this.pinkSide!.words(width, ids)]);
    return newRound ? this.round(fetch) : fetch();
  }

  /** A level's first look: every id asked; returns the dirty ones. */
  private async compareRound(width: number, ids: readonly number[], newRound = true): Promise<number[]> {
    const [b, p] = await this.fetchRound(width, ids, newRound);
    const dirty = compareWords(ids, b, p);
    this.progress(width, ids.length, dirty.length);
    return dirty;
  }

  /** A re-fetch of only the ids found dirty, a pause later; keeps those dirty both times. */
  private async confirmRound(width: number, found: readonly number[]): Promise<number[]> {
    const [b, p] = await this.fetchRound(width, found);
    const confirmed = intersectConfirmed(found, compareWords(found, b, p));
    if (confirmed.length < found.length) {
      this.log('EX010', 'debug', 'dirty once, clean on confirm: writes in flight', { width, dropped: found.length - confirmed.length });
    }
    this.progress(width, found.length, confirmed.length);
    return confirmed;
  }

  private async clockRound(segments: readonly number[]): Promise<ExchangeResult> {
    this.stage = 'clock_compare';
    const onDeltas = this.o.onDeltas;
    if (onDeltas === undefined) {
      const [b, p] = await this.round(() => Promise.all([this.blueSide!.clocks(segments), this.pinkSide!.clocks(segments)]));
      const deltas = compareClocks(b, p);
      this.deltaCount = deltas.length;
      this.log('EX004', 'info', 'clock compare', { segments: segments.length, deltas: deltas.length });
      this.progress(0, segments.length, deltas.length, { done: segments.length, total: segments.length });
      return this.finish(deltas);
    }
    for (let at = 0; at < segments.length; at += CLOCK_WINDOW_SEGMENTS) {
      const window = segments.slice(at, at + CLOCK_WINDOW_SEGMENTS);
      const [b, p] = await this.round(() => Promise.all([this.blueSide!.clocks(window), this.pinkSide!.clocks(window)]), at === 0);
      const deltas = compareClocks(b, p);
      this.deltaCount += deltas.length;
      this.log('EX004', 'info', 'clock compare', { segments: window.length, deltas: deltas.length, window: at / CLOCK_WINDOW_SEGMENTS + 1 });
      if (deltas.length > 0) await raceSignal(Promise.resolve(onDeltas(deltas)), this.signal);
      this.progress(0, window.length, deltas.length, { done: at + window.length, total: segments.length });
    }
    return this.finish([]);
  }

  /** One round: a pause first (but for the very first round, or when told not to), then the fetches, timed by stage. */
  private async round<T>(fetch: () => Promise<T>, pause = true): Promise<T> {
    if (this.rounds > 0 && pause) await this.pause();
    this.rounds++;
    if (this.stage !== 'clock_compare') this.treeRounds++;
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
      deltas: this.deltaCount,
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
    // A source that could not reach its node keeps that code (and the node it names): an operator
    // acts on "node n2 is unreachable", not on "the exchange failed".
    const unreachable = cause instanceof AaeError && cause.code === 'NODE_UNAVAILABLE';
    // Its message is the node's own, in words; the engine's stage and side stay in details and the log.
    const message = unreachable ? cause.message : `exchange failed in ${this.stage}: ${e instanceof Error ? e.message : String(e)}`;
    const error = new AaeError(unreachable ? 'NODE_UNAVAILABLE' : 'EXCHANGE_FAILED', message, {
      cause,
      details: { ...(unreachable ? cause.details : {}), stage: this.stage, side },
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
      inSync: error === undefined && this.deltaCount === 0 && !this.truncated,
      deltas,
      deltaCount: error === undefined ? this.deltaCount : 0,
      dirtyBranches: this.dirtyBranches,
      dirtySegments: this.dirtySegments,
      estimatedDifferences: Math.round(this.estimatedDifferences),
      truncated: this.truncated,
      largeDelta: this.largeDelta,
      walk: this.walk,
      rounds: this.rounds,
      treeRounds: this.treeRounds,
      roundTrips: (this.blueSide?.roundTrips ?? 0) + (this.pinkSide?.roundTrips ?? 0),
      bytes: { blue: blueBytes, pink: pinkBytes, total: blueBytes + pinkBytes },
      timings: { ...this.timings },
      ...(error === undefined ? {} : { error }),
    };
  }

  private progress(width: number, asked: number, dirty: number, clockSegments?: { done: number; total: number }): void {
    this.o.onProgress?.({
      ...(clockSegments === undefined ? {} : { clockSegments }),
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

/** The ids one level finer under each parent, ascending. */
function children(parents: readonly number[], fanOut: number): number[] {
  const out: number[] = [];
  for (const p of parents) for (let c = 0; c < fanOut; c++) out.push(p * fanOut + c);
  return out;
}
