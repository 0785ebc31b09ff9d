/**
 * A node across the network: NodeService over one gRPC channel to a node server.
 *
 * What the channel does for us (grpc-js): it connects lazily and reconnects with exponential
 * backoff; calls that fail UNAVAILABLE before the node answered anything (a restart, a dropped
 * connection) are retried with backoff by the channel's retry policy (reads, info and folds; never
 * writes, whose answer says what they replaced and would be wrong the second time); keepalive pings
 * find a dead peer on an idle connection; every call has a deadline; a fold is a server stream
 * whose reading drives HTTP/2 flow control, so a fold's caller that takes key batches slowly slows
 * the node rather than filling memory.
 *
 * What it does itself: encode requests (no hint ever leaves: the .proto has no field for one),
 * decode and validate every reply (NODE_REPLY_INVALID), and turn a failed call into the AaeError
 * the node raised or, for a transport failure, one that names this node: NODE_UNAVAILABLE,
 * TIMEOUT, NODE_LIMIT_EXCEEDED, and NET_TLS_MISMATCH when a call found no connection because this
 * client's transport does not fit the node's (diagnose.ts probes to tell which).
 */
import { Client, type CallOptions as GrpcCallOptions, type ClientReadableStream, Metadata } from '@grpc/grpc-js';
import { AaeError } from '../errors.js';
import type {
  CallOptions,
  FoldEvent,
  FoldRequest,
  HeadsAnswer,
  NodeInfo,
  NodeService,
  ObjectsAnswer,
  ReadRequest,
  WriteAnswer,
  WriteRequest,
} from '../node/index.js';
import { parseAddress, requireLoopback, type HostPort } from './address.js';
import {
  decodeFoldEvent,
  decodeHeads,
  decodeInfo,
  decodeObjects,
  decodeWriteAnswer,
  encodeFoldRequest,
  encodeInfoRequest,
  encodeReadRequest,
  encodeWriteRequest,
} from './codec-messages.js';
import { explain, probeConnection } from './diagnose.js';
import { method, SERVICE_NAME, type MethodName } from './proto.js';
import { fromStatus, isTransportFailure } from './status.js';
import { clientSecurity, type Transport } from './tls.js';

export interface RemoteNodeOptions {
  transport: Transport;
  /** Deadline of info, reads and writes (ms). */
  callTimeoutMs?: number;
  /** Deadline of a fold (ms): a fold over a large node's data runs for minutes. */
  foldTimeoutMs?: number;
  /** Largest message sent or received. */
  maxMessageBytes?: number;
  /**
   * Counts what crosses (benchmarks): every request and reply message (`part: 'message'`, its
   * protobuf bytes), and within fold replies the accumulators (`part: 'accumulator'`).
   */
  onBytes?: (t: Traffic) => void;
}

export interface Traffic {
  method: MethodName;
  direction: 'sent' | 'received';
  bytes: number;
  part: 'message' | 'accumulator';
}

export const DEFAULT_CALL_TIMEOUT_MS = 60_000;
export const DEFAULT_FOLD_TIMEOUT_MS = 30 * 60_000;

