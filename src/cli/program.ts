import { Command, CommanderError } from 'commander';
import { AaeError, escapeControls } from '../errors.js';
import { PACKAGE_VERSION } from '../version.js';
import { EXIT, StdoutClosed, type CliIo, type CommandContext, type ExitCode } from './io.js';
import { createLogger, DEFAULT_LOG_LEVEL, LOG_LEVELS, type LogLevel } from './log.js';
import { parseChoice } from './parse.js';
import { startProgress, type ProgressOutcome, type ProgressTask } from './progress.js';
import { registerCompletion } from './commands/completion.js';
import { registerBench } from './commands/bench.js';
import { registerPlan } from './commands/plan.js';
import { registerFold } from './commands/fold.js';
import { registerCluster } from './commands/cluster.js';
import { registerLoad } from './commands/load.js';
import { registerObjectCommands } from './commands/object.js';
import { registerCompare } from './commands/compare.js';
import { registerRepair } from './commands/repair.js';
import { registerSync } from './commands/sync.js';
import { registerInspect } from './commands/inspect.js';
import { registerDemo } from './commands/demo.js';
import { registerConnect } from './commands/connect.js';
import { registerFollow } from './commands/follow.js';
import { registerVerify } from './commands/verify.js';
import { registerNode } from './commands/node.js';
import { registerPlugins } from './commands/plugins.js';

/**
 * Builds the `aae` program. Nothing here touches `process`: tests call `runCli` in-process with
 * string sinks and assert exit codes and JSON.
 */
export function createProgram(io: CliIo, ctx: CommandContext): Command {
  const program = new Command('aae')
    .description('Anti-entropy for key-value replicas: compare, repair and inspect with TicTac trees')
    .version(PACKAGE_VERSION, '-V, --version', 'print the version and exit')
    .option('--log-level <level>', `coded JSON log lines on stderr from this level up: ${LOG_LEVELS.join(', ')}`, parseChoice('--log-level', LOG_LEVELS), DEFAULT_LOG_LEVEL)
    .option('-q, --quiet', 'no progress bar or progress records on stderr')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();

  registerCluster(program, ctx);
  registerNode(program, ctx);
  registerLoad(program, ctx);
  registerObjectCommands(program, ctx);
  registerCompare(program, ctx);
  registerRepair(program, ctx);
  registerSync(program, ctx);
  registerInspect(program, ctx);
  registerVerify(program, ctx);
  registerDemo(program, ctx);
  registerConnect(program, ctx);
  registerFollow(program, ctx);
  registerBench(program, ctx);
  registerPlan(program, ctx);
  registerFold(program, ctx);
  registerPlugins(program, ctx);
  registerCompletion(program, ctx);

  program.addHelpText(
    'after',
    `
Exit codes: 0 in sync / done, 1 differences found, 2 bad usage or input, 3 failure while running.
Logs are JSON lines on stderr (--log-level); progress is a bar on a TTY and a record a few seconds
otherwise (--quiet for none); with --json, stdout holds JSON only.

Examples:
  $ aae demo                                   # the whole job on two throwaway clusters
  $ aae cluster create ./dc1 && aae load ./dc1 fixtures/sample.jsonl
  $ aae compare ./dc1 ./dr1                    # are they the same? which keys differ, who is ahead?
  $ aae repair ./dc1 ./dr1 --dry-run
  $ aae sync ./dc1 ./dr1 --schedule all=1,hour=23   # keep them agreeing, on a schedule
  $ aae inspect ./dc1 ./dr1 --html diff.html
  $ aae connect ./ks 'postgresql://aae@db1/app' --table kv && aae follow ./ks --once
  $ aae verify ./dc1 --fix                     # are the cached trees true to the data?
  $ aae bench tictac --json
  $ aae --log-level info compare ./dc1 ./dr1 2> exchange.log   # EX codes as JSON lines
  $ source <(aae completion bash)              # tab completion`,
  );
  // Subcommands inherit output settings and exitOverride only when set on each; do it once here.
  for (const cmd of program.commands) applyIo(cmd, io);
  return program;
}

function applyIo(cmd: Command, io: CliIo): void {
  cmd
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const sub of cmd.commands) applyIo(sub, io);
}

