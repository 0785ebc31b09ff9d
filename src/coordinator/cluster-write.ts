import {
  MAX_TIME_MS,
  increment,
  isValidTime,
  keyToBytes,
  makeClock,
  mergeClocks,
  normaliseIndexes,
  textValueBytes,
  validateObjectKey,
  type AaeObject,
  type Clock,
  type ClusterSpec,
  type IndexEntry,
} from '../cluster/index.js';
import { AaeError } from '../errors.js';
import type { Head, HeadsAnswer, KeyLoc, WriteBasis, WriteEntry, WriteOp } from '../node/index.js';
import { KeySlots, locateKey, prepareHead } from '../store/index.js';

/**
 * A cluster write before it reaches the nodes: an item validated into a PreparedPut, then a flush
 * of them planned into each replica's writes (the cluster sends those to the nodes that own the
 * replicas; see cluster.ts for the ordering around it).
 */

export interface PutItem {
  bucket: string;
  key: string | Uint8Array;
  /** UTF-8 text or bytes; empty when absent (and always for a tombstone). */
  value?: string | Uint8Array;
  /** Store exactly this clock (normalised). Absent: a new version by the cluster's actor. */
  clock?: Clock;
  /** Write a tombstone. */
  deleted?: boolean;
  indexes?: readonly IndexEntry[];
  /** The time of a new version (ms); default Date.now(). Ignored when `clock` is given. */
  lastModified?: number;
  /** Write only the first K replicas of the preflist (1 ≤ K ≤ nVal). Default nVal. */
  replicas?: number;
}

/** An item validated and normalised (the clock too), ready for a flush. @internal */
export interface PreparedPut {
  bucket: string;
  key: Uint8Array;
  value: Uint8Array;
  clock: Clock | null;
  deleted: boolean;
  indexes: IndexEntry[];
  now: number;
  replicas: number;
}

const EMPTY = new Uint8Array(0);

/** Validates and normalises one item: INVALID_ARGUMENT, KEY_INVALID or CLOCK_INVALID if it is bad. */
export function prepareItem(item: PutItem, spec: ClusterSpec): PreparedPut {
  const key = keyToBytes(item.key);
  validateObjectKey({ bucket: item.bucket, key });
  const deleted = item.deleted ?? false;
  const value = deleted || item.value === undefined ? EMPTY : typeof item.value === 'string' ? textValueBytes(item.value) : item.value;
  if (!(value instanceof Uint8Array)) throw new AaeError('INVALID_ARGUMENT', 'value must be a string or bytes');
  const replicas = item.replicas ?? spec.nVal;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > spec.nVal) {
    throw new AaeError('INVALID_ARGUMENT', `replicas must be an integer in 1..${spec.nVal}, got ${replicas}`);
  }
  const clock = item.clock === undefined ? null : makeClock(item.clock.entries, item.clock.lastModified);
  const now = item.lastModified ?? Date.now();
  if (!isValidTime(now)) throw new AaeError('INVALID_ARGUMENT', `lastModified must be an integer in 0..${MAX_TIME_MS} (ms since the epoch), got ${now}`);
  const indexes = deleted ? [] : normaliseIndexes(item.indexes ?? []);
  return { bucket: item.bucket, key, value, clock, deleted, indexes, now, replicas };
}

/** Reads one vnode's heads of some located keys (the node contract's readHeads). */
export type ReadHeads = (vnode: number, locs: readonly KeyLoc[]) => Promise<HeadsAnswer>;

/**
 * Plans one cluster flush. Clockless items need the clocks every replica holds: those heads are
 * read once per replica (readHeads), the new clocks minted, and the heads read passed on as each
 * write's basis, so a vnode does not read them again. Each object's head is encoded once for all
 * its replicas (a hint its node may use). Returns the stored objects (in item order) and each
 * vnode's writes.
 */
