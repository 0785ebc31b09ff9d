import { decodeRowBytes } from '../row-bytes.js';
import { reportOf, type SourceAccess, type SourceValue, type SourceWrite, type SourceWriteOptions, type SourceWriteReport } from '../source-access.js';
import { commandsForCanonical } from './redis-decode.js';
import { writeRedis } from './redis-repair.js';
import type { RedisChangeSource } from './redis-source.js';
import { globMatches } from './redis-spec.js';

/**
 * Redis keys as a keystore node's source access (source-access.ts), over the change source's
 * connections: a read is each key's canonical bytes (redis-value.ts) with their hash, a write puts
 * canonical bytes back as the same type (redis-decode.ts; under a fields mapping, the mapped
 * fields of a hash) with WATCH and MULTI/EXEC (redis-repair.ts). A key is its name less the
 * glob's literal prefix, and must match the glob. A written key has no expiry: the node contract
 * carries none.
 */
export class RedisAccess implements SourceAccess {
  constructor(private readonly source: RedisChangeSource) {}

  holdsKey(key: Uint8Array): boolean {
    return globMatches(this.source.spec.match, this.source.nameOf(key));
  }

  checkValue(value: Uint8Array): string | null {
    const fields = this.source.spec.fields;
    try {
      if (fields === null) commandsForCanonical(Buffer.alloc(0), value);
      else decodeRowBytes(value, fields.length);
      return null;
    } catch (e) {
      return `a value written to a Redis keystore must be canonical bytes of a Redis value${fields === null ? '' : ` (under its fields mapping, a row of ${fields.length} field(s))`}: ${(e as Error).message}`;
    }
  }

  async read(keys: readonly Uint8Array[]): Promise<Array<SourceValue | null>> {
    const now = Date.now();
    return (await this.source.readValues(keys)).map((v) => (v === null ? null : { bytes: v.bytes!, hash: v.digest.hash, lastModified: now }));
  }

  async write(writes: readonly SourceWrite[], options: SourceWriteOptions = {}): Promise<SourceWriteReport> {
    const r = await writeRedis(
      this.source,
      writes.map((w) => ({ key: w.key, ...(w.expect === undefined ? {} : { expect: w.expect }), value: w.value === null ? null : { canonical: w.value } })),
      options.signal === undefined ? {} : { signal: options.signal },
    );
    return reportOf(r.outcomes, r.found);
  }

  async close(): Promise<void> {
    // Every connection is the change source's, or a write's own (closed with the write).
  }
}
