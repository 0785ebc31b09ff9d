/**
 * Checks for decoded protobuf messages. The loader hands over plain objects whose fields are
 * whatever the bytes said (or defaults); these checks turn them into typed values or throw an
 * AaeError naming the field. A server checks requests (NODE_REQUEST_INVALID), a client checks
 * replies (NODE_REPLY_INVALID): the Checker carries which, and what is being decoded.
 */
import { AaeError, type AaeErrorCode } from '../errors.js';

export class Checker {
  constructor(
    readonly code: Extract<AaeErrorCode, 'NODE_REQUEST_INVALID' | 'NODE_REPLY_INVALID'>,
    readonly what: string,
  ) {}

  fail(path: string, message: string): never {
    throw new AaeError(this.code, `${this.what}: ${path} ${message}`, { details: { field: path } });
  }

  object(v: unknown, path: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) this.fail(path, 'must be a message');
    return v as Record<string, unknown>;
  }

  /** A sub-message that may be absent (null/undefined). */
  optional(v: unknown, path: string): Record<string, unknown> | null {
    return v === null || v === undefined ? null : this.object(v, path);
  }

  string(v: unknown, path: string, max = 1 << 20): string {
    if (typeof v !== 'string') this.fail(path, 'must be a string');
    if (v.length > max) this.fail(path, `is longer than ${max}`);
    return v;
  }

  bool(v: unknown, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(path, 'must be a boolean');
    return v;
  }

  /** A uint32 or a safe uint64, at most `max`. */
  uint(v: unknown, path: string, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(path, 'must be a non-negative safe integer');
    if (v > max) this.fail(path, `must be at most ${max}`);
    return v;
  }

  /** A finite number (a double). */
  number(v: unknown, path: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, 'must be a finite number');
    return v;
  }

  bytes(v: unknown, path: string): Uint8Array {
    if (!(v instanceof Uint8Array)) this.fail(path, 'must be bytes');
    return v;
  }

  array(v: unknown, path: string, max = Number.MAX_SAFE_INTEGER): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'must be a list');
    if (v.length > max) this.fail(path, `has more than ${max} items`);
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(path, `must be one of ${allowed.join(', ')}`);
    return v as T;
  }
}
