/**
 * src/fold: the fold-module contract, the built-in modules (Riak's catalogue and an index tree),
 * the node side of a fold (execute.ts: a module over a node's own vnodes, in its fold queue), the
 * coordinator side (runner.ts: plan → one request per node over the node contract → merge), the
 * modules a node can run (module-registry.ts), and loading modules from files.
 * Imports plan, node, store (a node's own vnodes), tictac, cluster, hash and errors.
 */
export {
  BUILTIN_MODULE_VERSION,
  FOLD_API_VERSION,
  MAX_INPUT_BATCH,
  STATE_NEEDS,
  type AccCodec,
  type AnyFoldModule,
  type CacheRead,
  type CoverageSummary,
  type FlushContext,
  type FlushOutput,
  type FoldCoverageKind,
  type FoldInput,
  type FoldModule,
  type FoldSummary,
  type VnodeHandle,
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
export { FoldQueue, DEFAULT_MAX_RUNNING, DEFAULT_MAX_WAITING, abortError, type FoldQueueLimits } from './queue.js';
export { executeFold, type ExecuteFold } from './execute.js';
export { checkBound, moduleFailure } from './failure.js';
export { inThreadModule, inThreadSession, moduleInfoOf, type FoldSession, type InputBatch, type ModuleLease, type ModuleSource, type NodeModule } from './session.js';
export { ModuleRegistry, moduleVersion, UNVERSIONED } from './module-registry.js';
export { plainCodec, treeCodec, branchesCodec } from './acc-codecs.js';
export { parseFoldQuery, parseWith } from './parse-query.js';
export { BUILTIN_FOLD_MODULES, builtinFoldModule } from './registry.js';
export { loadFoldModule, resolveFoldModule, validateFoldModule, isModulePath } from './load-module.js';
export { mergeRootNval, type MergeRootQuery, type RootAcc } from './modules/merge-root-nval.js';
export { mergeBranchNval, type MergeBranchQuery, type BranchAcc } from './modules/merge-branch-nval.js';
export { mergeWordsNval, type MergeWordsQuery, type WordsAcc } from './modules/merge-words-nval.js';
export { sketchWordsNval, type SketchWordsQuery, type SketchAcc } from './modules/sketch-words-nval.js';
export { syndromeWordsNval, type SyndromeQuery, type SyndromeAcc } from './modules/syndrome-words-nval.js';
export { toRuns } from './modules/id-runs.js';
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
