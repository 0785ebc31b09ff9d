import { dominates, type IndexEntry, type ObjectHead } from '../cluster/index.js';
import { contribution } from '../hash/index.js';
import { decodeHead, type HeadValue } from './codec.js';
import type { KeyFilter } from './key-filter.js';
import { KeySlots } from './key-slots.js';
import { HEAD_SUFFIX_START, KIND_HEAD, KIND_VALUE, indexKey, objectKey, writeObjectKey } from './layout.js';
import type { LocatedKey, StoreParams } from './locate.js';
import { namingNode, type BatchWriter, type NodeDb } from './node-db.js';
import type { TreeCache } from './tree-cache.js';
import type { WriteResult } from './vnode.js';
import { prepareGivenHead, prepareHead, type PlannedWrite } from './write-plan.js';
import { encodeHead } from './head-encoder.js';

/**
 * A vnode's write step: one flush of its write queue (docs/STORE.md, "Writes and trees"). It finds
 * the head each op replaces, writes heads, values and index entries in one LevelDB batch, and only
 * once that batch has landed alters the cached trees, with no await in between: a tree always
 * describes exactly the data of the flushes that completed. The vnode runs one step at a time.
 */

/** What a write step reads and changes of its vnode. */
export interface WriteStepState {
  readonly db: NodeDb;
  readonly vnode: number;
  readonly params: StoreParams;
  readonly cache: TreeCache;
  /** Per keyspace, the keys ever written to it; null: unknown (no clean close yet), so every key is read. */
  readonly filters: Map<number, KeyFilter | null>;
  /** Flushes landed so far: a head read at generation g is current while this is still g. */
  generation: number;
}

const EMPTY = new Uint8Array(0);

/** Key buffers by length, reused by every flush (see putOrDelete); keys longer than this get their own. */
const KEY_BUFFERS_MAX = 512;
const keyBuffers: Array<Uint8Array | undefined> = [];

/** A reused buffer of exactly `length` bytes to build a key in (LevelDB copies keys it is given). */
export function keyBuffer(length: number): Uint8Array {
  if (length > KEY_BUFFERS_MAX) return new Uint8Array(length);
  return (keyBuffers[length] ??= new Uint8Array(length));
}

/** One flush: the old heads, one batch, then the trees. Each op's result is the head it replaced. */
export async function writeStep(vs: WriteStepState, plans: PlannedWrite[]): Promise<WriteResult[]> {
  const n = plans.length;
  // heads[i]: the head op i replaces, for the first op of each key: from the plan's basis when
  // no flush has landed since it was read; null when the keyspace's filter has never seen the
  // key; else from one getMany. A later op of the same key (prior[i] ≥ 0) replaces what the
  // earlier op left, and heads[] holds that once the earlier op is applied.
  const heads: Array<HeadValue | null> = new Array<HeadValue | null>(n).fill(null);
  const prior = new Int32Array(n).fill(-1);
  const toRead: number[] = [];
  // A repeat of a key in this flush always sees "maybe" from the filter (the first op added it),
  // so keys are indexed only from the first op the filter cannot clear: a bulk load of new keys
  // never builds the index.
  let slots: KeySlots | null = null;
  const lastOp: number[] = []; // per slot: the latest op of its key so far
  for (let i = 0; i < n; i++) {
    const plan = plans[i]!;
    const loc = plan.hint.loc;
    const filter = vs.filters.get(loc.keyspace) ?? null;
    // Every put enters the filter (before its batch: a batch that fails leaves a harmless "maybe").
    const unseen = filter !== null && (plan.op.kind !== 'erase' ? filter.addIfAbsent(loc.segment32, loc.alt) : !filter.mayContain(loc.segment32, loc.alt));
    if (!unseen && slots === null) {
      slots = new KeySlots();
      for (let j = 0; j < i; j++) {
        const s = slots.slotOf(plans[j]!.hint.loc);
        if (s === lastOp.length) lastOp.push(j);
        else lastOp[s] = j;
      }
    }
    if (slots !== null) {
      const s = slots.slotOf(loc);
      if (s < lastOp.length) {
        prior[i] = lastOp[s]!;
        lastOp[s] = i;
        continue;
      }
      lastOp.push(i);
    }
    const basis = plan.basis;
    if (basis !== undefined && basis.generation === vs.generation) heads[i] = basis.head;
    else if (!unseen) toRead.push(i);
  }
  if (toRead.length > 0) {
    const raw = await vs.db.getMany(toRead.map((i) => {
      const l = plans[i]!.hint.loc;
      return objectKey(vs.vnode, KIND_HEAD, l.keyspace, l.segment32, l.ckey);
    }));
    raw.forEach((b, j) => {
      if (b === undefined) return;
      try {
        heads[toRead[j]!] = decodeHead(b);
      } catch (e) {
        throw namingNode(e, vs.db.node);
      }
    });
  }

  const batch = vs.db.writer();
  // Tree changes, four numbers an op (keyspace, segment32, old and new contribution; −1: none),
  // applied once the batch has landed.
  const alters = new Float64Array(4 * n);
  let altered = 0;
  const results: WriteResult[] = new Array<WriteResult>(n).fill(null);
  try {
    for (let i = 0; i < n; i++) {
      const plan = plans[i]!;
      const op = plan.op;
      const loc = plan.hint.loc;
      const p = prior[i]!;
      const old = p >= 0 ? heads[p]! : heads[i]!;
      heads[i] = old; // what a later op of this key replaces, unless this op changes it
      results[i] = old;
      const oldC = old === null ? -1 : contribution(old.alt, old.hash);
      let newC = -1;
      if (op.kind === 'erase') {
        if (old === null) continue;
        if (op.ifHash !== undefined && old.hash !== op.ifHash) continue;
        if (op.ifDeleted === true && !old.deleted) continue;
        putOrDelete(vs, batch, loc, null);
        for (const e of old.indexes) batch.del(indexKeyOf(vs, loc, e));
        heads[i] = null;
      } else if (op.kind === 'head') {
        // A valueless head (a keystore's): no value record, no index entries. A key without an
        // old head has no value record either (both are written in one batch): nothing to delete.
        const head = (plan.hint.head ?? prepareGivenHead(op, loc)).value;
        putHead(vs, batch, loc, plan.hint.head?.bytes ?? encodeHead(head), old !== null && op.valueless !== true);
        if (old !== null && old.indexes.length > 0) indexChanges(vs, loc, old.indexes, [], batch);
        newC = contribution(head.alt, head.hash);
        heads[i] = head;
      } else {
        const obj = op.object;
        if (op.ifDominates === true && old !== null && !dominates(obj.clock, old.clock)) continue;
        if (op.ifHeld !== undefined && !holds(old, op.ifHeld)) continue;
        const prepared = plan.hint.head ?? prepareHead(obj, loc, vs.params);
        const head = prepared.value;
        putOrDelete(vs, batch, loc, prepared.bytes, obj.deleted ? null : obj.value);
        if (head.indexes.length > 0 || (old !== null && old.indexes.length > 0)) indexChanges(vs, loc, old?.indexes ?? [], head.indexes, batch);
        newC = contribution(head.alt, head.hash);
        heads[i] = head;
      }
      alters[altered++] = loc.keyspace;
      alters[altered++] = loc.segment32;
      alters[altered++] = oldC;
      alters[altered++] = newC;
    }
  } catch (e) {
    await batch.discard();
    throw e;
  }
  try {
    await batch.write();
  } finally {
    vs.generation++; // landed or not, heads read before now may be stale
  }
  // No await between the batch landing and the trees changing: no reader sees one without the other.
  for (let j = 0; j < altered; j += 4) {
    const o = alters[j + 2]!;
    const c = alters[j + 3]!;
    vs.cache.apply(alters[j]!, alters[j + 1]!, o < 0 ? null : o, c < 0 ? null : c);
  }
  return results;
}

