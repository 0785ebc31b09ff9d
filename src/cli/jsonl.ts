import { createWriteStream, type WriteStream } from 'node:fs';
import { AaeError } from '../errors.js';
import type { OutStream } from './out-stream.js';
import { jsonReplacer } from './output.js';

/**
 * A JSONL listing (`--output FILE.jsonl`, or `--json-lines` on stdout): one JSON record a line,
 * written as records arrive, never held. Writes to a file honour backpressure (`write` resolves
 * once the stream can take more), so a producer that awaits it runs in bounded memory however
 * many records there are. The same writer takes any record stream: compare's differences today,
 * repair's planned or done writes when the repair reports them one by one.
 */
export interface JsonlWriter {
  write(record: unknown): Promise<void>;
  /** Records written so far. */
  readonly count: number;
  /** Where the records go: a file path, or 'stdout'. */
  readonly target: string;
  close(): Promise<void>;
}

export function jsonlToStream(out: OutStream): JsonlWriter {
  let count = 0;
  return {
    target: 'stdout',
    get count() {
      return count;
    },
    write(record) {
      out.write(`${JSON.stringify(record, jsonReplacer)}\n`);
      count++;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

export async function jsonlToFile(path: string): Promise<JsonlWriter> {
  const stream: WriteStream = createWriteStream(path, { flags: 'w' });
  let failure: Error | undefined;
  stream.on('error', (e) => {
    failure = e;
  });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e) => reject(ioError(path, e)));
  });
  let count = 0;
  let draining: Promise<void> | undefined;
  const check = (): void => {
    if (failure !== undefined) throw ioError(path, failure);
  };
  return {
    target: path,
    get count() {
      return count;
    },
    async write(record) {
      check();
      count++;
      if (!stream.write(`${JSON.stringify(record, jsonReplacer)}\n`)) {
        // One wait for the next drain, shared by every write that finds the buffer full (a
        // producer that cannot await, such as repair's onAction, may write many meanwhile).
        draining ??= new Promise<void>((resolve) => {
          const done = (): void => {
            stream.off('drain', done);
            stream.off('error', done);
            draining = undefined;
            resolve();
          };
          stream.on('drain', done);
          stream.on('error', done);
        });
        await draining;
        check();
      }
    },
    async close() {
      await new Promise<void>((resolve) => stream.end(resolve));
      check();
    },
  };
}

function ioError(path: string, e: Error): AaeError {
  return new AaeError('OUTPUT_IO', `cannot write ${path}: ${e.message}`, { cause: e });
}
