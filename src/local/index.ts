/**
 * src/local: a node in this process — the node contract over one node's LevelDB and its vnodes,
 * running folds where the data is. Imports src/fold, src/store, src/node and below.
 */
export { LocalNode, type LocalNodeOptions } from './local-node.js';
