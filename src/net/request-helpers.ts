/**
 * What the node server's handlers share: request deserializers that never throw (a request that
 * is not a message reaches the handler and is refused like any invalid one), and waits that end
 * when a call's signal fires.
 */
import type { MethodDefinition, ServerWritableStream, ServiceDefinition } from '@grpc/grpc-js';
import { AaeError } from '../errors.js';
import { nodeService } from './proto.js';
import { raceAbort } from '../abort.js';

/** What a request that is not a protobuf message of its type deserializes to (see tolerantService). */
class Undecodable {
  constructor(readonly error: unknown) {}
}

/**
 * The Node service with deserializers that never throw: bytes that are not a message of the
 * method's request type become an Undecodable, which the handler refuses like any invalid request
 * (NODE_REQUEST_INVALID, INVALID_ARGUMENT, an NS003 line). Left to throw, grpc-js would answer
 * INTERNAL (or reset a stream) without our handler ever hearing of it.
 */
export function tolerantService(): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(nodeService())) {
    const d = def as MethodDefinition<unknown, unknown>;
    out[name] = {
      ...d,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return d.requestDeserialize(bytes);
        } catch (e) {
          return new Undecodable(e);
        }
      },
    };
  }
  return out as ServiceDefinition;
}

/** The request as decoded, or a refusal when its bytes were not a message (NODE_REQUEST_INVALID). */
export function undecodable(request: unknown): unknown {
  if (request instanceof Undecodable) {
    const why = request.error instanceof Error ? request.error.message : String(request.error);
    throw new AaeError('NODE_REQUEST_INVALID', `the request's bytes are not a protobuf message of its type: ${why}`);
  }
  return request;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason instanceof Error ? signal.reason : new AaeError('ABORTED', 'aborted');
}

/** Settles with `p`, or rejects with the signal's reason as soon as it fires. */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return raceAbort(p, signal, abortReason);
}

export function drained(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return untilAborted(new Promise<void>((resolve) => call.once('drain', () => resolve())), signal);
}
