/**
 * Prometheus metrics (prom-client) and the `/metrics` and `/healthz` endpoints, on a listener of
 * their own (`--metrics-listen`), apart from the gRPC port: a scraper needs no client certificate
 * and a probe cannot reach the data.
 *
 * Each server and each sync run has its own Registry (not prom-client's global one), so several in
 * one process (the tests) never share counters.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AaeError } from '../errors.js';
import type { KeystoreNodeStatus, NodeService } from '../node/index.js';
import { formatAddress, parseAddress } from './address.js';

/** Request latency buckets, seconds: a tree read on loopback is ~1 ms, a full fold of 1M keys a few s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface ServerMetrics {
  registry: Registry;
  requests: Counter<'method' | 'code'>;
  latency: Histogram<'method'>;
  backlog: Counter;
  dropped: Counter<'reason'>;
  connections: Gauge;
}

/** A node server's metrics; the fold queue and tree gauges read the node's info when scraped. */
export function serverMetrics(node: NodeService, wire?: () => { received: number; sent: number } | undefined): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({
    name: 'aae_node_wire_bytes',
    help: 'Bytes received and sent on the node\'s connections since it started (TLS, HTTP/2 framing and all)',
    labelNames: ['direction'],
    registers,
    collect() {
      const w = wire?.();
      if (w === undefined) return;
      this.set({ direction: 'received' }, w.received);
      this.set({ direction: 'sent' }, w.sent);
    },
  });
  const foldGauge = (name: string, help: string, pick: (f: { running: number; waiting: number }) => number): Gauge =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        try {
          this.set(pick((await node.info()).folds));
        } catch {
          // a closed node reports nothing rather than failing the scrape
        }
      },
    });
  foldGauge('aae_node_fold_running', 'Folds running on the node now', (f) => f.running);
  foldGauge('aae_node_fold_waiting', 'Folds waiting in the node\'s fold queue (its depth)', (f) => f.waiting);
  new Gauge({
    name: 'aae_node_tree_rebuilds',
    help: 'Cached trees (vnode, keyspace) this node rebuilt from its heads since it opened',
    registers,
    async collect() {
      try {
        this.set((await node.info()).trees?.filter((t) => t.origin === 'rebuilt').length ?? 0);
      } catch {
        // as above
      }
    },
  });
  keystoreGauges(node, registers);
  return {
    registry,
    requests: new Counter({ name: 'aae_node_requests_total', help: 'Requests served, by method and result code (OK or the AaeError code)', labelNames: ['method', 'code'], registers }),
    latency: new Histogram({ name: 'aae_node_request_seconds', help: 'Request latency by method (a fold: until its result is sent)', labelNames: ['method'], buckets: LATENCY_BUCKETS, registers }),
    backlog: new Counter({ name: 'aae_node_backlog_refusals_total', help: 'Folds refused because the fold queue was full (BACKLOG)', registers }),
    dropped: new Counter({ name: 'aae_node_connections_dropped_total', help: 'Connections dropped by the server, by reason', labelNames: ['reason'], registers }),
    connections: new Gauge({ name: 'aae_node_connections', help: 'Connections open now', registers }),
  };
}

/**
 * A keystore node's trust and lag (NodeInfo.keystore), labelled by engine; a node that is not a
 * keystore reports none of them. A difference younger than the lag is not yet a difference.
 */
function keystoreGauges(node: NodeService, registers: Registry[]): void {
  const gauge = (name: string, help: string, pick: (k: KeystoreNodeStatus) => number | undefined): Gauge<'engine'> =>
    new Gauge({
      name,
      help,
      labelNames: ['engine'],
      registers,
      async collect() {
        this.reset();
        try {
          const k = (await node.info()).keystore;
          const v = k === undefined ? undefined : pick(k);
          if (k !== undefined && v !== undefined) this.set({ engine: k.engine }, v);
        } catch {
          // a closed node reports nothing rather than failing the scrape
        }
      },
    });
  gauge('aae_keystore_reliable', 'Whether the keystore can be trusted (0: it missed changes and is being rebuilt, or was never built)', (k) => (k.reliable ? 1 : 0));
  gauge('aae_keystore_following', 'Whether the keystore follows its source now', (k) => (k.following ? 1 : 0));
  gauge('aae_keystore_lag_bytes', "How far the keystore is behind its source, in the engine's unit (PostgreSQL: WAL bytes)", (k) => k.lag?.bytes);
  gauge('aae_keystore_lag_seconds', 'How far the keystore is behind its source, in seconds', (k) => k.lag?.seconds);
}

export interface SyncMetrics {
  registry: Registry;
  checks: Counter<'kind' | 'outcome'>;
  exchanges: Counter;
  deltas: Counter;
  repaired: Counter;
  lastSuccess: Gauge;
}

/** `aae sync`'s metrics: checks by kind and outcome, exchanges run, deltas found, keys repaired. */
export function syncMetrics(): SyncMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    checks: new Counter({ name: 'aae_sync_checks_total', help: 'Sync checks run, by kind and outcome', labelNames: ['kind', 'outcome'], registers }),
    exchanges: new Counter({ name: 'aae_sync_exchanges_total', help: 'Exchanges (compare rounds) the sync ran', registers }),
    deltas: new Counter({ name: 'aae_sync_deltas_found_total', help: 'Differences the sync\'s exchanges found', registers }),
    repaired: new Counter({ name: 'aae_sync_keys_repaired_total', help: 'Replica writes the sync\'s repairs made', registers }),
    lastSuccess: new Gauge({ name: 'aae_sync_last_success_timestamp_seconds', help: 'When the last check succeeded (unix seconds)', registers }),
  };
}

export interface MetricsEndpoint {
  address: string;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (Prometheus text) and GET /healthz (200 "ok" while `healthy` resolves true,
 * else 503) on `listen`; nothing else.
 */
export async function serveMetrics(listen: string, registry: Registry, healthy: () => Promise<boolean>): Promise<MetricsEndpoint> {
  const at = parseAddress(listen, '--metrics-listen', true);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    } else if (path === '/healthz') {
      healthy().then(
        (ok) => res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'unhealthy\n'),
        () => res.writeHead(503, { 'content-type': 'text/plain' }).end('unhealthy\n'),
      );
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new AaeError('NET_CONFIG_INVALID', `--metrics-listen ${listen}: ${e.message}`, { cause: e })));
    server.listen(at.port, at.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : at.port;
  return {
    address: formatAddress({ host: at.host, port }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
