import type { Command } from 'commander';
import { claim, defaultSpec, MAX_N_VAL, MAX_RING_SIZE, MIN_RING_SIZE, TREE_SIZE_NAMES, type ClusterSpec } from '../../cluster/index.js';
import { HASH_METHODS } from '../../hash/index.js';
import { EmbeddedCluster } from '../../coordinator/index.js';
import type { CommandContext } from '../io.js';
import { printJson } from '../output.js';
import { parseChoice, parseIntOption } from '../parse.js';
import { AaeError } from '../../errors.js';
import { basename, resolve } from 'node:path';

interface CreateOptions {
  name?: string;
  nodes: number;
  ringSize: number;
  nVal: number;
  treeSize: ClusterSpec['treeSize'];
  hashMethod: ClusterSpec['hashMethod'];
  seed: number;
  json?: boolean;
}

export function registerCluster(program: Command, ctx: CommandContext): void {
  const cluster = program.command('cluster').description('create embedded clusters');
  cluster
    .command('create')
    .description('create an embedded cluster: a directory with cluster.json and one LevelDB per node')
    .argument('<dir>', 'the directory to create (must not hold a cluster yet)')
    .option('--name <name>', 'cluster name, also the actor of the versions it mints (default: the directory name)')
    // 4, not 3: with nVal 3 no power-of-two ring can keep every preflist on 3 distinct nodes (a
    // node's vnodes must sit 3 apart, so 3 nodes hold at most 3·⌊R/3⌋ < R vnodes).
    .option('--nodes <n>', 'number of nodes (4 keeps the 3 replicas of every key on distinct nodes)', parseIntOption('--nodes', 1, 256), 4)
    .option('--ring-size <n>', `partitions, a power of two in ${MIN_RING_SIZE}..${MAX_RING_SIZE}`, parseRingSize, 64)
    .option('--n-val <n>', 'replicas of each key', parseIntOption('--n-val', 1, MAX_N_VAL), 3)
    .option('--tree-size <size>', `TicTac tree size: ${TREE_SIZE_NAMES.join(', ')}`, parseChoice('--tree-size', TREE_SIZE_NAMES), 'large')
    .option('--hash-method <m>', 'object hash: clock (default) or value (for data without clocks)', parseChoice('--hash-method', HASH_METHODS), 'clock')
    .option('--seed <n>', 'hash seed (clusters compare only with the same method and seed)', parseIntOption('--seed', 0, 0xffff_ffff), 0)
    .option('--json', 'print the spec as JSON only')
    .addHelpText(
      'after',
      `
Examples:
  $ aae cluster create ./dc1
  $ aae cluster create ./dr --nodes 3 --ring-size 32 --n-val 2
  $ aae cluster create ./small --nodes 1 --ring-size 8 --n-val 1 --tree-size small`,
    )
    .action(async (dir: string, opts: CreateOptions) => {
      if (dir.trim() === '') throw new AaeError('USAGE', 'the cluster directory must not be empty');
      if (opts.name !== undefined && opts.name.trim() === '') throw new AaeError('USAGE', '--name must not be empty');
      const spec = defaultSpec(opts.name ?? basename(resolve(dir)), {
        nodeCount: opts.nodes,
        ringSize: opts.ringSize,
        nVal: opts.nVal,
        treeSize: opts.treeSize,
        hashMethod: opts.hashMethod,
        seed: opts.seed,
      });
      const c = await EmbeddedCluster.create(dir, spec);
      await c.close();
      const placement = claim(spec.ringSize, spec.nodes, spec.nVal);
      if (!placement.safe) {
        ctx.io.stderr.write(`warning: ${placement.reason ?? 'some preflists put two replicas on one node'}\n`);
      }
      if (opts.json) {
        printJson(ctx.io.stdout, { dir, spec, claim: { safe: placement.safe, violations: placement.violations } });
        return;
      }
      ctx.io.stdout.write(
        `created cluster '${spec.name}' at ${dir}: ${spec.nodes.length} node(s), ring ${spec.ringSize}, nVal ${spec.nVal}, ` +
          `tree ${spec.treeSize}, hash ${spec.hashMethod}/seed ${spec.seed}\n`,
      );
    });
}

function parseRingSize(raw: string): number {
  const n = parseIntOption('--ring-size', MIN_RING_SIZE, MAX_RING_SIZE)(raw);
  if ((n & (n - 1)) !== 0) throw new AaeError('USAGE', `--ring-size must be a power of two (8, 16, 32, … ${MAX_RING_SIZE}), got ${raw}`);
  return n;
}
