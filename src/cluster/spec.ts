import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AaeError, clip, isAaeError } from '../errors.js';
import { HASH_METHODS, type HashMethod } from '../hash/index.js';
import { writeFileAtomic } from './atomic-file.js';
import { noClusterError } from './no-cluster.js';
import { MAX_N_VAL, MAX_RING_SIZE, MIN_RING_SIZE, validateRing } from './ring.js';

/**
 * The cluster spec: `cluster.json` at the root of an embedded cluster's directory.
 *
 * It fixes everything two replicas must agree on to build comparable trees (tree size, hash method,
 * seed) and everything placement depends on (ring size, nVal, the node list, whose order feeds the
 * claim). Decoding validates every field and names each bad one in the error; writing is atomic
 * (a temp file, fsync, rename), so a crash leaves the old spec or the new one, never half of one.
 */

export const CLUSTER_SPEC_FILE = 'cluster.json';
export const CLUSTER_SPEC_VERSION = 1;

/**
 * Tree size names, kept here rather than imported because cluster may import only hash (see
 * DESIGN.md, layers). test/cluster/spec.test.ts checks that it equals src/tictac's TREE_SIZES.
 */
export const TREE_SIZE_NAMES = ['xxsmall', 'xsmall', 'small', 'medium', 'large', 'xlarge'] as const;
export type TreeSizeName = (typeof TREE_SIZE_NAMES)[number];

/** More nodes than this is not an embedded cluster any more; 256 also keeps claim's search cheap. */
export const MAX_NODES = 256;
/** A node name becomes a directory name: keep it short and portable. */
export const MAX_NODE_NAME_LENGTH = 64;
const NODE_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * A name cluster.json can hold: non-empty, well-formed (it is written as UTF-8), no NUL. The name is
 * the actor of the versions a cluster mints, and what a sync names a pair by (its state file, its
 * etcd lock), so every way of choosing one (`cluster create --name`, `connect --name`) checks it
 * with this.
 */
export function isClusterName(s: string): boolean {
  return s.length > 0 && s.isWellFormed() && !s.includes('\0');
}

export interface ClusterSpec {
  version: 1;
  name: string;
  ringSize: number;
  nVal: number;
  treeSize: TreeSizeName;
  hashMethod: HashMethod;
  seed: number;
  /** Node names, in claim order. Each is also the name of the node's LevelDB folder. */
  nodes: string[];
}

/** A message for a field that also says "is required" when the field is absent. */
function must(text: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => (issue.input === undefined ? 'is required' : text) };
}

const RING_MSG = `must be a power of two in ${MIN_RING_SIZE}..${MAX_RING_SIZE}`;
const NODE_MSG = `must be 1..${MAX_NODE_NAME_LENGTH} characters of [A-Za-z0-9_.-], not '.' or '..'`;

const nodeName = z
  .string(must(NODE_MSG))
  .refine((s) => NODE_NAME.test(s) && s.length <= MAX_NODE_NAME_LENGTH && s !== '.' && s !== '..', {
    error: NODE_MSG,
  });

/** host:port or [v6]:port (src/net parses it fully; here only its shape is checked). */
const ADDRESS = /^(?:\[[0-9A-Fa-f:.]+\]|[^:[\]\s]+):\d{1,5}$/;
const ADDRESS_MSG = 'must be host:port, e.g. 10.0.0.5:7001';

const servedNode = z.strictObject({
  name: nodeName,
  address: z.string(must(ADDRESS_MSG)).refine((a) => ADDRESS.test(a) && Number(a.slice(a.lastIndexOf(':') + 1)) <= 65535, { error: ADDRESS_MSG }),
});

/**
 * A node: its name (served from this directory), or {name, address} (served elsewhere). Not a
 * z.union, whose failure says only "Invalid input": each form reports its own message.
 */
const nodeEntry = z.unknown().transform((v, ctx): string | { name: string; address: string } => {
  const r = typeof v === 'object' && v !== null && !Array.isArray(v) ? servedNode.safeParse(v) : nodeName.safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});

const TLS_MSG = 'must be "insecure" or {"ca", "cert", "key"}: paths to PEM files, relative to the cluster directory';
const path = z.string(must(TLS_MSG)).min(1, { error: TLS_MSG });
const tlsSchema = z.union([z.literal('insecure'), z.strictObject({ ca: path, cert: path, key: path })], must(TLS_MSG));

