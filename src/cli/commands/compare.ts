import type { Command } from 'commander';
import { compareClusters, compareReplicas } from '../../aae/index.js';
import { EXIT, type CommandContext } from '../io.js';
import { withClusters } from '../open-cluster.js';
import { printJson } from '../output.js';
import { clusterComparisonJson, printClusterComparison, printReplicaComparison, replicaComparisonJson } from '../render-comparison.js';
import { addScopeOptions, checkNVal, exchangeTuning, type ScopeOptions } from '../scope-options.js';
import { AaeError } from '../../errors.js';
import { keystoreLine, keystoreStatuses } from '../keystore-status.js';

export function registerCompare(program: Command, ctx: CommandContext): void {
  addScopeOptions(
    program
      .command('compare')
      .description('tell whether two clusters (or the replicas inside one) agree, which keys differ and which side is ahead')
      .argument('<source>', 'the source cluster directory (blue)')
      .argument('[sink]', 'the sink cluster directory (pink); without it, compare the replicas inside <source>'),
  )
    .option('--json', 'print the result object as JSON only')
    .addHelpText(
      'after',
      `
Exit codes: 0 in sync, 1 differences found, 2 bad usage or input, 3 failure.

A full exchange compares the clusters' cached trees (16 KiB roots first, then only what differs);
--bucket, --key-range and --modified-range make a partial exchange over trees built by a fold.

Examples:
  $ aae compare ./dc1 ./dr1
  $ aae compare ./dc1 ./dr1 --json
  $ aae compare ./dc1 ./dr1 --bucket users --key-range a..m
  $ aae compare ./dc1 ./dr1 --modified-range 2026-11-01T00:00:00Z..2026-11-02T00:00:00Z
  $ aae compare ./dc1                       # replica against replica inside one cluster
  $ aae compare ./ks-primary ./ks-dr        # two keystores (aae connect, aae follow --once)`,
    )
    .action(async (source: string, sink: string | undefined, opts: ScopeOptions) => {
      const dirs = sink === undefined ? [source] : [source, sink];
      await withClusters(dirs, async (clusters) => {
        checkNVal(opts, clusters.map((c) => c.spec));
        // A keystore node says how far behind its source it is, and whether it can be trusted at all.
        const keystores = await keystoreStatuses(clusters);
        const unreliable = keystores.filter((k) => !k.reliable);
        const refuse = (inSync: boolean): void => {
          if (unreliable.length === 0) return;
          const why = unreliable.map((k) => `${k.cluster} (${k.reason ?? 'unknown'})`).join('; ');
          if (inSync) throw new AaeError('KEYSTORE_UNRELIABLE', `the trees agree, but not calling it in sync: unreliable keystore(s) missed changes: ${why}; run aae follow to rebuild`);
          ctx.io.stderr.write(`warning: unreliable keystore(s), the differences may be incomplete: ${why}\n`);
        };
        const tuning = exchangeTuning(opts, ctx.io.signal);
        if (clusters.length === 1) {
          const r = await compareReplicas(clusters[0]!, tuning);
          refuse(r.inSync);
          if (!r.inSync) ctx.setExitCode(EXIT.DIFFERENT);
          if (opts.json) printJson(ctx.io.stdout, keystores.length === 0 ? replicaComparisonJson(r) : { ...replicaComparisonJson(r), keystores });
          else printReplicaComparison(ctx.io.stdout, r);
          return;
        }
        const r = await compareClusters(clusters[0]!, clusters[1]!, tuning);
        refuse(r.inSync);
        if (!r.inSync) ctx.setExitCode(EXIT.DIFFERENT);
        if (opts.json) printJson(ctx.io.stdout, keystores.length === 0 ? clusterComparisonJson(r) : { ...clusterComparisonJson(r), keystores });
        else {
          // A difference younger than a keystore's lag is not yet a difference: say the lag first.
          for (const k of keystores) ctx.io.stdout.write(`${keystoreLine(k)}\n`);
          printClusterComparison(ctx.io.stdout, r);
        }
      });
    });
}
