import { setMaxListeners } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { validateObjectKey } from '../../cluster/index.js';
import { AaeError, isAaeError } from '../../errors.js';
import { EmbeddedCluster, type Cluster } from '../../coordinator/index.js';
import { parseAddress, serveMetrics, syncMetrics, type MetricsEndpoint } from '../../net/index.js';
import { DEFAULT_REBUILD_RATE, DEFAULT_REBUILD_SCHEDULE, rebuildFailedLine, startDueRebuilds, treeCheckLine, type DueRebuildOptions } from '../../store/index.js';
import { ConflictLogFile } from '../../repair/index.js';
import {
  DAY_MS,
  INITIAL_STATE,
  WORK_ITEMS,
  DEFAULT_LOCK_TTL_SECONDS,
  etcdCoordination,
  etcdSyncStatus,
  fileCoordination,
  formatSchedule,
  parseDuration,
  parseLockUrl,
  parseSchedule,
  parseWindow,
  readSyncStatus,
  resolveCheck,
  runCheck,
  runSyncLoop,
  sliceCount,
  successTime,
  syncLockHolder,
  type CheckReport,
  type CheckWindow,
  type OpenPair,
  type ScheduleWants,
  type SyncCoordination,
  type WorkItem,
} from '../../sync/index.js';
import { checkWritableParent } from '../output-path.js';
import { EXIT, type CommandContext } from '../io.js';
import { printJson } from '../output.js';
import { flag, parseChoice, parseIntOption } from '../parse.js';
import { addRepairTuningOptions, repairTuning, type RepairTuningOptions } from '../repair-options.js';
import { addExchangeTuningOptions } from '../scope-options.js';
import { anyKeystore, openClusterDir, warnRecovered, type OpenClusterOptions } from '../open-cluster.js';
import { exchangeLogger } from '../log.js';
import { checkCopies, copiesChanged, identify, importableState, importStateFile, iso, unknownCopyLine } from '../sync-copies.js';

interface SyncCliOptions extends RepairTuningOptions {
  schedule?: ScheduleWants;
  period?: number;
  window: CheckWindow;
  once?: WorkItem;
  status?: boolean;
  checks?: number;
  state?: string;
  lock?: string;
  lockTtl?: number;
  bucket?: string;
  conflictLog?: string;
  maxResults?: number;
  pauseMs: number;
  json?: boolean;
  rebuild: boolean;
  rebuildWait?: number;
  rebuildDelay?: number;
  rebuildRate?: number;
  maxAge?: number;
  metricsListen?: string;
}

const DEFAULT_SCHEDULE = 'all=24';
const ONCE_KINDS = WORK_ITEMS.filter((k) => k !== 'none');


