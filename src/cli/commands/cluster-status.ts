import type { Command } from 'commander';
import type { KeystoreNodeStatus, NodeInfo, TreeStatus } from '../../node/index.js';
import { isKeystore, keystoreStatus } from '../../connect/index.js';
import { isAaeError } from '../../errors.js';
import { ServedCluster } from '../../net/index.js';
import { keystoreLine, statusLine } from '../keystore-status.js';
import { openClusterDir } from '../open-cluster.js';
import { EXIT, type CommandContext } from '../io.js';
import { printJson, printTable } from '../output.js';

interface NodeStatus {
  node: string;
  /** host:port, or "local" for a node served from the directory. */
  where: string;
  reachable: boolean;
  error?: string;
  /** The error's code: NODE_UNAVAILABLE for a node down; NET_TLS_MISMATCH, CLUSTER_SPEC_INVALID or NODE_CONTRACT_MISMATCH for one refused for its configuration. */
  code?: string;
  software?: string;
  contract?: string;
  vnodes?: number;
  folds?: NodeInfo['folds'];
  trees?: Record<TreeStatus['origin'], number>;
  /** A keystore node's trust and lag (a served one's, or a keystore directory's as it stands). */
  keystore?: KeystoreNodeStatus;
}

/** Codes of a node refused for its configuration (not down): the operator has a file to fix. */
const REFUSED = new Set(['NET_TLS_MISMATCH', 'CLUSTER_SPEC_INVALID', 'NODE_CONTRACT_MISMATCH']);

export function registerStatus(cluster: Command, ctx: CommandContext): void {
  cluster
    .command('status')
    .description('each node of a cluster: reachable, software, vnodes, fold queue, tree state')
    .argument('<cluster>', 'the cluster or keystore directory')
    .option('--json', 'print the nodes as JSON only')
    .addHelpText(
      'after',
      `
Every node gets a row, also one refused for its configuration (a transport that does not fit
its own, another cluster's node at the address): other commands stop there, status shows it.
A node that is not reachable shows "no" and the error's code in its row; why, in full, follows
the table, one line a node (\`n2: [NODE_UNAVAILABLE] node n2 (10.0.0.6:7001) is unavailable: …\`);
--json has it in each node's "error".

Exit codes: 0 every node answered (and every keystore is reliable), 1 some node did not (or a
keystore is unreliable), 2 bad usage, or a node refused for its configuration, 3 failure.

Examples:
  $ aae cluster status ./dc1
  $ aae cluster status ./dc1-remote --json
  $ aae cluster status ./ks-orders          # a keystore: reliable?, position, lag`,
    )
    .action(async (dir: string, opts: { json?: boolean }) => {
      let c: Awaited<ReturnType<typeof openClusterDir>>;
      try {
        c = await openClusterDir(dir, { refused: 'report' });
      } catch (e) {
        // A keystore that aae follow or aae node serve holds open: its state as that process last
        // saved it (state.json), which is what a status needs, rather than STORE_LOCKED.
        if (!(isAaeError(e, 'STORE_LOCKED') && (await isKeystore(dir)))) throw e;
        const s = await keystoreStatus(dir);
        if (!s.reliable) ctx.setExitCode(EXIT.DIFFERENT);
        // The usual shape, `nodes` empty (none could be asked), and the keystore's saved state beside it.
        if (opts.json) printJson(ctx.io.stdout, { cluster: dir, nodes: [], heldElsewhere: true, keystore: s });
        else ctx.io.stdout.write(`${statusLine(s)}\n(another process holds it open, aae follow or aae node serve most often: this is its state as last saved)\n`);
        return;
      }
      const out: NodeStatus[] = [];
      try {
        const probes = c instanceof ServedCluster ? new Map(c.probes.map((p) => [p.node, p])) : new Map();
        for (const node of c.spec.nodes) {
          const p = probes.get(node);
          const where = p?.address ?? 'local';
          if (p !== undefined && 'error' in p) {
            out.push({ node, where, reachable: false, error: p.error.message, code: p.error.code });
            continue;
          }
          const info: NodeInfo = p !== undefined ? p.info : await c.node(node).info();
          const trees = { empty: 0, restored: 0, rebuilt: 0, missing: 0, unread: 0 };
          for (const t of info.trees ?? []) trees[t.origin]++;
          out.push({ node, where, reachable: true, software: info.software, contract: `${info.contract.major}.${info.contract.minor}`, vnodes: info.vnodes.length, folds: info.folds, trees, ...(info.keystore === undefined ? {} : { keystore: info.keystore }) });
        }
      } finally {
        await c.close();
      }
      if (out.some((n) => n.code !== undefined && REFUSED.has(n.code))) ctx.setExitCode(EXIT.INPUT);
      else if (out.some((n) => !n.reachable || n.keystore?.reliable === false)) ctx.setExitCode(EXIT.DIFFERENT);
      if (opts.json) {
        printJson(ctx.io.stdout, { cluster: c.spec.name, nodes: out });
        return;
      }
      printTable(
        ctx.io.stdout,
        ['node', 'where', 'reachable', 'software', 'vnodes', 'folds running/waiting (max)', 'trees restored/rebuilt/unread/empty/missing'],
        out.map((n) =>
          n.reachable
            ? [n.node, n.where, 'yes', `${n.software} (contract ${n.contract})`, n.vnodes!, `${n.folds!.running}/${n.folds!.waiting} (${n.folds!.maxRunning}/${n.folds!.maxWaiting})`, `${n.trees!.restored}/${n.trees!.rebuilt}/${n.trees!.unread}/${n.trees!.empty}/${n.trees!.missing}`]
            : [n.node, n.where, `no: [${n.code}] …`, '', '', '', ''],
        ),
      );
      // A message names the node, its address and the cause in words, often in 150 characters or
      // more: in a cell it widened every row past a screen. The row says no and the code; the whole
      // message follows the table, one line a node (--json has it in each node's `error`).
      for (const n of out) if (!n.reachable) ctx.io.stdout.write(`${n.node}: [${n.code}] ${n.error}\n`);
      // A difference younger than a keystore's lag is not yet a difference.
      for (const n of out) if (n.keystore !== undefined) ctx.io.stdout.write(`${keystoreLine({ ...n.keystore, cluster: c.spec.name, node: n.node })}\n`);
    });
}