export async function planFlush(
  items: readonly PreparedPut[],
  spec: ClusterSpec,
  preflists: ReadonlyArray<readonly number[]>,
  readHeads: ReadHeads,
): Promise<{ out: AaeObject[]; perVnode: Map<number, WriteEntry[]> }> {
  const n = items.length;
  const locs = items.map((it) => locateKey(it.bucket, it.key, spec));
  const pref = locs.map((l) => preflists[l.keyspace]!);

  // A clockless item mints from what every replica of its key holds when it lands, exactly as if
  // each item were a flush of its own (so the clocks a load makes do not depend on where its
  // batches split). Per key with a clockless item (a slot), rep[r] is the clock the replica at
  // preflist position r holds so far: first what the reads find, then each item of the flush in
  // turn: a clocked item sets the replicas it writes to its clock, a clockless one mints on top of
  // the merge of all of them and sets its replicas to that. The heads are read once per replica,
  // at the key's first clockless item. A flush with no clockless item reads nothing and needs no
  // slots.
  const slots = new KeySlots();
  const slotOf = new Int32Array(n).fill(-1);
  const reps: Array<Array<Clock | null>> = [];
  const read: boolean[] = []; // per slot: its heads are being read
  const reads = new Map<number, number[]>(); // vnode → item indexes
  const anyClockless = items.some((it) => it.clock === null);
  for (let i = 0; anyClockless && i < n; i++) {
    const s = slots.slotOf(locs[i]!);
    slotOf[i] = s;
    if (s === reps.length) {
      reps.push(new Array<Clock | null>(spec.nVal).fill(null));
      read.push(false);
    }
    if (items[i]!.clock !== null || read[s]) continue;
    read[s] = true;
    for (const v of pref[i]!) {
      let list = reads.get(v);
      if (list === undefined) reads.set(v, (list = []));
      list.push(i);
    }
  }
  // vnode → (item → basis): sparse arrays by item index, cheaper than Maps on this hot path.
  const basis = new Map<number, Array<WriteBasis | undefined>>();
  await Promise.all(
    [...reads].map(async ([v, idx]) => {
      const { generation, heads } = await readHeads(v, idx.map((i) => locs[i]!));
      const mine = new Array<WriteBasis | undefined>(n);
      basis.set(v, mine);
      heads.forEach((h: Head | null, j) => {
        const i = idx[j]!;
        mine[i] = { generation, head: h };
        if (h !== null) reps[slotOf[i]!]![pref[i]!.indexOf(v)] = h.clock;
      });
    }),
  );

  const out: AaeObject[] = new Array<AaeObject>(n);
  const perVnode = new Map<number, WriteEntry[]>();
  for (let i = 0; i < n; i++) {
    const it = items[i]!;
    let clock = it.clock;
    const s = slotOf[i]!;
    if (s >= 0) {
      const rep = reps[s]!;
      if (clock === null) {
        let base: Clock | null = null;
        for (const c of rep) if (c !== null) base = base === null ? c : mergeClocks(base, c);
        clock = increment(base, spec.name, it.now);
      }
      for (let r = 0; r < it.replicas; r++) rep[r] = clock;
    }
    if (clock === null) throw new AaeError('INTERNAL', 'a clockless item outside a slot'); // slots exist whenever one is clockless
    const object: AaeObject = { bucket: it.bucket, key: it.key, clock, value: it.value, deleted: it.deleted, indexes: it.indexes };
    out[i] = object;
    const loc = locs[i]!;
    const hint = { loc, head: prepareHead(object, loc, spec) };
    // Replicas without a basis (clocked writes) share one entry. Every entry has one shape (all
    // three fields, in the order a vnode's write step reads them): see planWrite.
    const op: WriteOp = { kind: 'put', object };
    const shared: WriteEntry = { op, basis: undefined, hint };
    const targets = pref[i]!;
    for (let r = 0; r < it.replicas; r++) {
      const v = targets[r]!;
      let list = perVnode.get(v);
      if (list === undefined) perVnode.set(v, (list = []));
      const b = it.clock === null ? basis.get(v)?.[i] : undefined;
      list.push(b === undefined ? shared : { op, basis: b, hint });
    }
  }
  return { out, perVnode };
}
