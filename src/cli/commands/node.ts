import type { Command } from 'commander';
import { readClusterConfig } from '../../cluster/index.js';
import { openLocalNodes } from '../../coordinator/index.js';
import { AaeError } from '../../errors.js';
import { DEFAULT_LIMITS, NET_LOG_CODES, NodeServer, loadTls, parseAddress, requireLoopback, serveMetrics, serverMetrics, type MetricsEndpoint, type Transport } from '../../net/index.js';
import type { CommandContext } from '../io.js';
import { pinoSink } from '../log.js';
import { flag, parseIntOption } from '../parse.js';
import { parseDuration } from '../../sync/index.js';
import { DEFAULT_REBUILD_RATE, DEFAULT_REBUILD_SCHEDULE, rebuildFailedLine, startDueRebuilds, treeCheckLine, type BackgroundRebuilds } from '../../store/index.js';

interface ServeOptions {
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  insecure?: boolean;
  metricsListen?: string;
  maxMessageBytes: number;
  maxInFlight: number;
  requestTimeout: number;
  drainMs: number;
  rebuild: boolean;
  rebuildWait?: number;
  rebuildDelay?: number;
  rebuildRate?: number;
}

export function registerNode(program: Command, ctx: CommandContext): void {
  const node = program.command('node').description('serve a node of a cluster to the network');
  node
    .command('serve')
    .description("serve one node's vnodes over gRPC (mutual TLS unless --insecure), until SIGTERM or Ctrl-C")
    .argument('<cluster-dir>', 'the cluster directory holding this node\'s LevelDB folder')
    .argument('<node>', 'the node to serve (a name in cluster.json)')
    .option('--listen <host:port>', 'where to listen (port 0: any free port, printed at start)', '127.0.0.1:7070')
    .option('--tls-cert <file>', "this node's certificate (PEM), signed by the CA")
    .option('--tls-key <file>', "this node's private key (PEM)")
    .option('--tls-ca <file>', 'the CA that signs node and client certificates (PEM): a client without a certificate from it gets nothing')
    .option('--insecure', 'plaintext, no TLS: refused unless --listen is a loopback address')
    .option('--metrics-listen <host:port>', 'serve GET /metrics (Prometheus) and GET /healthz here')
    .option('--max-message-bytes <n>', 'largest request or reply message', parseIntOption('--max-message-bytes', 1024, 2 ** 31 - 1), DEFAULT_LIMITS.maxMessageBytes)
    .option('--max-in-flight <n>', 'requests one client connection may have in flight', parseIntOption('--max-in-flight', 1, 100_000), DEFAULT_LIMITS.maxInFlightPerClient)
    .option('--request-timeout <ms>', 'no request runs longer than this', parseIntOption('--request-timeout', 1, 2 ** 31 - 1), DEFAULT_LIMITS.requestTimeoutMs)
    .option('--drain-ms <ms>', 'on SIGTERM, how long requests in flight may take to finish', parseIntOption('--drain-ms', 0, 2 ** 31 - 1), 30_000)
    .option('--rebuild-wait <duration>', 'rebuild each vnode\'s trees from its heads this long after the last build (default 14d)', flag('--rebuild-wait', parseDuration))
    .option('--rebuild-delay <duration>', 'plus a random share of this, per vnode (default 4d)', flag('--rebuild-delay', parseDuration))
    .option('--rebuild-rate <heads/s>', 'heads a second a background rebuild reads at most', parseIntOption('--rebuild-rate', 1, 100_000_000))
    .option('--no-rebuild', 'no scheduled tree rebuilds while serving')
    .addHelpText(
      'after',
      `
Logs are JSON lines on stderr, each with a stable code (NS001 listening, NS002 a connection that
was not gRPC dropped, NS003 a malformed request refused, ... see docs/OPERATIONS.md).
SIGTERM drains: no new connections, requests in flight finish, trees are saved, exit 0.

Examples:
  $ aae node serve ./dc1 n1 --listen 10.0.0.5:7001 \\
      --tls-cert tls/n1.pem --tls-key tls/n1-key.pem --tls-ca tls/ca.pem --metrics-listen 10.0.0.5:9101
  $ aae node serve ./dc1 n1 --listen 127.0.0.1:7001 --insecure     # one machine, plaintext`,
    )
    .action(async (dir: string, name: string, opts: ServeOptions) => {
      const transport = transportFromFlags(opts);
      // Everything that can be refused is refused before the node's store is opened.
      const at = parseAddress(opts.listen, '--listen', true);
      if (transport.kind === 'insecure') requireLoopback(at, '--listen');
      else loadTls(transport.files);
      if (opts.metricsListen !== undefined) parseAddress(opts.metricsListen, '--metrics-listen', true);
      const { spec } = await readClusterConfig(dir);
      if (!spec.nodes.includes(name)) throw new AaeError('USAGE', `cluster ${spec.name} has no node '${name}' (its nodes: ${spec.nodes.join(', ')})`);
      // A service logs at info unless the global --log-level says otherwise.
      const logger = ctx.serviceLog.child({ cluster: spec.name });
      const log = pinoSink(logger);
      const local = (await openLocalNodes(dir, spec, [name], false)).get(name)!;
      let server: NodeServer | undefined;
      let endpoint: MetricsEndpoint | undefined;
      let rebuilds: BackgroundRebuilds | undefined;
      try {
        const metrics = serverMetrics(local, () => server?.wireBytes());
        server = await NodeServer.start({
          node: local,
          name,
          listen: opts.listen,
          transport,
          limits: { maxMessageBytes: opts.maxMessageBytes, maxInFlightPerClient: opts.maxInFlight, requestTimeoutMs: opts.requestTimeout },
          log,
          metrics,
        });
        if (opts.metricsListen !== undefined) {
          endpoint = await serveMetrics(opts.metricsListen, metrics.registry, async () => {
            await local.info();
            return true;
          });
          log({ code: 'NS010', level: 'info', message: NET_LOG_CODES.NS010, fields: { node: name, address: endpoint.address } });
        }
        // Scheduled tree rebuilds, as aae sync runs them for clusters it opens: one vnode at a time,
        // throttled, answering requests from the old trees until the new ones swap in.
        rebuilds = opts.rebuild
          ? startDueRebuilds([{ spec: { name: spec.name }, vnodes: () => local.vnodeIds.map((v) => local.vnode(v)) }], {
              schedule: { waitMs: opts.rebuildWait ?? DEFAULT_REBUILD_SCHEDULE.waitMs, delayMs: opts.rebuildDelay ?? DEFAULT_REBUILD_SCHEDULE.delayMs },
              maxKeysPerSecond: opts.rebuildRate ?? DEFAULT_REBUILD_RATE,
              onRebuilt: (check) => {
                const l = treeCheckLine(check, spec.name);
                logger[l.level]({ code: l.code }, l.message);
              },
            })
          : undefined;
        await untilStopped(ctx.io.signal);
      } finally {
        const done = await rebuilds?.finish();
        if (done?.error !== undefined) {
          const l = rebuildFailedLine(`node ${name} of ${spec.name}`, done.error);
          logger.error({ code: l.code }, l.message);
        }
        await endpoint?.close();
        await server?.stop(opts.drainMs);
        await local.close();
        log({ code: 'NS011', level: 'info', message: NET_LOG_CODES.NS011, fields: { node: name } });
      }
    });
}

/** Mutual TLS from the three flags, or plaintext with --insecure; anything in between is a usage error. */
export function transportFromFlags(opts: { tlsCert?: string; tlsKey?: string; tlsCa?: string; insecure?: boolean }): Transport {
  const given = [opts.tlsCert, opts.tlsKey, opts.tlsCa].filter((x) => x !== undefined).length;
  if (opts.insecure === true) {
    if (given > 0) throw new AaeError('USAGE', '--insecure and --tls-* exclude each other');
    return { kind: 'insecure' };
  }
  if (given !== 3) throw new AaeError('USAGE', 'give --tls-cert, --tls-key and --tls-ca (mutual TLS), or --insecure for plaintext on loopback');
  return { kind: 'tls', files: { cert: opts.tlsCert!, key: opts.tlsKey!, ca: opts.tlsCa! } };
}

/** Resolves when the CLI's signal fires (SIGTERM, Ctrl-C); a process without one serves until killed. */
function untilStopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal === undefined) return;
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
