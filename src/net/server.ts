/**
 * The node server: any NodeService (a LocalNode over its LevelDB, later a keystore) on the network,
 * over gRPC (@grpc/grpc-js) with mutual TLS. What this file writes and what it leaves to gRPC:
 *
 * - gRPC supplies deadlines (a call's deadline reaches the handler as a cancellation), cancellation,
 *   server streaming with HTTP/2 flow control (a fold that the caller reads slowly waits on
 *   `drain`, so key batches are never produced faster than they are taken), keepalive, message size
 *   limits and TLS. None of it is ours.
 * - Ours: decoding and validating every request into the contract's types (codec-*.ts; a request
 *   that does not decode is refused with NODE_REQUEST_INVALID and a coded log line, and no hint can
 *   cross because the .proto has no field for one), the server's own deadline for any request
 *   (`requestTimeoutMs`), a cap on requests in flight per client connection, and a front door.
 * - The front door: the server owns its listening socket and hands each accepted connection to
 *   gRPC (grpc-js's connection injector). Before it does, it reads the connection's first bytes: a
 *   TLS server expects a TLS handshake record, a plaintext one the HTTP/2 preface. Anything else
 *   (a port scanner, a stray HTTP/1 client, garbage) is dropped with NS002 and counted, without
 *   reaching gRPC; everyone else is served as before. Bytes that go wrong later (a truncated frame,
 *   a bad HTTP/2 frame) are HTTP/2's to refuse: the session ends, NS009 is logged.
 *
 * `stop()` drains: the listener closes, new calls are refused, calls in flight finish (up to a grace
 * period, then they are cancelled). The caller then closes the node (saving its trees).
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { Server, type ConnectionInjector, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { AaeError, isAaeError } from '../errors.js';
import type { CallOptions, NodeService } from '../node/index.js';
import { formatAddress, parseAddress, requireLoopback } from './address.js';
import {
  decodeFoldRequest,
  decodeInfoRequest,
  decodeReadRequest,
  decodeWriteRequest,
  encodeFoldEvent,
  encodeHeads,
  encodeInfo,
  encodeObjects,
  encodeWriteAnswer,
} from './codec-messages.js';
import { logLine, silent, type LogSink } from './log.js';
import type { ServerMetrics } from './metrics.js';
import type { MethodName } from './proto.js';
import { screen } from './front-door.js';
import { drained, tolerantService, undecodable, untilAborted } from './request-helpers.js';
import { toStatus } from './status.js';
import { serverCredentials, type Transport } from './tls.js';

export interface NodeServerLimits {
  /** Largest request or reply message, bytes. A write batch of 5,000 objects of 1 KiB is ~6 MiB; a large tree's export up to 16 MiB. */
  maxMessageBytes: number;
  /** Requests one client connection may have in flight; more are refused with NODE_LIMIT_EXCEEDED. */
  maxInFlightPerClient: number;
  /** No request runs longer than this, whatever deadline its caller set (TIMEOUT). A full fold of 10M keys takes minutes. */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: NodeServerLimits = {
  maxMessageBytes: 64 * 1024 * 1024,
  maxInFlightPerClient: 64,
  requestTimeoutMs: 30 * 60 * 1000,
};

export interface NodeServerOptions {
  node: NodeService;
  /** The node's name, in log lines. */
  name: string;
  /** host:port; port 0 picks a free port (see `address`). */
  listen: string;
  transport: Transport;
  limits?: Partial<NodeServerLimits>;
  log?: LogSink;
  metrics?: ServerMetrics;
  /** Which copy of its cluster the node's data is (its directory's cluster.id), stamped on every Info reply (contract minor 2). */
  copy?: string;
}


export class NodeServer {
  private readonly limits: NodeServerLimits;
  private readonly log: LogSink;
  private readonly inFlight = new Map<string, number>();
  private active = 0;
  private stopping = false;
  private readonly sockets = new Set<Socket>();
  /** Bytes of connections already closed; open ones are read off their sockets. */
  private closedBytes = { received: 0, sent: 0 };

  private constructor(
    private readonly o: NodeServerOptions,
    private readonly grpc: Server,
    private readonly injector: ConnectionInjector,
    private readonly listener: NetServer,
    readonly address: string,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.log = o.log ?? silent;
  }

