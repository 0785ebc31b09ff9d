import { objectHashOfValue } from '../../hash/index.js';
import { canonicalRowBytes, decodeRowBytes } from '../row-bytes.js';
import { reportOf, type SourceAccess, type SourceValue, type SourceWrite, type SourceWriteOptions, type SourceWriteReport } from '../source-access.js';
import { PgRowWriter, type RowWrite } from './pg-repair.js';
import type { PgChangeSource } from './pg-source.js';

/**
 * A PostgreSQL table as a keystore node's source access (source-access.ts): reads through the
 * change source's connection (its refetch query), compare-and-set writes through a `PgRowWriter`
 * of its own (pg-repair.ts). A key is the canonical row bytes of the key columns; a value is the
 * canonical row bytes of the hashed columns, decoded back into the row's texts to write.
 */
export class PgAccess implements SourceAccess {
  private readonly writer: PgRowWriter;

  constructor(private readonly source: PgChangeSource) {
    this.writer = new PgRowWriter(source.spec);
  }

  holdsKey(key: Uint8Array): boolean {
    return decodes(key, this.source.spec.key.length);
  }

  checkValue(value: Uint8Array): string | null {
    const n = this.source.spec.columns.length;
    try {
      decodeRowBytes(value, n);
      return null;
    } catch (e) {
      return `a value written to a PostgreSQL keystore must be the canonical bytes of a row of ${n} column(s): ${(e as Error).message}`;
    }
  }

  async read(keys: readonly Uint8Array[]): Promise<Array<SourceValue | null>> {
    const rows = await this.source.fetchRows(keys);
    return rows.map((r) => {
      if (r === null) return null;
      // The row's bytes as the caller's own (a one-column row is a view of a socket buffer).
      const bytes = new Uint8Array(canonicalRowBytes(r.values));
      return { bytes, hash: objectHashOfValue(bytes, 0), lastModified: r.lastModified };
    });
  }

  async write(writes: readonly SourceWrite[], options: SourceWriteOptions = {}): Promise<SourceWriteReport> {
    const n = this.source.spec.columns.length;
    const rows: RowWrite[] = writes.map((w) => {
      const row = w.value === null ? null : decodeRowBytes(w.value, n);
      return w.expect === undefined ? { key: w.key, row } : { key: w.key, expect: w.expect, row };
    });
    const r = await this.writer.writeRows(rows, { ...options, seed: 0 });
    return reportOf(r.outcomes, r.found);
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

function decodes(bytes: Uint8Array, count: number): boolean {
  try {
    decodeRowBytes(bytes, count);
    return true;
  } catch {
    return false;
  }
}
