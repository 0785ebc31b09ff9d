/**
 * tictac-aae/testing: the suites the project's own implementations pass, shipped so that other
 * implementations run them too — the fold-module compliance suite (with arbitraries of fold inputs),
 * the node-contract suite over a cluster, the loopback codec that proves a node's requests and
 * answers are plain data — and a test node with data to fold over, which runs plugins as a served
 * node does.
 */
export { foldModuleSuite, type FoldModuleFixtures, type TestFn } from './fold-module-suite.js';
export { loopbackNode, notPlainData, encodePlain, decodePlain, type LoopbackNode, type LoopbackStats } from './loopback.js';
export { clusterSuite, expectTreesMatchObjects, type ClusterFactory, type ClusterHandle, type SuiteHarness } from './cluster-suite.js';
export { testNode, type TestNode, type TestNodeOptions } from './test-node.js';
export { headArb, headInputs, hashSizeInputs } from './arbitraries.js';
