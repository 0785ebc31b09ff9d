/**
 * What a plugin is handed: `export default function plugin(aae) { return { name, apiVersion: 1, … } }`.
 * The node calls the factory with this SDK, its own, so a deployed plugin needs no import of
 * tictac-aae at run time (its folder need not resolve the package) and always runs against the
 * node's SDK — the one the plugin-API check admitted it to. Tests call the factory with the same
 * object, imported from `tictac-aae/plugin`.
 */
export { PLUGIN_API_VERSION } from './api.js';
export { FOLD_API_VERSION, MAX_INPUT_BATCH } from '../fold/index.js';
export { AaeError, isAaeError } from '../errors.js';
export { counts, histogram, overflow, HISTOGRAM_BUCKETS, type Counts } from './accumulators.js';
export { rangeFields, parseRange, rangeFilter, keyText, keyHasPrefix, type RangeQuery } from './filters.js';
export { parseWith } from '../fold/index.js';
export { z } from 'zod';
