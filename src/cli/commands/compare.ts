import type { Command } from 'commander';
import {
  compareClusters,
  compareReplicas,
  DifferenceSummary,
  type ClusterComparison,
  type Difference,
  type ReplicaComparison,
  type ReplicaDifference,
} from '../../aae/index.js';
import { AaeError } from '../../errors.js';
import type { ExchangeProgress } from '../../exchange/index.js';
import { DifferenceSample } from '../difference-sample.js';
import { EXIT, type CommandContext } from '../io.js';
import { jsonlToFile, jsonlToStream, type JsonlWriter } from '../jsonl.js';
import { exchangeLogger } from '../log.js';
import { withClusters } from '../open-cluster.js';
import { printJson, printTable } from '../output.js';
import type { Progress } from '../progress.js';
import { differenceJson, isReplicaDifference, printDifferences, replicaDifferenceJson, SHOWN_DIFFERENCES } from '../render-comparison.js';
import { printSummary, summaryJson, type SideNames } from '../render-summary.js';
import { addScopeOptions, checkNVal, exchangeTuning, type ScopeOptions } from '../scope-options.js';
import { keystoreLine, keystoreStatuses, sideNames, type NodeKeystoreStatus } from '../keystore-status.js';

interface CompareCliOptions extends ScopeOptions {
  output?: string;
  jsonLines?: boolean;
}

/**
 * Differences a `--json` document lists (a few MiB); past it the document says how many it left
 * out and how to list them all (--json-lines, --output), which stream in bounded memory.
 */
export const JSON_DIFFERENCES = 10_000;

export const LIST_ALL = '--output FILE.jsonl or --json-lines lists every difference';

export function registerCompare(program: Command, ctx: CommandContext): void {
  addScopeOptions(
    program
      .command('compare')
      .description('tell whether two clusters (or the replicas inside one) agree, which keys differ and which side is ahead')
      .argument('<source>', 'the source cluster directory')
      .argument('[sink]', 'the sink cluster directory; without it, compare the replicas inside <source>'),
    { maxResults: 'one exchange only, forwarding at most N dirty segments to the clock compare (a quick sample; without it every dirty segment is compared)' },
  )
    .option('--output <file.jsonl>', 'also write every difference to this file, one JSON object a line (streamed: any number, bounded memory)')
    .option('--json-lines', 'print every difference as one JSON object a line on stdout, and nothing else (the summary goes to stderr)')
    .option('--json', `print the result as one JSON document only (a summary and up to ${JSON_DIFFERENCES.toLocaleString('en-US')} differences)`)
    .addHelpText(
      'after',
      `
Exit codes: 0 in sync, 1 differences found, 2 bad usage or input, 3 failure. Piped into a reader
that stops early (| head), compare still exits 1 when it had found differences.

Output opens with a summary (differences by bucket and kind: missing on one side, one side newer,
concurrent, tombstone vs value; and which side is ahead), then a sample of rows. Every dirty
segment is compared: the counts are complete. --output FILE.jsonl (or --json-lines) lists every
difference: {"bucket","key","kind","ahead":"source"|"sink"|"both","source":{clock,lastModified,deleted}|null,"sink":…}.

A full exchange compares the clusters' cached trees (the top of the tree first, then only what
differs); --bucket, --key-range and --modified-range make a partial exchange over trees built by
a fold.

Examples:
  $ aae compare ./dc1 ./dr1
  $ aae compare ./dc1 ./dr1 --output diff.jsonl        # every difference, to a file
  $ aae compare ./dc1 ./dr1 --json-lines | jq -c 'select(.kind == "missing")'
  $ aae compare ./dc1 ./dr1 --json
  $ aae compare ./dc1 ./dr1 --bucket users --key-range a..m
  $ aae compare ./dc1 ./dr1 --modified-range 2026-11-01T00:00:00Z..2026-11-02T00:00:00Z
  $ aae compare ./dc1                                  # replica against replica inside one cluster
  $ aae compare ./ks-primary ./ks-dr                   # two keystores (aae connect, aae follow --once)`,
    )
    .action(async (source: string, sink: string | undefined, opts: CompareCliOptions) => {
      if (opts.jsonLines && opts.json) throw new AaeError('USAGE', '--json-lines and --json: choose one (--json-lines lists every difference; --json prints one document)');
      if (opts.jsonLines && opts.output !== undefined) throw new AaeError('USAGE', '--json-lines and --output: choose one place for the listing');
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
        const names: SideNames = clusters.length === 2 ? await sideNames(clusters[0]!, clusters[1]!) : { source: 'A', sink: 'B' };
        const writer = opts.output !== undefined ? await jsonlToFile(opts.output) : opts.jsonLines ? jsonlToStream(ctx.io.stdout) : undefined;
        const progress = ctx.progress('compare', undefined, 'segments');
        const run = new Listing(ctx, opts, writer, progress, keystores, names.erases);
        try {
          const tuning = { ...exchangeTuning(opts, ctx.io.signal), logger: exchangeLogger(ctx.log), onProgress: (p: ExchangeProgress) => run.onProgress(p) };
          // Without --max-results every dirty segment is compared and the differences stream past;
          // with it, one capped exchange, whose differences then go through the same listing.
          const stream = opts.maxResults === undefined ? { onDifferences: (ds: Difference[]) => run.add(ds) } : {};
          if (clusters.length === 1) {
            const r = await compareReplicas(clusters[0]!, { ...tuning, ...stream });
            await run.add(r.differences);
            refuse(r.inSync);
            run.end(r.inSync);
            run.printReplicas(r);
          } else {
            const r = await compareClusters(clusters[0]!, clusters[1]!, { ...tuning, ...stream });
            await run.add(r.differences);
            refuse(r.inSync);
            run.end(r.inSync);
            run.printClusters(r, names);
          }
        } finally {
          progress.stop({ differences: run.summary.total });
          await writer?.close();
        }
      }, ctx.io.stderr);
    });
}