export function registerSync(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('sync')
    .description('keep two clusters agreeing on a schedule: checks dealt over a period, each one a repair over its scope')
    .argument('<source>', 'the source cluster or keystore directory')
    .argument('<sink>', 'the sink cluster or keystore directory')
    .option('--schedule <checks>', `checks a period, as kind=count: ${WORK_ITEMS.join(', ')} (default: ${DEFAULT_SCHEDULE})`, flag('--schedule', parseSchedule))
    .option('--period <duration>', 'the period the schedule repeats over (e.g. 24h, 1h, 10m; default: 24h)', flag('--period', parseDuration))
    .option('--window <hours>', 'UTC hours when an auto check may compare everything: H1-H2, always or never', flag('--window', parseWindow), 'always' as CheckWindow)
    .option('--once <kind>', `run one check now and exit: ${ONCE_KINDS.join(', ')}`, parseChoice('--once', ONCE_KINDS))
    .option('--checks <n>', 'stop after this many checks have run (default: run until interrupted)', parseIntOption('--checks', 1, 1_000_000))
    .option('--status', "show the sync's state and its last check (whether one is running too), and exit by its health: 0 healthy, 1 no check yet, differences left or a success older than --max-age, 3 the last check failed; opens no cluster (a served cluster's nodes are asked which copy they are)")
    .option('--max-age <duration>', 'with --status: unhealthy (exit 1) when the last check that ended in sync finished longer ago than this (e.g. 26h)', flag('--max-age', parseDuration))
    .option('--bucket <bucket>', "limit every check to one bucket (its full check is then a fold over the bucket's heads); a state of its own", flag('--bucket', (b) => (validateObjectKey({ bucket: b, key: new Uint8Array(0) }), b)))
    .option('--metrics-listen <host:port>', 'serve GET /metrics (Prometheus: checks, exchanges, deltas found, keys repaired) and GET /healthz here while the sync runs')
    .option('--state <file>', 'where the sync keeps what the last check left (default <source>/sync/<sink name>[+<bucket>].json)')
    .option('--lock <url>', 'one runner across machines: etcd://host:port[,host:port…][/prefix/] holds the lock (a lease) and the state; others wait and take over when it dies')
    .option('--lock-ttl <seconds>', `the lease time: how soon a standby takes over from a dead runner (default ${DEFAULT_LOCK_TTL_SECONDS})`, parseIntOption('--lock-ttl', 2, 3600))
    .option('--conflict-log <file>', "where versions that lose a conflict are appended (JSONL; default: the state file's path with .conflicts.jsonl)")
    .option('--json', 'one JSON object a line per check on stdout, nothing else')
    .option('--rebuild-wait <duration>', 'rebuild a vnode\'s trees from its heads this long after their last build (default 14d)', flag('--rebuild-wait', parseDuration))
    .option('--rebuild-delay <duration>', 'plus a random share of this, fixed per build, so vnodes spread out (default 4d)', flag('--rebuild-delay', parseDuration))
    .option('--rebuild-rate <keys>', `heads a second a scheduled rebuild reads at most (default ${DEFAULT_REBUILD_RATE})`, parseIntOption('--rebuild-rate', 1, 1e9))
    .option('--no-rebuild', 'run no scheduled tree rebuilds');
  addExchangeTuningOptions(addRepairTuningOptions(cmd))
    .addHelpText(
      'after',
      `
Checks:
  all    every object, by the cached trees: cheap while the clusters agree, whatever their size
  day    objects modified in the last 24 hours   } trees built by a fold that reads every
  hour   objects modified in the last hour       } object head: cost grows with the data
  range  the span the last unfinished check found, else objects modified since the watermark
         (the last check that looked at everything); skipped when there is neither
  auto   the span if any; else all (inside --window; day outside it) when a full check is due
         or there is no watermark; else range since the watermark
  none   a quiet slice

The period is cut into one slice per check; each period deals the checks to the slices in a
new random order, and each starts at its slice plus up to a minute of jitter. A check whose
slice has passed (the previous one ran long) is skipped. The clusters are opened for each check
and closed between checks, so other commands can use them meanwhile; a check that finds one
busy fails, is reported, and the next runs as scheduled.

While a check has the clusters open, vnodes whose trees are due a rebuild from their heads
(--rebuild-wait after their last build, plus a random share of --rebuild-delay) are rebuilt in
the background, one at a time, at most --rebuild-rate heads a second; they answer from their
old trees until the new ones swap in. A rebuild that finds trees differing from their heads
replaces them and says so (TR002): the next check then repairs what they hid.

Keystores (aae connect) sync like clusters: each check catches them up with their databases and
follows them while it runs, and writes into the sink's database conditionally. With a keystore on
either side the defaults are one-way: --conflict source --direction to-sink (an explicit flag wins).

Exit codes (with --once or --checks): 0 the last check ended in sync, 1 differences left,
2 bad usage or input, 3 the last check failed. Ctrl-C stops the sync (exit 130; SIGTERM 143) with a
line saying how many checks ran; a check it interrupts leaves nothing half-written (every repair
write is conditional and idempotent).

Examples:
  $ aae sync ./dc1 ./dr1                                 # a full check every hour
  $ aae sync ./dc1 ./dr1 --schedule all=1,hour=23         # one full check a day, the last hour otherwise
  $ aae sync ./dc1 ./dr1 --schedule all=1,auto=23 --window 1-5
                # a full check a day; hourly auto checks look at what changed since the last
                # full one, and when a full check is due, run it only from 01:00 to 05:00 UTC
  $ aae sync ./dc1 ./dr1 --once all --json                # one check now (for cron)
  $ aae sync ./dc1 ./dr1 --direction to-sink              # the DR copy follows; the primary is never written
  $ aae sync ./dc1 ./dr1 --status                         # the watermark and the last check (for monitoring)
  $ aae sync ./dc1 ./dr1 --status --max-age 26h || alert  # unhealthy if nothing ended in sync for 26 hours
  $ aae sync ./dc1 ./dr1 --bucket orders --schedule all=4,hour=20   # only one bucket is replicated
  $ aae sync ./dc1 ./dr1 --schedule all=1 --period 5m --checks 3
  $ aae sync ./dc1 ./dr1 --rebuild-wait 7d --rebuild-delay 2d --rebuild-rate 20000
  $ aae sync ./dc1 ./dr1 --lock etcd://etcd1:2379,etcd2:2379   # on two machines: one runs, one stands by
  $ aae sync ./ks-primary ./ks-dr --schedule all=24   # a table into its DR copy, one-way, hourly

With --lock, the lock is an etcd lease (--lock-ttl) and the state lives in etcd beside it, so a
standby that takes over resumes from the last check's watermark; --once fails with SYNC_BUSY when
another runner holds the lock; a scheduled sync waits for it. A runner that loses its lease (etcd
unreachable past the lease time) stops with SYNC_LOCK_LOST: its state writes are refused from then on.`,
    )
    .action(async (source: string, sink: string, opts: SyncCliOptions, cmd: Command) => {
      if (opts.maxAge !== undefined && opts.status !== true) throw new AaeError('USAGE', '--max-age goes with --status (it judges the last success)');
      if (opts.lockTtl !== undefined && opts.lock === undefined) throw new AaeError('USAGE', '--lock-ttl goes with --lock etcd://… (it is the etcd lease time)');
      if (opts.status === true) {
        const others = ['once', 'schedule', 'period', 'checks'].filter((o) => cmd.getOptionValueSource(o) === 'cli');
        if (others.length > 0) throw new AaeError('USAGE', `--status only reads the state; ${others.map((o) => `--${o}`).join(', ')} run checks`);
        await showStatus(ctx, source, sink, opts);
        return;
      }
      if (opts.once !== undefined) {
        const loopOnly = ['schedule', 'period', 'checks'].filter((o) => cmd.getOptionValueSource(o) === 'cli');
        if (loopOnly.length > 0) throw new AaeError('USAGE', `--once runs one check now; ${loopOnly.map((o) => `--${o}`).join(', ')} only ${loopOnly.length === 1 ? 'applies' : 'apply'} to a scheduled sync`);
      }
      if (opts.metricsListen !== undefined) parseAddress(opts.metricsListen, '--metrics-listen', true);
      const { names, who, unknown, stateFile } = await identify(source, sink, opts);
      // A state file named by the user goes where they said: its folder must exist (the default
      // one, inside the source cluster, is made as needed). Checked before any check runs.
      if (opts.state !== undefined) await checkWritableParent(opts.state, '--state', 'SYNC_STATE_IO');
      let endpoint: MetricsEndpoint | undefined;
      const metrics = syncMetrics();
      let lastOutcome: CheckReport['outcome'] | undefined;
      const progress = ctx.progress('sync', opts.once !== undefined ? 1 : opts.checks, 'checks');
      let checks = 0;
      const out = ctx.io.stdout;
      const err = ctx.io.stderr;
      const lockAt = lockOf(opts);
      const coord: SyncCoordination =
        lockAt === null
          ? await fileCoordination(stateFile, who)
          : await etcdCoordination(who, {
              ...lockAt,
              ...(opts.lockTtl === undefined ? {} : { ttlSeconds: opts.lockTtl }),
              wait: opts.once === undefined,
              onWait: (holder) => err.write(`waiting for the sync lock (held by ${holder})\n`),
              ...(ctx.io.signal === undefined ? {} : { signal: ctx.io.signal }),
            });
      const signal = ctx.io.signal === undefined ? coord.lost : AbortSignal.any([ctx.io.signal, coord.lost]);
      // Every exchange and fold of a check listens on it (dozens at once): by design, not a leak,
      // and Node's MaxListenersExceededWarning would break stderr's JSON lines.
      setMaxListeners(0, signal);
      let log: ConflictLogFile | undefined;
      try {
        for (const u of unknown) err.write(unknownCopyLine(u));
        let status = await coord.readStatus();
        if (lockAt !== null && !status.exists) status = await importStateFile(status, stateFile, who, coord, err);
        if (status.otherCopies) {
          err.write(`warning: ${coord.where} was written against other copies: ${copiesChanged(status.changed, names)}; starting afresh, with no watermark\n`);
        }
        // From now on the state records every node's copy, those that did not answer as the state had them.
        Object.assign(who, status.copies);
        const initial = status.state;
        let lastSuccess = status.lastSuccessAt;

        const logFile = opts.conflictLog ?? stateFile.replace(/(\.json)?$/, '.conflicts.jsonl');
        // The file lock made the state's folder; with an etcd lock the conflict log may be the first file there.
        await mkdir(dirname(logFile), { recursive: true, mode: 0o700 }).catch(() => undefined);
        log = await ConflictLogFile.open(logFile, { refuseSymlink: opts.conflictLog === undefined });
        if (opts.metricsListen !== undefined) {
          endpoint = await serveMetrics(opts.metricsListen, metrics.registry, async () => lastOutcome !== 'failed');
          err.write(`metrics: http://${endpoint.address}/metrics, health: http://${endpoint.address}/healthz\n`);
        }
        const external = await anyKeystore([source, sink]);
        const follow: OpenClusterOptions = { keystores: 'follow', ...(opts.json ? {} : { log: (l) => err.write(`  ${l.code} ${l.message}\n`) }), ...(ctx.io.signal === undefined ? {} : { signal: ctx.io.signal }) };
        const tuning = repairTuning(opts, { external });
        // The copies a check's open finds, when they are not those the state vouches for (checkCopies).
        let changedTo: { sourceId?: string; sinkId?: string } | undefined;
        const options = {
          open: async () => {
            const pair = await openPair(source, sink, follow, rebuildOptions(opts, ctx.io.signal), err);
            const seen = await checkCopies(pair, [source, sink], names, who).catch(async (e: unknown) => {
              await pair.close();
              throw e;
            });
            if (seen.error !== undefined) {
              changedTo = seen.found;
              // The finding is the answer: a close that fails too must not hide it.
              await pair.close().catch(() => undefined);
              throw seen.error;
            }
            return pair;
          },
          repair: {
            ...tuning,
            logger: exchangeLogger(ctx.log),
            pauseMs: opts.pauseMs,
            conflictLog: log,
            ...(opts.maxResults === undefined ? {} : { maxResults: opts.maxResults }),
            ...(opts.json ? {} : { onLoop: (l: { loop: number; mode: string; differences: number; stats: { placesWritten: number } }) => err.write(`  loop ${l.loop} (${l.mode}): ${l.differences} difference(s); ${l.stats.placesWritten} write(s)\n`) }),
          },
          signal,
        };
        // A check that found other copies ran nothing: the state starts afresh, recording the copies found.
        const afreshIfChanged = (r: CheckReport): CheckReport => {
          if (r.outcome !== 'failed' || r.error?.code !== 'SYNC_COPIES_CHANGED' || changedTo === undefined) return r;
          Object.assign(who, changedTo);
          changedTo = undefined;
          // Nothing of the old copies' carries over: not their watermark, nor their last success.
          lastSuccess = undefined;
          return { ...r, state: { ...INITIAL_STATE } };
        };
        const report = (r: CheckReport): void => {
          lastOutcome = r.outcome;
          metrics.checks.inc({ kind: r.kind ?? r.item, outcome: r.outcome });
          metrics.exchanges.inc(r.loops);
          metrics.deltas.inc(r.differences);
          metrics.repaired.inc(r.repaired.keys);
          if (r.outcome === 'in_sync' || r.outcome === 'repaired') metrics.lastSuccess.set((r.startedAt + r.durationMs) / 1000);
          progress.update(++checks, { outcome: r.outcome });
          lastSuccess = successTime(r) ?? lastSuccess;
          if (opts.json) out.write(`${JSON.stringify(reportJson(r, names))}\n`);
          else out.write(`${reportLine(r)}\n`);
        };
        let last: CheckReport | undefined;
        if (opts.once !== undefined) {
          const check = resolveCheck(opts.once, initial, Date.now(), opts.window, opts.bucket === undefined ? {} : { bucket: opts.bucket });
          if (!check.run) throw new AaeError('USAGE', `--once ${opts.once}: nothing to compare (${check.why}); run --once all first`);
          last = afreshIfChanged(await runCheck(check, initial, options));
          // Said first: if the state cannot be saved, what the check did to the clusters is still known.
          report(last);
          await coord.saveState(last.state, last, lastSuccess);
        } else {
          const schedule = opts.schedule ?? parseSchedule(DEFAULT_SCHEDULE);
          const period = opts.period ?? DAY_MS;
          if (!opts.json) {
            const every = period / sliceCount(schedule);
            const only = opts.bucket === undefined ? '' : ` (bucket '${opts.bucket}')`;
            err.write(`sync ${names[0]} ${tuning.direction === 'both' ? '↔' : tuning.direction === 'to-sink' ? '→' : '←'} ${names[1]}${only}: ${formatSchedule(schedule)} every ${duration(period)} (a check every ${duration(every)}); state in ${coord.where}\n`);
            const runnable = WORK_ITEMS.filter((k) => k !== 'none' && schedule[k] > 0);
            if (runnable.every((k) => k === 'range') && initial.previousSuccess === null && initial.range === null) {
              err.write('warning: range checks start from a watermark that a full check sets; there is none yet, so they will be skipped until one (e.g. --once all)\n');
            }
          }
          const result = await runSyncLoop({
            ...options,
            check: async (c, state, o) => afreshIfChanged(await runCheck(c, state, o)),
            wants: schedule,
            periodMs: period,
            window: opts.window,
            ...(opts.bucket === undefined ? {} : { bucket: opts.bucket }),
            state: initial,
            ...(opts.checks === undefined ? {} : { maxChecks: opts.checks }),
            onWait: (next) => {
              const what = next.item === 'none' ? 'a quiet slice' : `${next.item} check`;
              if (!opts.json) err.write(`next: ${what} at ${iso(next.at)} (in ${duration(Math.max(0, next.at - Date.now()))})\n`);
            },
            onCheck: async (r) => {
              report(r);
              // A skipped slice changes nothing worth an fsync (a stall can skip many in a row).
              if (r.outcome !== 'skipped') await coord.saveState(r.state, r, lastSuccess);
            },
          }).catch((e: unknown) => {
            if (coord.lost.aborted) throw coord.lost.reason;
            // Ctrl-C or SIGTERM is how a scheduled sync ends: not an error, so no error line; what
            // it did instead (the exit code, 130 or 143, says how). A check it interrupted left
            // nothing half-written, and the state holds the last finished one.
            if (!(isAaeError(e, 'ABORTED') && ctx.io.signal?.aborted === true)) throw e;
            if (opts.json) out.write(`${JSON.stringify({ stopped: true, checks, state: coord.where })}\n`);
            else err.write(`stopped after ${checks} check(s); the state of the last finished one is in ${coord.where}\n`);
            return null;
          });
          if (result === null) {
            // Stopped, not done: main.ts turns this into the signal's own code (130, 143).
            ctx.setExitCode(EXIT.FAILURE);
            return;
          }
          last = result.last;
        }
        if (coord.lost.aborted) throw coord.lost.reason;
        ctx.setExitCode(exitFor(last));
      } finally {
        progress.stop();
        await endpoint?.close();
        await log?.close();
        await coord.release();
      }
    });
}