/** The channel's retry policy (gRPC service config): UNAVAILABLE before any answer, up to 5 attempts, 0.2 s … 2 s apart. */
function serviceConfig(): string {
  const retryPolicy = { maxAttempts: 5, initialBackoff: '0.2s', maxBackoff: '2s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] };
  const names = (['Info', 'ReadHeads', 'ReadObjects', 'Fold'] as const).map((m) => ({ service: SERVICE_NAME, method: m }));
  return JSON.stringify({ methodConfig: [{ name: names, retryPolicy }] });
}

/** How long a finished connection probe answers for later failures too (ms). */
const PROBE_REUSE_MS = 1_000;

export class RemoteNode implements NodeService {
  private readonly client: Client;
  private readonly at: HostPort;
  private readonly callTimeoutMs: number;
  private readonly foldTimeoutMs: number;
  private closed = false;

  constructor(
    readonly name: string,
    readonly address: string,
    private readonly options: RemoteNodeOptions,
  ) {
    const at = parseAddress(address, `node ${name}'s address`);
    if (options.transport.kind === 'insecure') requireLoopback(at, `node ${name}'s address`);
    this.at = at;
    const max = options.maxMessageBytes ?? 64 * 1024 * 1024;
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.foldTimeoutMs = options.foldTimeoutMs ?? DEFAULT_FOLD_TIMEOUT_MS;
    const security = clientSecurity(options.transport, at.host);
    this.client = new Client(address, security.credentials, {
      ...security.options,
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': max,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5_000,
      'grpc.enable_retries': 1,
      'grpc.service_config': serviceConfig(),
      // Channels to one address are not shared between RemoteNodes: each closes its own.
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  private callOptions(timeoutMs: number): GrpcCallOptions {
    return { deadline: Date.now() + timeoutMs };
  }

  private checkOpen(): void {
    if (this.closed) throw new AaeError('STORE_CLOSED', `the connection to node ${this.name} is closed`);
  }

  /**
   * The AaeError for a failed call: the node's own, or for a call that found no connection, what a
   * second attempt finds (diagnose.ts): the node down, or a transport that does not fit its own.
   */
  private async failure(err: Error): Promise<AaeError> {
    return isTransportFailure(err) ? this.diagnose(err.message, err) : fromStatus(err, this.name, this.address);
  }

  /**
   * Why this node cannot be reached, found by dialling it once more (diagnose.ts): NET_TLS_MISMATCH
   * when the transports do not fit, else NODE_UNAVAILABLE whose `details.reason` says what the
   * attempt met ('connects' when it got through). `transport` is the failed call's raw text.
   */
  async diagnose(transport: string, cause?: unknown): Promise<AaeError> {
    // Calls that fail together (a compare has dozens in flight to one node) share one probe: one
    // extra connection to the node, not one each. A probe is reused for PROBE_REUSE_MS after it ends.
    const now = Date.now();
    if (this.lastProbe === null || (this.lastProbe.endedAt !== null && now - this.lastProbe.endedAt > PROBE_REUSE_MS)) {
      const entry: { probe: ReturnType<typeof probeConnection>; endedAt: number | null } = { probe: probeConnection(this.at, this.options.transport), endedAt: null };
      const ended = (): void => {
        entry.endedAt = Date.now();
      };
      void entry.probe.then(ended, ended);
      this.lastProbe = entry;
    }
    const probe = await this.lastProbe.probe;
    return explain(probe, this.name, this.at, this.address, this.options.transport.kind === 'tls', transport, cause);
  }

  /** The latest connection probe (diagnose), shared by the calls that fail while it runs and just after. */
  private lastProbe: { probe: ReturnType<typeof probeConnection>; endedAt: number | null } | null = null;

  private unary<Ans>(name: MethodName, request: unknown, decode: (reply: unknown) => Ans, options: CallOptions | undefined): Promise<Ans> {
    this.checkOpen();
    const def = method(name);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AaeError('ABORTED', `call to node ${this.name} aborted`, { cause: signal.reason }));
    return new Promise<Ans>((resolve, reject) => {
      const serialize = (v: unknown): Buffer => {
        const b = def.requestSerialize(v);
        this.options.onBytes?.({ method: name, direction: 'sent', bytes: b.length, part: 'message' });
        return b;
      };
      const deserialize = (b: Buffer): unknown => {
        this.options.onBytes?.({ method: name, direction: 'received', bytes: b.length, part: 'message' });
        return def.responseDeserialize(b);
      };
      const call = this.client.makeUnaryRequest(def.path, serialize, deserialize, request, new Metadata(), this.callOptions(this.callTimeoutMs), (err, reply) => {
        signal?.removeEventListener('abort', onAbort);
        if (err !== null) {
          if (signal?.aborted) reject(new AaeError('ABORTED', `call to node ${this.name} aborted`, { cause: signal.reason }));
          else void this.failure(err).then(reject, reject);
          return;
        }
        try {
          resolve(decode(reply));
        } catch (e) {
          reject(e instanceof AaeError ? new AaeError(e.code, `node ${this.name} (${this.address}): ${e.message}`, { cause: e, details: { ...e.details, node: this.name } }) : e);
        }
      });
      const onAbort = (): void => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  info(options?: CallOptions): Promise<NodeInfo> {
    return this.unary('Info', encodeInfoRequest(), decodeInfo, options);
  }

  readHeads(request: ReadRequest, options?: CallOptions): Promise<HeadsAnswer> {
    return this.unary('ReadHeads', encodeReadRequest(request), (r) => decodeHeads(r, request.keys.length), options);
  }

  readObjects(request: ReadRequest, options?: CallOptions): Promise<ObjectsAnswer> {
    return this.unary('ReadObjects', encodeReadRequest(request), (r) => decodeObjects(r, request.keys.length), options);
  }

  write(request: WriteRequest, options?: CallOptions): Promise<WriteAnswer> {
    return this.unary('Write', encodeWriteRequest(request), (r) => decodeWriteAnswer(r, request.noResult === true ? 0 : request.writes.length), options);
  }

  fold(request: FoldRequest, options?: CallOptions): AsyncIterable<FoldEvent> {
    return this.runFold(request, options?.signal);
  }

  private async *runFold(request: FoldRequest, signal: AbortSignal | undefined): AsyncGenerator<FoldEvent> {
    this.checkOpen();
    const def = method('Fold');
    const message = encodeFoldRequest(request);
    if (signal?.aborted) throw new AaeError('ABORTED', `fold on node ${this.name} aborted`, { cause: signal.reason });
    const serialize = (v: unknown): Buffer => {
      const b = def.requestSerialize(v);
      this.options.onBytes?.({ method: 'Fold', direction: 'sent', bytes: b.length, part: 'message' });
      return b;
    };
    const deserialize = (b: Buffer): unknown => {
      this.options.onBytes?.({ method: 'Fold', direction: 'received', bytes: b.length, part: 'message' });
      return def.responseDeserialize(b);
    };
    const call: ClientReadableStream<unknown> = this.client.makeServerStreamRequest(def.path, serialize, deserialize, message, new Metadata(), this.callOptions(this.foldTimeoutMs));
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    let finished = false;
    try {
      for await (const reply of call) {
        const event = decodeFoldEvent(reply);
        if (event.kind === 'result') this.options.onBytes?.({ method: 'Fold', direction: 'received', bytes: event.acc.length, part: 'accumulator' });
        yield event;
        if (event.kind === 'result') {
          finished = true;
          return;
        }
      }
      finished = true;
    } catch (e) {
      if (signal?.aborted) throw new AaeError('ABORTED', `fold on node ${this.name} aborted`, { cause: signal.reason });
      if (e instanceof AaeError) throw new AaeError(e.code, `node ${this.name} (${this.address}): ${e.message}`, { cause: e, details: { ...e.details, node: this.name } });
      throw await this.failure(e as Error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // A consumer that stopped early (or a failure) ends the node's fold too.
      if (!finished) call.cancel();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}
