import { exchangeBench } from './exchange.js';
import { foldBench } from './fold.js';
import { pgBench } from './pg.js';
import { netBench } from './net.js';
import { planBench } from './plan.js';
import { pluginsBench } from './plugins.js';
import { redisBench } from './redis.js';
import { repairBench } from './repair.js';
import type { BenchSuite } from './suite.js';
import { storeBench } from './store.js';
import { tictacBench } from './tictac.js';

/** Every `aae bench <suite>`; each suite lives in a file of its own. */
export const BENCH_SUITES: readonly BenchSuite[] = [planBench, tictacBench, storeBench, foldBench, repairBench, exchangeBench, netBench, pgBench, redisBench, pluginsBench];
