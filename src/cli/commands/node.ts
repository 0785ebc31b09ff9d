import type { Command } from 'commander';
import { readClusterConfig } from '../../cluster/index.js';
import { openLocalNodes } from '../../coordinator/index.js';
import { AaeError } from '../../errors.js';
import { DEFAULT_LIMITS, NET_LOG_CODES, NodeServer, loadTls, parseAddress, requireLoopback, serveMetrics, serverMetrics, type MetricsEndpoint, type Transport } from '../../net/index.js';
import type { CommandContext } from '../io.js';
import { jsonLogger, LOG_LEVELS, pinoSink, type CliLogLevel } from '../log.js';
import { parseChoice, parseIntOption } from '../parse.js';

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
  logLevel: CliLogLevel;
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
    .option('--log-level <level>', `${LOG_LEVELS.join(', ')}`, parseChoice('--log-level', LOG_LEVELS), 'info')
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
      const logger = jsonLogger(ctx.io.stderr, opts.logLevel, { cluster: spec.name });
      const log = pinoSink(logger);
      const local = (await openLocalNodes(dir, spec, [name], false)).get(name)!;
      let server: NodeServer | undefined;
      let endpoint: MetricsEndpoint | undefined;
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
        await untilStopped(ctx.io.signal);
      } finally {
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
