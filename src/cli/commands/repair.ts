import type { Command } from 'commander';
import { DifferenceSummary, repairClusters, repairReplicas, type LoopReport, type RepairReport, type Unreached } from '../../aae/index.js';
import { ConflictLogFile } from '../../repair/index.js';
import { AaeError, isAaeError } from '../../errors.js';
import type { RepairDirection } from '../../repair/index.js';
import { EXIT, type CommandContext, type OutStream } from '../io.js';
import { jsonlToFile, jsonlToStream } from '../jsonl.js';
import { sideNames } from '../keystore-status.js';
import { RepairListing } from '../repair-listing.js';
import { anyKeystore, withClusters } from '../open-cluster.js';
import { printJson, printTable } from '../output.js';
import { differenceJson, isReplicaDifference, printDifferences, replicaDifferenceJson } from '../render-comparison.js';
import { printSummary, summaryJson, type SideNames } from '../render-summary.js';
import { exchangeLogger } from '../log.js';
import { addRepairTuningOptions, repairTuning, type RepairTuningOptions } from '../repair-options.js';
import { addScopeOptions, checkNVal, exchangeTuning, type ScopeOptions } from '../scope-options.js';
import { keyToJson } from '../../cluster/index.js';

interface RepairCliOptions extends ScopeOptions, RepairTuningOptions {
  dryRun?: boolean;
  conflictLog: string;
  replicas: boolean;
  output?: string;
  jsonLines?: boolean;
}

/** The header's arrow: which way the repair may write. */
const ARROW: Record<RepairDirection, string> = { both: '↔', 'to-sink': '→', 'to-source': '←' };

