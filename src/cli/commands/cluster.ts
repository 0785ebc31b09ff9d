import type { Command } from 'commander';
import { claim, defaultSpec, MAX_N_VAL, MAX_RING_SIZE, MIN_RING_SIZE, TREE_SIZE_NAMES, type ClusterSpec } from '../../cluster/index.js';
import { HASH_METHODS } from '../../hash/index.js';
import type { ClientTls } from '../../cluster/index.js';
import { createCluster, parseAddress, requireLoopback } from '../../net/index.js';
import { registerStatus } from './cluster-status.js';
import type { CommandContext } from '../io.js';
import { printJson } from '../output.js';
import { parseChoice, parseClusterName, parseIntOption } from '../parse.js';
import { AaeError } from '../../errors.js';
import { basename, relative, resolve } from 'node:path';

interface CreateOptions {
  name?: string;
  nodes: number;
  ringSize: number;
  nVal: number;
  treeSize: ClusterSpec['treeSize'];
  hashMethod: ClusterSpec['hashMethod'];
  seed: number;
  address: string[];
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  insecure?: boolean;
  json?: boolean;
}

export function registerCluster(program: Command, ctx: CommandContext): void {
  const cluster = program.command('cluster').description('create clusters, and see how their nodes are');
  cluster
    .command('create')
    .description('create an embedded cluster: a directory with cluster.json and one LevelDB per node')
    .argument('<dir>', 'the directory to create (must not hold a cluster yet)')
    .option('--name <name>', 'cluster name, also the actor of the versions it mints (default: the directory name)', parseClusterName('--name'))
    // 4, not 3: with nVal 3 no power-of-two ring can keep every preflist on 3 distinct nodes (a
    // node's vnodes must sit 3 apart, so 3 nodes hold at most 3·⌊R/3⌋ < R vnodes).
    .option('--nodes <n>', 'number of nodes (4 keeps the 3 replicas of every key on distinct nodes)', parseIntOption('--nodes', 1, 256), 4)
    .option('--ring-size <n>', `partitions, a power of two in ${MIN_RING_SIZE}..${MAX_RING_SIZE}`, parseRingSize, 64)
    .option('--n-val <n>', 'replicas of each key', parseIntOption('--n-val', 1, MAX_N_VAL), 3)
    .option('--tree-size <size>', `TicTac tree size: ${TREE_SIZE_NAMES.join(', ')}`, parseChoice('--tree-size', TREE_SIZE_NAMES), 'large')
    .option('--hash-method <m>', 'object hash: clock (default) or value (for data without clocks)', parseChoice('--hash-method', HASH_METHODS), 'clock')
    .option('--seed <n>', 'hash seed (clusters compare only with the same method and seed)', parseIntOption('--seed', 0, 0xffff_ffff), 0)
    .option('--address <node=host:port>', 'the node is served elsewhere (aae node serve), at this address; repeat per node', collect, [])
    .option('--tls-cert <file>', 'with --address: the client certificate (PEM) commands use to reach served nodes')
    .option('--tls-key <file>', 'with --address: its private key (PEM)')
    .option('--tls-ca <file>', 'with --address: the CA (PEM) that signed the nodes\' certificates')
    .option('--insecure', 'with --address: reach the served nodes in plaintext (loopback addresses only)')
    .option('--json', 'print the spec as JSON only')
    .addHelpText(
      'after',
      `
A node given --address gets no store here: it is served by 'aae node serve' on its own machine
(from a directory made by the same 'cluster create' without --address). The TLS paths are
written into cluster.json relative to the cluster directory.

Examples:
  $ aae cluster create ./dc1
  $ aae cluster create ./dr --nodes 3 --ring-size 32 --n-val 2
  $ aae cluster create ./small --nodes 1 --ring-size 8 --n-val 1 --tree-size small
  $ aae cluster create ./dc1-remote --nodes 3 --address n1=10.0.0.5:7001 --address n2=10.0.0.6:7001 \\
      --address n3=10.0.0.7:7001 --tls-cert tls/ops.pem --tls-key tls/ops-key.pem --tls-ca tls/ca.pem`,
    )
    .action(async (dir: string, opts: CreateOptions) => {
      if (dir.trim() === '') throw new AaeError('USAGE', 'the cluster directory must not be empty');
      const spec = defaultSpec(opts.name ?? basename(resolve(dir)), {
        nodeCount: opts.nodes,
        ringSize: opts.ringSize,
        nVal: opts.nVal,
        treeSize: opts.treeSize,
        hashMethod: opts.hashMethod,
        seed: opts.seed,
      });
      const addresses = parseAddresses(opts.address, spec.nodes);
      const tls = clientTls(dir, opts, addresses);
      await createCluster(dir, { spec, addresses, ...(tls === undefined ? {} : { tls }) });
      const placement = claim(spec.ringSize, spec.nodes, spec.nVal);
      if (!placement.safe) {
        ctx.io.stderr.write(`warning: ${placement.reason ?? 'some preflists put two replicas on one node'}\n`);
      }
      if (opts.json) {
        printJson(ctx.io.stdout, { dir, spec, claim: { safe: placement.safe, violations: placement.violations } });
        return;
      }
      const served = Object.entries(addresses);
      ctx.io.stdout.write(
        `created cluster '${spec.name}' at ${dir}: ${spec.nodes.length} node(s), ring ${spec.ringSize}, nVal ${spec.nVal}, ` +
          `tree ${spec.treeSize}, hash ${spec.hashMethod}/seed ${spec.seed}` +
          (served.length === 0 ? '' : `; served elsewhere: ${served.map(([n, a]) => `${n} at ${a}`).join(', ')}`) +
          '\n',
      );
    });
  registerStatus(cluster, ctx);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** --address n1=host:port, each naming a node of the spec once. */
function parseAddresses(list: readonly string[], nodes: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    const node = eq < 0 ? '' : item.slice(0, eq);
    if (eq < 0 || !nodes.includes(node)) throw new AaeError('USAGE', `--address ${item}: expected node=host:port with a node of the cluster (${nodes.join(', ')})`);
    if (out[node] !== undefined) throw new AaeError('USAGE', `--address names node ${node} twice`);
    const address = item.slice(eq + 1);
    parseAddress(address, `--address ${node}`); // refuses a malformed address (NET_CONFIG_INVALID, exit 2)
    out[node] = address;
  }
  return out;
}

