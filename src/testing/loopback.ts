/**
 * The loopback codec: a NodeService that reaches another NodeService only through bytes. Every
 * request is checked to be plain data, encoded with msgpack, decoded, and handed to the node;
 * every answer (each fold event too, and every error) goes back the same way. A suite run through
 * it proves that the node contract crosses a socket: a class instance, an out-parameter or a
 * callback in a request or answer fails loudly here (PLAIN_DATA), and an answer that only worked by
 * sharing memory with the caller breaks.
 *
 * It also counts what crossed, by method, so a test can show that a fold's data stayed on the node
 * (only accumulators and handed-over keys travel).
 */
import { Packr } from 'msgpackr';
import { AaeError, ERROR_CODES, type AaeErrorCode } from '../errors.js';
import { notPlainData, type CallOptions, type FoldEvent, type FoldRequest, type NodeService, type ReadRequest, type WriteRequest } from '../node/index.js';

export { notPlainData };

const packr = new Packr({ structuredClone: false, useRecords: false, moreTypes: true });

export interface LoopbackStats {
  /** Calls made, by method. */
  calls: Record<string, number>;
  /** Bytes of encoded requests and answers (fold: every event), by method. */
  bytes: Record<string, number>;
}

export interface LoopbackNode extends NodeService {
  readonly stats: LoopbackStats;
}

/** Encodes after checking that `value` is plain data; throws a TypeError naming the first part that is not. */
export function encodePlain(value: unknown, what: string): Uint8Array {
  const bad = notPlainData(value);
  if (bad !== null) throw new TypeError(`${what} is not plain data: ${bad}`);
  return packr.pack(value);
}

export function decodePlain<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

function encodeError(e: unknown): Uint8Array {
  if (e instanceof AaeError) return packr.pack({ code: e.code, message: e.message, details: plainOrNull(e.details) });
  return packr.pack({ message: e instanceof Error ? e.message : String(e) });
}

function plainOrNull(v: unknown): unknown {
  return notPlainData(v) === null ? v : null;
}

function decodeError(bytes: Uint8Array): Error {
  const e = packr.unpack(bytes) as { code?: string; message: string; details?: Record<string, unknown> | null };
  if (e.code !== undefined && e.code in ERROR_CODES) return new AaeError(e.code as AaeErrorCode, e.message, e.details === null || e.details === undefined ? {} : { details: e.details });
  return new Error(e.message);
}

/** A NodeService that reaches `node` only through encoded bytes (see the file comment). */
export function loopbackNode(node: NodeService): LoopbackNode {
  const stats: LoopbackStats = { calls: {}, bytes: {} };
  const count = (method: string, bytes: number): void => {
    stats.bytes[method] = (stats.bytes[method] ?? 0) + bytes;
  };
  async function call<Req, Ans>(method: string, request: Req, run: (req: Req) => Promise<Ans>): Promise<Ans> {
    stats.calls[method] = (stats.calls[method] ?? 0) + 1;
    const reqBytes = encodePlain(request, `${method} request`);
    count(method, reqBytes.length);
    let answer: Uint8Array;
    try {
      answer = encodePlain(await run(decodePlain<Req>(reqBytes)), `${method} answer`);
    } catch (e) {
      if (e instanceof TypeError && e.message.includes('is not plain data')) throw e;
      throw decodeError(encodeError(e));
    }
    count(method, answer.length);
    return decodePlain<Ans>(answer);
  }
  return {
    stats,
    info: (options?: CallOptions) => call('info', {}, () => node.info(options)),
    readHeads: (request: ReadRequest, options?: CallOptions) => call('readHeads', request, (r) => node.readHeads(r, options)),
    readObjects: (request: ReadRequest, options?: CallOptions) => call('readObjects', request, (r) => node.readObjects(r, options)),
    write: (request: WriteRequest, options?: CallOptions) => call('write', request, (r) => node.write(r, options)),
    fold: (request: FoldRequest, options?: CallOptions) => foldThrough(node, request, options, stats, count),
    close: () => node.close(),
  };
}

async function* foldThrough(
  node: NodeService,
  request: FoldRequest,
  options: CallOptions | undefined,
  stats: LoopbackStats,
  count: (method: string, bytes: number) => void,
): AsyncGenerator<FoldEvent> {
  stats.calls['fold'] = (stats.calls['fold'] ?? 0) + 1;
  const reqBytes = encodePlain(request, 'fold request');
  count('fold', reqBytes.length);
  const events = node.fold(decodePlain<FoldRequest>(reqBytes), options);
  const it = events[Symbol.asyncIterator]();
  try {
    for (;;) {
      let r: IteratorResult<FoldEvent>;
      try {
        r = await it.next();
      } catch (e) {
        throw decodeError(encodeError(e));
      }
      if (r.done === true) return;
      const bytes = encodePlain(r.value, `fold event ${r.value.kind}`);
      count('fold', bytes.length);
      yield decodePlain<FoldEvent>(bytes);
    }
  } finally {
    await it.return?.();
  }
}
