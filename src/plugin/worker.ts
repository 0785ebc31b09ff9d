/**
 * A plugin's worker thread (a piscina worker; the node's side is worker-session.ts). It imports the
 * plugin once, when its first task arrives — from the version's snapshot (snapshot.ts), never the
 * plugin directory; an import that failed is tried afresh by the next task — and then serves tasks:
 * - `describe`: load and validate the plugin, say what it is (how a node learns a plugin loads);
 * - `session`: one fold request, over a MessagePort: say `taken` (the load's deadline starts), load
 *   the plugin (`ready`, or an `error` that ends the session), parse the query, fold the batches the node
 *   sends (a hash-and-size batch arrives packed, pack.ts), flush (a flush's writes go back to the
 *   node, which holds the store), check the accumulator's bound after every batch, and finally
 *   encode the accumulator with the module's codec and send it back, transferred.
 *
 * The accumulator lives here for the whole request: only the encoded result crosses. A throw in the
 * plugin's code answers an error (FOLD_MODULE_FAILED, or the plugin's own AaeError); a plugin that
 * loops never answers, and the node terminates this thread at the call's deadline; one that
 * exhausts its heap is terminated by V8 at the thread's memory limit. Either way the node gets a
 * new worker, and this one's module cache goes with it — which is also how a reload unloads code.
 */
import type { MessagePort } from 'node:worker_threads';
import { isAaeError } from '../errors.js';
import { checkBound, moduleFailure, parseFoldQuery, plainCodec, type AnyFoldModule, type FoldInput, type FlushOutput } from '../fold/index.js';
import type { Head, WriteOp } from '../node/index.js';
import { importPlugin } from './load.js';
import type { PluginManifest } from './manifest.js';
import { unpackHashSizes } from './pack.js';
import type { DescribeResult, FromWorker, ToWorker, WireError, WorkerTask } from './protocol.js';

let loaded: { digest: string; module: Promise<AnyFoldModule> } | undefined;
/** Imports tried in this worker: a retry after a failure imports under a fresh URL. */
let attempts = 0;

function load(manifest: PluginManifest, digest: string): Promise<AnyFoldModule> {
  if (loaded === undefined || loaded.digest !== digest) {
    const module = importPlugin(manifest, digest, attempts++);
    loaded = { digest, module };
    // A failed import stays failed in the module cache under its URL: the next task tries afresh, so a
    // failure that passes (a resource the plugin reads at import) does not break this worker for good.
    module.catch(() => {
      if (loaded?.module === module) loaded = undefined;
    });
  }
  return loaded.module;
}

export function toWire(e: unknown): WireError {
  if (isAaeError(e)) return { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: { ...e.details } }) };
  return { message: e instanceof Error ? e.message : String(e) };
}

export default async function run(task: WorkerTask): Promise<DescribeResult | undefined> {
  if (task.op === 'describe') {
    try {
      const module = await load(task.manifest, task.digest);
      return { ok: { name: module.name, version: task.manifest.version, mutates: module.mutates === true, ...(module.description === undefined ? {} : { description: module.description }) } };
    } catch (e) {
      // An error crosses a worker's boundary without its code: send it as data.
      return { error: toWire(e) };
    }
  }
  // The session is this worker's now (a task waits in the pool's queue until a worker is free): the
  // node starts the load's deadline here, so an import that never settles is stopped like a loop.
  task.port.postMessage({ t: 'taken' } satisfies FromWorker);
  let module: AnyFoldModule;
  try {
    module = await load(task.manifest, task.digest);
  } catch (e) {
    task.port.postMessage({ t: 'error', error: toWire(e) } satisfies FromWorker);
    task.port.close();
    return undefined;
  }
  await serve(module, task.port);
  return undefined;
}

