import type { Command } from 'commander';
import { EmbeddedCluster } from '../../coordinator/index.js';
import { AaeError } from '../../errors.js';
import { treeCheckLine, verifyTrees, type VnodeTreeCheck } from '../../store/index.js';
import { CommandLimit } from '../command-limit.js';
import { EXIT, type CommandContext } from '../io.js';
import { withCluster } from '../open-cluster.js';
import { printJson, printTable } from '../output.js';
import { parseIntOption } from '../parse.js';

interface VerifyCliOptions {
  fix?: boolean;
  maxKeysPerSecond?: number;
  json?: boolean;
}

export function registerVerify(program: Command, ctx: CommandContext): void {
  program
    .command('verify')
    .description("rebuild every vnode's trees from its heads beside the cached ones, and report those that differ (--fix replaces them)")
    .argument('<cluster>', 'cluster directory')
    .option('--fix', 'replace every tree that differs from its heads with the rebuilt one')
    .option('--max-keys-per-second <n>', 'read at most this many heads a second (default: as fast as the disk allows)', parseIntOption('--max-keys-per-second', 1, 1e9))
    .option('--json', 'print the report as JSON only')
    .addHelpText(
      'after',
      `
An exchange reads the cached trees, never the data: trees that no longer match the data (a store
damaged on disk, a LevelDB that dropped records when it recovered, a folder restored from a
backup) make compare and repair call damaged data healthy. verify folds every vnode's heads into
new trees, one vnode at a time, and compares them leaf by leaf with the cached ones; the cluster
goes on answering meanwhile. It reads every head once: about the cost of a full fold.

Exit codes: 0 every tree agrees with its heads, 1 some differed (replaced with --fix: then run
aae repair, since replicas may have lost keys), 2 bad usage, 3 failure.

Examples:
  $ aae verify ./dc1
  $ aae verify ./dc1 --fix && aae repair ./dc1
  $ aae verify ./dc1 --json --max-keys-per-second 50000`,
    )
    .action(async (dir: string, opts: VerifyCliOptions) => {
      const limit = new CommandLimit(ctx.io.signal, undefined, 'verify');
      try {
        await withCluster(
          dir,
          async (opened) => {
            // verify rebuilds trees from a node's own LevelDB: it runs where the stores are.
            if (!(opened instanceof EmbeddedCluster)) {
              throw new AaeError('USAGE', `${dir} has nodes served elsewhere: run aae verify on each node's machine, against the directory it serves from`);
            }
            const cluster = opened;
            const bar = ctx.progress('verify', cluster.spec.ringSize, 'vnodes');
            const report = await limit
              .run((signal) =>
                verifyTrees(cluster, {
                  fix: opts.fix === true,
                  signal,
                  ...(opts.maxKeysPerSecond === undefined ? {} : { maxKeysPerSecond: opts.maxKeysPerSecond }),
                  onVnode: (check, done) => {
                    bar.update(done);
                    if (!opts.json && check.differed) ctx.io.stderr.write(`${line(check, cluster.spec.name)}\n`);
                  },
                }),
              )
              .finally(() => bar.stop());
            if (report.differed.length > 0) ctx.setExitCode(EXIT.DIFFERENT);
            if (opts.json) {
              printJson(ctx.io.stdout, {
                cluster: cluster.spec.name,
                fixed: opts.fix === true,
                vnodes: report.vnodes.length,
                heads: heads(report.vnodes),
                differed: report.differed.map((c) => ({ ...c, differingSegments: segments(c) })),
              });
              return;
            }
            if (report.differed.length > 0) {
              printTable(
                ctx.io.stdout,
                ['vnode', 'node', 'heads', 'differing segments', 'trees'],
                report.differed.map((c) => [c.vnode, c.node, heads([c]), segments(c), c.replaced ? 'replaced' : 'differ']),
              );
            }
            const n = report.vnodes.length;
            ctx.io.stdout.write(
              report.differed.length === 0
                ? `${cluster.spec.name}: the trees of all ${n} vnodes agree with their ${heads(report.vnodes)} heads\n`
                : `${cluster.spec.name}: ${report.differed.length} of ${n} vnodes had trees that differ from their heads` +
                    (opts.fix ? '; replaced. Replicas may have lost keys: run aae repair\n' : '; run aae verify --fix, then aae repair\n'),
            );
          },
          ctx.io.stderr,
        );
      } finally {
        limit.dispose();
      }
    });
}

const heads = (checks: readonly VnodeTreeCheck[]): number => checks.reduce((n, c) => n + c.keyspaces.reduce((m, k) => m + k.heads, 0), 0);
const segments = (c: VnodeTreeCheck): number => c.keyspaces.reduce((n, k) => n + k.differingSegments, 0);

function line(check: VnodeTreeCheck, cluster: string): string {
  const l = treeCheckLine(check, cluster);
  return `${l.code} ${l.message}`;
}