  /** Validates the options, binds the listener and starts serving. */
  static async start(o: NodeServerOptions): Promise<NodeServer> {
    const at = parseAddress(o.listen, 'listen address', true);
    if (o.transport.kind === 'insecure') requireLoopback(at, 'listen address');
    const limits = { ...DEFAULT_LIMITS, ...o.limits };
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isSafeInteger(v) || v < 1) throw new AaeError('NET_CONFIG_INVALID', `limit ${k} must be a positive integer, got ${v}`);
    }
    const creds = serverCredentials(o.transport);
    const grpc = new Server({
      'grpc.max_receive_message_length': limits.maxMessageBytes,
      'grpc.max_send_message_length': limits.maxMessageBytes,
      // HTTP/2 itself caps a connection's streams a little above our own per-client limit, so the
      // limit is ours to report (NODE_LIMIT_EXCEEDED) rather than a refused stream.
      'grpc.max_concurrent_streams': limits.maxInFlightPerClient + 8,
      // Pings from clients every 30 s are expected (their keepalive); answer, and ping back idle peers.
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    });
    const injector = grpc.createConnectionInjector(creds);
    // Replies are small and latency-bound: no Nagle (a reply's frames waiting on a delayed ACK cost 40 ms).
    const listener = createServer({ pauseOnConnect: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (e) => reject(new AaeError('NET_CONFIG_INVALID', `cannot listen on ${o.listen}: ${e.message}`, { cause: e })));
      listener.listen(at.port, at.host, () => resolve());
    });
    const bound = listener.address();
    const address = formatAddress({ host: at.host, port: typeof bound === 'object' && bound !== null ? bound.port : at.port });
    const server = new NodeServer(o, grpc, injector, listener, address);
    server.serve();
    server.log(logLine('NS001', 'info', { node: o.name, address, tls: o.transport.kind === 'tls' }));
    return server;
  }

  private serve(): void {
    const h = this.o.node;
    this.grpc.addService(tolerantService(), {
      Info: this.unary('Info', (req) => decodeInfoRequest(req), async (_r, opts) => {
        const info = await h.info(opts);
        return this.o.copy === undefined ? info : { ...info, copy: this.o.copy };
      }, encodeInfo),
      ReadHeads: this.unary('ReadHeads', decodeReadRequest, (r, opts) => h.readHeads(r, opts), encodeHeads),
      ReadObjects: this.unary('ReadObjects', decodeReadRequest, (r, opts) => h.readObjects(r, opts), encodeObjects),
      Write: this.unary('Write', decodeWriteRequest, (r, opts) => h.write(r, opts), encodeWriteAnswer),
      Fold: (call: ServerWritableStream<unknown, unknown>) => {
        this.fold(call).catch((e: unknown) => this.lastResort('Fold', call, e));
      },
    });
    this.listener.on('connection', (socket: Socket) => this.accept(socket));
    this.listener.on('error', (e) => this.log(logLine('NS009', 'error', { where: 'listener', message: e.message })));
  }

  /** The front door (front-door.ts): check the first bytes, then hand the socket to gRPC. */
  private accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    this.o.metrics?.connections.inc();
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.once('close', (hadError) => {
      this.sockets.delete(socket);
      this.closedBytes.received += socket.bytesRead;
      this.closedBytes.sent += socket.bytesWritten;
      this.o.metrics?.connections.dec();
      if (hadError) this.log(logLine('NS009', 'warn', { peer }));
    });
    screen(socket, this.o.transport.kind === 'tls', {
      pass: () => {
        this.log(logLine('NS008', 'debug', { peer }));
        this.injector.injectConnection(socket);
      },
      drop: (reason, bytes) => {
        this.o.metrics?.dropped.inc({ reason });
        this.log(logLine('NS002', 'warn', { peer, reason, bytes }));
      },
    });
  }

  /** Counts a request against its client's limit; false when the client is at it. */
  private admit(peer: string): boolean {
    const n = this.inFlight.get(peer) ?? 0;
    if (n >= this.limits.maxInFlightPerClient) return false;
    this.inFlight.set(peer, n + 1);
    this.active++;
    return true;
  }

  private release(peer: string): void {
    const n = (this.inFlight.get(peer) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(peer);
    else this.inFlight.set(peer, n);
    this.active--;
  }

  /** A signal that fires when the caller cancels or its deadline passes, or the server's own deadline does. */
  private callSignal(call: { on(event: 'cancelled', f: () => void): unknown }, method: MethodName): { signal: AbortSignal; done: () => void } {
    const ac = new AbortController();
    const timer = setTimeout(
      () => ac.abort(new AaeError('TIMEOUT', `${method} ran past the node's request timeout of ${this.limits.requestTimeoutMs} ms`)),
      this.limits.requestTimeoutMs,
    );
    call.on('cancelled', () => ac.abort(new AaeError('ABORTED', `${method} cancelled by the caller`)));
    return { signal: ac.signal, done: () => clearTimeout(timer) };
  }

  private refuse(method: MethodName, peer: string, e: unknown): void {
    const code = isAaeError(e) ? e.code : 'INTERNAL';
    this.o.metrics?.requests.inc({ method, code });
    if (code === 'BACKLOG') this.o.metrics?.backlog.inc();
    if (code === 'NODE_REQUEST_INVALID' || code === 'NODE_CONTRACT_MISMATCH') {
      this.log(logLine('NS003', 'warn', { node: this.o.name, method, peer, error: code, message: (e as Error).message }));
    } else if (code === 'NODE_LIMIT_EXCEEDED') {
      this.log(logLine('NS004', 'warn', { node: this.o.name, method, peer, limit: 'maxInFlightPerClient' }));
    } else if (!isAaeError(e) || e.kind === 'failure') {
      this.log(logLine('NS007', code === 'ABORTED' || code === 'TIMEOUT' || code === 'BACKLOG' ? 'info' : 'error', { node: this.o.name, method, peer, error: code, message: e instanceof Error ? e.message : String(e) }));
    }
  }

  /** A failure while answering a failure: logged, the call ended, the server kept up (never an unhandled rejection). */
  private lastResort(method: MethodName, call: { cancelled: boolean; emit(e: 'error', s: unknown): boolean }, e: unknown): void {
    this.log(logLine('NS007', 'error', { node: this.o.name, method, error: 'INTERNAL', message: e instanceof Error ? e.message : String(e) }));
    try {
      if (!call.cancelled) call.emit('error', { code: 13, details: 'internal error' });
    } catch {
      // the call is gone
    }
  }

  private unary<Req, Ans>(
    method: MethodName,
    decode: (req: unknown) => Req,
    run: (req: Req, options: CallOptions) => Promise<Ans>,
    encode: (ans: Ans) => unknown,
  ): (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void {
    return (call, callback) => {
      const peer = call.getPeer();
      const started = performance.now();
      if (!this.admit(peer)) {
        const e = new AaeError('NODE_LIMIT_EXCEEDED', `node ${this.o.name}: more than ${this.limits.maxInFlightPerClient} requests in flight from this client`);
        this.refuse(method, peer, e);
        callback(toStatus(e));
        return;
      }
      const { signal, done } = this.callSignal(call, method);
      (async () => {
        try {
          const req = decode(undecodable(call.request));
          const ans = await untilAborted(run(req, { signal }), signal);
          const msg = encode(ans);
          this.o.metrics?.requests.inc({ method, code: 'OK' });
          callback(null, msg);
        } catch (e) {
          this.refuse(method, peer, e);
          callback(toStatus(e));
        } finally {
          done();
          this.release(peer);
          this.o.metrics?.latency.observe({ method }, (performance.now() - started) / 1000);
        }
      })().catch((e: unknown) => {
        this.log(logLine('NS007', 'error', { node: this.o.name, method, error: 'INTERNAL', message: e instanceof Error ? e.message : String(e) }));
        try {
          callback({ code: 13, details: 'internal error' });
        } catch {
          // already answered
        }
      });
    };
  }

  private async fold(call: ServerWritableStream<unknown, unknown>): Promise<void> {
    const method: MethodName = 'Fold';
    const peer = call.getPeer();
    const started = performance.now();
    if (!this.admit(peer)) {
      const e = new AaeError('NODE_LIMIT_EXCEEDED', `node ${this.o.name}: more than ${this.limits.maxInFlightPerClient} requests in flight from this client`);
      this.refuse(method, peer, e);
      call.emit('error', toStatus(e));
      return;
    }
    const { signal, done } = this.callSignal(call, method);
    let it: AsyncIterator<unknown> | undefined;
    try {
      const req = decodeFoldRequest(undecodable(call.request));
      it = this.o.node.fold(req, { signal })[Symbol.asyncIterator]();
      for (;;) {
        const r = await untilAborted(it.next(), signal);
        if (r.done === true) break;
        // Flow control: HTTP/2 windows fill when the caller reads slowly; wait before folding on.
        if (!call.write(encodeFoldEvent(r.value as Parameters<typeof encodeFoldEvent>[0]))) await drained(call, signal);
      }
      this.o.metrics?.requests.inc({ method, code: 'OK' });
      call.end();
    } catch (e) {
      this.refuse(method, peer, e);
      if (!call.cancelled) call.emit('error', toStatus(e));
    } finally {
      await it?.return?.(undefined).catch(() => undefined);
      done();
      this.release(peer);
      this.o.metrics?.latency.observe({ method }, (performance.now() - started) / 1000);
    }
  }

  /** Bytes received and sent on every connection so far (TLS records, HTTP/2 frames and all). */
  wireBytes(): { received: number; sent: number } {
    let { received, sent } = this.closedBytes;
    for (const s of this.sockets) {
      received += s.bytesRead;
      sent += s.bytesWritten;
    }
    return { received, sent };
  }

  /** Requests being served now. */
  get requestsInFlight(): number {
    return this.active;
  }

  /**
   * Drains: no new connections or calls; calls in flight finish, or after `graceMs` are cancelled.
   * Resolves when every connection is closed. The node itself is left open (its owner closes it).
   */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log(logLine('NS005', 'info', { node: this.o.name, inFlight: this.active }));
    const listenerClosed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    const force = setTimeout(() => {
      this.grpc.forceShutdown();
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    force.unref();
    await new Promise<void>((resolve) => this.grpc.tryShutdown(() => resolve()));
    clearTimeout(force);
    for (const s of this.sockets) s.destroy();
    await listenerClosed;
    this.log(logLine('NS006', 'info', { node: this.o.name }));
  }
}

