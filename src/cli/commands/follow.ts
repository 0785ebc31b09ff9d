import type { Command } from 'commander';
import { changeSourceOf, followKeystore, keystoreStatus, readSourceSpec } from '../../connect/index.js';
import { AaeError, isAaeError } from '../../errors.js';
import { EXIT, type CommandContext } from '../io.js';
import { statusLine } from '../keystore-status.js';
import { printJson } from '../output.js';

interface FollowCliOptions {
  once?: boolean;
  status?: boolean;
  json?: boolean;
}

/** Scan progress is logged every this many rows (stderr). */
const SCAN_LOG_EVERY = 100_000;

export function registerFollow(program: Command, ctx: CommandContext): void {
  program
    .command('follow')
    .description("build a keystore from its source and keep it current from the source's change feed, until stopped")
    .argument('<dir>', 'the keystore directory (made by aae connect)')
    .option('--once', "build it or catch up to the source's current position, then exit (for cron and scripts)")
    .option('--status', 'show whether the keystore is reliable, its position and lag, and exit (1 when unreliable); opens nothing')
    .option('--json', 'print the report (or the status) as JSON only')
    .addHelpText(
      'after',
      `
The first run builds the keystore. PostgreSQL: a replication slot is created with an exported
snapshot, the table is read in that snapshot, and the changes committed meanwhile are applied from
the slot.
After that it applies each committed transaction, saves its position with the keystore, and only
then acknowledges it to the server. A gap (the slot dropped or lost, the slot moved past the
keystore, the feed stopped past --max-stopped) marks the keystore unreliable (compare refuses to
call it in sync), and it is rebuilt from a fresh snapshot and swapped in. It is also rebuilt on a
schedule (aae connect --rebuild-every). While aae follow runs, the keystore's store is locked:
run compare between catch-ups (--once), or stop it first.

Redis: the feed is keyspace notifications, subscribed before the build's SCAN. Redis keeps no
change log, so every lost notification connection, and every new run of aae follow (each --once
too), is a gap that rebuilds the keystore: best effort, where PostgreSQL's slot is a guarantee.
etcd: the snapshot is a range read at one revision and the feed a watch from the next; a stopped
follower resumes from its revision unless etcd compacted past it (then it rebuilds).

Log lines carry codes: CN001 build started, CN002 built and swapped in, CN003 following, CN004 gap, CN005
reconnecting, CN007 truncate applied, CN008 an abandoned build cleaned up.

Exit codes: 0 caught up (--once); 130 on Ctrl-C and 143 on SIGTERM, the usual end of a follow
without --once (the store is closed, the position saved, and a line says where it stopped); 2 bad
input; 3 a failure (the source unreachable with --once). --status: 0 reliable, 1 unreliable.

Examples:
  $ aae follow ./ks                 # build, then follow until stopped
  $ aae follow ./ks --once          # build or catch up, then exit (cron)
  $ aae follow ./ks --status --json`,
    )
    .action(async (dir: string, opts: FollowCliOptions) => {
      if (opts.status === true && opts.once === true) throw new AaeError('USAGE', '--status only reads the keystore\'s state and --once follows its source: give one of them');
      if (opts.status === true) {
        const s = await keystoreStatus(dir);
        if (!s.reliable) ctx.setExitCode(EXIT.DIFFERENT);
        if (opts.json) printJson(ctx.io.stdout, s);
        else ctx.io.stdout.write(`${statusLine(s)}\n`);
        return;
      }
      const spec = await readSourceSpec(dir);
      const source = changeSourceOf(spec);
      const err = ctx.io.stderr;
      let nextScanLog = SCAN_LOG_EVERY;
      try {
        const report = await followKeystore(dir, source, {
          once: opts.once === true,
          ...(ctx.io.signal === undefined ? {} : { signal: ctx.io.signal }),
          log: (l) => err.write(`${l.code} ${l.message}\n`),
          onProgress: (p) => {
            if (p.kind === 'scan' && p.rows >= nextScanLog) {
              err.write(`scan: ${p.rows} rows\n`);
              nextScanLog += SCAN_LOG_EVERY;
            }
          },
        });
        if (opts.json) printJson(ctx.io.stdout, report);
        else {
          ctx.io.stdout.write(
            `${opts.once === true ? 'caught up' : 'stopped'} at ${report.position ?? '(none)'}: ${report.transactions} transaction(s), ${report.changes} change(s) applied, ` +
              `${report.builds} build(s)${report.gaps.length > 0 ? `, gaps: ${report.gaps.join('; ')}` : ''}\n`,
          );
        }
        if (!report.reliable) throw new AaeError('KEYSTORE_UNRELIABLE', `${dir} is unreliable after following`);
      } catch (e) {
        // Ctrl-C or SIGTERM is how a follow without --once ends: not an error, so no error line;
        // where it stopped instead (the exit code, 130 or 143, says how).
        if (!(isAaeError(e, 'ABORTED') && ctx.io.signal?.aborted === true)) throw e;
        const s = await keystoreStatus(dir);
        if (opts.json) printJson(ctx.io.stdout, { stopped: true, ...s });
        else ctx.io.stdout.write(`stopped: ${statusLine(s)}\n`);
        // Stopped, not done: main.ts turns this into the signal's own code (130, 143).
        ctx.setExitCode(EXIT.FAILURE);
      } finally {
        await source.close();
      }
    });
}
