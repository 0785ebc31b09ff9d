import type { Command } from 'commander';
import { BENCH_SUITES } from '../../bench/suites.js';
import { AaeError } from '../../errors.js';
import type { CommandContext } from '../io.js';
import { printJson, printTable } from '../output.js';

export function registerBench(program: Command, ctx: CommandContext): void {
  program
    .command('bench')
    .description('run a benchmark suite and print its figures with ratios against same-run baselines')
    .argument('<suite>', `one of: ${BENCH_SUITES.map((s) => s.name).join(', ') || '(none yet)'}`)
    .option('--json', 'print the report as JSON only')
    .option('--scale <f>', 'scale N by this factor (1 = the sizes the targets name)', parseScale, 1)
    .addHelpText('after', '\nExamples:\n  $ aae bench tictac --json\n  $ aae bench tictac --scale 0.1')
    .action(async (suiteName: string, opts: { json?: boolean; scale: number }) => {
      const suite = BENCH_SUITES.find((s) => s.name === suiteName);
      if (!suite) {
        throw new AaeError(
          'USAGE',
          `unknown bench suite '${suiteName}'; known: ${BENCH_SUITES.map((s) => s.name).join(', ')}`,
        );
      }
      const report = await suite.run({ scale: opts.scale, log: (line) => ctx.io.stderr.write(`${line}\n`) });
      if (opts.json) {
        printJson(ctx.io.stdout, report);
        return;
      }
      ctx.io.stdout.write(`${report.suite}: ${JSON.stringify(report.params)}\n`);
      if (opts.scale !== 1) {
        ctx.io.stdout.write(`note: the targets are set for scale 1; at scale ${opts.scale} 'met' says little (small runs do not warm up)\n`);
      }
      printTable(
        ctx.io.stdout,
        ['figure', 'value', 'baseline', 'ratio', 'target', 'met'],
        report.figures.map((f) => [
          f.name,
          `${f.value} ${f.unit}`,
          f.baseline ? `${f.baseline.value} ${f.baseline.unit} (${f.baseline.name})` : '',
          f.ratio ?? '',
          f.target ?? '',
          f.met === undefined ? '' : f.met ? 'yes' : 'NO',
        ]),
      );
    });
}

function parseScale(raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 10) throw new AaeError('USAGE', `--scale must be in (0, 10], got '${raw}'`);
  return n;
}
