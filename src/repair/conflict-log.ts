import { constants } from 'node:fs';
import { access, open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { clockEntriesToJson, keyToJson, valueToJson, type AaeObject } from '../cluster/index.js';
import { AaeError } from '../errors.js';

/**
 * The conflict log: where a version that lost a conflict goes, so that resolving a conflict never
 * loses a write. One JSON object a line, appended, flushed to disk (fsync) before the winner is
 * written over the loser — a crash between the two leaves the loser logged and the repair to do
 * again, never a loser that is gone without a trace.
 *
 *   {"loggedAt", "bucket", "key", "value" | null, "deleted", "clock", "lastModified",
 *    "replacedBy": {"clock", "lastModified"}, "policy", "where"}
 *
 * Keys and values print as text when they are valid UTF-8, else as {"base64": …}, like `aae get`.
 */
export interface ConflictEntry {
  loser: AaeObject;
  /** The clock written over it (the merged clock of the resolution). */
  replacedBy: { entries: ReadonlyArray<readonly [string, number]>; lastModified: number };
  policy: string;
  /** Which place held the loser (e.g. "blue", "pink", "vnode 12"). */
  where: string;
}

export interface ConflictSink {
  append(entries: readonly ConflictEntry[]): Promise<void>;
}

export function conflictLine(e: ConflictEntry, now: number): string {
  return JSON.stringify({
    loggedAt: new Date(now).toISOString(),
    bucket: e.loser.bucket,
    key: keyToJson(e.loser.key),
    value: e.loser.deleted ? null : valueToJson(e.loser.value),
    deleted: e.loser.deleted,
    clock: clockEntriesToJson(e.loser.clock),
    lastModified: e.loser.clock.lastModified,
    replacedBy: { clock: e.replacedBy.entries.map(([a, c]) => [a, c]), lastModified: e.replacedBy.lastModified },
    policy: e.policy,
    where: e.where,
  });
}

/**
 * A conflict log file, appended to. It is opened at the first conflict, so a repair without
 * conflicts leaves no file behind; `close()` when done. Opening fails early if the directory is
 * missing, before any repair work, through `ConflictLogFile.open`.
 */
export class ConflictLogFile implements ConflictSink {
  private fh: FileHandle | undefined;

  private constructor(readonly path: string) {}

  static async open(path: string): Promise<ConflictLogFile> {
    try {
      await access(dirname(resolve(path)), constants.W_OK);
    } catch (e) {
      throw new AaeError('CONFLICT_LOG_IO', `cannot write the conflict log ${path}: ${(e as Error).message}`, { cause: e });
    }
    return new ConflictLogFile(path);
  }

  async append(entries: readonly ConflictEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const now = Date.now();
    const text = entries.map((e) => `${conflictLine(e, now)}\n`).join('');
    try {
      this.fh ??= await open(this.path, 'a');
      await this.fh.appendFile(text, 'utf8');
      await this.fh.sync();
    } catch (e) {
      throw new AaeError('CONFLICT_LOG_IO', `cannot write the conflict log ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}

/** Keeps entries in memory (tests, and `--dry-run` reports). */
export class MemoryConflictSink implements ConflictSink {
  readonly entries: ConflictEntry[] = [];
  async append(entries: readonly ConflictEntry[]): Promise<void> {
    this.entries.push(...entries);
  }
}