const specSchema = z.strictObject({
  version: z.literal(CLUSTER_SPEC_VERSION, must(`must be ${CLUSTER_SPEC_VERSION}`)),
  name: z.string(must('must be a non-empty string')).refine(isClusterName, { error: 'must be a non-empty string' }),
  ringSize: z
    .number(must(RING_MSG))
    .refine((n) => Number.isInteger(n) && n >= MIN_RING_SIZE && n <= MAX_RING_SIZE && (n & (n - 1)) === 0, {
      error: RING_MSG,
    }),
  nVal: z
    .number(must(`must be an integer in 1..${MAX_N_VAL}`))
    .refine((n) => Number.isInteger(n) && n >= 1 && n <= MAX_N_VAL, { error: `must be an integer in 1..${MAX_N_VAL}` }),
  treeSize: z.enum(TREE_SIZE_NAMES, must(`must be one of ${TREE_SIZE_NAMES.join(', ')}`)),
  hashMethod: z.enum(HASH_METHODS as [HashMethod, ...HashMethod[]], must(`must be one of ${HASH_METHODS.join(', ')}`)),
  seed: z
    .number(must('must be an integer in 0..4294967295'))
    .refine((n) => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff, { error: 'must be an integer in 0..4294967295' }),
  nodes: z
    .array(nodeEntry, must(`must be a list of 1..${MAX_NODES} node names`))
    .min(1, { error: `must be a list of 1..${MAX_NODES} node names` })
    .max(MAX_NODES, { error: `must be a list of 1..${MAX_NODES} node names` })
    .superRefine((entries, ctx) => {
      const seen = new Set<string>();
      for (const e of entries) {
        const n = typeof e === 'string' ? e : e.name;
        if (seen.has(n)) ctx.addIssue({ code: 'custom', message: `names node '${n}' twice` });
        seen.add(n);
      }
    }),
  tls: tlsSchema.optional(),
  plugins: z.string(must('must be a path (relative to the cluster directory)')).min(1, { error: 'must be a path (relative to the cluster directory)' }).optional(),
});

/** How this directory's commands reach served nodes: mutual TLS with these files, or plaintext on loopback. */
export type ClientTls = 'insecure' | { ca: string; cert: string; key: string };

/**
 * Everything cluster.json says: the spec, and for a cluster whose nodes (some or all) are served
 * elsewhere (`aae node serve`), each such node's address and how to reach them. A node without an
 * address is served from this directory (its LevelDB folder is here).
 */
export interface ClusterConfig {
  spec: ClusterSpec;
  /** node name → host:port, for the nodes served elsewhere. */
  addresses: Readonly<Record<string, string>>;
  tls?: ClientTls;
  /**
   * A plugin directory, relative to the cluster directory (docs/PLUGINS.md): `aae node serve`
   * serves its plugins, and `aae fold` loads its coordinator copies from it.
   */
  plugins?: string;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `${issue.keys.slice(0, 5).map((k) => clip(k)).join(', ')}${issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : ''}: unknown field`;
  const path = issue.path.length === 0 ? '(root)' : issue.path.map((p) => (typeof p === 'string' ? clip(p) : String(p))).join('.');
  return `${path}: ${issue.message}`;
}

/**
 * Validates a decoded cluster.json. Throws CLUSTER_SPEC_INVALID naming every bad field, e.g.
 * "cluster.json: ringSize: must be a power of two in 8..1024"; `details.fields` lists them.
 */
export function parseClusterSpec(json: unknown, source = CLUSTER_SPEC_FILE): ClusterSpec {
  return parseClusterConfig(json, source).spec;
}

/** As parseClusterSpec, keeping the nodes' addresses and the TLS settings. */
export function parseClusterConfig(json: unknown, source = CLUSTER_SPEC_FILE): ClusterConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new AaeError('CLUSTER_SPEC_INVALID', `${source}: must be a JSON object`, { details: { fields: [] } });
  }
  const r = specSchema.safeParse(json);
  if (!r.success) {
    const fields = r.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys : [String(i.path[0] ?? '')]));
    throw new AaeError('CLUSTER_SPEC_INVALID', `${source}: ${r.error.issues.map(describeIssue).join('; ')}`, {
      details: { fields: [...new Set(fields)] },
    });
  }
  const { tls, nodes, plugins, ...rest } = r.data;
  const spec: ClusterSpec = { ...rest, nodes: nodes.map((n) => (typeof n === 'string' ? n : n.name)) };
  const addresses: Record<string, string> = {};
  for (const n of nodes) if (typeof n !== 'string') addresses[n.name] = n.address;
  try {
    validateRing(spec); // the ring's own rules, should they ever become stricter than the schema
  } catch (e) {
    if (!isAaeError(e, 'RING_INVALID')) throw e;
    throw new AaeError('CLUSTER_SPEC_INVALID', `${source}: ${e.message}`, { cause: e, details: { fields: ['ringSize', 'nVal'] } });
  }
  return { spec, addresses, ...(tls === undefined ? {} : { tls }), ...(plugins === undefined ? {} : { plugins }) };
}

