import { objectHashOfValue } from '../../hash/index.js';
import { reportOf, type SourceAccess, type SourceValue, type SourceWrite, type SourceWriteOptions, type SourceWriteReport } from '../source-access.js';
import { writeEtcd } from './etcd-repair.js';
import type { EtcdChangeSource } from './etcd-source.js';

/**
 * The keys under an etcd prefix as a keystore node's source access (source-access.ts), over the
 * change source's client: a value's canonical bytes are its bytes (a row of one value), reads are
 * one transaction of range reads, writes compare each key's mod revision (etcd-repair.ts) and
 * report the revision of the last one, which the node's read-your-writes waits for.
 */
export class EtcdAccess implements SourceAccess {
  constructor(private readonly source: EtcdChangeSource) {}

  holdsKey(): boolean {
    return true; // any bytes after the prefix name a key under it
  }

  checkValue(): string | null {
    return null; // any bytes are an etcd value
  }

  async read(keys: readonly Uint8Array[]): Promise<Array<SourceValue | null>> {
    const now = Date.now();
    return (await this.source.readValues(keys)).map((v) => {
      if (v === null) return null;
      const bytes = new Uint8Array(v.value);
      return { bytes, hash: objectHashOfValue(bytes, 0), lastModified: now };
    });
  }

  async write(writes: readonly SourceWrite[], options: SourceWriteOptions = {}): Promise<SourceWriteReport> {
    const r = await writeEtcd(
      this.source,
      writes.map((w) => ({ key: w.key, ...(w.expect === undefined ? {} : { expect: w.expect }), row: w.value === null ? null : [w.value] })),
      options.signal === undefined ? {} : { signal: options.signal },
    );
    return reportOf(r.outcomes, r.found, r.revision ?? undefined);
  }

  async close(): Promise<void> {
    // The client is the change source's.
  }
}
