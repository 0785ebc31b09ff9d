import { constants } from 'node:fs';
import { access, lstat, open, type FileHandle } from 'node:fs/promises';
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
  /** Which place held the loser (e.g. a cluster's name, or "vnode 12"). */
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

export interface ConflictLogOptions {
  /**
   * The path is a default the user did not choose (`aae repair` writes aae-conflicts.jsonl in the
   * working directory): then a symbolic link there is refused rather than followed, so a link
   * planted in a shared directory cannot make a repair append data to a file of its choosing.
   * A path the user names is followed like any path they name.
   */
  refuseSymlink?: boolean;
}

/**
 * A conflict log file, appended to. It is opened at the first conflict, so a repair without
 * conflicts leaves no file behind; `close()` when done. Opening fails early if the directory is
 * missing, before any repair work, through `ConflictLogFile.open`. A new file is created
 * owner-only (0600): it holds the data of the versions that lost.
 */
export class ConflictLogFile implements ConflictSink {
  private fh: FileHandle | undefined;

  private constructor(
    readonly path: string,
    private readonly refuseSymlink: boolean,
  ) {}

  static async open(path: string, options: ConflictLogOptions = {}): Promise<ConflictLogFile> {
    try {
      await access(dirname(resolve(path)), constants.W_OK);
    } catch (e) {
      throw new AaeError('CONFLICT_LOG_IO', `cannot write the conflict log ${path}: ${(e as Error).message}`, { cause: e });
    }
    const refuseSymlink = options.refuseSymlink === true;
    if (refuseSymlink && (await lstat(path).then((s) => s.isSymbolicLink(), () => false))) throw symlinkRefused(path);
    return new ConflictLogFile(path, refuseSymlink);
  }

  async append(entries: readonly ConflictEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const now = Date.now();
    const text = entries.map((e) => `${conflictLine(e, now)}\n`).join('');
    try {
      // O_NOFOLLOW: the check in `open` and this open are two steps; a link made in between fails here.
      const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (this.refuseSymlink ? constants.O_NOFOLLOW : 0);
      this.fh ??= await open(this.path, flags, 0o600);
      await this.fh.appendFile(text, 'utf8');
      await this.fh.sync();
    } catch (e) {
      if (this.refuseSymlink && (e as NodeJS.ErrnoException).code === 'ELOOP') throw symlinkRefused(this.path, e);
      throw new AaeError('CONFLICT_LOG_IO', `cannot write the conflict log ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}

function symlinkRefused(path: string, cause?: unknown): AaeError {
  return new AaeError('CONFLICT_LOG_IO', `the default conflict log ${path} is a symbolic link: refused (name the file with --conflict-log to use it)`, cause === undefined ? {} : { cause });
}

/** Keeps entries in memory (tests, and `--dry-run` reports). */
export class MemoryConflictSink implements ConflictSink {
  readonly entries: ConflictEntry[] = [];
  async append(entries: readonly ConflictEntry[]): Promise<void> {
    this.entries.push(...entries);
  }
}
