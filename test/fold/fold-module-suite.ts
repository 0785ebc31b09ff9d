import { test } from 'vitest';
import type { FoldModule } from '../../src/fold/index.js';
import { foldModuleSuite as shipped, type FoldModuleFixtures } from '../../src/testing/index.js';

/** The shipped compliance suite (src/testing), registered with vitest. */
export function foldModuleSuite<Q, A>(module: FoldModule<Q, A>, fixtures: FoldModuleFixtures): void {
  shipped(module, fixtures, test);
}