/** The etcd lock's endpoints and prefix (--lock), or null for the default lock file. */
function lockOf(opts: SyncCliOptions): { endpoints: string[]; prefix: string } | null {
  if (opts.lock === undefined) return null;
  const at = parseLockUrl(opts.lock);
  if (at === null) throw new AaeError('USAGE', `--lock must be etcd://host:port[,host:port…][/prefix/], got '${opts.lock}'`);
  if (opts.state !== undefined) throw new AaeError('USAGE', '--lock keeps the state in etcd beside the lock; --state names a file, so give one or the other');
  return at;
}

async function showStatus(ctx: CommandContext, source: string, sink: string, opts: SyncCliOptions): Promise<void> {
  const { names, who, unknown, stateFile: file } = await identify(source, sink, opts);
  for (const u of unknown) ctx.io.stderr.write(unknownCopyLine(u));
  const lockAt = lockOf(opts);
  let status: Awaited<ReturnType<typeof readSyncStatus>>;
  let pid: number | string | undefined;
  let stateFile = file;
  let importable: string | undefined;
  if (lockAt === null) {
    status = await readSyncStatus(stateFile, who);
    pid = await syncLockHolder(stateFile);
  } else {
    const r = await etcdSyncStatus(who, { ...lockAt, ...(ctx.io.signal === undefined ? {} : { signal: ctx.io.signal }) });
    status = r.status;
    pid = r.holder ?? undefined;
    stateFile = r.where;
    // Nothing in etcd yet, but this machine's state file has a state the first --lock run carries over (importStateFile).
    if (!status.exists) {
      const local = await importableState(file, who);
      // Shown, and judged, as the state it will be: moving a monitor to --lock does not alert.
      if (local !== undefined) {
        importable = file;
        status = local;
      }
    }
  }
  const last = status.lastCheck;
  // A state of other copies was ignored: nothing vouches for these clusters, whatever its last check said.
  const health = status.otherCopies
    ? { exit: EXIT.DIFFERENT, why: `the saved state is of other copies (${copiesChanged(status.changed, names)}): nothing vouches for these yet` }
    : healthOf(status.lastCheck, status.lastSuccessAt, opts.maxAge, Date.now());
  ctx.setExitCode(health.exit);
  const { previousSuccess: w, range, fullCheckDue } = status.state;
  if (opts.json) {
    printJson(ctx.io.stdout, {
      source: names[0],
      sink: names[1],
      ...(opts.bucket === undefined ? {} : { bucket: opts.bucket }),
      stateFile,
      ...(importable === undefined ? {} : { importsStateFile: importable }),
      otherCopies: status.otherCopies,
      ...(status.changed === undefined ? {} : { changed: status.changed.map((c) => ({ cluster: c.side === 'source' ? names[0] : names[1], nodes: c.nodes })) }),
      running: pid !== undefined,
      ...(pid === undefined ? {} : { pid }),
      watermark: w === null ? null : iso(w),
      range: range === null ? null : { ...range, from: iso(range.from), to: iso(range.to) },
      fullCheckDue: fullCheckDue === true,
      healthy: health.exit === EXIT.OK,
      health: health.why,
      lastSuccess: status.lastSuccessAt === undefined ? null : iso(status.lastSuccessAt),
      ...(opts.maxAge === undefined ? {} : { maxAgeMs: opts.maxAge }),
      lastCheck: last === undefined ? null : reportJson(last, names),
    });
    return;
  }
  const age = (t: number) => `${iso(t)} (${duration(Math.max(0, Date.now() - t))} ago)`;
  const lines = [
    `sync ${names[0]} → ${names[1]} (state ${stateFile}${importable !== undefined ? `, none saved yet: shown is ${importable}'s, which the first run imports` : status.exists ? '' : ', none saved yet'}${status.otherCopies ? `, written against other copies: ${copiesChanged(status.changed, names)}: ignored` : ''})`,
    `  running:         ${pid === undefined ? 'no' : typeof pid === 'number' ? `yes, pid ${pid}` : `yes, ${pid}`}`,
    `  watermark:       ${w === null ? 'none yet (a full check sets it)' : age(w)}`,
    `  span to check:   ${range === null ? 'none' : `${iso(range.from)} .. ${iso(range.to)}${range.bucket === undefined ? '' : ` in bucket ${range.bucket}`}`}`,
    `  full check due:  ${fullCheckDue === true ? 'yes' : 'no'}`,
    `  last check:      ${last === undefined ? 'none' : reportLine(last)}`,
    `  last success:    ${status.lastSuccessAt === undefined ? 'none' : age(status.lastSuccessAt)}`,
    `  health:          ${health.exit === EXIT.OK ? 'ok' : 'NOT OK'}: ${health.why}`,
  ];
  ctx.io.stdout.write(`${lines.join('\n')}\n`);
}

