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
} from './source.js';
export { compareRoots, compareWords } from './compare-roots.js';
export { compareBranches } from './compare-branches.js';
export { compareClocks, type KeyDelta } from './compare-clocks.js';
export { selectIds } from './select-ids.js';
export { intersectConfirmed } from './intersect.js';
export { hashesOfTree, checkHashesRequest } from './hashes-of-tree.js';
export { planLevels, FAN_OUT, TOP_WORDS, type Level, type TreeStage, type WalkMode } from './levels.js';
export { keyClockBytes, WORD_BYTES, BRANCH_BYTES } from './sizes.js';
export {
  runExchange,
  checkCompatible,
  DEFAULT_MAX_RESULTS,
  DEFAULT_PAUSE_MS,
  LARGE_DELTA_FRACTION,
  type ExchangeOptions,
  type ExchangeProgress,
  type ExchangeResult,
  type ExchangeStage,
  type ExchangeState,
} from './engine.js';
export type { ExchangeLogCode, ExchangeLogLine, ExchangeLogger } from './log.js';
export { MemorySource, type MemorySourceOptions } from './memory-source.js';
