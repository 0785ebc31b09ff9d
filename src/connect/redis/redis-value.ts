import { AaeError } from '../../errors.js';
import { objectHashOfValue, varintLength, writeVarint, Xxh32Stream } from '../../hash/index.js';
import type { ValueDigest } from '../feed.js';
import { canonicalRowBytes, type RowValue } from '../row-bytes.js';
import { keyArg, type RedisNode } from './redis-connection.js';

/**
 * A Redis value's canonical bytes (docs/FORMAT.md, "Redis values"), hashed as they are read:
 *
 *   string        its bytes, exactly (so a string equals a database row of one text column)
 *   hash          F8 ‖ (elem(field) ‖ elem(value))*   fields sorted bytewise
 *   list          F9 ‖ elem(element)*                  in list order
 *   set           FA ‖ elem(member)*                   members sorted bytewise
 *   sorted set    FB ‖ (elem(member) ‖ elem(score))*   in Redis's order (score, then member);
 *                                                      the score as its shortest round-trip text
 *   stream        FC ‖ (elem(id) ‖ varint(n) ‖ (elem(field) ‖ elem(value))*n)*   in id order
 *   other         FD ‖ elem(type) ‖ elem(DUMP payload)  (a module's type; engine-version dependent)
 *   elem(b)       varint(len(b)) ‖ b
 *
 * F8–FD never occur in UTF-8, so no collection equals a text string (a binary string can, by
 * construction: strings hash as exactly their bytes). Under a fields mapping (`fields`), a hash is
 * instead the canonical row bytes of those fields' values (null where one is missing): it then
 * equals a database row of those columns.
 *
 * Big values are never loaded whole: a string is read with GETRANGE in 256 KiB chunks, lists and
 * sorted sets by index ranges, streams by id ranges, each piece fed to a streamed XXH32. Hashes and
 * sets must be sorted, and Redis returns them unordered, so their elements are held while a key is
 * read (HSCAN/SSCAN in batches), then fed in order. A value that changes while it is read in pieces
 * hashes as a mix; the change's notification makes the feed read it again.
 */

/** Bytes per GETRANGE of a big string: large enough to amortise a round trip, small enough to never matter. */
export const STRING_CHUNK = 256 * 1024;
/** Elements per LRANGE / ZRANGE / XRANGE / HSCAN / SSCAN call. */
export const ELEMENT_BATCH = 1_000;

export const MARK = { hash: 0xf8, list: 0xf9, set: 0xfa, zset: 0xfb, stream: 0xfc, other: 0xfd } as const;

/** Canonical bytes fed to a streamed hash; kept too when asked (a value read for repair). */
class Canon {
  private readonly h = new Xxh32Stream(0);
  private readonly kept: Uint8Array[] | null;
  constructor(keep: boolean) {
    this.kept = keep ? [] : null;
  }
  raw(b: Uint8Array): void {
    this.h.update(b);
    this.kept?.push(Uint8Array.from(b));
  }
  mark(m: number): void {
    this.raw(Uint8Array.of(m));
  }
  elem(b: Uint8Array): void {
    const len = new Uint8Array(varintLength(b.length));
    writeVarint(len, 0, b.length);
    this.raw(len);
    this.raw(b);
  }
  varint(n: number): void {
    const len = new Uint8Array(varintLength(n));
    writeVarint(len, 0, n);
    this.raw(len);
  }
  digest(): ValueDigest {
    return { hash: this.h.digest(), size: this.h.length };
  }
  bytes(): Uint8Array | null {
    return this.kept === null ? null : Buffer.concat(this.kept);
  }
}

export type RedisType = 'string' | 'hash' | 'list' | 'set' | 'zset' | 'stream' | string;

export interface RedisValue {
  type: RedisType;
  digest: ValueDigest;
  /** The canonical bytes, when asked for (`keep`). */
  bytes: Uint8Array | null;
}

export function isWrongType(e: unknown): boolean {
  return e instanceof Error && e.message.startsWith('WRONGTYPE');
}

/** Canonical text of a sorted-set score: the shortest text that reads back as the same double. */
export function scoreText(raw: Buffer): Buffer {
  const s = raw.toString('latin1');
  const n = Number(s);
  if (Number.isNaN(n)) {
    if (/^[+-]?inf/i.test(s)) return Buffer.from(s.startsWith('-') ? '-inf' : 'inf');
    throw new AaeError('SOURCE_UNAVAILABLE', `a sorted-set score Redis printed as '${s}' does not read as a number`);
  }
  if (n === Infinity) return Buffer.from('inf');
  if (n === -Infinity) return Buffer.from('-inf');
  return Buffer.from(String(n));
}

/**
 * Reads and hashes one key's value, whatever its type; null when the key does not exist.
 * `first` is the first chunk of a string already read (the snapshot's optimistic GETRANGE).
 */
