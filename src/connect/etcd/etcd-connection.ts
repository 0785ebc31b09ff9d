import { Etcd3 } from 'etcd3';
import { AaeError, messageOf } from '../../errors.js';

/**
 * A client for an etcd cluster (the `etcd3` package, over gRPC), and errors mapped to the
 * keystore's codes. Retries are off: a follower decides itself what a failure means (a lost
 * connection is retried from the checkpoint; a compacted revision is a gap).
 */

const DIAL_TIMEOUT_MS = 5_000;

export function etcdClient(endpoints: readonly string[]): Etcd3 {
  return new Etcd3({ hosts: [...endpoints], dialTimeout: DIAL_TIMEOUT_MS, faultHandling: { host: () => noRetry, global: noRetry } as never });
}

// A cockatiel policy that runs the call once (etcd3's default retries three times and marks hosts down).
const noRetry = { execute: async <T>(fn: () => Promise<T> | T): Promise<T> => fn() };

export function isCompacted(e: unknown): boolean {
  return e instanceof Error && /compacted/i.test(e.message);
}

export function etcdError(e: unknown, what: string): AaeError {
  if (e instanceof AaeError) return e;
  const msg = messageOf(e);
  if (/permission denied|authentication|user name is empty|invalid auth/i.test(msg)) return new AaeError('SOURCE_INVALID', `${what}: ${msg} (check the etcd user and its role's permissions on the prefix)`, { cause: e });
  return new AaeError('SOURCE_UNAVAILABLE', `${what}: ${msg}`, { cause: e });
}
