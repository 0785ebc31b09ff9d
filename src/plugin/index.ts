/**
 * src/plugin (`tictac-aae/plugin`): fold plugins deployed to nodes — the plugin host of a node
 * server (a plugin directory, semver plugin-API checks before any plugin code runs, hot reload by
 * replacing worker pools, isolation in worker threads with memory limits and call deadlines,
 * per-plugin metrics), the coordinator's copies of plugins, and the SDK a plugin is written with.
 * Imports fold, node and below. docs/PLUGINS.md is its guide.
 */
export { PLUGIN_API_VERSION } from './api.js';
export { PluginHost, type PluginHostOptions, type PluginObserver } from './host.js';
export { DEFAULT_POOL_LIMITS, type PoolLimits } from './pool.js';
export { DEFAULT_TUNING, MAX_BATCHES_IN_FLIGHT, type SessionTuning } from './worker-session.js';
export { pluginMetrics } from './metrics.js';
export { PLUGIN_LOG_CODES, type LogLine, type LogSink, type PluginLogCode } from './log.js';
export { readManifest, digestOf, pluginFiles, type PluginManifest } from './manifest.js';
export { importPlugin, type PluginSdk } from './load.js';
export { loadClientPlugin, scanPlugins, type ClientPlugin } from './client.js';
export { packHashSizes, unpackHashSizes, type PackedHashSizes } from './pack.js';
export * as sdk from './sdk.js';
export { counts, histogram, overflow, HISTOGRAM_BUCKETS, type Counts } from './accumulators.js';
export { rangeFields, parseRange, rangeFilter, keyText, keyHasPrefix, type RangeQuery } from './filters.js';
export {
  FOLD_API_VERSION,
  MAX_INPUT_BATCH,
  type AnyFoldModule,
  type CoverageSummary,
  type FlushContext,
  type FlushOutput,
  type FoldInput,
  type FoldModule,
  type FoldSummary,
  type HashSizeEntry,
  type ModuleFilter,
  type StateNeeds,
  type AccCodec,
} from '../fold/index.js';
