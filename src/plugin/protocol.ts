/**
 * The messages between a node's main thread and a plugin's worker, over one MessagePort per fold
 * request (worker.ts is the worker's side, worker-session.ts the node's). Every request the node
 * sends gets exactly one answer, in order; the worker's own requests (a flush's writes into its
 * vnode) are answered by the node by id. Errors cross as their code, message and details, and
 * become an AaeError again on the node.
 */
import type { MessagePort } from 'node:worker_threads';
import type { KeyClock, WriteOp, Head } from '../node/index.js';
import type { ModuleFilter, StateNeeds } from '../fold/index.js';
import type { PluginManifest } from './manifest.js';
import type { PackedHashSizes } from './pack.js';

export interface WireError {
  code?: string;
  message: string;
  details?: Record<string, unknown>;
}

/** The node to the worker. */
export type ToWorker =
  | { t: 'open'; query: unknown }
  | { t: 'batch'; batch: PackedHashSizes | { kind: 'hash_size' | 'head' | 'object' | 'index' | 'cache'; items: readonly unknown[] }; where: string }
  | { t: 'flush'; final: boolean; vnode: number; emits: boolean; where: string }
  | { t: 'finish'; where: string }
  | { t: 'written'; id: number; previous?: Array<Head | null>; error?: WireError };

/** The worker to the node. */
export type FromWorker =
  /** The worker took the session and is loading the plugin: the node's deadline for the load starts here. */
  | { t: 'taken' }
  /** The plugin loaded: the worker serves the session. An `error` instead ends the session before it began. */
  | { t: 'ready' }
  | { t: 'opened'; needs: StateNeeds; filter: ModuleFilter; hasFlush: boolean }
  | { t: 'ack' }
  | { t: 'flushed'; emit?: ReadonlyArray<readonly KeyClock[]> }
  | { t: 'done'; acc: Uint8Array }
  | { t: 'error'; error: WireError }
  | { t: 'write'; id: number; ops: readonly WriteOp[] };

/** What a piscina task asks of a plugin worker. */
export type WorkerTask =
  /** Load the plugin (once per worker) and say what it is. */
  | { op: 'describe'; manifest: PluginManifest; digest: string }
  /** Serve one fold request's session over `port` until it finishes. */
  | { op: 'session'; manifest: PluginManifest; digest: string; port: MessagePort };

/** A describe task's answer: what the plugin is, or why it did not load. */
export type DescribeResult = { ok: Described; error?: undefined } | { error: WireError; ok?: undefined };

/** What a worker learnt of a plugin's module when it loaded it. */
export interface Described {
  name: string;
  version: string;
  mutates: boolean;
  description?: string;
}
