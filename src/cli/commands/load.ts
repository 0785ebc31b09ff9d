import type { Command } from 'commander';
import { MAX_N_VAL } from '../../cluster/index.js';
import { AaeError, isAaeError } from '../../errors.js';
import type { CommandContext } from '../io.js';
import { loadFile } from '../load-file.js';
import { withCluster } from '../open-cluster.js';
import { printJson } from '../output.js';
import { parseIntOption } from '../parse.js';
import type { Progress } from '../progress.js';

export function registerLoad(program: Command, ctx: CommandContext): void {
  program
    .command('load')
    .description('load objects from a JSONL file; the whole file is validated first, so a bad file writes nothing')
    .argument('<cluster>', 'cluster directory')
    .argument('<file>', 'JSONL: {"bucket","key","value"|"base64","clock","lastModified","deleted","indexes"} per line')
    .option('--replicas <k>', 'write only the first K replicas of each preflist (K < nVal makes replica drift)', parseIntOption('--replicas', 1, MAX_N_VAL))
    .option('--json', 'print the result as JSON only')
    .option('--progress-log', 'write a line to stderr as each batch lands (LD001: objects landed, the file line every one up to has landed), for logs and scripts')
    .addHelpText(
      'after',
      `
A line without "clock" becomes a new version by the cluster's actor; a line with one keeps it
(with its "lastModified", or time 0 without one: such a version loses every last-write-wins tie).
Malformed lines are listed by number (exit 2) and nothing is written. A load that stops (Ctrl-C,
a failure, a crash) leaves written what it wrote; the lines through the last LD001 line's number
have all landed on every replica, so loading the lines after it finishes the job.

Examples:
  $ aae load ./dc1 fixtures/sample.jsonl
  $ aae load ./dc1 more.jsonl --replicas 1      # only the first replica: drift inside the cluster
  $ aae load ./dc1 big.jsonl --progress-log 2>>load.log`,
    )
    .action(async (dir: string, file: string, opts: { replicas?: number; json?: boolean; progressLog?: boolean }) => {
      const result = await withCluster(dir, async (cluster) => {
        if (opts.replicas !== undefined && opts.replicas > cluster.spec.nVal) {
          throw new AaeError('USAGE', `--replicas ${opts.replicas} exceeds the cluster's nVal ${cluster.spec.nVal}`);
        }
        let bar: Progress | undefined;
        let total = 0;
        let written = 0;
        let through = 0;
        try {
          const r = await loadFile(cluster, file, {
            ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}),
            ...(ctx.io.signal === undefined ? {} : { signal: ctx.io.signal }),
            onProgress: (p) => {
              const { phase, lines } = p;
              if (phase === 'validate') {
                total = lines;
                return;
              }
              written = lines;
              through = p.through ?? through;
              if (opts.progressLog) {
                ctx.io.stderr.write(`LD001 landed: ${lines} object(s); every line through ${through} has landed\n`);
                return;
              }
              bar ??= ctx.progress('load', Math.max(total, lines), 'objects');
              bar.update(lines, { through });
            },
          });
          return r;
        } catch (e) {
          if (!isAaeError(e, 'ABORTED')) {
            // A failure after writing began (a store error, the file changed under us): say how much stays.
            if (written === 0 || !(e instanceof AaeError)) throw e;
            throw new AaeError(e.code, `${e.message}\n${written} of ${total} objects were written before this and stay written. ${resume(file, through)}`, {
              cause: e,
              details: { ...e.details, written, total, through },
            });
          }
          if (written === 0) throw new AaeError('ABORTED', `interrupted before anything from ${file} was written`, { cause: e });
          throw new AaeError(
            'ABORTED',
            `interrupted: ${written} of ${total} objects were written and stay written. ${resume(file, through)}`,
            { cause: e, details: { written, total, through } },
          );
        } finally {
          bar?.stop({ written });
        }
      }, ctx.io.stderr);
      if (opts.json) {
        printJson(ctx.io.stdout, result);
        return;
      }
      ctx.io.stdout.write(`loaded ${result.written} object(s) (${result.tombstones} tombstone(s)) from ${file}\n`);
    });
}

/** How to finish a load that stopped: the lines after the last one known to have landed. */
function resume(file: string, through: number): string {
  const rest = through === 0 ? `Loading ${file} again` : `Every line up to ${through} landed; loading the lines after it (tail -n +${through + 1} ${file})`;
  return `${rest} finishes the job. That is safe for lines with clocks (the same versions); lines without clocks would become new versions.`;
}