export async function readValue(node: RedisNode, key: Buffer, fields: readonly string[] | null, keep: boolean, first?: Buffer): Promise<RedisValue | null> {
  const type = first !== undefined ? 'string' : (await node.run<Buffer>(['TYPE', key])).toString();
  const c = new Canon(keep);
  switch (type) {
    case 'none':
      return null;
    case 'string': {
      let chunk = first ?? (await node.run<Buffer>(['GETRANGE', key, '0', String(STRING_CHUNK - 1)]));
      for (let at = 0; ; ) {
        c.raw(chunk);
        at += chunk.length;
        if (chunk.length < STRING_CHUNK) break;
        chunk = await node.run<Buffer>(['GETRANGE', key, String(at), String(at + STRING_CHUNK - 1)]);
      }
      break;
    }
    case 'hash': {
      if (fields !== null) {
        const values = await node.run<Array<Buffer | null>>(['HMGET', key, ...fields]);
        const bytes = canonicalRowBytes(values);
        return { type, digest: { hash: objectHashOfValue(bytes, 0), size: bytes.length }, bytes: keep ? bytes : null };
      }
      const pairs = await scanAll(node, 'HSCAN', key, 2);
      c.mark(MARK.hash);
      for (const [f, v] of pairs) {
        c.elem(f);
        c.elem(v!);
      }
      break;
    }
    case 'set': {
      const members = await scanAll(node, 'SSCAN', key, 1);
      c.mark(MARK.set);
      for (const [m] of members) c.elem(m);
      break;
    }
    case 'list': {
      c.mark(MARK.list);
      for (let i = 0; ; i += ELEMENT_BATCH) {
        const part = await node.run<Buffer[]>(['LRANGE', key, String(i), String(i + ELEMENT_BATCH - 1)]);
        for (const e of part) c.elem(e);
        if (part.length < ELEMENT_BATCH) break;
      }
      break;
    }
    case 'zset': {
      c.mark(MARK.zset);
      for (let i = 0; ; i += ELEMENT_BATCH) {
        const part = await node.run<Buffer[]>(['ZRANGE', key, String(i), String(i + ELEMENT_BATCH - 1), 'WITHSCORES']);
        for (let j = 0; j < part.length; j += 2) {
          c.elem(part[j]!);
          c.elem(scoreText(part[j + 1]!));
        }
        if (part.length < 2 * ELEMENT_BATCH) break;
      }
      break;
    }
    case 'stream': {
      c.mark(MARK.stream);
      let from = '-';
      for (;;) {
        const part = await node.run<Array<[Buffer, Buffer[]]>>(['XRANGE', key, from, '+', 'COUNT', String(ELEMENT_BATCH)]);
        for (const [id, kv] of part) {
          c.elem(id);
          c.varint(kv.length / 2);
          for (const b of kv) c.elem(b);
        }
        if (part.length < ELEMENT_BATCH) break;
        from = `(${part[part.length - 1]![0].toString()}`;
      }
      break;
    }
    default: {
      const payload = await node.run<Buffer | null>(['DUMP', key]);
      if (payload === null) return null;
      c.mark(MARK.other);
      c.elem(Buffer.from(type));
      c.elem(payload);
    }
  }
  return { type, digest: c.digest(), bytes: c.bytes() };
}

/** Every element of a hash (pairs) or set (singles) by HSCAN/SSCAN, each once, sorted bytewise by its first part. */
async function scanAll(node: RedisNode, cmd: 'HSCAN' | 'SSCAN', key: Buffer, width: 1 | 2): Promise<Array<[Buffer, Buffer?]>> {
  const seen = new Map<string, [Buffer, Buffer?]>();
  let cursor = '0';
  do {
    const [next, items] = await node.run<[Buffer, Buffer[]]>([cmd, key, cursor, 'COUNT', String(ELEMENT_BATCH)]);
    for (let i = 0; i < items.length; i += width) seen.set(items[i]!.toString('latin1'), width === 2 ? [items[i]!, items[i + 1]!] : [items[i]!]);
    cursor = next.toString();
  } while (cursor !== '0');
  return [...seen.values()].sort((a, b) => Buffer.compare(a[0], b[0]));
}

/** What the snapshot and the feed hand the keystore for one key: its row (a small string), or its digest. */
export interface ReadKey {
  values: RowValue[];
  digest?: ValueDigest;
}

/** A GETRANGE's WRONGTYPE (the key holds another type) as null; any other failure stays one. */
function wrongTypeAsNull(e: unknown): null {
  if (isWrongType(e)) return null;
  throw e;
}

const FIRST_CHUNK_END = String(STRING_CHUNK - 1);

/**
 * Reads a batch of keys of one node: a GETRANGE of every key in one pipeline (the common case, a
 * string shorter than a chunk, costs exactly one command, as a plain GET would), then the others by
 * their type. Null where a key does not exist.
 *
 * This runs once per key of a snapshot, so it allocates little: no function or promise per key
 * beyond the command's own (and its WRONGTYPE handler), and only the rare key that is not a small
 * string waits on a readValue of its own.
 */
export async function readBatch(node: RedisNode, keys: readonly Buffer[], fields: readonly string[] | null): Promise<Array<ReadKey | null>> {
  const sent: Array<Promise<Buffer | null>> = new Array<Promise<Buffer | null>>(keys.length);
  for (let i = 0; i < keys.length; i++) sent[i] = node.run<Buffer>(['GETRANGE', keyArg(keys[i]!), '0', FIRST_CHUNK_END]).catch(wrongTypeAsNull);
  const firsts = await Promise.all(sent);
  const out: Array<ReadKey | null> = new Array<ReadKey | null>(keys.length);
  let others: Array<Promise<void>> | null = null;
  for (let i = 0; i < keys.length; i++) {
    const first = firsts[i]!;
    if (first !== null && first.length > 0 && first.length < STRING_CHUNK) {
      out[i] = { values: [first] };
      continue;
    }
    // An empty reply is an empty string or no key; WRONGTYPE (null) is another type; a full chunk is a big string.
    (others ??= []).push(
      readValue(node, keys[i]!, fields, false, first !== null && first.length === STRING_CHUNK ? first : undefined).then((v) => {
        out[i] = v === null ? null : { values: [], digest: v.digest };
      }),
    );
  }
  if (others !== null) await Promise.all(others);
  return out;
}
