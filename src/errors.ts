/**
 * One error type for everything the toolkit reports to its callers.
 *
 * `code` is stable: scripts and the CLI depend on it, so a code is never renamed or reused. The
 * message is for people and may change. Programmer mistakes (calling a method with the wrong types
 * from TypeScript) stay `TypeError`s; an `AaeError` is for input a user can get wrong, data that can
 * be corrupt, and conditions that arise while running.
 *
 * Every code is classified as `input` (the CLI exits 2: bad usage, bad input, incompatible
 * arguments) or `failure` (exit 3: something went wrong while running). The record below makes
 * the classification total: adding a code without classifying it does not compile.
 */

export const ERROR_CODES = {
  // Generic
  INVALID_ARGUMENT: 'input', // a public function was given a value outside its domain
  USAGE: 'input', // the CLI was called with bad or missing arguments
  ABORTED: 'failure', // the caller's AbortSignal fired
  TIMEOUT: 'failure', // the operation ran past its deadline
  INTERNAL: 'failure', // an invariant broke: a bug, reported rather than hidden

  // src/hash
  HASH_NOT_READY: 'failure', // hashing used before initHash() resolved
  HASH_METHOD_UNKNOWN: 'input',

  // src/tictac
  TREE_SIZE_UNKNOWN: 'input',
  TREE_SIZE_MISMATCH: 'input', // merge/compare of trees of different sizes
  TREE_ROOT_INVALID: 'input', // a root or branch of the wrong length
  TREE_SEGMENT_INVALID: 'input', // a segment or branch id out of range
  TREE_EXPORT_CORRUPT: 'input', // an exported tree that does not decode or fails its checksum

  // src/cluster
  KEY_INVALID: 'input', // empty bucket, NUL in bucket, ...
  CLOCK_INVALID: 'input',
  RING_INVALID: 'input', // ring size not a power of two in 8..1024, bad nVal, no nodes
  CLUSTER_SPEC_INVALID: 'input', // cluster.json fails validation
  CLUSTER_NOT_FOUND: 'input', // no cluster.json at the given directory
  CLUSTER_EXISTS: 'input', // create over an existing cluster, or in a node's store folder
  CLUSTERS_INCOMPATIBLE: 'input', // different hash method, seed or tree size: trees never compared

  // src/store
  STORE_CLOSED: 'failure',
  STORE_IO: 'failure', // LevelDB reported an error
  STORE_LOCKED: 'failure', // another process holds the node's LevelDB
  STORE_NOT_FOUND: 'input', // a node's store is not where cluster.json puts it: the folder is missing, is a file, or holds no LevelDB
  LOAD_INVALID: 'input', // a JSONL file with malformed lines: nothing was written

  // src/plan
  PLAN_INVALID: 'input', // bad plan options (offset, pvc, sample)
  PLAN_INCOMPLETE: 'failure', // selector 'all' and some keyspaces cannot be covered

  // src/fold
  FOLD_MODULE_UNKNOWN: 'input',
  FOLD_MODULE_INVALID: 'input', // a loaded module lacks part of the contract
  FOLD_API_MISMATCH: 'input', // a loaded module declares an unsupported apiVersion
  FOLD_QUERY_INVALID: 'input',
  FOLD_ACC_OVERFLOW: 'failure', // an accumulator exceeded its declared bound
  FOLD_ACC_CORRUPT: 'failure', // an accumulator from a node did not decode
  FOLD_MODULE_FAILED: 'failure', // a module's own code threw while folding (the node and vnode are named)
  FOLD_VERSION_UNSATISFIED: 'input', // no version of the module on the node satisfies the request's range
  FOLD_MUTATION_REFUSED: 'input', // a mutating module asked of a node that does not allow mutations
  BACKLOG: 'failure', // a node's fold queue is full

  // src/plugin
  PLUGIN_INVALID: 'input', // a plugin's manifest is missing or malformed, or its module did not load or breaks the contract
  PLUGIN_API_MISMATCH: 'input', // a plugin was built for a plugin-API range this node does not satisfy: never loaded
  PLUGIN_MISMATCH: 'input', // the coordinator's copy of a plugin and the node's differ (same version, other files): no merge of foreign accumulators
  PLUGIN_TIMEOUT: 'failure', // a call into a plugin ran past its deadline: the call failed, its worker was replaced
  PLUGIN_CRASHED: 'failure', // a plugin's worker died (out of memory, exit): the call failed, its worker was replaced

  // src/node
  NODE_CONTRACT_MISMATCH: 'input', // a node speaks another major version of the node contract
  NODE_REQUEST_INVALID: 'input', // a request a node cannot serve: a vnode it does not hold, a keyspace outside a vnode
  NODE_UNAVAILABLE: 'failure', // a node could not be reached or stopped answering
  NODE_REPLY_INVALID: 'failure', // a node answered bytes that do not decode into the node contract
  NODE_LIMIT_EXCEEDED: 'failure', // a node refused a request over its limits (message size, requests in flight per client)

  // src/net
  NET_CONFIG_INVALID: 'input', // a bad address, unreadable or invalid TLS files, --insecure on a non-loopback address
  NET_TLS_MISMATCH: 'input', // the client's transport does not fit the node's: TLS against plaintext, a certificate the other side's CA did not sign or that does not name the address

  // src/exchange and src/repair
  EXCHANGE_FAILED: 'failure', // a source failed or answered malformed data
  CONFLICT_LOG_IO: 'failure', // the conflict log could not be opened or written: nothing is overwritten

  // src/connect
  CONNECT_SPEC_INVALID: 'input', // a keystore's source spec (source.json, or aae connect's options) fails validation
  KEYSTORE_NOT_FOUND: 'input', // the directory is not a keystore (no source.json)
  KEYSTORE_EXISTS: 'input', // aae connect over an existing cluster or keystore
  KEYSTORE_STATE_INVALID: 'input', // a keystore's state.json does not parse
  KEYSTORE_UNRELIABLE: 'failure', // the keystore missed changes (a gap) and is not rebuilt yet: it vouches for nothing
  SOURCE_INVALID: 'input', // the source does not fit: no such table or column, no primary key, wal_level not logical, missing privileges
  SOURCE_UNAVAILABLE: 'failure', // the source could not be reached or failed while running
  FEED_GAP: 'failure', // the change feed lost changes: a dropped or lost slot, a position the source no longer has, stopped too long

  // src/sync
  SYNC_STATE_INVALID: 'input', // a sync state file that does not parse or belongs to other clusters
  SYNC_STATE_IO: 'failure', // the sync state file could not be read or written
  SYNC_BUSY: 'failure', // another aae sync holds the lock of this state file
  SYNC_LOCK_LOST: 'failure', // an aae sync lost its etcd lease (another may have taken over): it stops
  SYNC_LOCK_UNAVAILABLE: 'failure', // etcd, which holds the sync lock, cannot be reached (a --once run; a standby waits instead)
  SYNC_COPIES_CHANGED: 'failure', // a running sync found a cluster it syncs is another copy now (a node served from a new directory): it starts afresh

  // src/cli
  OUTPUT_IO: 'failure', // a listing (--output FILE) or an --html page could not be written
} as const satisfies Record<string, 'input' | 'failure'>;

