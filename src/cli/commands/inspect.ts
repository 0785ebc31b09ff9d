import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { inspectClusters, inspectReplicas, MAX_SEGMENT_DETAIL, type InspectReport, type PairInspection } from '../../aae/index.js';
import { clockEntriesToJson, keyToJson } from '../../cluster/index.js';
import { AaeError } from '../../errors.js';
import type { KeyClock } from '../../exchange/index.js';
import { renderInspectPage } from '../inspect-page.js';
import { CommandLimit } from '../command-limit.js';
import { checkWritableParent } from '../output-path.js';
import { EXIT, type CommandContext } from '../io.js';
import { withClusters } from '../open-cluster.js';
import { printJson, printTable } from '../output.js';
import { parseIntOption } from '../parse.js';
import { keyText } from '../render-comparison.js';
import { printSummary, summaryJson, type SideNames } from '../render-summary.js';
import { addScopeOptions, checkNVal, scopeOf, type ScopeOptions } from '../scope-options.js';

interface InspectCliOptions extends ScopeOptions {
  segment?: number;
  html?: string;
  maxSegments: number;
}

/** Rows of segments printed without --json. */
const SHOWN_SEGMENTS = 20;

export function registerInspect(program: Command, ctx: CommandContext): void {
  addScopeOptions(
    program
      .command('inspect')
      .description("show where and when two clusters (or one cluster's replicas) differ: by bucket and kind, by time, by partition and node, and the dirty segments")
      .argument('<source>', 'the source cluster directory')
      .argument('[sink]', 'the sink cluster directory; without it, inspect the replicas inside <source>'),
    { noTuning: true },
  )
    .option('--segment <n>', 'also list the keys and clocks each side holds in this segment', parseIntOption('--segment', 0, 2 ** 22 - 1))
    .option('--max-segments <n>', `count the keys of at most this many dirty segments (0: every one; default ${MAX_SEGMENT_DETAIL.toLocaleString('en-US')})`, parseIntOption('--max-segments', 0, 2 ** 22), MAX_SEGMENT_DETAIL)
    .option('--html <file>', 'write the picture as a self-contained HTML page: differences by bucket × kind (each cell links to its keys), a histogram of their last-modified times, per-partition and per-node counts, and the segment grid')
    .option('--json', 'print the report as JSON only')
    .addHelpText(
      'after',
      `
A snapshot: one look at the trees, without compare's confirmation round, so writes in flight may
show. The keys of every dirty segment are counted (up to --max-segments), so the summary and the
picture count differing keys, not segments. Exit 0 when nothing differs, 1 when something does.

Examples:
  $ aae inspect ./dc1 ./dr1
  $ aae inspect ./dc1 ./dr1 --html diff.html      # where and when: open it in a browser
  $ aae inspect ./dc1 ./dr1 --segment 40213 --json
  $ aae inspect ./dc1 ./dr1 --max-segments 0      # count every dirty segment, however many
  $ aae inspect ./dc1                             # replica pairs inside one cluster`,
    )
    .action(async (source: string, sink: string | undefined, opts: InspectCliOptions) => {
      const dirs = sink === undefined ? [source] : [source, sink];
      // Ctrl-C and SIGTERM stop the look at the trees, and the clusters are closed (CommandLimit).
      if (opts.html !== undefined) await checkWritableParent(opts.html, '--html');
      const limit = new CommandLimit(ctx.io.signal, undefined, 'inspect');
      try {
        await withClusters(dirs, async (clusters) => {
          checkNVal(opts, clusters.map((c) => c.spec));
          const progress = ctx.progress('inspect', undefined, 'segments');
          let base = 0;
          let last = 0;
          const options = {
            scope: scopeOf(opts),
            maxSegments: opts.maxSegments,
            ...(opts.segment === undefined ? {} : { segment: opts.segment }),
            ...(opts.offset === undefined ? {} : { sourceOffset: opts.offset }),
            ...(opts.sinkOffset === undefined ? {} : { sinkOffset: opts.sinkOffset }),
            // Segments counted, over the pairs one after another.
            onProgress: (p: { segments: number }) => {
              if (p.segments < last) base += last;
              last = p.segments;
              progress.update(base + last);
            },
          };
          let report: InspectReport;
          try {
            report = await limit.run((signal) =>
              clusters.length === 1 ? inspectReplicas(clusters[0]!, { ...options, signal }) : inspectClusters(clusters[0]!, clusters[1]!, { ...options, signal }),
            );
          } finally {
            progress.stop();
          }
          const two = clusters.length === 2;
          const names: SideNames = two ? { source: clusters[0]!.spec.name, sink: clusters[1]!.spec.name } : { source: 'A', sink: 'B' };
          if (report.pairs.some((p) => p.dirtyBranches.length > 0)) ctx.setExitCode(EXIT.DIFFERENT);
          if (opts.html !== undefined) {
            const listAll = two ? `aae compare ${dirs[0]} ${dirs[1]} --bucket {bucket} --output FILE.jsonl` : `aae compare ${dirs[0]} --json-lines`;
            const page = renderInspectPage({ report, names: two ? names : { source: clusters[0]!.spec.name, sink: clusters[0]!.spec.name }, listAll });
            try {
              await writeFile(opts.html, page);
            } catch (e) {
              throw new AaeError('OUTPUT_IO', `cannot write ${opts.html}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
            }
            if (!opts.json) ctx.io.stderr.write(`picture written to ${opts.html}\n`);
          }
          if (opts.json) printJson(ctx.io.stdout, reportJson(report, names, two, clusters[0]!.spec.name));
          else printInspection(ctx, report, names, two);
        }, ctx.io.stderr);
      } finally {
        limit.dispose();
      }
    });
}

function keyClockJson(k: KeyClock) {
  return { bucket: k.bucket, key: keyToJson(k.key), clock: clockEntriesToJson(k.clock), lastModified: k.clock.lastModified, deleted: k.deleted };
}

function totals(r: InspectReport) {
  const dirty = r.pairs.reduce((n, p) => n + p.dirtySegments, 0);
  const counted = r.pairs.reduce((n, p) => n + p.segments.length, 0);
  return { dirty, counted };
}

function liftCap(r: InspectReport): string {
  return `counted ${totals(r).counted.toLocaleString('en-US')} of ${totals(r).dirty.toLocaleString('en-US')} dirty segments: --max-segments 0 counts them all`;
}

function reportJson(r: InspectReport, names: SideNames, two: boolean, cluster: string) {
  const { dirty, counted } = totals(r);
  const sideKeys = two ? { source: 'source', sink: 'sink' } : { source: 'a', sink: 'b' };
  const pairJson = (p: PairInspection) => ({
    ...(p.vnodes === undefined ? { source: p.source, sink: p.sink } : { a: p.source, b: p.sink, vnodes: { a: p.vnodes[0], b: p.vnodes[1] } }),
    dirtyBranches: p.dirtyBranches,
    dirtySegments: p.dirtySegments,
    differing: p.differing,
    segments: p.segments.map((s) => ({ segment: s.segment, branch: s.segment >> 8, [`${sideKeys.source}Keys`]: s.sourceKeys, [`${sideKeys.sink}Keys`]: s.sinkKeys, differing: s.differing })),
    segmentsTruncated: p.segmentsTruncated,
    ...(p.chosen === undefined ? {} : { segment: { id: p.chosen.segment, [sideKeys.source]: p.chosen.source.map(keyClockJson), [sideKeys.sink]: p.chosen.sink.map(keyClockJson) } }),
  });
  return {
    kind: r.kind,
    ...(two ? { source: names.source, sink: names.sink } : { cluster }),
    treeSize: r.treeSize,
    branchCount: r.branchCount,
    inSync: r.pairs.every((p) => p.dirtyBranches.length === 0),
    dirtySegments: dirty,
    segmentsCounted: counted,
    maxSegments: r.maxSegments,
    ...(counted < dirty ? { segmentsTruncated: true, liftCap: '--max-segments 0 counts every dirty segment' } : { segmentsTruncated: false }),
    summary: summaryJson(r.summary, two ? undefined : { source: 'a', sink: 'b' }),
    profile: {
      time: r.profile.time,
      sides: r.profile.sides,
      cells: r.profile.cells.map((c) => ({ ...c, keys: c.keys.map((k) => ({ key: keyToJson(k.key), ahead: two ? k.ahead : k.ahead === 'source' ? 'a' : k.ahead === 'sink' ? 'b' : 'both' })) })),
    },
    pairs: r.pairs.map(pairJson),
  };
}

function printInspection(ctx: CommandContext, r: InspectReport, names: SideNames, two: boolean): void {
  const out = ctx.io.stdout;
  if (r.pairs.every((p) => p.dirtyBranches.length === 0) && r.pairs.every((p) => p.chosen === undefined)) {
    out.write(`no differences (${r.treeSize} tree, ${r.branchCount} branches)\n`);
    return;
  }
  const { dirty, counted } = totals(r);
  const branches = r.pairs.reduce((n, p) => n + p.dirtyBranches.length, 0);
  const where = two ? `${names.source} ↔ ${names.sink}` : `${r.pairs.length} replica pair(s)`;
  out.write(`${where}: ${r.summary.total.toLocaleString('en-US')} differing key(s) in ${dirty.toLocaleString('en-US')} dirty segment(s) of ${branches.toLocaleString('en-US')} dirty branch(es)${counted < dirty ? ` — ${liftCap(r)}` : ''}\n`);
  printSummary(out, r.summary, names, 'differences');
  // The segments with the most differing keys; only counted segments have counts to show.
  const rows = r.pairs
    .flatMap((p) => p.segments.map((s) => ({ p, s })))
    .sort((a, b) => b.s.differing - a.s.differing || a.s.segment - b.s.segment)
    .slice(0, SHOWN_SEGMENTS);
  if (rows.length > 0) {
    printTable(
      out,
      [...(two ? [] : ['replica pair']), 'segment', 'branch', `keys in ${names.source}`, `keys in ${names.sink}`, 'differing keys'],
      rows.map(({ p, s }) => [...(two ? [] : [`${p.source} ~ ${p.sink}`]), s.segment, s.segment >> 8, s.sourceKeys, s.sinkKeys, s.differing]),
    );
    if (counted > rows.length) out.write(`… and ${(counted - rows.length).toLocaleString('en-US')} more counted segment(s) (--json lists them)\n`);
  }
  for (const p of r.pairs) {
    if (p.chosen === undefined) continue;
    out.write(`segment ${p.chosen.segment}${two ? '' : ` (${p.source} ~ ${p.sink})`}:\n`);
    const keyRows = [
      ...p.chosen.source.map((k) => [two ? names.source : p.source, k.bucket, keyText(k.key), clockText(k)]),
      ...p.chosen.sink.map((k) => [two ? names.sink : p.sink, k.bucket, keyText(k.key), clockText(k)]),
    ];
    if (keyRows.length === 0) out.write('  (no keys on either side)\n');
    else printTable(out, ['side', 'bucket', 'key', 'clock'], keyRows);
  }
}

function clockText(k: KeyClock): string {
  return `${k.deleted ? 'tombstone ' : ''}[${k.clock.entries.map(([a, n]) => `${a}:${n}`).join(',')}]`;
}