/** The scheduled rebuilds' options from the flags, or undefined with --no-rebuild. */
function rebuildOptions(opts: SyncCliOptions, signal: AbortSignal | undefined): DueRebuildOptions | undefined {
  if (!opts.rebuild) return undefined;
  return {
    schedule: { waitMs: opts.rebuildWait ?? DEFAULT_REBUILD_SCHEDULE.waitMs, delayMs: opts.rebuildDelay ?? DEFAULT_REBUILD_SCHEDULE.delayMs },
    maxKeysPerSecond: opts.rebuildRate ?? DEFAULT_REBUILD_RATE,
    // Ctrl-C abandons the rebuild in progress (its work is discarded; the vnode stays due).
    ...(signal === undefined ? {} : { signal }),
  };
}

/**
 * Both clusters, opened for one check. While they are open, the vnodes whose scheduled tree
 * rebuild is due are rebuilt in the background, one at a time and throttled, answering the check's
 * exchanges from their old trees until the new ones swap in; closing lets the rebuild in progress
 * finish (so every check moves the schedule on by at least a vnode) and starts no other.
 */
async function openPair(source: string, sink: string, options: OpenClusterOptions, rebuild: DueRebuildOptions | undefined, err: { write(s: string): unknown }): Promise<OpenPair> {
  const a = await openClusterDir(source, options);
  let b: Cluster;
  try {
    b = await openClusterDir(sink, options);
  } catch (e) {
    await a.close();
    throw e;
  }
  for (const c of [a, b]) warnRecovered(c, err);
  // Trees in this process are rebuilt here; a served node's server rebuilds its own.
  const here = [a, b].filter((c): c is EmbeddedCluster => c instanceof EmbeddedCluster);
  const rebuilds =
    rebuild === undefined || here.length === 0
      ? undefined
      : startDueRebuilds(here, {
          ...rebuild,
          onRebuilt: (check, cluster) => {
            const l = treeCheckLine(check, cluster.spec.name);
            err.write(`${l.level === 'warn' ? 'warning: ' : ''}${l.code} ${l.message}\n`);
          },
        });
  return {
    source: a,
    sink: b,
    close: async () => {
      const done = await rebuilds?.finish();
      if (done?.error !== undefined) {
        const l = rebuildFailedLine(`${a.spec.name} or ${b.spec.name}`, done.error);
        err.write(`error: ${l.code} ${l.message}\n`);
      }
      try {
        await a.close();
      } finally {
        await b.close();
      }
    },
  };
}

