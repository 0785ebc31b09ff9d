import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parseLoadRecord, type LoadRecord } from '../cluster/index.js';
import { AaeError, isAaeError } from '../errors.js';
import type { Cluster, PutItem } from '../coordinator/index.js';

/**
 * Loading a JSONL file in two passes, so that a malformed file writes nothing: the first pass
 * parses every line and collects the bad line numbers; only a clean file gets a second pass, which
 * streams the records into the cluster in batches. Both passes stream: memory stays bounded by
 * one batch, whatever the file's size.
 */

/** Bad lines named in the error message; the full count is always given. */
const MAX_REPORTED_LINES = 20;

export interface LoadFileOptions {
  replicas?: number;
  signal?: AbortSignal;
  /**
   * `lines`: lines validated, or objects written. While writing, `through` is the file line up to
   * which every object has landed (0 before any): after a failure, loading the lines after it
   * finishes the job.
   */
  onProgress?: (p: { phase: 'validate' | 'write'; lines: number; through?: number }) => void;
}

export interface LoadFileResult {
  lines: number;
  written: number;
  tombstones: number;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * The file's lines, numbered from 1, blank ones skipped. A line is split on LF (a CR before it is
 * dropped) and decoded strictly: `text` is null for a line that is not valid UTF-8, which a
 * lenient decoder would have turned into U+FFFD, merging distinct keys.
 */
async function* records(path: string, signal: AbortSignal | undefined): AsyncGenerator<{ line: number; text: string | null }> {
  const stream = createReadStream(path);
  let n = 0;
  const line = (bytes: Uint8Array): { line: number; text: string | null } | undefined => {
    n++;
    if (signal?.aborted) throw new AaeError('ABORTED', 'load aborted', { cause: signal.reason });
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    // A byte-order mark opening the file (editors on Windows write one) is not part of line 1.
    const start = n === 1 && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    let text: string;
    try {
      text = utf8Strict.decode(bytes.subarray(start, end));
    } catch {
      return { line: n, text: null };
    }
    return text.trim() === '' ? undefined : { line: n, text };
  };
  try {
    // Bytes of a line not yet ended, kept as chunks (a long line spans many) until its LF comes.
    let pending: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (let lf = chunk.indexOf(0x0a, from); lf >= 0; lf = chunk.indexOf(0x0a, from)) {
        const part = chunk.subarray(from, lf);
        const r = line(pending.length === 0 ? part : Buffer.concat([...pending, part]));
        pending = [];
        if (r !== undefined) yield r;
        from = lf + 1;
      }
      if (from < chunk.length) pending.push(chunk.subarray(from));
    }
    if (pending.length > 0) {
      const r = line(Buffer.concat(pending));
      if (r !== undefined) yield r;
    }
  } finally {
    stream.destroy();
  }
}

export async function validateLoadFile(path: string, options: LoadFileOptions = {}): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new AaeError('USAGE', `${path} is not a file`);
  } catch (e) {
    if (e instanceof AaeError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new AaeError('USAGE', `cannot read ${path}: ${why}`, { cause: e });
  }
  const bad: Array<{ line: number; message: string }> = [];
  let badCount = 0;
  let count = 0;
  for await (const { line, text } of records(path, options.signal)) {
    count++;
    try {
      if (text === null) throw new AaeError('LOAD_INVALID', 'not valid UTF-8 (a JSONL file is UTF-8 text)');
      parseLoadRecord(text);
    } catch (e) {
      if (!isAaeError(e, 'LOAD_INVALID')) throw e;
      badCount++;
      if (bad.length < MAX_REPORTED_LINES) bad.push({ line, message: e.message });
    }
    if (count % 10_000 === 0) options.onProgress?.({ phase: 'validate', lines: count });
  }
  options.onProgress?.({ phase: 'validate', lines: count });
  if (badCount > 0) {
    const listed = bad.map((b) => `  line ${b.line}: ${b.message}`).join('\n');
    const more = badCount > bad.length ? `\n  … and ${badCount - bad.length} more` : '';
    throw new AaeError('LOAD_INVALID', `${path}: ${badCount} malformed line(s); nothing was written\n${listed}${more}`, {
      details: { badLines: bad.map((b) => b.line), badCount },
    });
  }
  return count;
}

function toPutItem(r: LoadRecord, replicas: number | undefined): PutItem {
  const item: PutItem = { bucket: r.bucket, key: r.key, value: r.value, deleted: r.deleted, indexes: r.indexes };
  if (r.clock !== undefined) item.clock = r.clock;
  if (r.lastModified !== undefined) item.lastModified = r.lastModified;
  if (replicas !== undefined) item.replicas = replicas;
  return item;
}

export async function loadFile(cluster: Cluster, path: string, options: LoadFileOptions = {}): Promise<LoadFileResult> {
  const lines = await validateLoadFile(path, options);
  let tombstones = 0;
  // The file line of each object handed to putMany and not yet known to have landed: a few
  // batches' worth, since putMany keeps only that many in flight.
  const pendingLines: number[] = [];
  let pendingStart = 0;
  let landedItems = 0;
  let through = 0;
  const onLanded = (prefix: number): void => {
    if (prefix > landedItems) {
      through = pendingLines[pendingStart + prefix - landedItems - 1]!;
      pendingStart += prefix - landedItems;
      landedItems = prefix;
      if (pendingStart > 65_536) pendingLines.splice(0, pendingStart), (pendingStart = 0);
    }
  };
  async function* items(): AsyncGenerator<PutItem> {
    for await (const { line, text } of records(path, options.signal)) {
      let r: LoadRecord;
      try {
        if (text === null) throw new AaeError('LOAD_INVALID', 'not valid UTF-8');
        r = parseLoadRecord(text);
      } catch (e) {
        // The file changed between the passes: stop rather than write half of something else.
        throw new AaeError('LOAD_INVALID', `${path} changed while loading (line ${line}): ${(e as Error).message}`, { cause: e });
      }
      if (r.deleted) tombstones++;
      pendingLines.push(line);
      yield toPutItem(r, options.replicas);
    }
  }
  const putOptions: Parameters<Cluster['putMany']>[1] = {
    onProgress: ({ written, prefix }) => {
      onLanded(prefix);
      options.onProgress?.({ phase: 'write', lines: written, through });
    },
  };
  if (options.signal !== undefined) putOptions.signal = options.signal;
  const { written } = await cluster.putMany(items(), putOptions);
  return { lines, written, tombstones };
}