/** Runs `aae` with `argv` (without node and script) and resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.OK;
  let level: LogLevel = DEFAULT_LOG_LEVEL;
  let quiet = false;
  let levelGiven = false;
  let log = createLogger(io.stderr, level);
  /** The command's progress tasks: their last record waits for its outcome (progress.ts). */
  const tasks: ProgressTask[] = [];
  const end = (outcome: ProgressOutcome): void => {
    for (const t of tasks) t.end(outcome);
  };
  const ctx: CommandContext = {
    io,
    setExitCode(code) {
      exitCode = code;
      io.onExitCode?.(code);
    },
    get exitCode() {
      return exitCode;
    },
    get log() {
      return log;
    },
    get serviceLog() {
      return levelGiven ? log : createLogger(io.stderr, 'info');
    },
    get quiet() {
      return quiet;
    },
    progress(task, total, unit) {
      // Progress records are info lines whatever --log-level says: --quiet is what silences them.
      const t = startProgress({ out: io.stderr, quiet, records: createLogger(io.stderr, 'info') }, task, total, unit);
      tasks.push(t);
      return t;
    },
  };
  const program = createProgram(io, ctx);
  program.hook('preAction', () => {
    const o = program.opts<{ logLevel: LogLevel; quiet?: boolean }>();
    level = o.logLevel;
    levelGiven = program.getOptionValueSource('logLevel') === 'cli';
    quiet = o.quiet === true;
    log = createLogger(io.stderr, level);
  });
  try {
    await program.parseAsync(foldVersionFlag(argv), { from: 'user' });
    // A command can fail without throwing (sync's last check failed): its progress did not end done.
    end(ctx.exitCode === EXIT.FAILURE ? { ok: false } : { ok: true });
    return exitCode;
  } catch (e) {
    // Stopped because the reader of stdout went away: that ends the command, not in failure.
    // (Whatever the error: aborts surface as ABORTED, as the signal's reason, or as a store closed mid-read.)
    // Its work did not finish, though: its progress says it stopped.
    if (io.signal?.aborted === true && io.signal.reason instanceof StdoutClosed) {
      end({ ok: false, code: 'ABORTED' });
      return exitCode;
    }
    end({ ok: false, code: e instanceof AaeError ? e.code : e instanceof CommanderError ? 'USAGE' : 'INTERNAL' });
    return reportError(e, io);
  }
}

/**
 * `aae fold <cluster> <plugin> --version RANGE`: commander lets the program's own --version (print
 * and exit) take the flag wherever it stands, so after `fold` it is handed to fold's
 * --module-version, which is what it means there. `aae --version` and `aae fold --help` are untouched.
 */
export function foldVersionFlag(argv: readonly string[]): string[] {
  const out = [...argv];
  let sub = 0;
  // The program's own options come first; --log-level takes a value.
  while (sub < out.length && out[sub]!.startsWith('-')) sub += out[sub] === '--log-level' ? 2 : 1;
  if (out[sub] !== 'fold') return out;
  for (let i = sub + 1; i < out.length; i++) {
    if (out[i] === '--') break;
    if (out[i] === '--version') out[i] = '--module-version';
    else if (out[i]!.startsWith('--version=')) out[i] = `--module-version=${out[i]!.slice('--version='.length)}`;
  }
  return out;
}

function reportError(e: unknown, io: CliIo): ExitCode {
  if (e instanceof CommanderError) {
    // Help and version exit through here with code 0; commander has already printed its message.
    if (e.exitCode === 0) return EXIT.OK;
    return EXIT.INPUT;
  }
  if (e instanceof AaeError) {
    io.stderr.write(`aae: ${printable(e.message)} [${e.code}]\n`);
    return e.kind === 'input' ? EXIT.INPUT : EXIT.FAILURE;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  io.stderr.write(`aae: unexpected failure: ${printable(err.stack ?? err.message)}\n`);
  return EXIT.FAILURE;
}

/**
 * The longest message printed, in characters. Messages quote input in pieces of at most
 * QUOTE_MAX characters (src/errors.ts); this bounds the rest (a cause's message, a long list), so
 * a bad input of megabytes never comes back as megabytes on stderr. A load's 20 listed lines fit.
 */
export const MESSAGE_MAX = 16_384;

/** A message as stderr shows it: terminal controls escaped line by line, cut at MESSAGE_MAX. */
export function printable(message: string): string {
  const cut = message.length > MESSAGE_MAX ? `${message.slice(0, MESSAGE_MAX)}… (message cut: ${message.length - MESSAGE_MAX} more characters)` : message;
  return cut.split('\n').map(escapeControls).join('\n');
}