/** The differences of one compare as they arrive: counted, sampled, listed. */
class Listing {
  readonly summary = new DifferenceSummary();
  private readonly sample = new DifferenceSample<Difference>(SHOWN_DIFFERENCES);
  private readonly json: unknown[] = [];

  constructor(
    private readonly ctx: CommandContext,
    private readonly opts: CompareCliOptions,
    private readonly writer: JsonlWriter | undefined,
    private readonly progress: Progress,
    /** Keystores compared: their lag and reliability go beside the result. */
    private readonly keystores: readonly NodeKeystoreStatus[] = [],
    /** Which side erases deletes: a key absent there is marked maybeDeletedOn. */
    private readonly erases?: SideNames['erases'],
  ) {}

  async add(ds: ReadonlyArray<Difference | ReplicaDifference>): Promise<void> {
    if (ds.length === 0) return;
    // Set before the first record is written: a reader that stops early still sees exit 1.
    this.ctx.setExitCode(EXIT.DIFFERENT);
    for (const d of ds) {
      this.summary.add(d);
      this.sample.add(d);
      const record = isReplicaDifference(d) ? replicaDifferenceJson(d) : differenceJson(d, this.erases);
      if (this.opts.json && this.json.length < JSON_DIFFERENCES) this.json.push(record);
      if (this.writer !== undefined) await this.writer.write(record);
    }
  }

  /** Clock segments compared, summed over the exchanges (one, or one per replica pair). */
  private readonly segments = new Map<string, { done: number; total: number }>();

  onProgress(p: ExchangeProgress): void {
    if (p.clockSegments === undefined) return;
    this.segments.set(p.id, p.clockSegments);
    let done = 0;
    let total = 0;
    for (const s of this.segments.values()) {
      done += s.done;
      total += s.total;
    }
    this.progress.setTotal(total);
    this.progress.update(done, { differences: this.summary.total });
  }

  /** A compare can be out of sync with nothing listed (a capped exchange that found dirty segments only). */
  end(inSync: boolean): void {
    if (!inSync) this.ctx.setExitCode(EXIT.DIFFERENT);
  }

  private get complete(): boolean {
    return this.opts.maxResults === undefined;
  }

  private listed() {
    const omitted = this.summary.total - this.json.length;
    return {
      differences: this.json,
      ...(omitted > 0 ? { differencesOmitted: omitted, listAll: LIST_ALL } : {}),
      ...(this.writer === undefined || this.writer.target === 'stdout' ? {} : { output: this.writer.target, written: this.writer.count }),
    };
  }

  /** Said when only one capped exchange ran (--max-results) and it left dirty segments. */
  private partial(truncated: boolean, estimated: number): string | undefined {
    if (this.complete || !truncated) return undefined;
    return `one exchange of at most ${this.opts.maxResults} segments (--max-results), ~${estimated.toLocaleString('en-US')} differences in all; without --max-results compare counts and lists them all`;
  }

