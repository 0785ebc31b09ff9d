import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { inspectClusters, inspectReplicas, type InspectReport } from '../../aae/index.js';
import { clockEntriesToJson, keyToJson } from '../../cluster/index.js';
import type { KeyClock } from '../../exchange/index.js';
import type { EmbeddedCluster } from '../../coordinator/index.js';
import { EXIT, type CommandContext } from '../io.js';
import { renderHeatmap } from '../heatmap.js';
import { CommandLimit } from '../command-limit.js';
import { withClusters } from '../open-cluster.js';
import { printJson, printTable } from '../output.js';
import { parseIntOption } from '../parse.js';
import { addScopeOptions, checkNVal, scopeOf, type ScopeOptions } from '../scope-options.js';

interface InspectCliOptions extends ScopeOptions {
  segment?: number;
  html?: string;
}

/** Rows of segments printed without --json. */
const SHOWN_SEGMENTS = 20;

export function registerInspect(program: Command, ctx: CommandContext): void {
  addScopeOptions(
    program
      .command('inspect')
      .description('show where two clusters (or one cluster\'s replicas) differ: dirty branches, dirty segments with key counts, a heat map')
      .argument('<source>', 'the source cluster directory (blue)')
      .argument('[sink]', 'the sink cluster directory (pink); without it, inspect the replicas inside <source>'),
  )
    .option('--segment <n>', 'also list the keys and clocks each side holds in this segment', parseIntOption('--segment', 0, 2 ** 22 - 1))
    .option('--html <file>', 'write a heat map of the dirty branches as a self-contained HTML page')
    .option('--json', 'print the report as JSON only')
    .addHelpText(
      'after',
      `
A snapshot: one look at the trees, without compare's confirmation round, so writes in flight may
show. Exit 0 when nothing differs, 1 when something does.

Examples:
  $ aae inspect ./dc1 ./dr1
  $ aae inspect ./dc1 ./dr1 --html diff.html
  $ aae inspect ./dc1 ./dr1 --segment 40213 --json
  $ aae inspect ./dc1                       # replica pairs inside one cluster`,
    )
    .action(async (source: string, sink: string | undefined, opts: InspectCliOptions) => {
      const dirs = sink === undefined ? [source] : [source, sink];
      // Ctrl-C and SIGTERM stop the look at the trees, and the clusters are closed (CommandLimit).
      const limit = new CommandLimit(ctx.io.signal, undefined, 'inspect');
      try {
        await withClusters(dirs, (clusters) => inspectAndPrint(ctx, clusters, dirs, opts, limit), ctx.io.stderr);
      } finally {
        limit.dispose();
      }
    });
}

/** The report of one look at the trees, within the command's limit, printed. */
async function inspectAndPrint(ctx: CommandContext, clusters: EmbeddedCluster[], dirs: string[], opts: InspectCliOptions, limit: CommandLimit): Promise<void> {
  checkNVal(opts, clusters.map((c) => c.spec));
  const options = {
    scope: scopeOf(opts),
    ...(opts.segment === undefined ? {} : { segment: opts.segment }),
    ...(opts.offset === undefined ? {} : { blueOffset: opts.offset }),
    ...(opts.sinkOffset === undefined ? {} : { pinkOffset: opts.sinkOffset }),
  };
  const report = await limit.run((signal) =>
    clusters.length === 1 ? inspectReplicas(clusters[0]!, { ...options, signal }) : inspectClusters(clusters[0]!, clusters[1]!, { ...options, signal }),
  );
  if (report.pairs.some((p) => p.dirtyBranches.length > 0)) ctx.setExitCode(EXIT.DIFFERENT);
  if (opts.html !== undefined) {
    await writeFile(opts.html, heatmapOf(report, dirs));
    if (!opts.json) ctx.io.stderr.write(`heat map written to ${opts.html}\n`);
  }
  if (opts.json) printJson(ctx.io.stdout, reportJson(report));
  else printInspection(ctx, report);
}

function keyClockJson(k: KeyClock) {
  return { bucket: k.bucket, key: keyToJson(k.key), clock: clockEntriesToJson(k.clock), lastModified: k.clock.lastModified, deleted: k.deleted };
}

