import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Level, type ChainedBatch, type Iterator as LevelIterator } from 'level';
import { AaeError } from '../errors.js';
import { META_FORMAT_KEY, MIGRATABLE_FORMATS, STORE_FORMAT_VERSION } from './layout.js';

/**
 * One node's LevelDB: binary keys and values (layout.ts), every LevelDB error turned into a coded
 * AaeError naming the node (STORE_LOCKED when another process holds the database, STORE_CLOSED
 * after close, STORE_IO otherwise: `details.node` names it too). Iterators are wrapped as well
 * (NodeIterator): a damaged table surfaces while a fold or a tree rebuild reads, not only on a get.
 * The raw handle is exposed for the store's own modules and for benchmarks that need a same-run
 * baseline; nothing outside src/store writes through it, and nothing may
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

export function storeError(e: unknown, what: string, node: string, location: string): AaeError {
  if (e instanceof AaeError) return withNode(e, node);
  const code = levelCode(e);
  const details = { node, location };
  if (code === 'LEVEL_LOCKED') {
    return new AaeError(
      'STORE_LOCKED',
      `node ${node}: its store ${location} is locked: another process has it open (an aae command, aae node serve or aae follow of this cluster). ` +
        'Wait for it or stop it; to reach a node while it is served, use a directory whose cluster.json gives the node\'s address',
      { cause: e, details },
    );
  }
  if (code === 'LEVEL_DATABASE_NOT_OPEN' || code === 'LEVEL_ITERATOR_NOT_OPEN') {
    return new AaeError('STORE_CLOSED', `node ${node}: ${what}: the store at ${location} is closed`, { cause: e, details });
  }
  return new AaeError('STORE_IO', `node ${node}: ${what} failed (${location}): ${(e as Error)?.message ?? String(e)}`, { cause: e, details });
}

/** `withNode` for anything thrown: other errors pass through unchanged. */
export function namingNode(e: unknown, node: string): unknown {
  return e instanceof AaeError ? withNode(e, node) : e;
}

/**
 * A STORE_IO raised below the node (a head that does not decode) with the node named, once: the
 * operator must know which store to look at.
 */
export function withNode(e: AaeError, node: string): AaeError {
  if (e.code !== 'STORE_IO' || e.details?.['node'] !== undefined) return e;
  return new AaeError('STORE_IO', `node ${node}: ${e.message}`, { cause: e, details: { ...e.details, node } });
}

/**
 * STORE_NOT_FOUND when `location` cannot be a node's store, said before LevelDB is asked: LevelDB
 * reports a missing folder as "failed to open" (which read as a closed store) and a file in its
 * place as an I/O error, and neither named what the operator had got wrong — the path.
 */
async function checkStorePath(node: string, location: string, createIfMissing: boolean): Promise<void> {
  const details = { node, location };
  const st = await stat(location).catch(() => undefined);
  if (st === undefined) {
    if (createIfMissing) return;
    throw new AaeError('STORE_NOT_FOUND', `node ${node}: no store at ${location} (it does not exist)`, { details: { ...details, found: 'nothing' } });
  }
  if (!st.isDirectory()) throw new AaeError('STORE_NOT_FOUND', `node ${node}: ${location} is a file, not a node's store (a LevelDB folder)`, { details: { ...details, found: 'file' } });
  // Every LevelDB folder has CURRENT, naming its manifest; a folder without one holds no database.
  if (!createIfMissing && (await stat(join(location, 'CURRENT')).catch(() => undefined)) === undefined) {
    throw new AaeError('STORE_NOT_FOUND', `node ${node}: ${location} is not a node's store (a folder without LevelDB's CURRENT file)`, { details: { ...details, found: 'folder' } });
  }
}