/** One request's session: answers every message in order until `finish` (or an error) ends it. */
function serve(module: AnyFoldModule, port: MessagePort): Promise<void> {
  return new Promise<void>((resolve) => {
    let q: unknown;
    let acc: unknown;
    let fold: ((acc: unknown, input: FoldInput) => unknown) | undefined;
    let flush: ((acc: unknown, ctx: never) => Promise<FlushOutput<unknown>>) | undefined;
    let bound = 0;
    let nextWrite = 0;
    const writes = new Map<number, { resolve: (p: Array<Head | null>) => void; reject: (e: unknown) => void }>();
    let closed = false;
    const send = (m: FromWorker, transfer?: ArrayBuffer[]): void => {
      if (!closed) port.postMessage(m, transfer ?? []);
    };
    const end = (): void => {
      closed = true;
      port.close();
      resolve();
    };
    const fail = (e: unknown): void => {
      send({ t: 'error', error: toWire(e) });
      end();
    };
    // Messages are handled one at a time, in order: a flush awaiting its writes holds the next batch back.
    let chain = Promise.resolve();
    port.on('message', (m: ToWorker) => {
      if (m.t === 'written') {
        const w = writes.get(m.id);
        writes.delete(m.id);
        if (m.error !== undefined) w?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
        else w?.resolve(m.previous ?? []);
        return;
      }
      chain = chain.then(() => (closed ? undefined : handle(m))).catch(fail);
    });
    send({ t: 'ready' });
    const handle = async (m: ToWorker): Promise<void> => {
      switch (m.t) {
        case 'open': {
          q = parseFoldQuery(module, m.query);
          fold = module.generateObjectFoldFun(q);
          flush = module.generateFlushFun?.(q) as typeof flush;
          bound = module.accBound(q);
          acc = module.generateAcc(q);
          send({ t: 'opened', needs: module.stateNeeds(q), filter: module.generateFilter(q), hasFlush: flush !== undefined });
          return;
        }
        case 'batch': {
          const f = fold!;
          const b = m.batch;
          try {
            if (b.kind === 'hash_size_packed') {
              for (const entry of unpackHashSizes(b)) acc = f(acc, { kind: 'hash_size', entry });
            } else if (b.kind === 'hash_size') {
              for (const entry of b.items) acc = f(acc, { kind: 'hash_size', entry } as FoldInput);
            } else if (b.kind === 'head') {
              for (const head of b.items) acc = f(acc, { kind: 'head', head } as FoldInput);
            } else if (b.kind === 'object') {
              for (const object of b.items) acc = f(acc, { kind: 'object', object } as FoldInput);
            } else if (b.kind === 'index') {
              for (const entry of b.items) acc = f(acc, { kind: 'index', entry } as FoldInput);
            } else for (const input of b.items) acc = f(acc, input as FoldInput);
          } catch (e) {
            throw moduleFailure(module.name, m.where, e);
          }
          // Without a flush the bound is checked here, after every batch; with one, after the flush.
          if (flush === undefined) checkBound(module.name, module.accSize(acc), bound);
          send({ t: 'ack' });
          return;
        }
        case 'flush': {
          let emit;
          if (flush !== undefined) {
            const vnode = {
              id: m.vnode,
              write: (ops: readonly WriteOp[]) =>
                new Promise<Array<Head | null>>((res, rej) => {
                  const id = nextWrite++;
                  writes.set(id, { resolve: res, reject: rej });
                  send({ t: 'write', id, ops });
                }),
            };
            try {
              const out = await flush(acc, { final: m.final, vnode, signal: new AbortController().signal, emits: m.emits } as never);
              acc = out.acc;
              emit = out.emit;
            } catch (e) {
              throw moduleFailure(module.name, m.where, e);
            }
            checkBound(module.name, module.accSize(acc), bound);
          }
          send({ t: 'flushed', ...(emit === undefined ? {} : { emit }) });
          return;
        }
        case 'finish': {
          let bytes: Uint8Array;
          try {
            bytes = (module.accCodec ?? plainCodec()).encode(acc, q);
          } catch (e) {
            throw moduleFailure(module.name, `${m.where} (encoding its accumulator)`, e);
          }
          // A copy of exactly its bytes, transferred: msgpack's output may be a view into a shared pool.
          // (new Uint8Array, not slice: on a Buffer slice is a view, and its whole pool would be transferred.)
          const out = new Uint8Array(bytes);
          send({ t: 'done', acc: out }, [out.buffer as ArrayBuffer]);
          end();
          return;
        }
      }
    };
  });
}