/**
 * `--status` for monitoring: healthy only when a check has run, the last one did not fail or leave
 * differences, and (with --max-age) the last success is recent enough. A sync that never ran is
 * not healthy: nothing vouches for the clusters.
 */
export function healthOf(last: CheckReport | undefined, lastSuccessAt: number | undefined, maxAgeMs: number | undefined, now: number): { exit: (typeof EXIT)[keyof typeof EXIT]; why: string } {
  if (last === undefined) return { exit: EXIT.DIFFERENT, why: 'no check has run yet' };
  if (last.outcome === 'failed') return { exit: EXIT.FAILURE, why: `the last check failed (${last.error?.code ?? 'failure'})` };
  if (last.outcome === 'differences_left') return { exit: EXIT.DIFFERENT, why: 'the last check left differences' };
  if (maxAgeMs !== undefined) {
    if (lastSuccessAt === undefined) return { exit: EXIT.DIFFERENT, why: 'no check has ended in sync yet' };
    if (now - lastSuccessAt > maxAgeMs) return { exit: EXIT.DIFFERENT, why: `the last success was ${duration(now - lastSuccessAt)} ago, more than --max-age ${duration(maxAgeMs)}` };
  }
  return { exit: EXIT.OK, why: lastSuccessAt === undefined ? 'the last check ended without differences' : `the last success was ${duration(Math.max(0, now - lastSuccessAt))} ago` };
}

