import type { Command } from 'commander';
import { claim, MAX_N_VAL, MAX_RING_SIZE, readClusterSpec } from '../../cluster/index.js';
import { AaeError } from '../../errors.js';
import { decodeOffset, plan, type CoveragePlan, type PlanInput, type PlanSample } from '../../plan/index.js';
import type { CommandContext } from '../io.js';
import { printJson, printTable } from '../output.js';
import { parseIntOption } from '../parse.js';

interface PlanOptions {
  offset?: number;
  sample?: number;
  sampleCount?: number;
  pvc: number;
  down?: string[];
  downVnode?: number[];
  allup?: boolean;
  json?: boolean;
}

export function registerPlan(program: Command, ctx: CommandContext): void {
  program
    .command('plan')
    .description('show the coverage plan for a cluster: which vnodes a fold asks, and the keyspaces each answers for')
    .argument('<cluster>', 'cluster directory (holds cluster.json)')
    .option(
      '--offset <k>',
      'fix the plan: an integer in 0..ringSize·nVal−1 (rotation·nVal + replica shift); 0..nVal−1 ask different replicas; default random',
      parseIntOption('--offset', 0, MAX_RING_SIZE * MAX_N_VAL - 1),
    )
    .option('--sample <fraction>', 'cover only this fraction of the keyspaces, in (0, 1] (rounded up to whole keyspaces)', parseFraction)
    .option('--sample-count <n>', 'cover only this many keyspaces', parseIntOption('--sample-count', 1, MAX_RING_SIZE))
    .option('--pvc <n>', 'distinct replicas that answer for each keyspace, 1..nVal', parseIntOption('--pvc', 1, MAX_N_VAL), 1)
    .option('--down <node...>', 'nodes that are unavailable: none of their vnodes is asked (put after <cluster>)')
    .option('--down-vnode <vnode...>', 'single vnodes that are unavailable', collectVnodes)
    .option('--allup', "plan around what is down and list the keyspaces it misses, instead of failing (selector 'allup')")
    .option('--json', 'print the plan as JSON only')
    .addHelpText(
      'after',
      `
Without --allup, a plan that cannot cover every keyspace fails (exit 3) and names the keyspaces.

Examples:
  $ aae plan ./c1                          # a random offset
  $ aae plan ./c1 --offset 0 --json        # deterministic; compare with --offset 1 for other replicas
  $ aae plan ./c1 --sample 0.25            # a quarter of the keyspaces, spread around the ring
  $ aae plan ./c1 --sample-count 8 --pvc 2
  $ aae plan ./c1 --down n2 n3 --allup`,
    )
    .action(async (dir: string, opts: PlanOptions) => {
      if (opts.sample !== undefined && opts.sampleCount !== undefined) {
        throw new AaeError('USAGE', 'give --sample or --sample-count, not both');
      }
      const spec = await readClusterSpec(dir);
      const { owners } = claim(spec.ringSize, spec.nodes, spec.nVal);
      let sample: PlanSample | undefined;
      if (opts.sample !== undefined) sample = { fraction: opts.sample };
      else if (opts.sampleCount !== undefined) sample = { count: opts.sampleCount };
      const input: PlanInput = {
        ringSize: spec.ringSize,
        nVal: spec.nVal,
        owners,
        pvc: opts.pvc,
        selector: opts.allup ? 'allup' : 'all',
        unavailable: { nodes: opts.down ?? [], vnodes: opts.downVnode ?? [] },
      };
      if (opts.offset !== undefined) input.offset = opts.offset;
      if (sample !== undefined) input.sample = sample;
      const result = plan(input);

      if (opts.json) {
        printJson(ctx.io.stdout, { cluster: spec.name, ringSize: spec.ringSize, nVal: spec.nVal, ...result });
        return;
      }
      printTable(
        ctx.io.stdout,
        ['vnode', 'node', 'keyspaces', 'filter'],
        result.vnodes.map((e) => [e.vnode, e.node, e.keyspaces.join(','), e.filter === null ? '-' : e.filter.join(',')]),
      );
      ctx.io.stdout.write(`${summary(result, spec.ringSize, spec.nVal)}\n`);
    });
}

function summary(p: CoveragePlan, ringSize: number, nVal: number): string {
  const { rotation, shift } = decodeOffset(p.offset, nVal);
  const pct = Math.round(p.fraction * 1000) / 10;
  const lines = [
    `offset ${p.offset} (rotation ${rotation}, shift ${shift}), pvc ${p.pvc}: ${p.vnodes.length} vnodes, ` +
      `${p.covered.length} of ${ringSize} keyspaces covered (${pct}%)`,
  ];
  if (p.missing.length > 0) lines.push(`missing ${p.missing.length} keyspaces: ${p.missing.join(',')}`);
  return lines.join('\n');
}

function parseFraction(raw: string): number {
  const f = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(f) || f <= 0 || f > 1) {
    throw new AaeError('USAGE', `--sample must be a fraction in (0, 1] such as 0.25, got '${raw}' (for a count use --sample-count)`);
  }
  return f;
}

function collectVnodes(raw: string, previous: number[] | undefined): number[] {
  return [...(previous ?? []), parseIntOption('--down-vnode', 0, MAX_RING_SIZE - 1)(raw)];
}
