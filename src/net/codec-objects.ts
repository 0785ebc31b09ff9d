/**
 * Clocks, index entries, heads, objects and key references: the contract's values as protobuf
 * messages (proto/node.proto) and back. `to*` builds what the serializer takes; `from*` checks what
 * the deserializer gave and returns the contract's value. Decoders check shapes and types only:
 * a clock in the wrong order or a bucket holding NUL is the node's to refuse (it validates every
 * write whose hints were stripped, with the codes a local caller would get).
 */
import type { AaeObject, Clock, IndexEntry } from '../cluster/index.js';
import type { Head, KeyRef, StoredObjectRecord } from '../node/index.js';
import type { Checker } from './check.js';

/** Limits a decoder enforces on top of the message size: a clock of 10,000 actors is not a clock. */
export const MAX_CLOCK_ENTRIES = 10_000;
export const MAX_INDEXES = 10_000;
export const MAX_NAME = 64 * 1024;

export interface ClockMessage {
  actors: string[];
  counters: number[];
  lastModified: number;
}

export function toClock(c: Clock): ClockMessage {
  return { actors: c.entries.map((e) => e[0]), counters: c.entries.map((e) => e[1]), lastModified: c.lastModified };
}

export function fromClock(ck: Checker, v: unknown, path: string): Clock {
  const m = ck.object(v, path);
  const actors = ck.array(m['actors'], `${path}.actors`, MAX_CLOCK_ENTRIES);
  const counters = ck.array(m['counters'], `${path}.counters`, MAX_CLOCK_ENTRIES);
  if (actors.length !== counters.length) ck.fail(path, `has ${actors.length} actors but ${counters.length} counters`);
  const entries = actors.map((a, i): readonly [string, number] => [ck.string(a, `${path}.actors[${i}]`, MAX_NAME), ck.uint(counters[i], `${path}.counters[${i}]`)]);
  return { entries, lastModified: ck.uint(m['lastModified'], `${path}.lastModified`) };
}

function toIndexes(list: readonly IndexEntry[]): Array<{ name: string; term: string }> {
  return list.map(([name, term]) => ({ name, term }));
}

function fromIndexes(ck: Checker, v: unknown, path: string): IndexEntry[] {
  return ck.array(v, path, MAX_INDEXES).map((e, i): IndexEntry => {
    const m = ck.object(e, `${path}[${i}]`);
    return [ck.string(m['name'], `${path}[${i}].name`, MAX_NAME), ck.string(m['term'], `${path}[${i}].term`, MAX_NAME)];
  });
}

export function toHead(h: Head): Record<string, unknown> {
  return { clock: toClock(h.clock), deleted: h.deleted, size: h.size, hash: h.hash >>> 0, alt: h.alt >>> 0, indexes: toIndexes(h.indexes) };
}

export function fromHead(ck: Checker, v: unknown, path: string): Head {
  const m = ck.object(v, path);
  return {
    clock: fromClock(ck, m['clock'], `${path}.clock`),
    deleted: ck.bool(m['deleted'], `${path}.deleted`),
    size: ck.uint(m['size'], `${path}.size`),
    hash: ck.uint(m['hash'], `${path}.hash`, 0xffff_ffff),
    alt: ck.uint(m['alt'], `${path}.alt`, 0xffff_ffff),
    indexes: fromIndexes(ck, m['indexes'], `${path}.indexes`),
  };
}

/** A list of heads where null means "the vnode lacks the key" (MaybeHead). */
export function toMaybeHeads(list: ReadonlyArray<Head | null>): Array<{ head: Record<string, unknown> | null }> {
  return list.map((h) => ({ head: h === null ? null : toHead(h) }));
}

export function fromMaybeHeads(ck: Checker, v: unknown, path: string, max?: number): Array<Head | null> {
  return ck.array(v, path, max).map((e, i) => {
    const head = ck.object(e, `${path}[${i}]`)['head'];
    return head === null || head === undefined ? null : fromHead(ck, head, `${path}[${i}].head`);
  });
}

export function toObject(o: AaeObject): Record<string, unknown> {
  return { bucket: o.bucket, key: o.key, clock: toClock(o.clock), value: o.value, deleted: o.deleted, indexes: toIndexes(o.indexes) };
}

export function fromObject(ck: Checker, v: unknown, path: string): AaeObject {
  const m = ck.object(v, path);
  return {
    bucket: ck.string(m['bucket'], `${path}.bucket`, MAX_NAME),
    key: ck.bytes(m['key'], `${path}.key`),
    clock: fromClock(ck, m['clock'], `${path}.clock`),
    value: ck.bytes(m['value'], `${path}.value`),
    deleted: ck.bool(m['deleted'], `${path}.deleted`),
    indexes: fromIndexes(ck, m['indexes'], `${path}.indexes`),
  };
}

export function toMaybeObjects(list: ReadonlyArray<StoredObjectRecord | null>): Array<{ record: Record<string, unknown> | null }> {
  return list.map((r) => ({ record: r === null ? null : { object: toObject(r.object), hash: r.hash >>> 0 } }));
}

export function fromMaybeObjects(ck: Checker, v: unknown, path: string, max?: number): Array<StoredObjectRecord | null> {
  return ck.array(v, path, max).map((e, i) => {
    const rec = ck.optional(ck.object(e, `${path}[${i}]`)['record'], `${path}[${i}].record`);
    if (rec === null) return null;
    return { object: fromObject(ck, rec['object'], `${path}[${i}].record.object`), hash: ck.uint(rec['hash'], `${path}[${i}].record.hash`, 0xffff_ffff) };
  });
}

export function toKeyRefs(keys: readonly KeyRef[]): Array<{ bucket: string; key: Uint8Array }> {
  return keys.map((k) => ({ bucket: k.bucket, key: k.key }));
}

export function fromKeyRefs(ck: Checker, v: unknown, path: string): KeyRef[] {
  return ck.array(v, path).map((e, i) => {
    const m = ck.object(e, `${path}[${i}]`);
    return { bucket: ck.string(m['bucket'], `${path}[${i}].bucket`, MAX_NAME), key: ck.bytes(m['key'], `${path}[${i}].key`) };
  });
}
