/** What an exchange reports: as it goes (progress) and when it ends (result). */
import type { AaeError } from '../errors.js';
import type { KeyDelta } from './compare-clocks.js';
import type { TreeStage, WalkMode } from './levels.js';

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
  /** In the clock stage: segments whose clocks have been compared, of all that go to the clocks. */
  readonly clockSegments?: { readonly done: number; readonly total: number };
}

export interface ExchangeResult {
  readonly id: string;
  /** The stage the exchange ended in, or 'timeout' / 'error'. In sync at the root: 'root_compare'. */
  readonly state: ExchangeState;
  /** The stage it had reached (differs from state only for 'timeout' and 'error'). */
  readonly stage: ExchangeStage;
  /** No confirmed differences, and none left over. */
  readonly inSync: boolean;
  /** The differences found, unless they were handed to `onDeltas` (then empty). */
  readonly deltas: KeyDelta[];
  /** Differences found, kept in `deltas` or handed to `onDeltas`. */
  readonly deltaCount: number;
  /**
   * Branches holding a confirmed dirty id, as far as the walk looked: counted at the finest level it
   * reached (a word coarser than a branch counts once), among the ids it went on with.
   */
  readonly dirtyBranches: number;
  /**
   * Dirty segments found at the leaves (before the maxResults cap); when a large delta moved key
   * lists instead of leaves, the segments whose keys were listed.
   */
  readonly dirtySegments: number;
  /**
   * The differences the dirty fraction of the top of the tree implies (the first tree round of a
   * fine walk, the confirmed root of a classic one; 0 in sync): what a capped exchange saw of the
   * damage it did not walk.
   */
  readonly estimatedDifferences: number;
  /** Dirty ids were left for a later exchange (maxResults, or a large delta reported). */
  readonly truncated: boolean;
  readonly largeDelta: boolean;
  readonly walk: WalkMode;
  /** Rounds of requests (each asks every source of both sides once). */
  readonly rounds: number;
  /** Of those, rounds of tree data (before the clock compare). */
  readonly treeRounds: number;
  /** Requests answered or attempted, all sources of both sides. */
  readonly roundTrips: number;
  readonly bytes: { readonly blue: number; readonly pink: number; readonly total: number };
  /** ms per stage, and in pauses. */
  readonly timings: Partial<Record<ExchangeStage | 'pause', number>>;
  readonly error?: AaeError;
}
