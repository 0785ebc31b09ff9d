/**
 * src/exchange: the exchange engine and its pure compare functions. Sources are injected through
 * the contract in source.ts; this module knows nothing of stores, folds or sockets.
 */
export type {
  ExchangeScope,
  ExchangeSource,
  FetchOptions,
  FullScope,
  HashesRequest,
  KeyClock,
  KeyRange,
  ModifiedRange,
  RangeScope,
  SourceDescription,
  SyndromeRequest,
} from './source.js';
export { compareRoots, compareWords } from './compare-roots.js';
export { compareBranches } from './compare-branches.js';
export { compareClocks, type KeyDelta } from './compare-clocks.js';
export { selectIds } from './select-ids.js';
export { intersectConfirmed, confirmByChildren, type ChildConfirmation } from './intersect.js';
export { hashesOfTree, checkHashesRequest } from './hashes-of-tree.js';
export {
  planTopWidth,
  planChildWidth,
  costBelow,
  expectedDirty,
  estimateDifferences,
  stageOf,
  DEFAULT_EXPECTED_DIFFERENCES,
  MAX_BRANCHES_PER_TOP_WORD,
  MIN_TOP_WORDS,
  type TreeStage,
  type WalkMode,
} from './levels.js';
export { keyClockBytes, WORD_BYTES, BRANCH_BYTES } from './sizes.js';
export { runExchange, LARGE_DELTA_FRACTION, CLOCK_WINDOW_SEGMENTS } from './engine.js';
export { checkCompatible, DEFAULT_MAX_RESULTS, DEFAULT_PAUSE_MS, type ExchangeOptions } from './options.js';
export type { ExchangeProgress, ExchangeResult, ExchangeStage, ExchangeState } from './result.js';
export type { ExchangeLogCode, ExchangeLogLine, ExchangeLogger } from './log.js';
export { MemorySource, type MemorySourceOptions } from './memory-source.js';
