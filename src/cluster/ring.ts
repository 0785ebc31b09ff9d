import { AaeError } from '../errors.js';
import { canonicalKey, partitionHash } from '../hash/index.js';

/**
 * The ring: `ringSize` partitions (a power of two, 8…1024) and `nVal` replicas.
 *
 * A key's keyspace k is the top log2(ringSize) bits of its partition hash (so keyspaces are equal
 * slices of the 32-bit hash space, as Riak slices its 160-bit one). The key lives on vnodes
 * k, k+1, …, k+nVal−1 (mod ringSize): its preflist. Vnode v therefore holds keyspaces
 * v, v−1, …, v−nVal+1. An IndexN is (keyspace, nVal): the unit each vnode keeps a tree for.
 */

export const MIN_RING_SIZE = 8;
export const MAX_RING_SIZE = 1024;
/** nVal above 5 buys nothing in practice and makes claim impossible on small clusters. */
export const MAX_N_VAL = 5;

export interface RingParams {
  ringSize: number;
  nVal: number;
}

export interface IndexN {
  keyspace: number;
  nVal: number;
}

export function validateRing({ ringSize, nVal }: RingParams): void {
  if (!Number.isInteger(ringSize) || ringSize < MIN_RING_SIZE || ringSize > MAX_RING_SIZE || (ringSize & (ringSize - 1)) !== 0) {
    throw new AaeError('RING_INVALID', `ring size must be a power of two in ${MIN_RING_SIZE}..${MAX_RING_SIZE}, got ${ringSize}`);
  }
  if (!Number.isInteger(nVal) || nVal < 1 || nVal > MAX_N_VAL) {
    throw new AaeError('RING_INVALID', `nVal must be an integer in 1..${MAX_N_VAL}, got ${nVal}`);
  }
}

/** The keyspace of a partition hash: its top log2(ringSize) bits. */
export function keyspaceOfHash(partitionHash32: number, ringSize: number): number {
  const bits = 31 - Math.clz32(ringSize);
  return bits === 0 ? 0 : partitionHash32 >>> (32 - bits);
}

export function keyspaceOf(bucket: string, key: Uint8Array, ringSize: number): number {
  return keyspaceOfHash(partitionHash(canonicalKey(bucket, key)), ringSize);
}

/** The vnodes holding keyspace k: k, k+1, …, k+nVal−1 (mod ringSize). */
export function preflist(keyspace: number, { ringSize, nVal }: RingParams): number[] {
  const out: number[] = [];
  for (let i = 0; i < nVal; i++) out.push((keyspace + i) % ringSize);
  return out;
}

/** The keyspaces vnode v holds: v, v−1, …, v−nVal+1 (mod ringSize). */
export function keyspacesOfVnode(vnode: number, { ringSize, nVal }: RingParams): number[] {
  const out: number[] = [];
  for (let i = 0; i < nVal; i++) out.push((vnode - i + ringSize) % ringSize);
  return out;
}

export function indexNsOfVnode(vnode: number, ring: RingParams): IndexN[] {
  return keyspacesOfVnode(vnode, ring).map((keyspace) => ({ keyspace, nVal: ring.nVal }));
}
