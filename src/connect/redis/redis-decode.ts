import { AaeError } from '../../errors.js';
import type { RedisArg } from './redis-connection.js';
import { MARK } from './redis-value.js';

/**
 * The inverse of a Redis value's canonical bytes (redis-value.ts, docs/FORMAT.md): the commands
 * that make a key hold exactly that value. So a value read from one Redis (or from a keystore
 * node, as canonical bytes) can be written into another as the same type: a hash as a hash, a
 * sorted set with its scores, a stream with its ids. Bytes with no marker are a string.
 */

export function commandsForCanonical(name: Buffer, bytes: Uint8Array): RedisArg[][] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = b[0];
  if (b.length === 0 || first === undefined || first < MARK.hash || first > MARK.other) return [['SET', name, b]];
  const r = new Reader(b, 1);
  const cmds: RedisArg[][] = [['DEL', name]];
  switch (first) {
    case MARK.hash: {
      const args: Buffer[] = [];
      while (!r.done()) args.push(r.elem(), r.elem());
      if (args.length > 0) cmds.push(['HSET', name, ...args]);
      break;
    }
    case MARK.list: {
      const args: Buffer[] = [];
      while (!r.done()) args.push(r.elem());
      if (args.length > 0) cmds.push(['RPUSH', name, ...args]);
      break;
    }
    case MARK.set: {
      const args: Buffer[] = [];
      while (!r.done()) args.push(r.elem());
      if (args.length > 0) cmds.push(['SADD', name, ...args]);
      break;
    }
    case MARK.zset: {
      const args: Buffer[] = [];
      while (!r.done()) {
        const member = r.elem();
        args.push(r.elem(), member);
      }
      if (args.length > 0) cmds.push(['ZADD', name, ...args]);
      break;
    }
    case MARK.stream: {
      while (!r.done()) {
        const id = r.elem();
        const n = r.varint();
        const kv: Buffer[] = [];
        for (let i = 0; i < 2 * n; i++) kv.push(r.elem());
        cmds.push(['XADD', name, id, ...kv]);
      }
      break;
    }
    case MARK.other: {
      r.elem(); // the type's name: the payload says it again
      return [['RESTORE', name, '0', r.elem(), 'REPLACE']];
    }
  }
  return cmds;
}

class Reader {
  constructor(
    private readonly b: Buffer,
    private p: number,
  ) {}
  done(): boolean {
    return this.p >= this.b.length;
  }
  varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      if (this.p >= this.b.length) throw new AaeError('INVALID_ARGUMENT', 'truncated canonical Redis value');
      const x = this.b[this.p++]!;
      n += (x & 0x7f) * mul;
      if ((x & 0x80) === 0) return n;
      mul *= 128;
    }
  }
  elem(): Buffer {
    const len = this.varint();
    if (this.p + len > this.b.length) throw new AaeError('INVALID_ARGUMENT', 'truncated canonical Redis value');
    const out = this.b.subarray(this.p, this.p + len);
    this.p += len;
    return out;
  }
}
