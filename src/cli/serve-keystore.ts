import { KeystoreNode, readSourceSpec, sourceCopyId } from '../connect/index.js';
import { AaeError } from '../errors.js';
import { NET_LOG_CODES, NodeServer, serveMetrics, serverMetrics, type MetricsEndpoint, type NodeServerLimits, type Transport } from '../net/index.js';
import type { LogSink } from '../net/index.js';

/** What `aae node serve` hands over when its directory is a keystore (aae connect). */
export interface ServeKeystore {
  dir: string;
  /** The node name asked for; a keystore's one node is `KEYSTORE_NODE`. */
  name: string;
  listen: string;
  transport: Transport;
  limits: Partial<NodeServerLimits>;
  metricsListen?: string;
  drainMs: number;
  log: LogSink;
  /** Resolves when the server should stop (SIGTERM, Ctrl-C). */
  stopped: Promise<void>;
  signal?: AbortSignal;
}

/** Feed log lines that say something went wrong; the rest are progress. */
const WARNINGS = new Set(['CN004', 'CN005']);

/**
 * Serves a keystore as a node: it catches up with its source (building it if it never was), then
 * follows it in this process while it serves (the node server's follow mode: a gap is rebuilt and
 * swapped in, and the node says it is unreliable meanwhile), so a repair's writes into the source
 * are read back before they are answered. Its lag and reliability are in `Info` and `/metrics`.
 */
export async function serveKeystore(o: ServeKeystore, node: string): Promise<void> {
  if (o.name !== node) throw new AaeError('USAGE', `${o.dir} is a keystore: its one node is '${node}' (asked for '${o.name}')`);
  const ks = await KeystoreNode.open(o.dir, {
    source: 'follow',
    rebuilds: true,
    log: (l) => o.log({ code: l.code, level: WARNINGS.has(l.code) ? 'warn' : 'info', message: l.message, fields: { node } }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  let server: NodeServer | undefined;
  let endpoint: MetricsEndpoint | undefined;
  try {
    const metrics = serverMetrics(ks, () => server?.wireBytes());
    server = await NodeServer.start({ node: ks, name: node, listen: o.listen, transport: o.transport, limits: o.limits, log: o.log, metrics, copy: sourceCopyId(await readSourceSpec(o.dir)) });
    if (o.metricsListen !== undefined) {
      // Healthy while the keystore can be trusted and follows its source: an unreliable one is
      // rebuilding and vouches for nothing, and one whose feed stopped goes stale.
      endpoint = await serveMetrics(o.metricsListen, metrics.registry, async () => {
        const k = (await ks.info()).keystore;
        return k?.reliable === true && k.following;
      });
      o.log({ code: 'NS010', level: 'info', message: NET_LOG_CODES.NS010, fields: { node, address: endpoint.address } });
    }
    await o.stopped;
  } finally {
    await endpoint?.close();
    await server?.stop(o.drainMs);
    await ks.close();
    o.log({ code: 'NS011', level: 'info', message: NET_LOG_CODES.NS011, fields: { node } });
  }
}
