import { z } from 'zod';
import { slotNameSchema } from '../pg/pg-spec.js';

/**
 * The etcd section of a keystore's source spec (source.json): the endpoints, and the key prefix
 * whose keys the keystore keeps (each keystore key is a key's bytes after the prefix; a value
 * hashes as exactly its bytes, as a Redis string does).
 */

const text = (what: string) => z.string({ error: (i) => (i.input === undefined ? 'is required' : `must be ${what}`) });

export const etcdSourceSchema = z.strictObject({
  engine: z.literal('etcd'),
  /** http(s)://host:port of each member (an etcd:// URL is saved as http://). */
  endpoints: z.array(text('a URL').refine((s) => /^https?:\/\/[^\s/]+\/?$/.test(s), { error: 'must be http(s)://host:port' })).min(1),
  /** The keys kept: those that start with this (UTF-8; may be empty: every key). */
  prefix: text('a string'),
  /** Base name of the keystore's subscriptions (rebuilds add _<n>); etcd keeps no subscription state: the revision is the position. */
  slot: slotNameSchema,
});

export type EtcdSourceSpec = z.infer<typeof etcdSourceSchema>;

/** `etcd://h1:2379,h2:2379` (or http(s)://…) → the members' http(s) URLs. */
export function parseEtcdUrl(url: string): string[] | null {
  const m = /^(etcd|etcds|http|https):\/\/([^/\s]+)\/?$/.exec(url.trim());
  if (m === null) return null;
  const scheme = m[1] === 'etcds' || m[1] === 'https' ? 'https' : 'http';
  const hosts = m[2]!.split(',').filter((h) => h !== '');
  return hosts.length === 0 ? null : hosts.map((h) => `${scheme}://${h}`);
}

/** The end of the range of keys that start with `prefix` (etcd's range_end; "\0" for every key). */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