/**
 * Puts (or, with `head` null, deletes) a key's head and value records; `value` null deletes the
 * value record (a tombstone has none). Both keys are built in one reused buffer of the key's
 * exact length: LevelDB copies a key into its batch when it is put (abstract-level keeps no
 * reference while no hook or 'write' listener is attached, and the store attaches none), so the
 * write path allocates no key, not even a view.
 */
function putOrDelete(vs: WriteStepState, batch: BatchWriter, loc: LocatedKey, head: Uint8Array | null, value: Uint8Array | null = null): void {
  const key = keyBuffer(HEAD_SUFFIX_START + loc.ckey.length);
  writeObjectKey(key, vs.vnode, KIND_HEAD, loc.keyspace, loc.segment32, loc.ckey);
  if (head === null) batch.del(key);
  else batch.put(key, head);
  key[3] = KIND_VALUE;
  if (value === null) batch.del(key);
  else batch.put(key, value);
}

/** Puts a key's head record; with `dropValue`, deletes its value record too (see putOrDelete). */
function putHead(vs: WriteStepState, batch: BatchWriter, loc: LocatedKey, head: Uint8Array, dropValue: boolean): void {
  const key = keyBuffer(HEAD_SUFFIX_START + loc.ckey.length);
  writeObjectKey(key, vs.vnode, KIND_HEAD, loc.keyspace, loc.segment32, loc.ckey);
  batch.put(key, head);
  if (!dropValue) return;
  key[3] = KIND_VALUE;
  batch.del(key);
}

function indexKeyOf(vs: WriteStepState, loc: LocatedKey, [name, term]: IndexEntry): Uint8Array {
  return indexKey(vs.vnode, loc.keyspace, loc.bucket, name, term, loc.key);
}

function indexChanges(vs: WriteStepState, loc: LocatedKey, before: readonly IndexEntry[], after: readonly IndexEntry[], batch: BatchWriter): void {
  const id = (e: IndexEntry): string => `${e[0]}\0${e[1]}`;
  const keep = new Set(after.map(id));
  const had = new Set(before.map(id));
  for (const e of before) if (!keep.has(id(e))) batch.del(indexKeyOf(vs, loc, e));
  for (const e of after) if (!had.has(id(e))) batch.put(indexKeyOf(vs, loc, e), EMPTY);
}

/** Whether a vnode's head is exactly the version a decision named (null: it held none). */
export function holds(head: HeadValue | null, version: { hash: number; deleted: boolean } | null): boolean {
  if (head === null || version === null) return head === version;
  return head.hash === version.hash && head.deleted === version.deleted;
}

/** The ObjectHead of a located key's head. */
export function headOf(loc: LocatedKey, h: HeadValue): ObjectHead {
  return { bucket: loc.bucket, key: loc.key, clock: h.clock, deleted: h.deleted, size: h.size, hash: h.hash, indexes: h.indexes };
}