export type AaeErrorCode = keyof typeof ERROR_CODES;

export class AaeError extends Error {
  override readonly name = 'AaeError';
  readonly code: AaeErrorCode;
  /** Structured facts for the caller (bad line numbers, the missing keyspaces, ...). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: AaeErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** `input` errors are the caller's to fix (exit 2); `failure`s happened while running (exit 3). */
  get kind(): 'input' | 'failure' {
    return ERROR_CODES[this.code];
  }
}

export function isAaeError(e: unknown, code?: AaeErrorCode): e is AaeError {
  return e instanceof AaeError && (code === undefined || e.code === code);
}

/** Throws ABORTED if the signal has fired; call at the top of every batch of long work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new AaeError('ABORTED', 'operation aborted', { cause: signal.reason });
  }
}

/**
 * Characters a terminal acts on rather than prints: C0 controls (escape sequences start with ESC,
 * 0x1b), DEL, C1 controls (0x9b is a one-byte CSI on some terminals), and the bidirectional
 * overrides and isolates, which reorder what is shown (a key could display as another).
 */
const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text safe to print on a terminal: every character above replaced by a visible escape (`\x1b`,
 * `\u202e`); everything else, printable Unicode included, unchanged. For table cells and quoted
 * input in messages: a key holding an escape sequence must not recolour, move or clear the screen.
 */
export function escapeControls(s: string): string {
  return s.replace(TERMINAL_UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** `quote` without the quotes, for names shown bare (a field of a file): escaped, cut to `max`. */
export function clip(value: string, max: number = QUOTE_MAX): string {
  const { text, cut } = clipped(value, max);
  return cut ? `${text}… (${value.length} characters)` : text;
}

function clipped(value: string, max: number): { text: string; cut: boolean } {
  if (value.length <= max) return { text: escapeControls(value), cut: false };
  // Cut on a code point boundary: half a surrogate pair would print as U+FFFD.
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return { text: escapeControls(value.slice(0, end)), cut: true };
}

/** The most characters of one input an error message quotes: enough to recognise it, never megabytes. */
export const QUOTE_MAX = 64;

/**
 * Input as an error message may show it: a string in single quotes, its terminal controls escaped
 * and cut to `max` characters (saying how long it was); a number, boolean, null or undefined as
 * itself; a list or object only by its kind (never serialised: it may be megabytes, or nested
 * deeper than the stack).
 */
export function quote(value: unknown, max: number = QUOTE_MAX): string {
  if (typeof value === 'string') {
    const { text, cut } = clipped(value, max);
    return cut ? `'${text}…' (${value.length} characters)` : `'${text}'`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  return `a value of type ${typeof value}`;
}

/**
 * A caught error's message, as one line an operator can read: gRPC's transport errors (etcd's
 * client among them) end with "Resolution note:" and nothing after it when a connection was
 * refused; that empty tail goes.
 */
export function messageOf(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\.?\s*Resolution note:\s*$/, '').trim();
}
