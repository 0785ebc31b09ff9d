import { randomBytes } from 'node:crypto';
import { AaeError } from '../../errors.js';
import { createKeystore, keystoreNameOf } from '../keystore.js';
import { DEFAULT_MAX_STOPPED_MS, DEFAULT_REBUILD_EVERY_MS, DEFAULT_REBUILD_JITTER_MS, parseSourceSpec, type SourceSpec } from '../source-spec.js';
import { EtcdChangeSource } from './etcd-source.js';
import { parseEtcdUrl } from './etcd-spec.js';

/**
 * `aae connect <dir> etcd://host:port --prefix P [--bucket NAME]`: checks that the cluster answers
 * and the prefix can be read, and makes the keystore directory; the first `aae follow` builds it.
 */

export interface EtcdConnectOptions {
  url: string;
  prefix: string;
  /** cluster.json's `name`: what compare, status and sync call the keystore (default: the directory's basename). */
  name?: string;
  bucket?: string;
  slot?: string;
  rebuildEveryMs?: number;
  rebuildJitterMs?: number;
  maxStoppedMs?: number;
}

export async function connectEtcd(dir: string, options: EtcdConnectOptions): Promise<SourceSpec> {
  const name = keystoreNameOf(dir, options.name); // refused before the source is asked anything
  const endpoints = parseEtcdUrl(options.url);
  if (endpoints === null) throw new AaeError('CONNECT_SPEC_INVALID', `source.endpoints: '${options.url}' is not etcd://host:port[,host:port…] (or http(s)://)`, { details: { fields: ['source.endpoints'] } });
  const bucket = options.bucket ?? options.prefix.replace(/^\/+|[/:]+$/g, '');
  if (bucket === '') throw new AaeError('CONNECT_SPEC_INVALID', `bucket: the prefix '${options.prefix}' gives no bucket name: give --bucket`, { details: { fields: ['bucket'] } });
  const spec = parseSourceSpec(
    {
      version: 1,
      bucket,
      rebuildEveryMs: options.rebuildEveryMs ?? DEFAULT_REBUILD_EVERY_MS,
      rebuildJitterMs: options.rebuildJitterMs ?? DEFAULT_REBUILD_JITTER_MS,
      maxStoppedMs: options.maxStoppedMs ?? DEFAULT_MAX_STOPPED_MS,
      source: { engine: 'etcd', endpoints, prefix: options.prefix, slot: options.slot ?? `aae_${randomBytes(4).toString('hex')}` },
    },
    "the new keystore's spec",
  );
  const source = new EtcdChangeSource(spec.source as Extract<SourceSpec['source'], { engine: 'etcd' }>);
  try {
    await source.revision();
  } finally {
    await source.close();
  }
  await createKeystore(dir, spec, { name });
  return spec;
}
