import type { Command } from 'commander';
import { repairClusters, repairReplicas, type LoopReport, type RepairReport } from '../../aae/index.js';
import { ConflictLogFile } from '../../repair/index.js';
import { EXIT, type CommandContext } from '../io.js';
import { anyKeystore, withClusters } from '../open-cluster.js';
import { printJson, printTable } from '../output.js';
import { differenceJson, printDifferences } from '../render-comparison.js';
import { addRepairTuningOptions, repairTuning, type RepairTuningOptions } from '../repair-options.js';
import { addScopeOptions, checkNVal, exchangeTuning, type ScopeOptions } from '../scope-options.js';
import { keyToJson } from '../../cluster/index.js';

interface RepairCliOptions extends ScopeOptions, RepairTuningOptions {
  dryRun?: boolean;
  conflictLog: string;
  replicas: boolean;
}

export function registerRepair(program: Command, ctx: CommandContext): void {
  addRepairTuningOptions(
    addScopeOptions(
      program
        .command('repair')
        .description('make two clusters (or the replicas inside one) agree, without losing a write')
        .argument('<source>', 'the source cluster or keystore directory (blue)')
        .argument('[sink]', 'the sink cluster or keystore directory (pink); without it, repair the replicas inside <source>'),
    ),
  )
    .option('--dry-run', 'decide and report what would be written; write nothing')
    .option('--no-replicas', "between two clusters, skip the repair of each cluster's own replicas that comes first")
    .option('--conflict-log <file>', 'where versions that lose a conflict are appended (JSONL)', 'aae-conflicts.jsonl')
    .option('--json', 'print the report as JSON only')
    .addHelpText(
      'after',
      `
Exit codes: 0 in sync after the repair, 1 differences left (or found, with --dry-run), 2 bad usage or input, 3 failure.

Between two clusters, each cluster's own replicas are repaired first (as \`aae repair <cluster>\`):
the exchange reads one replica per keyspace, and a key that reached only some replicas would
otherwise be missed (--no-replicas skips this).
A version that dominates (by vector clock) is copied with its clock to the side that lacks it;
concurrent versions follow --conflict. Every write is conditional: a write that races the repair
is never overwritten. When most of the tree differs (an empty sink), the repair replicates by range;
when damage outruns --max-results, later loops forward up to 8 times as many segments.

Keystores (aae connect): a repair writes into the keystore's database, each write conditional on
the row still holding what the decision saw (a live write is never overwritten), and waits until
the keystore has read its own writes back. Rows of an external database carry no causality
across databases, so when either side is a keystore the defaults are one-way: --conflict source
--direction to-sink (the source wins, only the sink is written). An explicit flag wins. The
keystores are caught up with their databases first (built, if they never were).

Examples:
  $ aae repair ./dc1 ./dr1 --dry-run
  $ aae repair ./dc1 ./dr1 --conflict source --max-keys-per-second 5000
  $ aae repair ./dc1                        # read repair between the replicas of one cluster
  $ aae repair ./ks-primary ./ks-dr         # into the DR database: source wins, DR written only
  $ aae repair ./ks-primary ./ks-dr --direction both --conflict lww
  $ aae repair ./ks-orders ./dc1            # a table into an embedded cluster (hash method value)`,
    )
    .action(async (source: string, sink: string | undefined, opts: RepairCliOptions) => {
      const dirs = sink === undefined ? [source] : [source, sink];
      const external = dirs.length === 2 && (await anyKeystore(dirs));
      const tuning = repairTuning(opts, { external });
      const follow = { keystores: 'follow' as const, log: (l: { code: string; message: string }) => ctx.io.stderr.write(`${l.code} ${l.message}\n`), ...(ctx.io.signal === undefined ? {} : { signal: ctx.io.signal }) };
      await withClusters(dirs, async (clusters) => {
        checkNVal(opts, clusters.map((c) => c.spec));
        const log = opts.dryRun ? undefined : await ConflictLogFile.open(opts.conflictLog);
        try {
          const runOptions = {
            ...exchangeTuning(opts, ctx.io.signal),
            ...tuning,
            dryRun: opts.dryRun ?? false,
            healReplicas: opts.replicas,
            ...(log === undefined ? {} : { conflictLog: log }),
            onLoop: (l: LoopReport) => {
              if (!opts.json) ctx.io.stderr.write(`loop ${l.loop} (${l.mode}): ${l.differences} difference(s); ${l.stats.placesWritten} write(s), ${l.stats.placesSkipped} skipped, ${l.stats.resolved} conflict(s) resolved\n`);
            },
          };
          const report = clusters.length === 1 ? await repairReplicas(clusters[0]!, runOptions) : await repairClusters(clusters[0]!, clusters[1]!, runOptions);
          if (!report.inSync) ctx.setExitCode(EXIT.DIFFERENT);
          if (opts.json) printJson(ctx.io.stdout, { ...reportJson(report, log?.path), ...(clusters.length === 2 ? { policy: tuning.policy, direction: tuning.direction } : {}) });
          else {
            if (external && (opts.conflict === undefined || opts.direction === undefined)) {
              ctx.io.stderr.write(`a keystore is involved: --conflict ${tuning.policy} --direction ${tuning.direction}${opts.conflict === undefined && opts.direction === undefined ? ' (the one-way default)' : ''}\n`);
            }
            printReport(ctx, report, clusters.map((c) => c.spec.name), log?.path);
          }
        } finally {
          await log?.close();
        }
      }, follow);
    });
}