export class NodeDb {
  private layout = STORE_FORMAT_VERSION;
  /**
   * What LevelDB reported dropping when this open recovered its log (damaged records it skipped),
   * or undefined when it dropped nothing. Trees saved before the damage describe more than the
   * store now holds: the cluster drops them (open-node.ts) and they are rebuilt from what remains.
   */
  recoveryLoss: string | undefined;

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
    await checkStorePath(node, location, options.createIfMissing);
    const raw = new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await raw.open({ createIfMissing: options.createIfMissing, errorIfExists: false, ...(options.writeBufferSize === undefined ? {} : { writeBufferSize: options.writeBufferSize }) });
    } catch (e) {
      await raw.close().catch(() => undefined);
      throw storeError(e, 'open', node, location);
    }
    const db = new NodeDb(node, location, raw);
    db.recoveryLoss = await recoveryLoss(location);
    await db.checkFormat();
    return db;
  }

  get isOpen(): boolean {
    return this.raw.status === 'open';
  }

  private checkOpen(what: string): void {
    if (this.raw.status !== 'open') throw new AaeError('STORE_CLOSED', `${what}: node ${this.node} is closed`);
  }

  /**
   * The store's layout version as found at open: STORE_FORMAT_VERSION, or an older one still to
   * be migrated (migrate-format.ts), which then calls setFormat.
   */
  get format(): number {
    return this.layout;
  }

  /** Records that the store now has layout `version` (synced: the migration before it is done). */
  async setFormat(version: number): Promise<void> {
    await this.batch([{ type: 'put', key: META_FORMAT_KEY, value: Uint8Array.of(version) }], { sync: true });
    this.layout = version;
  }

  /** Stamps a new store with the layout version; notes an older one to migrate; refuses a newer one. */
  private async checkFormat(): Promise<void> {
    const v = await this.get(META_FORMAT_KEY);
    if (v === undefined) {
      await this.batch([{ type: 'put', key: META_FORMAT_KEY, value: Uint8Array.of(STORE_FORMAT_VERSION) }]);
    } else if (v.length === 1 && (v[0] === STORE_FORMAT_VERSION || MIGRATABLE_FORMATS.includes(v[0]!))) {
      this.layout = v[0]!;
    } else {
      await this.raw.close().catch(() => undefined);
      throw new AaeError(
        'STORE_IO',
        `node ${this.node}: store layout version ${v[0]} is not supported (this aae reads ${[...MIGRATABLE_FORMATS, STORE_FORMAT_VERSION].join(', ')}): it was written by a newer aae; open it with that version`,
        { details: { node: this.node, layout: v[0] } },
      );
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen('get');
    try {
      return await this.raw.get(key);
    } catch (e) {
      throw storeError(e, 'get', this.node, this.location);
    }
  }

  async getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    this.checkOpen('getMany');
    if (keys.length === 0) return [];
    try {
      return await this.raw.getMany(keys);
    } catch (e) {
      throw storeError(e, 'getMany', this.node, this.location);
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
      throw storeError(e, 'batch write', this.node, this.location);
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
    return new BatchWriter(this.raw.batch(), this.node, this.location);
  }

  /** An iterator over [gte, lt), its errors coded like every other read; the caller closes it (finally). */
  iterator(range: { gte: Uint8Array; lt: Uint8Array }, options: { keys?: boolean; values?: boolean; snapshot?: Snapshot } = {}): NodeIterator {
    this.checkOpen('iterator');
    try {
      const raw = this.raw.iterator({
        gte: range.gte,
        lt: range.lt,
        keys: options.keys ?? true,
        values: options.values ?? true,
        ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot.raw }),
      });
      return new NodeIterator(raw, this.node, this.location);
    } catch (e) {
      throw storeError(e, 'iterator', this.node, this.location);
    }
  }

  /**
   * An explicit LevelDB snapshot: iterators given it read the store as it was when it was taken,
   * whatever is written meanwhile. Release it (finally).
   */
  snapshot(): Snapshot {
    this.checkOpen('snapshot');
    try {
      return new Snapshot(this.raw.snapshot(), this.node, this.location);
    } catch (e) {
      throw storeError(e, 'snapshot', this.node, this.location);
    }
  }

  async close(): Promise<void> {
    if (this.raw.status === 'closed') return;
    try {
      await this.raw.close();
    } catch (e) {
      throw storeError(e, 'close', this.node, this.location);
    }
  }
}

/**
 * Lines of LevelDB's info log (`<location>/LOG`, rewritten at every open: the last open's is LOG.old)
 * that say this open recovered with less than was written: when recovery meets a damaged log record
 * it skips it ("dropping N bytes; Corruption: checksum mismatch") instead of failing, and the data
 * in it is gone. A cheap first check, read once per open; never the only one (`aae verify`,
 * scheduled rebuilds). Undefined when the log says nothing of the kind (or cannot be read).
 */
async function recoveryLoss(location: string): Promise<string | undefined> {
  const text = await readFile(join(location, 'LOG'), 'utf8').catch(() => '');
  // Status::ToString writes "Corruption: …" (capitalised, with the colon): not a word a path holds.
  const lines = text.split('\n').filter((l) => /dropping \d+ bytes|Corruption: /.test(l));
  if (lines.length === 0) return undefined;
  const first = lines[0]!.replace(/^\S+ \S+ /, ''); // without LevelDB's timestamp and thread id
  return `LevelDB dropped damaged records when it opened (${lines.length} report(s), the first: ${first.slice(0, 200)})`;
}

type RawIterator = LevelIterator<RawDb, Uint8Array, Uint8Array>;
type RawSnapshot = ReturnType<RawDb['snapshot']>;

/** A LevelDB iterator whose errors are coded AaeErrors naming the node (see NodeDb.iterator). */
export class NodeIterator {
  constructor(
    private readonly it: RawIterator,
    private readonly node: string,
    private readonly location: string,
  ) {}

  async next(): Promise<[Uint8Array, Uint8Array] | undefined> {
    try {
      return await this.it.next();
    } catch (e) {
      throw storeError(e, 'iterator read', this.node, this.location);
    }
  }

  async nextv(size: number): Promise<Array<[Uint8Array, Uint8Array]>> {
    try {
      return await this.it.nextv(size);
    } catch (e) {
      throw storeError(e, 'iterator read', this.node, this.location);
    }
  }

  seek(target: Uint8Array): void {
    try {
      this.it.seek(target);
    } catch (e) {
      throw storeError(e, 'iterator seek', this.node, this.location);
    }
  }

  async close(): Promise<void> {
    try {
      await this.it.close();
    } catch (e) {
      throw storeError(e, 'iterator close', this.node, this.location);
    }
  }
}

/** See NodeDb.snapshot. */
export class Snapshot {
  constructor(
    /** @internal */ readonly raw: RawSnapshot,
    private readonly node: string,
    private readonly location: string,
  ) {}

  async release(): Promise<void> {
    try {
      await this.raw.close();
    } catch (e) {
      throw storeError(e, 'snapshot release', this.node, this.location);
    }
  }
}

/** See NodeDb.writer. write() or discard() must end it. */
export class BatchWriter {
  private count = 0;

  constructor(
    private readonly b: ChainedBatch<RawDb, Uint8Array, Uint8Array>,
    private readonly node: string,
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
      throw storeError(e, 'batch write', this.node, this.location);
    }
  }

  /** Drops the ops (when building the batch failed). */
  async discard(): Promise<void> {
    await this.b.close().catch(() => undefined);
  }
}
