import type { Command } from 'commander';
import { MAX_N_VAL, MAX_RING_SIZE } from '../../cluster/index.js';
import { AaeError } from '../../errors.js';
import { BUILTIN_FOLD_MODULES, builtinFoldModule, isModulePath, loadFoldModule, runAnyFold, summarizeRun, type AnyFoldModule, type FoldTimings, type RunFoldOptions } from '../../fold/index.js';
import { loadClientPlugin, type PluginHost } from '../../plugin/index.js';
import { commandPluginHost, hasLocalNodes, pluginDirOf } from '../plugin-dir.js';
import { pinoSink } from '../log.js';
import { CommandLimit } from '../command-limit.js';
import { openClusterDir, warnRecovered } from '../open-cluster.js';
import type { Cluster } from '../../coordinator/index.js';
import type { CommandContext } from '../io.js';
import { printJson, printTable } from '../output.js';
import { parseIntOption } from '../parse.js';

interface FoldOptions {
  query?: string;
  sample?: number;
  offset?: number;
  timeout?: number;
  json?: boolean;
  moduleVersion?: string;
  plugins?: string;
}

/** What `<module>` named: a built-in, a module file, or a plugin (with the copy's digest the nodes must match). */
interface Resolved {
  module: AnyFoldModule;
  kind: 'builtin' | 'file' | 'plugin';
  digest?: string;
  pluginDir?: string;
}

async function resolveModule(dir: string, arg: string, opts: FoldOptions): Promise<Resolved> {
  if (isModulePath(arg)) {
    if (opts.moduleVersion !== undefined) throw new AaeError('USAGE', '--version picks a built-in or a plugin, not a module file');
    return { module: await loadFoldModule(arg), kind: 'file' };
  }
  if (BUILTIN_FOLD_MODULES.some((m) => m.name === arg)) return { module: builtinFoldModule(arg), kind: 'builtin' };
  const pluginDir = await pluginDirOf(dir, opts.plugins);
  if (pluginDir === undefined) {
    // The built-in's own refusal, with a word on plugins.
    try {
      builtinFoldModule(arg);
    } catch (e) {
      throw new AaeError('FOLD_MODULE_UNKNOWN', `${(e as Error).message}; for a plugin, give --plugins DIR (the coordinator's copy of it) or "plugins" in cluster.json`, { cause: e });
    }
  }
  const copy = await loadClientPlugin(pluginDir!, arg, opts.moduleVersion);
  return { module: copy.module, kind: 'plugin', digest: copy.digest, pluginDir: pluginDir! };
}

export function registerFold(program: Command, ctx: CommandContext): void {
  program
    .command('fold')
    .description('run a fold module across a cluster: plan, fold each vnode where the data is, merge')
    .argument('<cluster>', 'cluster or keystore directory (holds cluster.json)')
    .argument('<module>', `a built-in module (${BUILTIN_FOLD_MODULES.map((m) => m.name).join(', ')}), a plugin's name, or a path to a .js module file`)
    .option('--query <json>', 'the query as a JSON object (each module documents its fields in docs/FOLDS.md)')
    .option('--sample <fraction>', 'fold only this fraction of the keyspaces, in (0, 1]; object_stats then also estimates the whole', parseFraction)
    .option('--offset <k>', 'fix the coverage plan (0..ringSize·nVal−1); default random', parseIntOption('--offset', 0, MAX_RING_SIZE * MAX_N_VAL - 1))
    .option('--timeout <ms>', 'fail (exit 3, TIMEOUT) if loading the module and folding take longer, whether or not the module heeds it', parseIntOption('--timeout', 1, 24 * 3600 * 1000))
    .option('--module-version <range>', "(also --version <range>) a semver range the module's version must satisfy: for a plugin, the highest copy in range, and every node must have that exact version")
    .option('--plugins <dir>', 'the plugin directory with this side\'s copies of plugins (default: cluster.json\'s "plugins")')
    .option('--json', 'print the result, coverage and timings as JSON only')
    .addHelpText(
      'after',
      `
Mutating modules (reap_tombs, erase_keys) only count unless the query says "change": "reap" / "erase".

A plugin runs on the nodes that serve it (aae node serve --plugins DIR); this side merges and
summarises with its own copy, from --plugins DIR. Every node must have exactly the copy's version and
files: one that does not refuses (FOLD_VERSION_UNSATISFIED, PLUGIN_MISMATCH). See docs/PLUGINS.md.

Examples:
  $ aae fold ./c1 object_stats
  $ aae fold ./c1 object_stats --sample 0.1 --json          # estimates scaled to the whole cluster
  $ aae fold ./c1 merge_root_nval --offset 0 --json
  $ aae fold ./c1 merge_tree_range --query '{"bucket": "users", "treeSize": "small"}'
  $ aae fold ./c1 find_keys --query '{"objectSize": 100000}'
  $ aae fold ./c1 reap_tombs --query '{"modifiedRange": {"start": 0, "end": 1700000000000}, "change": "reap"}'
  $ aae fold ./c1 index_tree --query '{"bucket": "users", "index": "age_int"}'
  $ aae fold ./c1 ./examples/bucket-sizes.js                # a module file (this one is in the repository)
  $ aae fold ./dc1 size_histogram --plugins ./plugins --version '^1.2.0'   # a plugin deployed to the nodes`,
    )
    .action(async (dir: string, moduleArg: string, opts: FoldOptions) => {
      const query = parseQueryOption(opts.query);
      // Ctrl-C, SIGTERM and --timeout end the command even if a module from a file ignores them
      // (a load that never finishes, a flush that never settles): see CommandLimit.
      const limit = new CommandLimit(ctx.io.signal, opts.timeout, `fold ${moduleArg}`);
      try {
        const resolved = await limit.run(() => resolveModule(dir, moduleArg, opts));
        await foldCluster(ctx, dir, resolved, query, opts, limit);
      } finally {
        limit.dispose();
      }
    });
}

