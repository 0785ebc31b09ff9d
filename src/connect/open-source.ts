import type { ChangeSource } from './feed.js';
import { PgRowWriter } from './pg/pg-repair.js';
import { PgChangeSource } from './pg/pg-source.js';
import type { RowWriter } from './row-writer.js';
import type { SourceSpec } from './source-spec.js';

/** The change source a keystore's spec names (one engine per `source.engine`). */
export function changeSourceOf(spec: SourceSpec): ChangeSource {
  switch (spec.source.engine) {
    case 'postgresql':
      return new PgChangeSource(spec.source);
  }
}

/** The engine's conditional row writes, or null for an engine whose keystores cannot be written. */
export function rowWriterOf(spec: SourceSpec): RowWriter | null {
  switch (spec.source.engine) {
    case 'postgresql':
      return new PgRowWriter(spec.source);
  }
}