/** The client TLS settings for cluster.json, paths made relative to the cluster directory. */
/** Refuses, at create, what every later command would refuse: plaintext to a node off loopback. */
function clientTls(dir: string, opts: CreateOptions, addresses: Record<string, string>): ClientTls | undefined {
  const served = Object.keys(addresses).length > 0;
  const given = [opts.tlsCert, opts.tlsKey, opts.tlsCa].filter((x) => x !== undefined).length;
  if (!served) {
    if (given > 0 || opts.insecure === true) throw new AaeError('USAGE', '--tls-* and --insecure are for clusters with --address nodes');
    return undefined;
  }
  if (opts.insecure === true) {
    if (given > 0) throw new AaeError('USAGE', '--insecure and --tls-* exclude each other');
    for (const [node, address] of Object.entries(addresses)) requireLoopback(parseAddress(address, `--address ${node}`), `--address ${node}`);
    return 'insecure';
  }
  if (given !== 3) throw new AaeError('USAGE', 'a cluster with --address nodes needs --tls-cert, --tls-key and --tls-ca (mutual TLS), or --insecure on loopback');
  const rel = (f: string): string => relative(resolve(dir), resolve(f));
  return { ca: rel(opts.tlsCa!), cert: rel(opts.tlsCert!), key: rel(opts.tlsKey!) };
}

function parseRingSize(raw: string): number {
  const n = parseIntOption('--ring-size', MIN_RING_SIZE, MAX_RING_SIZE)(raw);
  if ((n & (n - 1)) !== 0) throw new AaeError('USAGE', `--ring-size must be a power of two (8, 16, 32, … ${MAX_RING_SIZE}), got ${raw}`);
  return n;
}