function exitFor(last: CheckReport | undefined) {
  if (last === undefined) return EXIT.OK;
  if (last.outcome === 'failed') return EXIT.FAILURE;
  if (last.outcome === 'differences_left') return EXIT.DIFFERENT;
  return EXIT.OK;
}

function reportJson(r: CheckReport, names: readonly [string, string]) {
  return { source: names[0], sink: names[1], ...r, startedAt: iso(r.startedAt), ...(r.modifiedRange === undefined ? {} : { modifiedRange: { from: iso(r.modifiedRange.from), to: iso(r.modifiedRange.to) } }) };
}

function reportLine(r: CheckReport): string {
  const what = r.kind === undefined || r.kind === r.item ? r.item : `${r.item}→${r.kind}`;
  const scope = r.modifiedRange === undefined ? '' : ` [${iso(r.modifiedRange.from)} .. ${iso(r.modifiedRange.to)}]${r.bucket === undefined ? '' : ` bucket ${r.bucket}`}`;
  const took = ` in ${duration(r.durationMs)}`;
  switch (r.outcome) {
    case 'in_sync':
      return `${iso(r.startedAt)}  ${what}${scope}: in sync${took}`;
    case 'repaired':
      return `${iso(r.startedAt)}  ${what}${scope}: ${found(r)}; repaired ${r.repaired.keys} key(s) (${r.repaired.writes} write(s), ${r.repaired.conflicts} conflict(s) resolved)${inside(r)}; in sync${took}`;
    case 'differences_left': {
      const why = (r.reported ?? 0) > 0 ? `${r.reported} conflict(s) reported and left as they are (--conflict report)` : `after ${r.loops} loop(s)`;
      return `${iso(r.startedAt)}  ${what}${scope}: ${found(r)}; repaired ${r.repaired.keys} key(s)${inside(r)}; NOT in sync: ${why}${took}`;
    }
    case 'failed':
      // The duration before the error: after it, it read as the message's last words ("…on that address? in 3.5 s").
      return `${iso(r.startedAt)}  ${what}${scope}: FAILED after ${duration(r.durationMs)}: [${r.error?.code}] ${r.error?.message}`;
    case 'skipped':
      return `${iso(r.startedAt)}  ${what}: skipped (${r.why})`;
  }
}

/** A full check's repair of each cluster's own replicas: said, or a rebuilt replica restored goes unseen. */
const inside = (r: CheckReport): string => ((r.replicaWrites ?? 0) > 0 ? `, and ${r.replicaWrites} write(s) between replicas inside the clusters` : '');

const found = (r: CheckReport): string => (r.byRange ? 'too many differences to list: replicated by range' : `${r.differences} difference(s)`);


function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m ${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h ${Math.round((ms % 3_600_000) / 60_000)}m`;
}
