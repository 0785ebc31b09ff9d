import { Level, type ChainedBatch } from 'level';
import { AaeError } from '../errors.js';
import { META_FORMAT_KEY, STORE_FORMAT_VERSION } from './layout.js';

/**
 * One node's LevelDB: binary keys and values (layout.ts), every LevelDB error turned into a coded
 * AaeError (STORE_LOCKED when another process holds the database, STORE_CLOSED after close,
 * STORE_IO otherwise). The raw handle is exposed for the store's own modules and for benchmarks
 * that need a same-run baseline; nothing outside src/store writes through it, and nothing may
 * attach a prewrite hook or a 'write' listener to it: the vnode write path reuses its key buffers,
 * which is safe only because LevelDB copies a key when it is put and abstract-level then keeps no
 * reference to it (it would, for such a hook or listener).
 */

export type RawDb = Level<Uint8Array, Uint8Array>;
export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

function levelCode(e: unknown): string | undefined {
  for (let cur: unknown = e; typeof cur === 'object' && cur !== null; cur = (cur as { cause?: unknown }).cause) {
    const code = (cur as { code?: unknown }).code;
    if (code === 'LEVEL_LOCKED') return code;
    if (typeof code === 'string' && (cur as { cause?: unknown }).cause === undefined) return code;
  }
  return typeof e === 'object' && e !== null ? String((e as { code?: unknown }).code) : undefined;
}

export function storeError(e: unknown, what: string, location: string): AaeError {
  if (e instanceof AaeError) return e;
  const code = levelCode(e);
  if (code === 'LEVEL_LOCKED') {
    return new AaeError('STORE_LOCKED', `${location} is in use by another process or handle`, { cause: e });
  }
  if (code === 'LEVEL_DATABASE_NOT_OPEN') {
    return new AaeError('STORE_CLOSED', `${what}: the store at ${location} is closed`, { cause: e });
  }
  return new AaeError('STORE_IO', `${what} failed on ${location}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

export class NodeDb {
  private constructor(
    readonly node: string,
    readonly location: string,
    readonly raw: RawDb,
  ) {}

  /**
   * Opens (creating if missing) the node's LevelDB at `location`. `writeBufferSize`: LevelDB's
   * memtable (default 4 MiB); a bigger one means fewer level-0 tables and less compaction under
   * random writes, for the memory of two of them.
   */
  static async open(node: string, location: string, options: { createIfMissing: boolean; writeBufferSize?: number }): Promise<NodeDb> {
    const raw = new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await raw.open({ createIfMissing: options.createIfMissing, errorIfExists: false, ...(options.writeBufferSize === undefined ? {} : { writeBufferSize: options.writeBufferSize }) });
    } catch (e) {
      await raw.close().catch(() => undefined);
      throw storeError(e, `open node ${node}`, location);
    }
    const db = new NodeDb(node, location, raw);
    await db.checkFormat();
    return db;
  }

  get isOpen(): boolean {
    return this.raw.status === 'open';
  }

  private checkOpen(what: string): void {
    if (this.raw.status !== 'open') throw new AaeError('STORE_CLOSED', `${what}: node ${this.node} is closed`);
  }

  /** Stamps a new store with the layout version; refuses a store written by a newer layout. */
  private async checkFormat(): Promise<void> {
    const v = await this.get(META_FORMAT_KEY);
    if (v === undefined) {
      await this.batch([{ type: 'put', key: META_FORMAT_KEY, value: Uint8Array.of(STORE_FORMAT_VERSION) }]);
    } else if (v.length !== 1 || v[0] !== STORE_FORMAT_VERSION) {
      await this.raw.close().catch(() => undefined);
      throw new AaeError('STORE_IO', `node ${this.node}: store layout version ${v[0]} is not supported (expected ${STORE_FORMAT_VERSION})`);
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen('get');
    try {
      return await this.raw.get(key);
    } catch (e) {
      throw storeError(e, 'get', this.location);
    }
  }

  async getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    this.checkOpen('getMany');
    if (keys.length === 0) return [];
    try {
      return await this.raw.getMany(keys);
    } catch (e) {
      throw storeError(e, 'getMany', this.location);
    }
  }

  async batch(ops: BatchOp[], options: { sync?: boolean } = {}): Promise<void> {
    this.checkOpen('batch');
    if (ops.length === 0) return;
    // A chained batch: abstract-level's array form clones and re-validates every op in JS first,
    // which costs several times the native write on batches of thousands.
    const b = this.raw.batch();
    try {
      for (const op of ops) {
        if (op.type === 'put') b.put(op.key, op.value);
        else b.del(op.key);
      }
      await b.write({ sync: options.sync ?? false });
    } catch (e) {
      await b.close().catch(() => undefined);
      throw storeError(e, 'batch write', this.location);
    }
  }

  /**
   * A batch built op by op straight into LevelDB's chained batch (no op objects, no array), then
   * written once: the write path of a vnode flush.
   */
  writer(): BatchWriter {
    this.checkOpen('batch');
    if (this.raw.listenerCount('write') > 0) {
      // Then abstract-level would keep the (reused) key buffers the write path puts: see above.
      throw new AaeError('INTERNAL', `node ${this.node}: a 'write' listener is attached to the raw LevelDB`);
    }
    return new BatchWriter(this.raw.batch(), this.location);
  }

  /** A raw iterator over [gte, lt); the caller closes it (finally). */
  iterator(range: { gte: Uint8Array; lt: Uint8Array }, options: { keys?: boolean; values?: boolean } = {}) {
    this.checkOpen('iterator');
    return this.raw.iterator({ gte: range.gte, lt: range.lt, keys: options.keys ?? true, values: options.values ?? true });
  }

  async close(): Promise<void> {
    if (this.raw.status === 'closed') return;
    try {
      await this.raw.close();
    } catch (e) {
      throw storeError(e, 'close', this.location);
    }
  }
}

/** See NodeDb.writer. write() or discard() must end it. */
export class BatchWriter {
  private count = 0;

  constructor(
    private readonly b: ChainedBatch<RawDb, Uint8Array, Uint8Array>,
    private readonly location: string,
  ) {}

  get length(): number {
    return this.count;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.b.put(key, value);
    this.count++;
  }

  del(key: Uint8Array): void {
    this.b.del(key);
    this.count++;
  }

  async write(options: { sync?: boolean } = {}): Promise<void> {
    try {
      if (this.count === 0) await this.b.close();
      else await this.b.write({ sync: options.sync ?? false });
    } catch (e) {
      await this.b.close().catch(() => undefined);
      throw storeError(e, 'batch write', this.location);
    }
  }

  /** Drops the ops (when building the batch failed). */
  async discard(): Promise<void> {
    await this.b.close().catch(() => undefined);
  }
}
