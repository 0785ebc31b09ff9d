/** The compliance suite lives in src/testing (the package ships it for module authors); tests import it from here as before. */
export { foldModuleSuite, type FoldModuleFixtures } from '../../src/testing/fold-module-suite.js';