function reportJson(r: InspectReport) {
  return {
    kind: r.kind,
    treeSize: r.treeSize,
    branchCount: r.branchCount,
    pairs: r.pairs.map((p) => ({
      blue: p.blue,
      pink: p.pink,
      dirtyBranches: p.dirtyBranches,
      dirtySegments: p.segments,
      segmentsTruncated: p.segmentsTruncated,
      ...(p.chosen === undefined ? {} : { segment: { id: p.chosen.segment, blue: p.chosen.blue.map(keyClockJson), pink: p.chosen.pink.map(keyClockJson) } }),
    })),
  };
}

function heatmapOf(r: InspectReport, dirs: readonly string[]): string {
  const dirty = new Map<number, number>();
  const keys = new Map<number, { blue: number; pink: number }>();
  for (const p of r.pairs) {
    for (const b of p.dirtyBranches) dirty.set(b.branch, (dirty.get(b.branch) ?? 0) + b.dirtySegments);
    for (const s of p.segments) {
      const k = keys.get(s.segment >> 8) ?? { blue: 0, pink: 0 };
      k.blue += s.blueKeys;
      k.pink += s.pinkKeys;
      keys.set(s.segment >> 8, k);
    }
  }
  const rows = [...dirty]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 50)
    .map(([branch, d]) => ({ branch, dirtySegments: d, blueKeys: keys.get(branch)?.blue ?? 0, pinkKeys: keys.get(branch)?.pink ?? 0 }));
  return renderHeatmap({
    title: r.kind === 'clusters' ? `${r.pairs[0]?.blue ?? dirs[0]} ↔ ${r.pairs[0]?.pink ?? dirs[1]}` : `replicas of ${dirs[0]}`,
    subtitle: `${r.treeSize} tree, ${r.branchCount} branches${r.kind === 'replicas' ? `, ${r.pairs.length} replica pair(s) differ` : ''}`,
    branchCount: r.branchCount,
    dirty,
    rows,
    sides: r.kind === 'clusters' ? [r.pairs[0]?.blue ?? 'blue', r.pairs[0]?.pink ?? 'pink'] : ['replica A', 'replica B'],
  });
}

function printInspection(ctx: CommandContext, r: InspectReport): void {
  const out = ctx.io.stdout;
  if (r.pairs.every((p) => p.dirtyBranches.length === 0) && r.pairs.every((p) => p.chosen === undefined)) {
    out.write(`no differences (${r.treeSize} tree, ${r.branchCount} branches)\n`);
    return;
  }
  for (const p of r.pairs) {
    out.write(`${p.blue} ↔ ${p.pink}: ${p.dirtyBranches.length} dirty branch(es), ${p.segments.length}${p.segmentsTruncated ? '+' : ''} dirty segment(s)\n`);
    printTable(
      out,
      ['segment', 'branch', `keys in ${p.blue}`, `keys in ${p.pink}`],
      p.segments.slice(0, SHOWN_SEGMENTS).map((s) => [s.segment, s.segment >> 8, s.blueKeys, s.pinkKeys]),
    );
    if (p.segments.length > SHOWN_SEGMENTS) out.write(`… and ${p.segments.length - SHOWN_SEGMENTS} more segment(s) (--json lists them)\n`);
    if (p.chosen !== undefined) {
      out.write(`segment ${p.chosen.segment}:\n`);
      const rows = [
        ...p.chosen.blue.map((k) => [p.blue, k.bucket, keyText(k), clockText(k)]),
        ...p.chosen.pink.map((k) => [p.pink, k.bucket, keyText(k), clockText(k)]),
      ];
      if (rows.length === 0) out.write('  (no keys on either side)\n');
      else printTable(out, ['side', 'bucket', 'key', 'clock'], rows);
    }
  }
}

function keyText(k: KeyClock): string {
  const j = keyToJson(k.key);
  return typeof j === 'string' ? j : `base64:${j.base64}`;
}

function clockText(k: KeyClock): string {
  return `${k.deleted ? 'tombstone ' : ''}[${k.clock.entries.map(([a, n]) => `${a}:${n}`).join(',')}]`;
}
