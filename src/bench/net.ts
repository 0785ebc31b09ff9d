import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareClusters, type ClusterComparison } from '../aae/index.js';
import { defaultSpec, writeClusterConfig, type Clock, type ClusterSpec } from '../cluster/index.js';
import { EmbeddedCluster, type Cluster, type PutItem } from '../coordinator/index.js';
import { objectStats, runFold } from '../fold/index.js';
import { initHash } from '../hash/index.js';
import { openCluster, type Traffic } from '../net/index.js';
import { PACKAGE_ROOT } from '../version.js';
import { machineInfo, round, type BenchFigure, type BenchReport } from './report.js';
import type { BenchOptions, BenchSuite } from './suite.js';

/**
 * `aae bench net`: the exchange bench's clusters (ring 16, nVal 2, 2 nodes, large trees, 1M keys a
 * side) compared with every node its own `aae node serve` process on loopback, against the same
 * compare in one process, in the same run. Scenarios and the targets:
 * - in sync: ≤ 20 ms, ≤ 200 bytes of tree data on the wire;
 * - 100 differences: ≤ 300 ms, ≤ 55 KB on the wire;
 * - object_stats over the served cluster: ≥ 0.8 × the in-process rate.
 * Bytes are counted three ways: the exchange's own model (src/exchange/sizes.ts: the payloads of its
 * answers), the protobuf messages both ways and the accumulators inside them (RemoteNode's
 * counter), and every byte on the nodes' sockets (HTTP/2 and gRPC framing included; the nodes'
 * aae_node_wire_bytes metric). "On the wire" is the socket count.
 */

const KEYS = 1_000_000;
const DIFFERENCES = 100;
const RING_SIZE = 16;
const N_VAL = 2;
const NODES = 2;
const PAUSE_MS = 10;
const RUNS = 3;
const LOAD_BATCH = 10_000;
const LAST_MODIFIED = 1_700_000_000_000;
const BASE_CLOCK: Clock = { entries: [['bench', 1]], lastModified: LAST_MODIFIED };

const keyOf = (i: number): string => `key-${i}`;
const bucketOf = (i: number): string => `b${i % 4}`;

function* items(n: number): Generator<PutItem> {
  for (let i = 0; i < n; i++) yield { bucket: bucketOf(i), key: keyOf(i), value: 'v', clock: BASE_CLOCK };
}

/** The planted differences: a third missing on pink, a third missing on blue, a third newer on pink. */
function planted(n: number, d: number): { blue: PutItem[]; pink: PutItem[] } {
  const out = { blue: [] as PutItem[], pink: [] as PutItem[] };
  for (let j = 0; j < d; j++) {
    const kind = j % 3;
    if (kind === 2) {
      const i = j * Math.floor(n / d);
      out.pink.push({ bucket: bucketOf(i), key: keyOf(i), value: 'v', clock: { entries: [['bench', 1], ['pink', 1 + j]], lastModified: LAST_MODIFIED + 1 } });
    } else (kind === 0 ? out.blue : out.pink).push({ bucket: bucketOf(n + j), key: keyOf(n + j), value: 'v', clock: BASE_CLOCK });
  }
  return out;
}

interface Served {
  node: string;
  address: string;
  metrics: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

/** `aae node serve` as a child process on a free loopback port, plaintext (loopback), with metrics. */
function serve(main: string, dir: string, node: string): Promise<Served> {
  const child = spawn(process.execPath, [main, 'node', 'serve', dir, node, '--listen', '127.0.0.1:0', '--insecure', '--metrics-listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let log = '';
  return new Promise((resolve, reject) => {
    // A node that does not come up is killed, never left behind.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aae node serve ${node} did not listen within a minute: ${log}`));
    }, 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      const a = /"code":"NS001".*?"address":"([^"]+)"/.exec(log);
      const m = /"code":"NS010".*?"address":"([^"]+)"/.exec(log);
      if (a !== null && m !== null) {
        clearTimeout(timer);
        resolve({ node, address: a[1]!, metrics: m[1]!, child, exited });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`aae node serve ${node} exited before listening: ${log}`));
    });
  });
}

async function wireBytes(nodes: readonly Served[]): Promise<number> {
  let total = 0;
  for (const n of nodes) {
    const text = await (await fetch(`http://${n.metrics}/metrics`)).text();
    for (const m of text.matchAll(/^aae_node_wire_bytes\{direction="(?:received|sent)"\} (\d+)/gm)) total += Number(m[1]);
  }
  return total;
}

interface Counted {
  ms: number;
  cmp: ClusterComparison;
  /** Protobuf messages, both ways. */
  messages: number;
  /** Accumulators inside fold replies (tree words, sketches, key-clock lists). */
  accumulators: number;
  /** Every byte on the nodes' sockets. */
  socket: number;
}

