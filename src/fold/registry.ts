import { AaeError, quote } from '../errors.js';
import type { AnyFoldModule } from './contract.js';
import { eraseKeys } from './modules/erase-keys.js';
import { fetchClocksNval } from './modules/fetch-clocks-nval.js';
import { fetchClocksRange } from './modules/fetch-clocks-range.js';
import { findKeys } from './modules/find-keys.js';
import { findTombs } from './modules/find-tombs.js';
import { indexTree } from './modules/index-tree.js';
import { listBuckets } from './modules/list-buckets.js';
import { mergeBranchNval } from './modules/merge-branch-nval.js';
import { mergeRootNval } from './modules/merge-root-nval.js';
import { mergeTreeRange } from './modules/merge-tree-range.js';
import { mergeWordsNval } from './modules/merge-words-nval.js';
import { sketchWordsNval } from './modules/sketch-words-nval.js';
import { syndromeWordsNval } from './modules/syndrome-words-nval.js';
import { objectStats } from './modules/object-stats.js';
import { reapTombs } from './modules/reap-tombs.js';
import { replKeysRange } from './modules/repl-keys-range.js';

/** The built-in fold modules, Riak's catalogue plus index_tree and merge_words_nval, by name. */
export const BUILTIN_FOLD_MODULES: readonly AnyFoldModule[] = [
  mergeRootNval,
  mergeBranchNval,
  mergeWordsNval,
  sketchWordsNval,
  syndromeWordsNval,
  fetchClocksNval,
  mergeTreeRange,
  fetchClocksRange,
  replKeysRange,
  findKeys,
  objectStats,
  listBuckets,
  findTombs,
  reapTombs,
  eraseKeys,
  indexTree,
];

const byName = new Map(BUILTIN_FOLD_MODULES.map((m) => [m.name, m]));

/** The built-in module of that name; FOLD_MODULE_UNKNOWN (listing the names) otherwise. */
export function builtinFoldModule(name: string): AnyFoldModule {
  const m = byName.get(name);
  if (m === undefined) {
    throw new AaeError('FOLD_MODULE_UNKNOWN', `no fold module ${quote(name)} (built-in: ${[...byName.keys()].join(', ')}; or give a path to a .js module)`);
  }
  return m;
}