export function registerRepair(program: Command, ctx: CommandContext): void {
  addRepairTuningOptions(
    addScopeOptions(
      program
        .command('repair')
        .description('make two clusters (or the replicas inside one) agree, without losing a write')
        .argument('<source>', 'the source cluster or keystore directory')
        .argument('[sink]', 'the sink cluster or keystore directory; without it, repair the replicas inside <source>'),
    ),
  )
    .option('--dry-run', 'decide and report what would be written; write nothing')
    .option('--output <file.jsonl>', 'also write every repair write (done, or planned with --dry-run) to this file, one JSON object a line (streamed, uncapped)')
    .option('--json-lines', 'print every repair write as one JSON object a line on stdout, and nothing else (the summary goes to stderr)')
    .option('--no-replicas', "between two clusters, skip the repair of each cluster's own replicas that comes first")
    .option('--conflict-log <file>', 'where versions that lose a conflict are appended (JSONL)', 'aae-conflicts.jsonl')
    .option('--json', 'print the report as JSON only')
    .addHelpText(
      'after',
      `
Exit codes: 0 in sync after the repair, 1 differences left (or found, with --dry-run), 2 bad usage or input, 3 failure.

Between two clusters, each cluster's own replicas are repaired first (as \`aae repair <cluster>\`):
the exchange reads one replica per keyspace, and a key that reached only some replicas would
otherwise be missed (--no-replicas skips this). A repair reads and writes every replica of each
key it repairs, so it cannot route around a served node that is down: the replica step leaves
out the keyspaces with a replica on it and says so (exit 1, never 0), and a key to repair with a
replica there fails the repair (NODE_UNAVAILABLE, naming the node). Run it again once it is back.
A version that dominates (by vector clock) is copied with its clock to the side that lacks it;
concurrent versions follow --conflict. Every write is conditional: a write that races the repair
is never overwritten. When most of the tree differs (an empty sink), the repair replicates by range;
when damage outruns --max-results, later loops forward up to 8 times as many segments.

--direction to-sink makes the sink agree with the source and never writes the source: a key
whose newer version is on the sink is held back (counted and listed as held_back) and left as
it is. The header shows ↔ when both sides may be written, → or ← when one may.
--output FILE.jsonl (or --json-lines) lists every write: with --dry-run exactly the writes the
real run would make (planned), otherwise the writes made (done).

Keystores (aae connect): a repair writes into the keystore's database, each write conditional on
the row still holding what the decision saw (a live write is never overwritten), and waits until
the keystore has read its own writes back. Rows of an external database carry no causality
across databases, so when either side is a keystore the defaults are one-way: --conflict source
--direction to-sink (the source wins, only the sink is written). An explicit flag wins. The
keystores are caught up with their databases first (built, if they never were).

Examples:
  $ aae repair ./dc1 ./dr1 --dry-run --output plan.jsonl   # every write it would make
  $ aae repair ./dc1 ./dr1 --direction to-sink            # one way: the DR copy follows the primary
  $ aae repair ./dc1 ./dr1 --conflict source --max-keys-per-second 5000
  $ aae repair ./dc1                        # read repair between the replicas of one cluster
  $ aae repair ./ks-primary ./ks-dr         # into the DR database: source wins, DR written only
  $ aae repair ./ks-primary ./ks-dr --direction both --conflict lww
  $ aae repair ./ks-orders ./dc1            # a table into an embedded cluster (hash method value)`,
    )
    .action(async (source: string, sink: string | undefined, opts: RepairCliOptions, cmd: Command) => {
      if (opts.jsonLines && opts.json) throw new AaeError('USAGE', '--json-lines and --json: choose one (--json-lines lists every write; --json prints one document)');
      if (opts.jsonLines && opts.output !== undefined) throw new AaeError('USAGE', '--json-lines and --output: choose one place for the listing');
      if (sink === undefined && cmd.getOptionValueSource('direction') === 'cli' && opts.direction !== 'both') {
        throw new AaeError('USAGE', `--direction ${opts.direction} needs two clusters; inside one cluster every replica may be written`);
      }
      const dirs = sink === undefined ? [source] : [source, sink];
      const external = dirs.length === 2 && (await anyKeystore(dirs));
      const tuning = repairTuning(opts, { external });
      const follow = { keystores: 'follow' as const, log: (l: { code: string; message: string }) => ctx.io.stderr.write(`${l.code} ${l.message}\n`), ...(ctx.io.signal === undefined ? {} : { signal: ctx.io.signal }) };
      await withClusters(dirs, async (clusters) => {
        checkNVal(opts, clusters.map((c) => c.spec));
        const listing = new RepairListing(
          opts.output !== undefined ? await jsonlToFile(opts.output) : opts.jsonLines ? jsonlToStream(ctx.io.stdout) : undefined,
          opts.dryRun ?? false,
        );
        const log = opts.dryRun ? undefined : await ConflictLogFile.open(opts.conflictLog, { refuseSymlink: cmd.getOptionValueSource('conflictLog') === 'default' });
        const progress = ctx.progress(opts.dryRun ? 'repair (dry run)' : 'repair', undefined, 'keys');
        let keys = 0;
        let writes = 0;
        try {
          const runOptions = {
            ...exchangeTuning(opts, ctx.io.signal),
            logger: exchangeLogger(ctx.log),
            ...tuning,
            // Inside one cluster every replica may be written (checked above).
            dryRun: opts.dryRun ?? false,
            healReplicas: opts.replicas,
            // A node known to be down: the repair of replicas leaves its keyspaces out and says so.
            unreachable: 'skip' as const,
            onAction: listing.onAction,
            ...(log === undefined ? {} : { conflictLog: log }),
            onLoop: (l: LoopReport) => {
              keys += l.stats.copied + l.stats.resolved;
              writes += l.stats.placesWritten;
              progress.update(keys, { loop: l.loop, mode: l.mode, writes });
              if (!opts.json && !opts.jsonLines && !ctx.quiet && !ctx.io.stderr.isTTY) ctx.io.stderr.write(`loop ${l.loop} (${l.mode}): ${l.differences} difference(s); ${l.stats.placesWritten} write(s), ${l.stats.placesSkipped} skipped, ${l.stats.resolved} conflict(s) resolved\n`);
            },
          };
          let report: RepairReport;
          try {
            report = clusters.length === 1 ? await repairReplicas(clusters[0]!, runOptions) : await repairClusters(clusters[0]!, clusters[1]!, runOptions);
          } catch (e) {
            throw isAaeError(e, 'NODE_UNAVAILABLE') ? needsEveryReplica(e) : e;
          } finally {
            // The listing is flushed whatever happened: what was written stays listed.
            await listing.finish();
          }
          if (!report.inSync) ctx.setExitCode(EXIT.DIFFERENT);
          const two = clusters.length === 2;
          const names: SideNames = two ? await sideNames(clusters[0]!, clusters[1]!) : { source: clusters[0]!.spec.name, sink: clusters[0]!.spec.name };
          const view = { names, two, direction: tuning.direction, listing, conflictLog: log?.path };
          if (external && !opts.json && (opts.conflict === undefined || opts.direction === undefined)) {
            ctx.io.stderr.write(`a keystore is involved: --conflict ${tuning.policy} --direction ${tuning.direction}${opts.conflict === undefined && opts.direction === undefined ? ' (the one-way default)' : ''}\n`);
          }
          if (opts.jsonLines) {
            if (!ctx.quiet) printReport(ctx.io.stderr, report, two ? view : { ...view, names: { source: 'A', sink: 'B' } });
          } else if (opts.json) printJson(ctx.io.stdout, { ...reportJson(report, view), ...(two ? { policy: tuning.policy } : {}) });
          else printReport(ctx.io.stdout, report, two ? view : { ...view, names: { source: 'A', sink: 'B' } });
        } finally {
          progress.stop({ writes });
          await log?.close();
        }
      }, ctx.io.stderr, follow);
    });
}

