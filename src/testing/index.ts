/**
 * tictac-aae/testing: the suites the project's own implementations pass, shipped so that other
 * implementations run them too — the fold-module compliance suite, the node-contract suite over a
 * cluster, and the loopback codec that proves a node's requests and answers are plain data.
 */
export { foldModuleSuite, type FoldModuleFixtures, type TestFn } from './fold-module-suite.js';
export { loopbackNode, notPlainData, encodePlain, decodePlain, type LoopbackNode, type LoopbackStats } from './loopback.js';
export { clusterSuite, expectTreesMatchObjects, type ClusterFactory, type ClusterHandle, type SuiteHarness } from './cluster-suite.js';
