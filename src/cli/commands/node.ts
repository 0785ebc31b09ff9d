import type { Command } from 'commander';
import { clusterIdentity, readClusterConfig } from '../../cluster/index.js';
import { openLocalNodes } from '../../coordinator/index.js';
import { AaeError } from '../../errors.js';
import { DEFAULT_LIMITS, NET_LOG_CODES, NodeServer, loadTls, parseAddress, requireLoopback, serveMetrics, serverMetrics, type MetricsEndpoint, type Transport } from '../../net/index.js';
import type { CommandContext } from '../io.js';
import { pinoSink } from '../log.js';
import { flag, parseIntOption } from '../parse.js';
import { parseDuration } from '../../sync/index.js';
import { DEFAULT_POOL_LIMITS, PluginHost, pluginMetrics, type PluginObserver } from '../../plugin/index.js';
import { pluginDirOf } from '../plugin-dir.js';
import { serveKeystore } from '../serve-keystore.js';
import { isKeystore, KEYSTORE_NODE } from '../../connect/index.js';
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
  plugins?: string;
  allowMutatingPlugins?: boolean;
  pluginTimeout: number;
  pluginMemory: number;
  pluginThreads: number;
}

export function registerNode(program: Command, ctx: CommandContext): void {
  const node = program.command('node').description('serve a node of a cluster to the network');
  node
    .command('serve')
    .description("serve one node's vnodes over gRPC (mutual TLS unless --insecure), until SIGTERM or Ctrl-C")
    .argument('<cluster-dir>', 'the cluster directory holding this node\'s LevelDB folder, or a keystore directory (aae connect)')
    .argument('[node]', `the node to serve (a name in cluster.json; a keystore's one node is ${KEYSTORE_NODE}, the default there)`)
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
    .option('--plugins <dir>', 'serve the fold plugins of this directory, reloading them when it changes (default: cluster.json\'s "plugins"); see docs/PLUGINS.md')
    .option('--allow-mutating-plugins', 'load plugins whose manifest says they mutate (refused by default: PL008)')
    .option('--plugin-timeout <ms>', 'deadline of one call into a plugin (a batch, a flush, loading it): past it the call fails and its worker is replaced', parseIntOption('--plugin-timeout', 1, 2 ** 31 - 1), DEFAULT_POOL_LIMITS.callTimeoutMs)
    .option('--plugin-memory <MiB>', 'heap limit of each plugin worker', parseIntOption('--plugin-memory', 16, 65_536), DEFAULT_POOL_LIMITS.memoryMb)
    .option('--plugin-threads <n>', 'worker threads per plugin version (folds of one plugin at once)', parseIntOption('--plugin-threads', 1, 64), DEFAULT_POOL_LIMITS.threads)
    .addHelpText(
      'after',
      `
Logs are JSON lines on stderr, each with a stable code (NS001 listening, NS002 a connection that
was not gRPC dropped, NS003 a malformed request refused, ... see docs/OPERATIONS.md).
SIGTERM drains: no new connections, requests in flight finish, trees are saved, exit 0.
A keystore directory is served as its one node: it catches up with its database (built first if it
never was), then follows it while serving; a gap is rebuilt and swapped in, and meanwhile the node
says it is unreliable (compare refuses to call it in sync; /healthz answers 503). Its lag is in
aae cluster status and in /metrics (aae_keystore_lag_bytes, aae_keystore_lag_seconds).
With --plugins, each plugin is checked (its manifest's plugin-API range) before any of its code runs,
runs in worker threads of its own, and is reloaded when its files change (PL001 … PL009).

Examples:
  $ aae node serve ./dc1 n1 --listen 10.0.0.5:7001 \\
      --tls-cert tls/n1.pem --tls-key tls/n1-key.pem --tls-ca tls/ca.pem --metrics-listen 10.0.0.5:9101
  $ aae node serve ./dc1 n1 --listen 127.0.0.1:7001 --insecure     # one machine, plaintext
  $ aae node serve ./dc1 n1 --listen 127.0.0.1:7001 --insecure --plugins /var/lib/aae/plugins
  $ aae node serve ./ks-orders --listen 10.0.0.5:7002 --tls-cert tls/ks.pem --tls-key tls/ks-key.pem --tls-ca tls/ca.pem`,
    )
    .action(async (dir: string, name: string | undefined, opts: ServeOptions, cmd: Command) => {
      const transport = transportFromFlags(opts);
      // Everything that can be refused is refused before the node's store is opened.
      const at = parseAddress(opts.listen, '--listen', true);
      if (transport.kind === 'insecure') requireLoopback(at, '--listen');
      else loadTls(transport.files);
      if (opts.metricsListen !== undefined) parseAddress(opts.metricsListen, '--metrics-listen', true);
      if (await isKeystore(dir)) {
        const clusterOnly = ['plugins', 'allowMutatingPlugins', 'rebuildWait', 'rebuildDelay', 'rebuildRate'].filter((o) => cmd.getOptionValueSource(o) === 'cli');
        if (clusterOnly.length > 0) throw new AaeError('USAGE', `${dir} is a keystore: ${clusterOnly.map((o) => `--${o.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} apply to cluster nodes only (a keystore runs no plugins, and its feed rebuilds it)`);
        await serveKeystore(
          {
            dir,
            name: name ?? KEYSTORE_NODE,
            listen: opts.listen,
            transport,
            limits: { maxMessageBytes: opts.maxMessageBytes, maxInFlightPerClient: opts.maxInFlight, requestTimeoutMs: opts.requestTimeout },
            ...(opts.metricsListen === undefined ? {} : { metricsListen: opts.metricsListen }),
            drainMs: opts.drainMs,
            log: pinoSink(ctx.serviceLog.child({ keystore: dir })),
            stopped: untilStopped(ctx.io.signal),
            ...(ctx.io.signal === undefined ? {} : { signal: ctx.io.signal }),
          },
          KEYSTORE_NODE,
        );
        return;
      }
      if (name === undefined) throw new AaeError('USAGE', 'name the node to serve (a name in cluster.json)');
      const { spec } = await readClusterConfig(dir);
      if (!spec.nodes.includes(name)) throw new AaeError('USAGE', `cluster ${spec.name} has no node '${name}' (its nodes: ${spec.nodes.join(', ')})`);
      const pluginDir = await pluginDirOf(dir, opts.plugins);
      // A service logs at info unless the global --log-level says otherwise.
      const logger = ctx.serviceLog.child({ cluster: spec.name });
      const log = pinoSink(logger);
      // The plugin host starts before the node (its modules are the node's); its metrics join the server's registry once that exists.
      let observer: PluginObserver | undefined;
      const host =
        pluginDir === undefined
          ? undefined
          : await PluginHost.start({
              dir: pluginDir,
              allowMutations: opts.allowMutatingPlugins === true,
              limits: { callTimeoutMs: opts.pluginTimeout, memoryMb: opts.pluginMemory, threads: opts.pluginThreads },
              log: (l) => log({ ...l, fields: { node: name, ...l.fields } }),
              observer: {
                call: (m, v) => observer?.call(m, v) ?? { done: () => undefined },
                refused: (m, c) => observer?.refused(m, c),
                workerLost: (m, c) => observer?.workerLost(m, c),
                states: (c) => observer?.states?.(c),
              },
            });
      let local;
      try {
        local = (await openLocalNodes(dir, spec, [name], false, host === undefined ? {} : { source: host })).get(name)!;
      } catch (e) {
        await host?.close();
        throw e;
      }
      let server: NodeServer | undefined;
      let endpoint: MetricsEndpoint | undefined;
      let rebuilds: BackgroundRebuilds | undefined;
      try {
        const metrics = serverMetrics(local, () => server?.wireBytes());
        if (host !== undefined) {
          observer = pluginMetrics(metrics.registry);
          await host.rescan();
        }
        server = await NodeServer.start({
          node: local,
          name,
          listen: opts.listen,
          transport,
          limits: { maxMessageBytes: opts.maxMessageBytes, maxInFlightPerClient: opts.maxInFlight, requestTimeoutMs: opts.requestTimeout },
          log,
          metrics,
          copy: await clusterIdentity(dir),
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
        await host?.close();
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
