import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { classifyDifference, compareClusters, compareReplicas, DifferenceSummary, repairClusters, repairReplicas } from '../../aae/index.js';
import { defaultSpec, makeClock } from '../../cluster/index.js';
import { MemoryConflictSink } from '../../repair/index.js';
import { AaeError } from '../../errors.js';
import { EmbeddedCluster } from '../../coordinator/index.js';
import { EXIT, type CommandContext, type OutStream } from '../io.js';
import { loadFile } from '../load-file.js';
import { printJson } from '../output.js';
import { packageRoot } from '../package-root.js';
import { printDifferences } from '../render-comparison.js';
import { aheadText, printSummary, summaryJson } from '../render-summary.js';

/**
 * `aae demo`: the whole job on the embedded default, in a temporary directory. Two clusters of
 * different shapes load the sample data, drift apart in every way the toolkit knows, and are
 * compared, repaired and compared again. The pause between an exchange stage and its confirmation
 * is shortened (nothing writes during the demo); everything else runs as in production.
 */

/** Demo exchanges pause 20 ms instead of 500: no live writes to wait out. */
const DEMO_PAUSE_MS = 20;

export function registerDemo(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description('two embedded clusters drift apart; compare, repair and compare again (runs in a temp directory)')
    .option('--keep <dir>', 'build the clusters in this (new) directory and keep them, to explore with the other commands')
    .option('--json', 'print a summary as JSON only')
    .addHelpText(
      'after',
      `
Examples:
  $ aae demo
  $ aae demo --keep ./demo && aae inspect ./demo/primary ./demo/dr --html diff.html`,
    )
    .action(async (opts: { keep?: string; json?: boolean }) => {
      const say = (s: string) => {
        if (!opts.json) ctx.io.stdout.write(`${s}\n`);
      };
      if (opts.keep !== undefined && existsSync(opts.keep)) {
        throw new AaeError('USAGE', `--keep ${opts.keep}: the directory exists; give a new one`);
      }
      const dir = opts.keep ?? (await mkdtemp(join(tmpdir(), 'aae-demo-')));
      const clusters: EmbeddedCluster[] = [];
      try {
        const summary = await runDemo(dir, clusters, say, opts.json ? undefined : ctx.io.stdout);
        if (opts.json) printJson(ctx.io.stdout, summary);
        if (!summary.inSyncAfter) ctx.setExitCode(EXIT.DIFFERENT);
      } finally {
        for (const c of clusters) await c.close();
        if (opts.keep === undefined) await rm(dir, { recursive: true, force: true });
      }
    });
}