  printClusters(r: ClusterComparison, names: SideNames): void {
    const e = r.exchange;
    const out = this.ctx.io.stdout;
    if (this.opts.jsonLines) return this.summaryToStderr(names, this.partial(e.truncated, e.estimatedDifferences));
    if (this.opts.json) {
      printJson(out, {
        kind: r.kind,
        source: names.source,
        sink: names.sink,
        state: e.state,
        inSync: r.inSync,
        complete: !e.truncated,
        summary: summaryJson(this.summary.toJSON()),
        ...this.listed(),
        ...(this.keystores.length === 0 ? {} : { keystores: this.keystores }),
        exchange: {
          dirtyBranches: e.dirtyBranches,
          dirtySegments: e.dirtySegments,
          estimatedDifferences: e.estimatedDifferences,
          largeDelta: e.largeDelta,
          walk: e.walk,
          rounds: e.rounds,
          roundTrips: e.roundTrips,
          bytes: { source: e.bytes.blue, sink: e.bytes.pink, total: e.bytes.total },
          timingsMs: Object.fromEntries(Object.entries(e.timings).map(([k, v]) => [k, Math.round(v ?? 0)])),
        },
      });
      return;
    }
    const ms = Object.values(e.timings).reduce((a, b) => a + (b ?? 0), 0);
    // A difference younger than a keystore's lag is not yet a difference: say the lag first.
    for (const k of this.keystores) out.write(`${keystoreLine(k)}\n`);
    printTable(out, ['compare', 'in sync', 'differences', 'dirty segments', 'round trips', 'bytes', 'ms'], [
      [`${names.source} ↔ ${names.sink}`, r.inSync ? 'yes' : 'no', this.summary.total, e.dirtySegments, e.roundTrips, e.bytes.total, Math.round(ms)],
    ]);
    this.printBody(names, this.partial(e.truncated, e.estimatedDifferences));
  }

  printReplicas(r: ReplicaComparison): void {
    const out = this.ctx.io.stdout;
    const names = { source: 'A', sink: 'B' };
    const partial = this.complete || !r.truncated ? undefined : `one exchange per replica pair of at most ${this.opts.maxResults} segments (--max-results); without it compare counts and lists them all`;
    if (this.opts.jsonLines) return this.summaryToStderr(names, partial);
    if (this.opts.json) {
      printJson(out, {
        kind: r.kind,
        cluster: r.cluster,
        inSync: r.inSync,
        complete: !r.truncated,
        summary: summaryJson(this.summary.toJSON(), { source: 'a', sink: 'b' }),
        ...this.listed(),
        ...(this.keystores.length === 0 ? {} : { keystores: this.keystores }),
        pairs: r.pairs,
        pairsInSync: r.pairsInSync,
        keys: r.keys,
        roundTrips: r.roundTrips,
        bytes: { total: r.bytes },
      });
      return;
    }
    for (const k of this.keystores) out.write(`${keystoreLine(k)}\n`);
    printTable(out, ['cluster', 'in sync', 'replica pairs', 'pairs in sync', 'keys differing', 'differences', 'bytes'], [
      [r.cluster, r.inSync ? 'yes' : 'no', r.pairs, r.pairsInSync, r.keys, this.summary.total, r.bytes],
    ]);
    this.printBody(names, partial);
  }

  private printBody(names: SideNames, partial: string | undefined): void {
    const out = this.ctx.io.stdout;
    printSummary(out, this.summary.toJSON(), names, 'differences', partial);
    const rows = this.sample.pick(SHOWN_DIFFERENCES);
    const listedTo = this.writer === undefined ? undefined : `all ${this.writer.count.toLocaleString('en-US')} are in ${this.writer.target}`;
    printDifferences(out, rows, names, this.summary.total - rows.length, listedTo ?? LIST_ALL);
    if (listedTo !== undefined && this.summary.total <= rows.length) out.write(`${this.writer!.count} difference(s) written to ${this.writer!.target}\n`);
  }

  /** With --json-lines stdout holds the records only: the summary is for the person at the terminal. */
  private summaryToStderr(names: SideNames, partial: string | undefined): void {
    if (this.ctx.quiet) return;
    const err = this.ctx.io.stderr;
    if (this.summary.total === 0) err.write(`${names.source} ↔ ${names.sink}: in sync\n`);
    else printSummary(err, this.summary.toJSON(), names, 'differences', partial);
  }
}
