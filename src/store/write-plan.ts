import { validateClock, validateIndexEntry, validateObjectKey, versionHash, type AaeObject } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import type { HeadValue } from './codec.js';
import { encodeHead } from './head-encoder.js';
import type { LocatedKey, StoreParams } from './locate.js';
import type { VnodeWrite } from './vnode.js';

/**
 * Writes as the vnode's flush consumes them: located, validated, with the new head encoded once
 * (a cluster shares it among a key's replicas) and, when known, the old head it replaces.
 */

const EMPTY = new Uint8Array(0);

/**
 * A write with its key located; optionally its new head prepared and its old head known. It has
 * the shape of the node contract's WriteEntry with its hint present ({op, basis, hint: {loc,
 * head}}), so a node hands a coordinator's entries to its vnode as they are, without a copy per
 * replica. @internal
 */
export interface PlannedWrite {
  op: VnodeWrite;
  /** The old head as read at `generation` (readHeads); used only if no flush has landed since. */
  basis: { generation: number; head: HeadValue | null } | undefined;
  hint: {
    loc: LocatedKey;
    /** The new head and its bytes (the same for every replica, so a cluster makes them once). */
    head: PreparedHead | undefined;
  };
}

/**
 * A PlannedWrite with every field present, always in one order: the flush reads millions of
 * these, and objects of one shape keep its property loads monomorphic (spreads and optional
 * fields made them megamorphic: measured ~15% of a bulk load's time).
 */
export function planWrite(op: VnodeWrite, loc: LocatedKey, head: PreparedHead | undefined, basis: PlannedWrite['basis']): PlannedWrite {
  return { op, basis, hint: { loc, head } };
}

export interface PreparedHead {
  value: HeadValue;
  bytes: Uint8Array;
}

/** The head an object version stores, and its bytes. */
export function prepareHead(obj: AaeObject, loc: LocatedKey, params: StoreParams): PreparedHead {
  const value = obj.deleted ? EMPTY : obj.value;
  const head: HeadValue = {
    clock: obj.clock,
    deleted: obj.deleted,
    size: value.byteLength,
    hash: versionHash(obj, params.hashMethod, params.seed),
    alt: loc.alt,
    indexes: obj.deleted ? [] : obj.indexes,
  };
  return { value: head, bytes: encodeHead(head) };
}

/** The head a `head` write stores: its hash and size as given, no value, no index entries. */
export function prepareGivenHead(w: Extract<VnodeWrite, { kind: 'head' }>, loc: LocatedKey): PreparedHead {
  const head: HeadValue = { clock: w.clock, deleted: w.deleted, size: w.size, hash: w.hash, alt: loc.alt, indexes: [] };
  return { value: head, bytes: encodeHead(head) };
}

export function validateWrite(w: VnodeWrite): void {
  if (w.kind === 'erase') {
    validateObjectKey(w);
    return;
  }
  if (w.kind === 'head') {
    validateObjectKey(w);
    validateClock(w.clock);
    if (!Number.isInteger(w.hash) || w.hash < 0 || w.hash > 0xffff_ffff) throw new AaeError('INVALID_ARGUMENT', `a head's hash must be a u32, got ${w.hash}`);
    if (!Number.isSafeInteger(w.size) || w.size < 0) throw new AaeError('INVALID_ARGUMENT', `a head's size must be a non-negative integer, got ${w.size}`);
    if (typeof w.deleted !== 'boolean') throw new AaeError('INVALID_ARGUMENT', "a head's deleted flag must be a boolean");
    return;
  }
  const o = w.object;
  validateObjectKey(o);
  if (!(o.value instanceof Uint8Array)) throw new AaeError('INVALID_ARGUMENT', 'value must be bytes');
  validateClock(o.clock);
  for (const e of o.indexes) validateIndexEntry(e);
}