/** Opens the cluster, folds it within the command's limit, prints the result, and always closes the cluster. */
async function foldCluster(ctx: CommandContext, dir: string, resolved: Resolved, query: unknown, opts: FoldOptions, limit: CommandLimit): Promise<void> {
  const { module } = resolved;
  const runOptions: RunFoldOptions = {};
  if (opts.sample !== undefined) runOptions.sample = { fraction: opts.sample };
  if (opts.offset !== undefined) runOptions.offset = opts.offset;
  // A plugin: every node must run exactly this copy (its version and files), or refuse.
  if (resolved.kind === 'plugin') {
    runOptions.version = module.version!;
    runOptions.digest = resolved.digest!;
  } else if (opts.moduleVersion !== undefined) runOptions.version = opts.moduleVersion;
  // The fold runs on the nodes: a module from a file is handed to the nodes of this process, and
  // nodes of this process run plugins in workers of their own, as a served node does.
  let host: PluginHost | undefined;
  let cluster;
  try {
    if (resolved.kind === 'plugin' && (await hasLocalNodes(dir))) host = await commandPluginHost(resolved.pluginDir, pinoSink(ctx.log));
    cluster = await openClusterDir(dir, resolved.kind === 'file' ? { modules: [module] } : host !== undefined ? { source: host } : {});
  } catch (e) {
    await host?.close();
    throw e;
  }
  try {
    await foldOpen(ctx, cluster, module, query, runOptions, opts, limit);
  } finally {
    await cluster.close();
    await host?.close();
  }
}

async function foldOpen(ctx: CommandContext, cluster: Cluster, module: AnyFoldModule, query: unknown, runOptions: RunFoldOptions, opts: FoldOptions, limit: CommandLimit): Promise<void> {
  warnRecovered(cluster, ctx.io.stderr);
  const progress = ctx.progress(`fold ${module.name}`, undefined, 'vnodes');
  runOptions.onProgress = (p) => {
    progress.setTotal(p.vnodesTotal);
    progress.update(p.vnodesDone, { items: p.items });
  };
  try {
    const result = await limit.run((signal) => runAnyFold(cluster, module, query, { ...runOptions, signal }));
    progress.stop({ items: result.items });
    const summary = summarizeRun(module, result);
    const { coverage, timings } = result;
    if (opts.json) {
      printJson(ctx.io.stdout, {
        cluster: cluster.spec.name,
        module: module.name,
        result: summary.json,
        coverage: { fraction: coverage.fraction, offset: coverage.offset, keyspaces: coverage.keyspaces, vnodes: coverage.vnodes.length },
        items: result.items,
        timings: roundTimings(timings),
      });
      return;
    }
    printTable(ctx.io.stdout, summary.table.head, summary.table.rows);
    const capped = truncation(summary.json);
    if (capped !== undefined) ctx.io.stdout.write(`truncated: the first ${capped.limit} in key order are shown, and more match (raise ${capped.field} in --query to see more)\n`);
    const pct = Math.round(coverage.fraction * 1000) / 10;
    ctx.io.stdout.write(
      `${module.name} over ${cluster.spec.name}: ${coverage.keyspaces.length} of ${coverage.ringSize} keyspaces (${pct}%) from ` +
        `${coverage.vnodes.length} vnodes, ${coverage.offset === null ? 'every replica' : `offset ${coverage.offset}`}; ${result.items} items in ${Math.round(timings.totalMs)} ms\n`,
    );
  } finally {
    progress.stop();
  }
}

/** A module's capped listing (find_tombs, find_keys, list_buckets) says it was cut, and at what. */
function truncation(json: unknown): { field: string; limit: number } | undefined {
  if (typeof json !== 'object' || json === null || (json as { truncated?: unknown }).truncated !== true) return undefined;
  for (const field of ['maxResults', 'maxBuckets']) {
    const limit = (json as Record<string, unknown>)[field];
    if (typeof limit === 'number') return { field, limit };
  }
  return undefined;
}

function parseQueryOption(raw: string | undefined): unknown {
  if (raw === undefined) return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch (e) {
    throw new AaeError('FOLD_QUERY_INVALID', `--query is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function parseFraction(raw: string): number {
  const f = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(f) || f <= 0 || f > 1) throw new AaeError('USAGE', `--sample must be a fraction in (0, 1] such as 0.25, got '${raw}'`);
  return f;
}

function roundTimings(t: FoldTimings): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 100) / 100]));
}