/** cluster.json's JSON for a config: a node with an address is written as {name, address}. */
export function clusterConfigJson(config: ClusterConfig): Record<string, unknown> {
  const { spec } = config;
  return {
    ...spec,
    nodes: spec.nodes.map((n) => (config.addresses[n] === undefined ? n : { name: n, address: config.addresses[n] })),
    ...(config.tls === undefined ? {} : { tls: config.tls }),
    ...(config.plugins === undefined ? {} : { plugins: config.plugins }),
  };
}

/** n1, n2, …, nK: the default node names. */
export function nodeNames(count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) {
    throw new AaeError('INVALID_ARGUMENT', `node count must be an integer in 1..${MAX_NODES}, got ${count}`);
  }
  return Array.from({ length: count }, (_, i) => `n${i + 1}`);
}

export interface SpecOverrides {
  /** Number of nodes named n1…nK (ignored when `nodes` is given). Default 3. */
  nodeCount?: number;
  nodes?: string[];
  ringSize?: number;
  nVal?: number;
  treeSize?: TreeSizeName;
  hashMethod?: HashMethod;
  seed?: number;
}

/**
 * A validated spec with the defaults: nodes n1..n3, ring size 64, nVal 3, tree size large,
 * hash method clock, seed 0. Note that 3 nodes cannot hold a safe claim on a ring of 64 with nVal 3
 * (see claim.ts); `claim()` reports it.
 */
export function defaultSpec(name: string, overrides: SpecOverrides = {}): ClusterSpec {
  return parseClusterSpec(
    {
      version: CLUSTER_SPEC_VERSION,
      name,
      ringSize: overrides.ringSize ?? 64,
      nVal: overrides.nVal ?? 3,
      treeSize: overrides.treeSize ?? 'large',
      hashMethod: overrides.hashMethod ?? 'clock',
      seed: overrides.seed ?? 0,
      nodes: overrides.nodes ?? nodeNames(overrides.nodeCount ?? 3),
    },
    'cluster spec',
  );
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Reads and validates `<dir>/cluster.json`. Missing → CLUSTER_NOT_FOUND; bad JSON or fields → CLUSTER_SPEC_INVALID. */
export async function readClusterSpec(dir: string): Promise<ClusterSpec> {
  return (await readClusterConfig(dir)).spec;
}

/** As readClusterSpec, keeping the nodes' addresses and the TLS settings. */
export async function readClusterConfig(dir: string): Promise<ClusterConfig> {
  const file = join(dir, CLUSTER_SPEC_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw await noClusterError(dir, CLUSTER_SPEC_FILE, e);
    throw new AaeError('STORE_IO', `cannot read ${file}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AaeError('CLUSTER_SPEC_INVALID', `${CLUSTER_SPEC_FILE}: not valid JSON (${(e as Error).message})`, {
      cause: e,
      details: { fields: [] },
    });
  }
  return parseClusterConfig(json);
}

/**
 * Writes `<dir>/cluster.json` atomically: validate, write a temp file in the same directory, fsync
 * it, rename it over the old file, fsync the directory. On failure the temp file is removed.
 */
export async function writeClusterSpec(dir: string, spec: ClusterSpec): Promise<void> {
  await writeClusterConfig(dir, { spec, addresses: {} });
}

/** As writeClusterSpec, with the nodes' addresses and the TLS settings. */
export async function writeClusterConfig(dir: string, config: ClusterConfig): Promise<void> {
  const valid = parseClusterConfig(clusterConfigJson(config), 'cluster spec');
  const file = join(dir, CLUSTER_SPEC_FILE);
  try {
    await writeFileAtomic(file, `${JSON.stringify(clusterConfigJson(valid), null, 2)}\n`);
  } catch (e) {
    throw new AaeError('STORE_IO', `cannot write ${file}`, { cause: e });
  }
}
