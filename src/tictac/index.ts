/**
 * src/tictac: the TicTac tree. Sizes, the tree and its O(1) updates, the pure compare functions of
 * an exchange, the export format and the root/branch wire payloads. Imports only src/hash and
 * src/errors.
 */
export {
  DEFAULT_TREE_SIZE,
  HASH_BYTES,
  LEAVES_PER_BRANCH,
  MAX_BRANCH_COUNT,
  TREE_SIZES,
  branchCountOf,
  branchOfSegment,
  isTreeSize,
  leafOfSegment,
  parseTreeSize,
  segmentCountOf,
  segmentOf,
  treeSizeOfBranchCount,
  type TreeSize,
} from './sizes.js';
export { TicTacTree, type TreeStats } from './tree.js';
export { dirtyBranches, dirtySegments, type BranchMap } from './dirty.js';
export { EXPORT_VERSION } from './export.js';
export { decodeBranches, decodeRoot, encodeBranches, encodeRoot } from './wire.js';
export { sketchWordsInto } from './sketch.js';
export { decodeSyndrome, syndromeInto, syndromeWords, type SyndromeVerdict } from './syndrome.js';