/** The loop's counters in the CLI's words (writes, not placesWritten; skipped = lost to a racing write). */
function countersJson(t: RepairReport['totals']) {
  return {
    keys: t.keys,
    keysInSync: t.inSync,
    copied: t.copied,
    resolved: t.resolved,
    reported: t.reported,
    writes: t.placesWritten,
    skipped: t.placesSkipped,
    heldBack: t.heldBack,
    conflictsLogged: t.conflictsLogged,
  };
}

interface ReportView {
  names: SideNames;
  two: boolean;
  direction: RepairDirection;
  listing: RepairListing;
  conflictLog: string | undefined;
}

function reportJson(r: RepairReport, { names, two, direction, listing, conflictLog }: ReportView) {
  const first = new DifferenceSummary();
  for (const d of r.firstDifferences) first.add(d);
  return {
    ...(two ? { source: names.source, sink: names.sink, direction } : { cluster: names.source }),
    inSync: r.inSync,
    dryRun: r.dryRun,
    // Keys given the winning version on each side (or, in a dry run, that would be), from every action.
    ...(two ? { keysWritten: { source: listing.keysWrittenTo(names.source), sink: listing.keysWrittenTo(names.sink) } } : {}),
    ...(listing.listed > 0 ? { listed: listing.listed } : {}),
    // What the first exchange found (one window of --max-results segments; range loops list no keys).
    summary: summaryJson(first.toJSON(), two ? undefined : { source: 'a', sink: 'b' }),
    totals: countersJson(r.totals),
    loops: r.loops.map((l) => {
      // in_sync actions are keys the loop looked at and found level: not writes, not worth a line.
      const actions = l.stats.actions.filter((a) => a.kind !== 'in_sync');
      return {
        loop: l.loop,
        mode: l.mode,
        differences: l.differences,
        ...countersJson(l.stats),
        actions: actions.map((a) => ({ ...a, key: keyToJson(a.key) })),
        actionsOmitted: Math.max(0, l.stats.keys - l.stats.inSync - actions.length),
      };
    }),
    loopLimitReached: r.loopLimitReached,
    ...(r.unreached === undefined ? {} : { unreached: r.unreached }),
    ...(r.replicas === undefined ? {} : { replicas: r.replicas.map(({ cluster, report }) => ({ cluster, inSync: report.inSync, totals: countersJson(report.totals), ...(report.unreached === undefined ? {} : { unreached: report.unreached }) })) }),
    firstDifferences: r.firstDifferences.map((d) => (isReplicaDifference(d) ? replicaDifferenceJson(d) : differenceJson(d, names.erases))),
    ...(conflictLog === undefined ? {} : { conflictLog }),
  };
}

