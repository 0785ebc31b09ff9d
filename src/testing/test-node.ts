/**
 * A node with data to fold over, for a fold module's or a plugin's own tests: one node of a
 * one-node embedded cluster in a temporary directory, loaded with the objects given. Nothing in it
 * is a stand-in: the store is LevelDB, the fold runs through the node executor every node runs, and
 * `foldPlugin` runs a plugin the way a served node does — its manifest checked, its module in a
 * worker of the plugin host, the result merged and summarised with the caller's own copy. The
 * directory is removed on close.
 *
 * ```ts
 * const node = await testNode({ objects: [{ bucket: 'b', key: 'k1', value: 'hello' }] });
 * try {
 *   const { summary } = await node.foldPlugin('.', {});   // this plugin's folder (or a directory of plugins, and options.name)
 * } finally {
 *   await node.close();
 * }
 * ```
 */
import { cp, lstat, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';
import { defaultSpec } from '../cluster/index.js';
import { EmbeddedCluster, type PutItem } from '../coordinator/index.js';
import { AaeError } from '../errors.js';
import { ModuleRegistry, runFold, summarizeRun, type AnyFoldModule, type FoldModule, type FoldRunResult, type FoldSummary, type ModuleSource, type RunFoldOptions } from '../fold/index.js';
import { PluginHost, loadClientPlugin, readManifest, type PoolLimits } from '../plugin/index.js';

export interface TestNodeOptions {
  /** The objects the node holds (a value as text or bytes; a clock, lastModified, deleted, indexes as for putMany). */
  objects: Iterable<PutItem>;
  /** Limits of the plugin workers `foldPlugin` starts (a test of a plugin that should time out sets a short deadline). */
  pluginLimits?: Partial<PoolLimits>;
}

export interface TestNode {
  /** Folds a module in this process over every object (coverage of the whole ring). */
  fold<Q, A>(module: FoldModule<Q, A>, query?: unknown, options?: RunFoldOptions): Promise<FoldRunResult<Q, A> & { summary: FoldSummary }>;
  /**
   * Runs a plugin as a node would: `path` is a plugin (a folder with package.json, or a .js file with
   * its header) or a plugin directory, then `name` picks the plugin in it.
   */
  foldPlugin(path: string, query?: unknown, options?: { name?: string; version?: string }): Promise<FoldRunResult<unknown, unknown> & { summary: FoldSummary }>;
  /** The cluster under the node (for tests that write more data). */
  readonly cluster: EmbeddedCluster;
  close(): Promise<void>;
}

/** Ring 8, nVal 1, one node: every object once, every keyspace on the one node. */
export async function testNode(o: TestNodeOptions): Promise<TestNode> {
  const dir = await mkdtemp(join(tmpdir(), 'aae-test-node-'));
  // The node's modules: the built-ins, and while foldPlugin runs, a plugin host's too.
  const builtins = new ModuleRegistry();
  let current: ModuleSource = builtins;
  const source: ModuleSource = { acquire: (n, r, d) => current.acquire(n, r, d), list: () => current.list() };
  let cluster: EmbeddedCluster;
  let links = 0;
  try {
    cluster = await EmbeddedCluster.create(join(dir, 'cluster'), defaultSpec('test', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'xsmall' }), { source });
    await cluster.putMany(o.objects);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    cluster,
    async fold(module, query = {}, options = {}) {
      // A module of the caller's is handed to the node for this fold, as aae fold hands it a module file.
      current = builtins.list().some((m) => m.name === module.name) ? builtins : builtins.with([module as AnyFoldModule]);
      try {
        const r = await runFold(cluster, module, query, { offset: 0, ...options });
        return { ...r, summary: summarizeRun(module, r) };
      } finally {
        current = builtins;
      }
    },
    async foldPlugin(path, query = {}, options = {}) {
      const abs = resolve(path);
      const manifest = await readManifest(abs).catch(() => undefined);
      // A plugin itself (deployed alone into a plugin directory of its own), or a directory of plugins.
      let pluginDir = abs;
      if (manifest !== undefined) {
        pluginDir = join(dir, `plugins-${links++}`);
        await mkdir(pluginDir);
        await deployCopy(abs, join(pluginDir, basename(abs)));
      }
      const name = options.name ?? manifest?.name;
      if (name === undefined) throw new AaeError('USAGE', `${abs} is not a plugin: name one of the plugins in it (options.name)`);
      const host = await PluginHost.start({ dir: pluginDir, watch: false, pollMs: 0, ...(o.pluginLimits === undefined ? {} : { limits: o.pluginLimits }) });
      current = host;
      try {
        const copy = await loadClientPlugin(pluginDir, name, options.version);
        const r = await runFold(cluster, copy.module, query, { offset: 0, version: copy.manifest.version, digest: copy.digest });
        return { ...r, summary: summarizeRun(copy.module, r) };
      } finally {
        current = builtins;
        await host.close();
      }
    },
    async close() {
      await cluster.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A plugin copied as an operator deploys it: its files, links inside it copied as what they point
 * to, and links that leave it left out — a `file:` or `npm link` dev dependency in its node_modules
 * (such as tictac-aae itself, for its tests), which a node would refuse as code its digest cannot cover.
 */
async function deployCopy(from: string, to: string): Promise<void> {
  const root = await realpath(from);
  const leaves = async (src: string): Promise<boolean> => {
    if (!(await lstat(src)).isSymbolicLink()) return false;
    const target = await realpath(src).catch(() => undefined);
    return target === undefined || (target !== root && !target.startsWith(root + sep));
  };
  await cp(from, to, { recursive: true, dereference: true, filter: async (src) => src === from || !(await leaves(src)) });
}
