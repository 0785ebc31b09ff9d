import type { Command } from 'commander';
import type { ModuleInfo } from '../../node/index.js';
import { openCluster, ServedCluster } from '../../net/index.js';
import type { PluginHost } from '../../plugin/index.js';
import { EXIT, type CommandContext } from '../io.js';
import { pinoSink } from '../log.js';
import { printJson, printTable } from '../output.js';
import { commandPluginHost, hasLocalNodes, pluginDirOf } from '../plugin-dir.js';

interface NodePlugins {
  node: string;
  where: string;
  reachable: boolean;
  error?: string;
  modules: ModuleInfo[];
}

export function registerPlugins(program: Command, ctx: CommandContext): void {
  program
    .command('plugins')
    .description('the fold plugins each node of a cluster has: name, version, plugin-API range, state (serving, retiring, refused) and why')
    .argument('<cluster>', 'the cluster directory')
    .option('--plugins <dir>', 'for nodes served from this directory: their plugin directory (default: cluster.json\'s "plugins")')
    .option('--all', 'list the built-in modules too')
    .option('--json', 'print the nodes and their modules as JSON only')
    .addHelpText(
      'after',
      `
A served node loads the plugins of its own directory (aae node serve --plugins DIR) and reloads them
when they change; a refused plugin (another plugin API, a bad manifest, a module that does not load,
a mutating plugin on a node that does not allow one) is listed with its reason and code.
Exit codes: 0 every node answered, 1 some node did not, 2 bad usage, 3 failure.

Examples:
  $ aae plugins ./dc1
  $ aae plugins ./dc1 --json | jq '.nodes[].modules[] | select(.plugin.state == "refused")'`,
    )
    .action(async (dir: string, opts: { plugins?: string; all?: boolean; json?: boolean }) => {
      const pluginDir = await pluginDirOf(dir, opts.plugins);
      let host: PluginHost | undefined;
      const out: NodePlugins[] = [];
      let name = '';
      try {
        if (await hasLocalNodes(dir)) host = await commandPluginHost(pluginDir, pinoSink(ctx.log));
        const c = await openCluster(dir, host === undefined ? {} : { source: host });
        name = c.spec.name;
        try {
          const probes = c instanceof ServedCluster ? new Map(c.probes.map((p) => [p.node, p])) : new Map();
          for (const node of c.spec.nodes) {
            const p = probes.get(node);
            const where = p?.address ?? 'local';
            if (p !== undefined && 'error' in p) {
              out.push({ node, where, reachable: false, error: p.error.message, modules: [] });
              continue;
            }
            try {
              const info = await c.node(node).info();
              out.push({ node, where, reachable: true, modules: info.modules.filter((m) => opts.all === true || m.plugin !== undefined) });
            } catch (e) {
              out.push({ node, where, reachable: false, error: e instanceof Error ? e.message : String(e), modules: [] });
            }
          }
        } finally {
          await c.close();
        }
      } finally {
        await host?.close();
      }
      if (out.some((n) => !n.reachable)) ctx.setExitCode(EXIT.DIFFERENT);
      if (opts.json) {
        printJson(ctx.io.stdout, { cluster: name, nodes: out });
        return;
      }
      const rows: Array<Array<string | number>> = [];
      for (const n of out) {
        if (!n.reachable) {
          rows.push([n.node, '', '', '', 'unreachable', n.error ?? '']);
          continue;
        }
        if (n.modules.length === 0) rows.push([n.node, '(none)', '', '', '', '']);
        for (const m of n.modules) {
          const p = m.plugin;
          const note = p === undefined ? 'built-in' : [p.code, p.reason].filter((x) => x !== undefined).join(': ');
          rows.push([n.node, m.name, m.version, p?.apiRange ?? '', p?.state ?? 'serving', `${m.mutates ? 'mutates; ' : ''}${note}`]);
        }
      }
      printTable(ctx.io.stdout, ['node', 'plugin', 'version', 'plugin API', 'state', 'note'], rows);
    });
}
