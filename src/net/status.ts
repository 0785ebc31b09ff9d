/**
 * Errors across the wire. A server answers an AaeError with a gRPC status chosen by its code and
 * the code itself in the trailer `aae-code` (with `aae-details-bin`, the error's details as UTF-8 JSON); a
 * client turns the status back into the same AaeError, naming the node. A failure the server did
 * not code (a bug) crosses as INTERNAL without its stack. Statuses that come from the transport,
 * not from the node — the node unreachable, the deadline passed, a message over the size limit —
 * become NODE_UNAVAILABLE, TIMEOUT and NODE_LIMIT_EXCEEDED; the client finds out why a node was
 * unreachable, and whether the transports do not fit (NET_TLS_MISMATCH), in diagnose.ts.
 */
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { AaeError, ERROR_CODES, type AaeErrorCode } from '../errors.js';
import { notPlainData } from '../node/index.js';

const CODE_KEY = 'aae-code';
/** Binary (-bin) metadata: details may hold any text, and a string value must be printable ASCII. */
const DETAILS_KEY = 'aae-details-bin';
/** Details larger than this stay on the server (a list of a million missing keys is not a trailer). */
const MAX_DETAILS_BYTES = 4096;

export interface WireStatus {
  code: Status;
  details: string;
  metadata: Metadata;
}

export function statusOfCode(code: AaeErrorCode): Status {
  switch (code) {
    case 'NODE_CONTRACT_MISMATCH':
      return Status.FAILED_PRECONDITION;
    case 'BACKLOG':
    case 'NODE_LIMIT_EXCEEDED':
      return Status.RESOURCE_EXHAUSTED;
    case 'TIMEOUT':
      return Status.DEADLINE_EXCEEDED;
    case 'ABORTED':
      return Status.CANCELLED;
    case 'STORE_CLOSED':
    case 'NODE_UNAVAILABLE':
      return Status.UNAVAILABLE;
    default:
      return ERROR_CODES[code] === 'input' ? Status.INVALID_ARGUMENT : Status.INTERNAL;
  }
}

/** The status a server answers for `e`. */
export function toStatus(e: unknown): WireStatus {
  const metadata = new Metadata();
  if (e instanceof AaeError) {
    metadata.set(CODE_KEY, e.code);
    if (e.details !== undefined && notPlainData(e.details) === null) {
      const json = JSON.stringify(e.details);
      if (json !== undefined && json.length <= MAX_DETAILS_BYTES) metadata.set(DETAILS_KEY, Buffer.from(json, 'utf8'));
    }
    return { code: statusOfCode(e.code), details: e.message, metadata };
  }
  metadata.set(CODE_KEY, 'INTERNAL');
  return { code: Status.INTERNAL, details: `internal error: ${e instanceof Error ? e.message : String(e)}`, metadata };
}

function metadataString(md: Metadata | undefined, key: string): string | undefined {
  const v = md?.get(key)[0];
  return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

/**
 * A call that failed in the transport, before any node answered: UNAVAILABLE without the node's
 * code. Its cause is for a probe to find (diagnose.ts); gRPC's own text is only raw detail.
 */
export function isTransportFailure(err: ServiceError | Error): boolean {
  const e = err as Partial<ServiceError>;
  return e.code === Status.UNAVAILABLE && metadataString(e.metadata, CODE_KEY) === undefined;
}

/** The AaeError a client reports for a failed call to `node` at `address`. */
export function fromStatus(err: ServiceError | Error, node: string, address: string): AaeError {
  const e = err as Partial<ServiceError>;
  const md = e.metadata;
  const coded = metadataString(md, CODE_KEY);
  const where = `node ${node} (${address})`;
  const base = { node, address };
  if (coded !== undefined && coded in ERROR_CODES) {
    let details: Record<string, unknown> = base;
    const raw = metadataString(md, DETAILS_KEY);
    if (raw !== undefined) {
      try {
        const parsed = JSON.parse(raw) as unknown;
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) details = { ...(parsed as Record<string, unknown>), ...base };
      } catch {
        // details are a courtesy: a bad trailer loses them, not the error
      }
    }
    return new AaeError(coded as AaeErrorCode, `${where}: ${e.details ?? err.message}`, { cause: err, details });
  }
  const text = e.details ?? err.message;
  switch (e.code) {
    case Status.DEADLINE_EXCEEDED:
      return new AaeError('TIMEOUT', `${where} did not answer before the deadline`, { cause: err, details: base });
    case Status.CANCELLED:
      return new AaeError('ABORTED', `${where}: call cancelled`, { cause: err, details: base });
    case Status.RESOURCE_EXHAUSTED:
      return new AaeError('NODE_LIMIT_EXCEEDED', `${where}: ${text}`, { cause: err, details: base });
    case Status.UNIMPLEMENTED:
      return new AaeError('NODE_CONTRACT_MISMATCH', `${where} does not serve this method: ${text}`, { cause: err, details: base });
    case Status.INVALID_ARGUMENT:
      return new AaeError('NODE_REQUEST_INVALID', `${where}: ${text}`, { cause: err, details: base });
    case Status.INTERNAL:
    case Status.UNKNOWN:
      return new AaeError('NODE_REPLY_INVALID', `${where} failed: ${text}`, { cause: err, details: base });
    default:
      // UNAVAILABLE (refused, reset, TLS refused, the node shutting down) and anything else. The
      // client probes to say why (diagnose.ts); this is the message when it cannot.
      return new AaeError('NODE_UNAVAILABLE', `${where} is unavailable: the connection failed`, { cause: err, details: { ...base, transport: text } });
  }
}