function reportJson(r: RepairReport, conflictLog: string | undefined) {
  return {
    inSync: r.inSync,
    dryRun: r.dryRun,
    loops: r.loops.map((l) => ({
      loop: l.loop,
      mode: l.mode,
      differences: l.differences,
      ...Object.fromEntries(Object.entries(l.stats).filter(([k]) => k !== 'actions' && k !== 'actionsTruncated')),
      actions: l.stats.actions.map((a) => ({ ...a, key: keyToJson(a.key) })),
      actionsTruncated: l.stats.actionsTruncated,
    })),
    totals: r.totals,
    loopLimitReached: r.loopLimitReached,
    ...(r.replicas === undefined ? {} : { replicas: r.replicas.map(({ cluster, report }) => ({ cluster, inSync: report.inSync, totals: report.totals })) }),
    firstDeltas: r.firstDifferences.map(differenceJson),
    ...(conflictLog === undefined ? {} : { conflictLog }),
  };
}

function printReport(ctx: CommandContext, r: RepairReport, names: string[], conflictLog: string | undefined): void {
  const out = ctx.io.stdout;
  const [blue, pink] = names.length === 2 ? names : ['A', 'B'];
  printDifferences(out, r.firstDifferences, blue!, pink!);
  const t = r.totals;
  printTable(out, ['repair', 'loops', 'keys', 'copied', 'conflicts resolved', 'reported', 'writes', 'skipped (raced)', 'in sync'], [
    [names.join(' → '), r.loops.length, t.keys - t.inSync, t.copied, t.resolved, t.reported, t.placesWritten, t.placesSkipped, r.inSync ? 'yes' : 'no'],
  ]);
  for (const { cluster, report } of r.replicas ?? []) {
    const t2 = report.totals;
    out.write(`replicas inside ${cluster}: ${t2.keys - t2.inSync} key(s) differed, ${t2.placesWritten} write(s); in sync: ${report.inSync ? 'yes' : 'no'}\n`);
  }
  if (r.dryRun) out.write('dry run: nothing was written\n');
  if (t.conflictsLogged > 0 && conflictLog !== undefined) out.write(`${t.conflictsLogged} losing version(s) appended to ${conflictLog}\n`);
  if (r.loopLimitReached) out.write('stopped at --max-loops before the sides agreed\n');
}