function printReport(out: OutStream, r: RepairReport, { names, two, direction, listing, conflictLog }: ReportView): void {
  const first = new DifferenceSummary();
  for (const d of r.firstDifferences) first.add(d);
  const ranged = r.loops.some((l) => l.mode === 'range');
  printSummary(out, first.toJSON(), names, 'differences found by the first exchange', ranged ? 'most of the tree differed: the rest was replicated by range' : undefined);
  printDifferences(out, r.firstDifferences, names, 0, '`aae compare` lists every difference; --output FILE.jsonl here lists every write');
  const t = r.totals;
  printTable(out, ['repair', 'loops', 'keys', 'copied', 'conflicts resolved', 'reported', 'writes', 'skipped (raced)', 'in sync'], [
    [two ? `${names.source} ${ARROW[direction]} ${names.sink}` : names.source, r.loops.length, t.keys - t.inSync, t.copied, t.resolved, t.reported, t.placesWritten, t.placesSkipped, r.inSync ? 'yes' : 'no'],
  ]);
  for (const { cluster, report } of r.replicas ?? []) {
    const t2 = report.totals;
    out.write(`replicas inside ${cluster}: ${t2.keys - t2.inSync} key(s) differed, ${t2.placesWritten} write(s); in sync: ${report.inSync ? 'yes' : 'no'}\n`);
    if (report.unreached !== undefined) out.write(`  ${unreachedLine(report.unreached)}\n`);
  }
  if (r.unreached !== undefined) out.write(`${unreachedLine(r.unreached)}\n`);
  if (two) {
    const verb = r.dryRun ? 'would write' : 'wrote';
    out.write(`${verb}: ${listing.keysWrittenTo(names.source).toLocaleString('en-US')} key(s) to ${names.source} · ${listing.keysWrittenTo(names.sink).toLocaleString('en-US')} key(s) to ${names.sink}\n`);
  }
  if (t.heldBack > 0) out.write(`held back: ${t.heldBack.toLocaleString('en-US')} key(s) whose winning version is on the side --direction ${direction} does not write\n`);
  if (listing.target !== undefined && listing.target !== 'stdout') out.write(`${listing.listed.toLocaleString('en-US')} action(s) listed in ${listing.target}\n`);
  if (r.dryRun) out.write('dry run: nothing was written\n');
  if (t.conflictsLogged > 0 && conflictLog !== undefined) out.write(`${t.conflictsLogged} losing version(s) appended to ${conflictLog}\n`);
  if (r.loopLimitReached) out.write('stopped at --max-loops before the sides agreed (raise --max-loops to go on)\n');
}

/** What a repair of replicas left out because a node is down, and why it could not do more. */
function unreachedLine({ nodes, keyspaces }: Unreached): string {
  const which = nodes.length === 1 ? `node ${nodes[0]}, which is down` : `nodes ${nodes.join(', ')}, which are down`;
  return `not repaired: the replicas of ${keyspaces} keyspace(s) with a replica on ${which} (writes need every replica); run the repair again once ${nodes.length === 1 ? 'it is' : 'they are'} back`;
}

/**
 * A repair that met a node down: the node's own words (which node, where, why), found under the
 * exchange's wrapping, and what it means for a repair, which reads and writes every replica of the
 * keys it repairs and so cannot route around a node as a compare does.
 */
function needsEveryReplica(e: AaeError): AaeError {
  let root: AaeError = e;
  while (isAaeError(root.cause, 'NODE_UNAVAILABLE')) root = root.cause;
  const node = typeof root.details?.['node'] === 'string' ? `node ${root.details['node']}` : 'the node';
  const said = root.message.trimEnd();
  return new AaeError(
    'NODE_UNAVAILABLE',
    `${said}${/[.?!]$/.test(said) ? '' : '.'} A repair reads and writes every replica of each key it repairs, so it cannot repair keys with a replica on ${node} until it is back (keys repaired before this stay repaired): start it and run the repair again`,
    { cause: e, details: { ...e.details, ...root.details } },
  );
}