async function runDemo(dir: string, clusters: EmbeddedCluster[], say: (s: string) => void, tables: OutStream | undefined) {
  const t0 = performance.now();
  const sample = join(packageRoot(), 'fixtures', 'sample.jsonl');
  const tune = { pauseMs: DEMO_PAUSE_MS };

  say('1. Two embedded clusters: a primary (4 nodes, ring 32, nVal 3) and a disaster-recovery copy (3 nodes, ring 16, nVal 2).');
  const primary = await EmbeddedCluster.create(join(dir, 'primary'), defaultSpec('primary', { nodeCount: 4, ringSize: 32, nVal: 3 }));
  clusters.push(primary);
  const dr = await EmbeddedCluster.create(join(dir, 'dr'), defaultSpec('dr', { nodeCount: 3, ringSize: 16, nVal: 2 }));
  clusters.push(dr);
  const loaded = await loadFile(primary, sample);
  await loadFile(dr, sample);
  say(`   Both loaded ${loaded.written} objects from fixtures/sample.jsonl (${loaded.tombstones} of them tombstones).`);

  say('2. They drift apart:');
  const now = Date.UTC(2026, 10, 22, 12);
  for (let i = 0; i < 12; i++) await primary.put({ bucket: 'orders', key: `order-${i}`, value: `{"total":${10 * i}}`, lastModified: now + i });
  say('   - 12 new orders reached the primary but never the DR copy (replication fell behind);');
  for (let i = 0; i < 5; i++) {
    const key = `user-${String(100 + i).padStart(5, '0')}`;
    const old = (await dr.get('users', key))!;
    await dr.put({ bucket: 'users', key, value: `{"name":"user ${100 + i}","city":"Moved"}`, clock: makeClock([...old.clock.entries, ['dr-app', 1]], now + 100 + i) });
  }
  say('   - 5 users were updated on the DR side only (its versions are ahead);');
  for (let i = 0; i < 4; i++) await primary.delete('users', `user-${String(200 + i).padStart(5, '0')}`, { lastModified: now + 200 + i });
  say('   - 4 users were deleted on the primary only (its tombstones are ahead of the values DR holds);');
  const base = (await primary.get('users', 'user-00007'))!;
  await primary.put({ bucket: 'users', key: 'user-00007', value: '{"name":"user 7","city":"Lyon"}', clock: makeClock([...base.clock.entries, ['primary-app', 1]], now + 300) });
  await dr.put({ bucket: 'users', key: 'user-00007', value: '{"name":"user 7","city":"Osaka"}', clock: makeClock([...base.clock.entries, ['dr-app', 1]], now + 301) });
  say('   - user-00007 was changed on both sides at once (a concurrent write);');
  for (let i = 0; i < 6; i++) await primary.put({ bucket: 'sessions', key: `late-${i}`, value: 'token', replicas: 1, lastModified: now + 400 + i });
  say('   - 6 sessions reached only 1 of the primary\'s 3 replicas (a node was down).');

  say('3. Inside the primary, replica against replica:');
  const inside = await compareReplicas(primary, tune);
  say(`   ${inside.pairs} replica pairs compared, ${inside.pairs - inside.pairsInSync} differ, ${inside.keys} key(s) missing replicas.`);
  const readRepair = await repairReplicas(primary, tune);
  say(`   read repair: ${readRepair.totals.placesWritten} replica write(s); in sync now: ${readRepair.inSync ? 'yes' : 'no'}.`);

  say('4. Primary against DR (different ring sizes and nVals: trees are keyed by segment, not partition):');
  const before = await compareClusters(primary, dr, tune);
  const e = before.exchange;
  say(`   ${before.differences.length} key(s) differ: ${e.dirtyBranches} dirty branch(es), ${e.dirtySegments} dirty segment(s), ${e.roundTrips} round trips, ${e.bytes.total} bytes moved.`);
  const summary = new DifferenceSummary();
  for (const d of before.differences) summary.add(d);
  const names = { source: 'primary', sink: 'dr' };
  say(`   ${aheadText(summary.ahead(), names)}; by bucket and kind, then a few of each:`);
  if (!before.inSync && tables !== undefined) {
    printSummary(tables, summary.toJSON(), names);
    printDifferences(tables, sampleEach(before.differences, (d) => classifyDifference(d).kind + d.ahead, 2), names, 0);
  }

  say('5. Repair (lww for the concurrent write; the losing version goes to the conflict log):');
  const conflicts = new MemoryConflictSink();
  const repaired = await repairClusters(primary, dr, { ...tune, policy: 'lww', conflictLog: conflicts });
  const t = repaired.totals;
  say(`   ${t.copied} copied to the side behind, ${t.resolved} conflict(s) resolved, ${t.placesWritten} write(s) in ${repaired.loops.length} loop(s).`);
  for (const c of conflicts.entries) {
    say(`   conflict log: ${c.where}'s ${c.loser.bucket}/${Buffer.from(c.loser.key).toString()} = ${Buffer.from(c.loser.value).toString()} lost to the later write and was kept there.`);
  }

  say('6. Compare again:');
  const after = await compareClusters(primary, dr, tune);
  const insideAfter = await compareReplicas(primary, tune);
  say(`   primary ↔ dr in sync: ${after.inSync ? 'yes' : 'no'}; primary's replicas in sync: ${insideAfter.inSync ? 'yes' : 'no'}.`);
  const winner = await dr.get('users', 'user-00007');
  say(`   user-00007 on DR now: ${Buffer.from(winner!.value).toString()} (clock ${winner!.clock.entries.map(([a, n]) => `${a}:${n}`).join(',')}).`);
  const ms = Math.round(performance.now() - t0);
  say('7. To keep two clusters agreeing from now on: `aae sync <primary> <dr> --schedule all=1,hour=23` (docs/SYNC.md).');
  say(`Done in ${ms} ms.`);
  return {
    loaded: loaded.written,
    replicaKeysMissing: inside.keys,
    differencesFound: before.differences.length,
    ahead: { primary: summary.ahead().source, dr: summary.ahead().sink, concurrent: summary.ahead().both },
    summary: summaryJson(summary.toJSON()),
    repaired: { copied: t.copied, conflictsResolved: t.resolved, replicaWrites: t.placesWritten, loops: repaired.loops.length },
    conflictsLogged: conflicts.entries.length,
    inSyncAfter: after.inSync && insideAfter.inSync,
    ms,
  };
}

/** Up to `n` items of each group, in the groups' first-seen order. */
function sampleEach<T>(xs: readonly T[], group: (x: T) => string, n: number): T[] {
  const taken = new Map<string, number>();
  return xs.filter((x) => {
    const g = group(x);
    const k = taken.get(g) ?? 0;
    taken.set(g, k + 1);
    return k < n;
  });
}
