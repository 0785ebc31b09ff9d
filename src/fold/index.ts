/**
 * src/fold: the fold-module contract, the built-in modules (Riak's catalogue and an index tree),
 * the runner (plan → vnodes → merge) with its node queues, and loading modules from files.
 * Imports plan, store (the Vnode contract), tictac, cluster, hash and errors.
 */
export {
  FOLD_API_VERSION,
  MAX_INPUT_BATCH,
  STATE_NEEDS,
  type AnyFoldModule,
  type CacheRead,
  type CoverageSummary,
  type FlushContext,
  type FoldEnv,
  type FoldInput,
  type FoldModule,
  type FoldSummary,
  type FoldTarget,
  type HashSizeEntry,
  type IndexQuery,
  type KeySink,
  type ModuleFilter,
  type StateNeeds,
} from './contract.js';
export {
  runFold,
  runAnyFold,
  summarizeRun,
  DEFAULT_PER_NODE,
  type FoldCoverage,
  type FoldProgress,
  type FoldRunResult,
  type FoldTimings,
  type RunFoldOptions,
} from './runner.js';
export { FoldQueue, FoldScheduler, defaultScheduler, DEFAULT_MAX_RUNNING, DEFAULT_MAX_WAITING, type FoldQueueLimits } from './queue.js';
export { parseFoldQuery, parseWith } from './parse-query.js';
export { BUILTIN_FOLD_MODULES, builtinFoldModule } from './registry.js';
export { loadFoldModule, resolveFoldModule, validateFoldModule, isModulePath } from './load-module.js';
export { mergeRootNval, type MergeRootQuery, type RootAcc } from './modules/merge-root-nval.js';
export { mergeBranchNval, type MergeBranchQuery, type BranchAcc } from './modules/merge-branch-nval.js';
export { mergeWordsNval, type MergeWordsQuery, type WordsAcc } from './modules/merge-words-nval.js';
export { fetchClocksNval, type FetchClocksNvalQuery } from './modules/fetch-clocks-nval.js';
export { mergeTreeRange, type MergeTreeRangeQuery } from './modules/merge-tree-range.js';
export { fetchClocksRange, type FetchClocksRangeQuery } from './modules/fetch-clocks-range.js';
export { replKeysRange, type ReplKeysQuery, type ReplAcc } from './modules/repl-keys-range.js';
export { findKeys, type FindKeysQuery, type FoundKey } from './modules/find-keys.js';
export { objectStats, magnitudeOf, type ObjectStatsQuery, type ObjectStatsAcc } from './modules/object-stats.js';
export { listBuckets, type ListBucketsQuery } from './modules/list-buckets.js';
export { findTombs, type FindTombsQuery } from './modules/find-tombs.js';
export { reapTombs } from './modules/reap-tombs.js';
export { eraseKeys } from './modules/erase-keys.js';
export { type MutationQuery, type MutationAcc } from './modules/mutation.js';
export { indexTree, canonicalIndexEntry, INDEX_TREE_SEED, type IndexTreeQuery } from './modules/index-tree.js';
export type { ClockList } from './modules/clock-list.js';
