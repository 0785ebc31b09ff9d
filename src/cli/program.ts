import { Command, CommanderError } from 'commander';
import { AaeError } from '../errors.js';
import { EXIT, type CliIo, type CommandContext, type ExitCode } from './io.js';
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
import { registerNode } from './commands/node.js';

/**
 * Builds the `aae` program. Nothing here touches `process`: tests call `runCli` in-process with
 * string sinks and assert exit codes and JSON.
 */
export function createProgram(io: CliIo, ctx: CommandContext): Command {
  const program = new Command('aae')
    .description('Anti-entropy for key-value replicas: compare, repair and inspect with TicTac trees')
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
  registerDemo(program, ctx);
  registerBench(program, ctx);
  registerPlan(program, ctx);
  registerFold(program, ctx);

  program.addHelpText(
    'after',
    `
Exit codes: 0 in sync / done, 1 differences found, 2 bad usage or input, 3 failure while running.

Examples:
  $ aae demo                                   # the whole job on two throwaway clusters
  $ aae cluster create ./dc1 && aae load ./dc1 fixtures/sample.jsonl
  $ aae compare ./dc1 ./dr1                    # are they the same? which keys differ, who is ahead?
  $ aae repair ./dc1 ./dr1 --dry-run
  $ aae sync ./dc1 ./dr1 --schedule all=1,hour=23   # keep them agreeing, on a schedule
  $ aae inspect ./dc1 ./dr1 --html diff.html
  $ aae bench tictac --json`,
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
  const ctx: CommandContext = {
    io,
    setExitCode(code) {
      exitCode = code;
    },
  };
  const program = createProgram(io, ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    return reportError(e, io);
  }
}

function reportError(e: unknown, io: CliIo): ExitCode {
  if (e instanceof CommanderError) {
    // Help and version exit through here with code 0; commander has already printed its message.
    if (e.exitCode === 0) return EXIT.OK;
    return EXIT.INPUT;
  }
  if (e instanceof AaeError) {
    io.stderr.write(`aae: ${e.message} [${e.code}]\n`);
    return e.kind === 'input' ? EXIT.INPUT : EXIT.FAILURE;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  io.stderr.write(`aae: unexpected failure: ${err.stack ?? err.message}\n`);
  return EXIT.FAILURE;
}