export const netBench: BenchSuite = {
  name: 'net',
  description: 'compare two 1M-key clusters whose nodes are each an aae node serve process, against the same compare in one process',
  async run(options: BenchOptions): Promise<BenchReport> {
    await initHash();
    const main = join(PACKAGE_ROOT ?? '.', 'dist', 'src', 'cli', 'main.js');
    if (!existsSync(main)) throw new Error(`aae bench net spawns ${main}: build first (npm run build)`);
    const n = Math.max(2000, Math.round(KEYS * options.scale));
    const d = Math.min(DIFFERENCES, Math.floor(n / 20));
    const runs = options.scale < 0.1 ? 1 : RUNS;
    const dir = await mkdtemp(join(tmpdir(), 'aae-bench-net-'));
    const specs: Record<'blue' | 'pink', ClusterSpec> = {
      blue: defaultSpec('blue', { ringSize: RING_SIZE, nVal: N_VAL, nodeCount: NODES, treeSize: 'large' }),
      pink: defaultSpec('pink', { ringSize: RING_SIZE, nVal: N_VAL, nodeCount: NODES, treeSize: 'large' }),
    };
    const params: Record<string, number | string> = { scale: options.scale, keys: n, differences: d, ringSize: RING_SIZE, nVal: N_VAL, nodes: NODES, treeSize: 'large', pauseMs: PAUSE_MS, runs, transport: 'gRPC over loopback, plaintext' };
    const figures: BenchFigure[] = [];
    const served: Served[] = [];
    const stopAll = async (): Promise<void> => {
      for (const s of served.splice(0)) {
        s.child.kill('SIGTERM');
        await s.exited;
      }
    };
    try {
      // 1. Load the pair, in sync.
      const t0 = performance.now();
      await Promise.all(
        (['blue', 'pink'] as const).map(async (side) => {
          const c = await EmbeddedCluster.create(join(dir, side), specs[side]);
          await c.putMany(items(n), { batchSize: LOAD_BATCH });
          await c.close();
        }),
      );
      params.loadSeconds = round((performance.now() - t0) / 1000, 1);
      options.log(`net: loaded ${n} keys a side in ${params.loadSeconds} s`);

      // 2. In one process: in sync, and object_stats.
      const local = async <T>(fn: (b: Cluster, p: Cluster) => Promise<T>): Promise<T> => {
        const [b, p] = [await EmbeddedCluster.open(join(dir, 'blue')), await EmbeddedCluster.open(join(dir, 'pink'))];
        try {
          return await fn(b, p);
        } finally {
          await b.close();
          await p.close();
        }
      };
      const compareBest = async (b: Cluster, p: Cluster, expected: number, count?: () => { messages: number; accumulators: number; socket: () => Promise<number> }): Promise<Counted> => {
        let best: Counted | undefined;
        for (let r = 0; r < runs; r++) {
          const before = count?.();
          const socket0 = before === undefined ? 0 : await before.socket();
          const s = performance.now();
          const cmp = await compareClusters(b, p, { pauseMs: PAUSE_MS, sourceOffset: 0, sinkOffset: 0 });
          const ms = performance.now() - s;
          if (cmp.differences.length !== expected) throw new Error(`the exchange found ${cmp.differences.length} differences, ${expected} were planted`);
          const after = count?.();
          const m: Counted = {
            ms,
            cmp,
            messages: after === undefined ? 0 : after.messages - before!.messages,
            accumulators: after === undefined ? 0 : after.accumulators - before!.accumulators,
            socket: after === undefined ? 0 : (await after.socket()) - socket0,
          };
          if (best === undefined || m.ms < best.ms) best = m;
        }
        return best!;
      };
      const statsRate = async (c: Cluster): Promise<number> => {
        let best = 0;
        for (let r = 0; r < Math.max(2, runs); r++) {
          const s = performance.now();
          const { acc } = await runFold(c, objectStats, {}, { offset: 0 });
          if (acc.count < n) throw new Error(`object_stats counted ${acc.count} of ${n}`);
          best = Math.max(best, acc.count / ((performance.now() - s) / 1000));
        }
        return best;
      };
      const inProc = await local(async (b, p) => {
        await compareClusters(b, p, { pauseMs: 0, sourceOffset: 0, sinkOffset: 0 }); // trees read before timing
        const inSync = await compareBest(b, p, 0);
        return { inSync, stats: await statsRate(b) };
      });
      options.log(`net: in one process: in sync ${round(inProc.inSync.ms, 1)} ms; object_stats ${Math.round(inProc.stats)} keys/s`);

      // 3. Served: every node its own process.
      for (const side of ['blue', 'pink'] as const) for (const node of specs[side].nodes) served.push(await serve(main, join(dir, side), node));
      const traffic = { messages: 0, accumulators: 0 };
      const onBytes = (t: Traffic): void => {
        if (t.part === 'message') traffic.messages += t.bytes;
        else traffic.accumulators += t.bytes;
      };
      const clients: Cluster[] = [];
      for (const side of ['blue', 'pink'] as const) {
        const cdir = join(dir, `${side}-client`);
        await mkdir(cdir, { recursive: true });
        const addresses = Object.fromEntries(served.slice(side === 'blue' ? 0 : NODES, side === 'blue' ? NODES : 2 * NODES).map((s) => [s.node, s.address]));
        await writeClusterConfig(cdir, { spec: specs[side], addresses, tls: 'insecure' });
        clients.push(await openCluster(cdir, { remote: { onBytes } }));
      }
      const [blue, pink] = clients as [Cluster, Cluster];
      const count = () => ({ ...traffic, socket: () => wireBytes(served) });
      let servedSmall: Counted;
      let servedInSync: Counted;
      let servedStats: number;
      let rtt: number;
      try {
        // The floor of any served figure on this machine now: one Info round trip to a node (median of 21).
        const samples: number[] = [];
        for (let i = 0; i < 21; i++) {
          const s = performance.now();
          await blue.node(specs.blue.nodes[0]!).info();
          samples.push(performance.now() - s);
        }
        rtt = samples.sort((a, b) => a - b)[10]!;
        await compareClusters(blue, pink, { pauseMs: 0, sourceOffset: 0, sinkOffset: 0 }); // the nodes read their trees
        servedInSync = await compareBest(blue, pink, 0, count);
        options.log(`net: served, in sync ${round(servedInSync.ms, 1)} ms, ${servedInSync.socket} B on the sockets, ${servedInSync.accumulators} B of accumulators`);
        servedStats = await statsRate(blue);
        const diffs = planted(n, d);
        await blue.putMany(diffs.blue);
        await pink.putMany(diffs.pink);
        servedSmall = await compareBest(blue, pink, d, count);
        options.log(`net: served, ${d} differences ${round(servedSmall.ms, 1)} ms, ${servedSmall.socket} B on the sockets`);
      } finally {
        for (const c of clients) await c.close();
        await stopAll();
      }
      const inProcSmall = await local((b, p) => compareBest(b, p, d));

      const fig = (name: string, value: number, unit: string, extra: Partial<BenchFigure> = {}): void => {
        figures.push({ name, value: round(value, 1), unit, ...extra });
      };
      fig('one round trip to a served node (Info, median of 21): the floor of every served time', rtt, 'ms');
      fig('in sync, served: time', servedInSync.ms, 'ms', {
        baseline: { name: 'in sync, one process', value: round(inProc.inSync.ms, 1), unit: 'ms' },
        ratio: round(servedInSync.ms / inProc.inSync.ms, 3),
        ratioMeaning: 'served time / in-process time',
        target: '≤ 20 ms',
        met: servedInSync.ms <= 20,
      });
      fig('in sync, served: tree data on the wire (accumulators of the tree folds)', servedInSync.accumulators, 'B', {
        baseline: { name: "the exchange's model (sizes.ts)", value: servedInSync.cmp.exchange.bytes.total, unit: 'B' },
        target: '≤ 200 B',
        met: servedInSync.accumulators <= 200,
      });
      fig('in sync, served: every byte on the sockets (requests, replies, HTTP/2 and gRPC framing)', servedInSync.socket, 'B', { baseline: { name: 'protobuf messages both ways', value: servedInSync.messages, unit: 'B' } });
      fig(`${d} differences, served: time`, servedSmall.ms, 'ms', {
        baseline: { name: `${d} differences, one process`, value: round(inProcSmall.ms, 1), unit: 'ms' },
        ratio: round(servedSmall.ms / inProcSmall.ms, 3),
        ratioMeaning: 'served time / in-process time',
        target: '≤ 300 ms',
        met: servedSmall.ms <= 300,
      });
      fig(`${d} differences, served: every byte on the sockets`, servedSmall.socket, 'B', {
        baseline: { name: "the exchange's model (sizes.ts: the answers' payloads)", value: servedSmall.cmp.exchange.bytes.total, unit: 'B' },
        ratio: round(servedSmall.socket / servedSmall.cmp.exchange.bytes.total, 3),
        ratioMeaning: 'socket bytes / modelled bytes',
        target: '≤ 55,000 B',
        met: servedSmall.socket <= 55_000,
      });
      fig(`${d} differences, served: protobuf messages both ways`, servedSmall.messages, 'B', { baseline: { name: 'accumulators inside them', value: servedSmall.accumulators, unit: 'B' } });
      fig(`${d} differences: rounds, and requests to nodes`, servedSmall.cmp.exchange.rounds, 'rounds', { baseline: { name: 'source requests (round trips)', value: servedSmall.cmp.exchange.roundTrips, unit: 'requests' } });
      fig('object_stats over the served cluster', servedStats, 'keys/s', {
        baseline: { name: 'object_stats in one process', value: Math.round(inProc.stats), unit: 'keys/s' },
        ratio: round(servedStats / inProc.stats, 3),
        ratioMeaning: 'served rate / in-process rate',
        target: '≥ 0.8×',
        met: servedStats / inProc.stats >= 0.8,
      });
    } finally {
      await stopAll();
      await rm(dir, { recursive: true, force: true });
    }
    return { suite: 'net', machine: machineInfo(), params, figures };
  },
};
