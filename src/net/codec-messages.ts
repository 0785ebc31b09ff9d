/**
 * Requests and replies of the Node service: the contract's values as protobuf messages and back.
 * A client encodes requests and decodes replies; a server decodes requests and encodes replies.
 * Every decoder validates (check.ts) and returns exactly the contract's types; a server's decoded
 * requests carry no hints (the .proto has no field for them).
 */
import { Packr } from 'msgpackr';
import { HASH_METHODS } from '../hash/index.js';
import { AaeError } from '../errors.js';
import {
  decodeKeyClocks,
  encodeKeyClocks,
  notPlainData,
  type FoldEvent,
  type FoldRequest,
  type HeadsAnswer,
  type KeystoreNodeStatus,
  type NodeInfo,
  type ObjectsAnswer,
  type ReadRequest,
  type TreeStatus,
  type WriteAnswer,
  type WriteEntry,
  type WriteRequest,
} from '../node/index.js';
import { TREE_SIZES } from '../tictac/index.js';
import { Checker } from './check.js';
import { MAX_NAME, fromHead, fromKeyRefs, fromMaybeHeads, fromMaybeObjects, fromObject, toKeyRefs, toMaybeHeads, toMaybeObjects, toObject } from './codec-objects.js';
import { PROTOCOL } from './proto.js';

/** Queries are plain data as msgpack; typed arrays keep their type (docs/PROTOCOL.md, "Queries"). */
const packr = new Packr({ structuredClone: false, useRecords: false, moreTypes: true });

const VERSION = { major: PROTOCOL.major, minor: PROTOCOL.minor };
const request = (what: string): Checker => new Checker('NODE_REQUEST_INVALID', what);
const reply = (what: string): Checker => new Checker('NODE_REPLY_INVALID', what);
const TREE_ORIGINS = ['empty', 'restored', 'rebuilt', 'missing', 'unread'] as const;
const PLUGIN_STATES = ['serving', 'retiring', 'refused'] as const;
/** A plugin's refusal reason or path, a keystore's unreliability reason: an error message, a file path. */
const MAX_REASON = 4096;

/** Refuses a request of a major version this side does not speak (NODE_CONTRACT_MISMATCH). */
export function checkVersion(ck: Checker, v: unknown): void {
  const m = ck.optional(v, 'version');
  if (m === null) throw new AaeError('NODE_CONTRACT_MISMATCH', `${ck.what}: no protocol version; this node speaks ${PROTOCOL.major}.${PROTOCOL.minor}`);
  const major = ck.uint(m['major'], 'version.major', 0xffff_ffff);
  if (major !== PROTOCOL.major) {
    throw new AaeError('NODE_CONTRACT_MISMATCH', `${ck.what}: protocol major version ${major}; this node speaks ${PROTOCOL.major}.${PROTOCOL.minor}`, {
      details: { major, supported: PROTOCOL.major },
    });
  }
}

// ---- info ----

export function encodeInfoRequest(): Record<string, unknown> {
  return { version: VERSION };
}

export function decodeInfoRequest(v: unknown): void {
  const ck = request('info request');
  checkVersion(ck, ck.object(v, 'request')['version']);
}

export function encodeInfo(info: NodeInfo): Record<string, unknown> {
  return {
    name: info.name,
    cluster: info.cluster,
    contract: { major: info.contract.major, minor: info.contract.minor },
    software: info.software,
    params: { ringSize: info.params.ringSize, nVal: info.params.nVal, treeSize: info.params.treeSize, hashMethod: info.params.hashMethod, seed: info.params.seed },
    vnodes: [...info.vnodes],
    capabilities: { ...info.capabilities },
    modules: info.modules.map((m) => ({ name: m.name, version: m.version, mutates: m.mutates, ...(m.plugin === undefined ? {} : { plugin: { ...m.plugin, reason: m.plugin.reason ?? '', code: m.plugin.code ?? '' } }) })),
    folds: { ...info.folds },
    hasTrees: info.trees !== undefined,
    trees: (info.trees ?? []).map((t) => ({ vnode: t.vnode, keyspace: t.keyspace, origin: t.origin, reason: t.reason ?? '' })),
    ...(info.keystore === undefined ? {} : { keystore: encodeKeystore(info.keystore) }),
    copy: info.copy ?? '',
  };
}

function encodeKeystore(k: KeystoreNodeStatus): Record<string, unknown> {
  return {
    engine: k.engine,
    reliable: k.reliable,
    reason: k.reason ?? '',
    phase: k.phase,
    position: k.position ?? '',
    ...(k.lag === null ? {} : { lag: { ...k.lag } }),
    following: k.following,
    ...(k.unreachable === undefined ? {} : { unreachable: { reason: k.unreachable.reason, since: k.unreachable.since } }),
  };
}

const KEYSTORE_PHASES = ['new', 'building', 'swapping', 'ready'] as const;

function decodeKeystore(ck: Checker, v: unknown): KeystoreNodeStatus {
  const k = ck.object(v, 'keystore');
  const reason = ck.string(k['reason'], 'keystore.reason', MAX_REASON);
  const position = ck.string(k['position'], 'keystore.position', MAX_NAME);
  const lagOf = (): KeystoreNodeStatus['lag'] => {
    if (k['lag'] === null || k['lag'] === undefined) return null;
    const l = ck.object(k['lag'], 'keystore.lag');
    return { bytes: ck.number(l['bytes'], 'keystore.lag.bytes'), seconds: ck.number(l['seconds'], 'keystore.lag.seconds'), at: ck.number(l['at'], 'keystore.lag.at') };
  };
  return {
    engine: ck.string(k['engine'], 'keystore.engine', MAX_NAME),
    reliable: ck.bool(k['reliable'], 'keystore.reliable'),
    reason: reason === '' ? null : reason,
    phase: ck.oneOf(k['phase'], 'keystore.phase', KEYSTORE_PHASES),
    position: position === '' ? null : position,
    lag: lagOf(),
    following: ck.bool(k['following'], 'keystore.following'),
    // Minor 2; proto3 leaves an absent message null (an older node, or a source in reach).
    ...(k['unreachable'] === null || k['unreachable'] === undefined ? {} : { unreachable: unreachableOf(ck, k['unreachable']) }),
  };
}

/** A copy id is 32 hex digits (cluster.id); anything else from a peer is refused, not trusted as an id. */
function copyOf(ck: Checker, copy: string): { copy?: string } {
  if (copy === '') return {};
  if (!/^[0-9a-f]{32}$/.test(copy)) ck.fail('copy', 'must be 32 hex digits (a cluster.id)');
  return { copy };
}

function unreachableOf(ck: Checker, v: unknown): { reason: string; since: number } {
  const u = ck.object(v, 'keystore.unreachable');
  return { reason: ck.string(u['reason'], 'keystore.unreachable.reason', MAX_REASON), since: ck.number(u['since'], 'keystore.unreachable.since') };
}

export function decodeInfo(v: unknown): NodeInfo {
  const ck = reply('info reply');
  const m = ck.object(v, 'reply');
  const contract = ck.object(m['contract'], 'contract');
  const p = ck.object(m['params'], 'params');
  const caps = ck.object(m['capabilities'], 'capabilities');
  const folds = ck.object(m['folds'], 'folds');
  const trees = ck.array(m['trees'], 'trees').map((t, i): TreeStatus => {
    const x = ck.object(t, `trees[${i}]`);
    const reason = ck.string(x['reason'], `trees[${i}].reason`);
    return {
      vnode: ck.uint(x['vnode'], `trees[${i}].vnode`),
      keyspace: ck.uint(x['keyspace'], `trees[${i}].keyspace`),
      origin: ck.oneOf(x['origin'], `trees[${i}].origin`, TREE_ORIGINS),
      ...(reason === '' ? {} : { reason }),
    };
  });
  return {
    name: ck.string(m['name'], 'name', MAX_NAME),
    cluster: ck.string(m['cluster'], 'cluster', MAX_NAME),
    contract: { major: ck.uint(contract['major'], 'contract.major'), minor: ck.uint(contract['minor'], 'contract.minor') },
    software: ck.string(m['software'], 'software', MAX_NAME),
    params: {
      ringSize: ck.uint(p['ringSize'], 'params.ringSize'),
      nVal: ck.uint(p['nVal'], 'params.nVal'),
      treeSize: ck.oneOf(p['treeSize'], 'params.treeSize', TREE_SIZES),
      hashMethod: ck.oneOf(p['hashMethod'], 'params.hashMethod', HASH_METHODS),
      seed: ck.uint(p['seed'], 'params.seed', 0xffff_ffff),
    },
    vnodes: ck.array(m['vnodes'], 'vnodes').map((x, i) => ck.uint(x, `vnodes[${i}]`)),
    capabilities: {
      treeCache: ck.bool(caps['treeCache'], 'capabilities.treeCache'),
      headFold: ck.bool(caps['headFold'], 'capabilities.headFold'),
      hashSizeFold: ck.bool(caps['hashSizeFold'], 'capabilities.hashSizeFold'),
      objectFold: ck.bool(caps['objectFold'], 'capabilities.objectFold'),
      indexFold: ck.bool(caps['indexFold'], 'capabilities.indexFold'),
      writes: ck.bool(caps['writes'], 'capabilities.writes'),
      // Minor 1; an older node leaves it false (proto3's default), which is what absent means.
      ...(ck.bool(caps['erasesDeletes'], 'capabilities.erasesDeletes') ? { erasesDeletes: true } : {}),
    },
    modules: ck.array(m['modules'], 'modules').map((x, i) => {
      const mod = ck.object(x, `modules[${i}]`);
      const info = { name: ck.string(mod['name'], `modules[${i}].name`, MAX_NAME), version: ck.string(mod['version'], `modules[${i}].version`, MAX_NAME), mutates: ck.bool(mod['mutates'], `modules[${i}].mutates`) };
      // proto3 leaves an absent message null (an older node, or a built-in module).
      if (mod['plugin'] === null || mod['plugin'] === undefined) return info;
      const p = ck.object(mod['plugin'], `modules[${i}].plugin`);
      const at = `modules[${i}].plugin`;
      const reason = ck.string(p['reason'], `${at}.reason`, MAX_REASON);
      const code = ck.string(p['code'], `${at}.code`, MAX_NAME);
      return {
        ...info,
        plugin: {
          state: ck.oneOf(p['state'], `${at}.state`, PLUGIN_STATES),
          apiRange: ck.string(p['apiRange'], `${at}.apiRange`, MAX_NAME),
          digest: ck.string(p['digest'], `${at}.digest`, MAX_NAME),
          path: ck.string(p['path'], `${at}.path`, MAX_REASON),
          ...(reason === '' ? {} : { reason }),
          ...(code === '' ? {} : { code }),
        },
      };
    }),
    folds: {
      running: ck.uint(folds['running'], 'folds.running'),
      waiting: ck.uint(folds['waiting'], 'folds.waiting'),
      maxRunning: ck.uint(folds['maxRunning'], 'folds.maxRunning'),
      maxWaiting: ck.uint(folds['maxWaiting'], 'folds.maxWaiting'),
    },
    ...(ck.bool(m['hasTrees'], 'hasTrees') ? { trees } : {}),
    // proto3 leaves an absent message null (an older node, or a node that is not a keystore).
    ...(m['keystore'] === null || m['keystore'] === undefined ? {} : { keystore: decodeKeystore(ck, m['keystore']) }),
    // Minor 2; an older node leaves it empty (proto3's default), which is what absent means.
    ...copyOf(ck, ck.string(m['copy'] ?? '', 'copy', MAX_NAME)),
  };
}

// ---- folds ----

export function encodeFoldRequest(r: FoldRequest): Record<string, unknown> {
  const bad = notPlainData(r.query);
  if (bad !== null) throw new TypeError(`fold query is not plain data: ${bad}`);
  return {
    version: VERSION,
    module: r.module,
    versionRange: r.version ?? '',
    query: packr.pack(r.query ?? null),
    vnodes: r.vnodes.map((s) => ({ vnode: s.vnode, keyspaces: [...s.keyspaces] })),
    emit: r.emit === true,
    digest: r.digest ?? '',
  };
}

export function decodeFoldRequest(v: unknown): FoldRequest {
  const ck = request('fold request');
  const m = ck.object(v, 'request');
  checkVersion(ck, m['version']);
  const bytes = ck.bytes(m['query'], 'query');
  let query: unknown;
  try {
    query = bytes.length === 0 ? null : packr.unpack(bytes);
  } catch (e) {
    ck.fail('query', `does not decode as msgpack: ${(e as Error).message}`);
  }
  const bad = notPlainData(query);
  if (bad !== null) ck.fail('query', `is not plain data: ${bad}`);
  const range = ck.string(m['versionRange'], 'versionRange', 1024);
  const digest = ck.string(m['digest'], 'digest', 128);
  return {
    module: ck.string(m['module'], 'module', 256),
    ...(range === '' ? {} : { version: range }),
    ...(digest === '' ? {} : { digest }),
    query,
    vnodes: ck.array(m['vnodes'], 'vnodes').map((x, i) => {
      const s = ck.object(x, `vnodes[${i}]`);
      return { vnode: ck.uint(s['vnode'], `vnodes[${i}].vnode`), keyspaces: ck.array(s['keyspaces'], `vnodes[${i}].keyspaces`).map((k, j) => ck.uint(k, `vnodes[${i}].keyspaces[${j}]`)) };
    }),
    emit: ck.bool(m['emit'], 'emit'),
  };
}

export function encodeFoldEvent(e: FoldEvent): Record<string, unknown> {
  switch (e.kind) {
    case 'progress':
      return { progress: { vnodesDone: e.vnodesDone, items: e.items } };
    case 'keys':
      return { keys: { packed: encodeKeyClocks(e.keys) } };
    case 'result':
      return { result: { acc: e.acc, items: e.items } };
  }
}

export function decodeFoldEvent(v: unknown): FoldEvent {
  const ck = reply('fold event');
  const m = ck.object(v, 'event');
  switch (m['event']) {
    case 'progress': {
      const p = ck.object(m['progress'], 'progress');
      return { kind: 'progress', vnodesDone: ck.uint(p['vnodesDone'], 'progress.vnodesDone'), items: ck.uint(p['items'], 'progress.items') };
    }
    case 'keys':
      return { kind: 'keys', keys: decodeKeyClocks(ck.bytes(ck.object(m['keys'], 'keys')['packed'], 'keys.packed'), 'fold event keys') };
    case 'result': {
      const r = ck.object(m['result'], 'result');
      return { kind: 'result', acc: ck.bytes(r['acc'], 'result.acc'), items: ck.uint(r['items'], 'result.items') };
    }
    default:
      return ck.fail('event', 'must be progress, keys or result');
  }
}

// ---- reads ----

export function encodeReadRequest(r: ReadRequest): Record<string, unknown> {
  // `locs` is a hint for a node in the caller's own process: it never crosses.
  return { version: VERSION, vnode: r.vnode, keys: toKeyRefs(r.keys) };
}

export function decodeReadRequest(v: unknown): ReadRequest {
  const ck = request('read request');
  const m = ck.object(v, 'request');
  checkVersion(ck, m['version']);
  return { vnode: ck.uint(m['vnode'], 'vnode', 0xffff_ffff), keys: fromKeyRefs(ck, m['keys'], 'keys') };
}

export function encodeHeads(a: HeadsAnswer): Record<string, unknown> {
  return { generation: a.generation, heads: toMaybeHeads(a.heads) };
}

export function decodeHeads(v: unknown, expected: number): HeadsAnswer {
  const ck = reply('heads reply');
  const m = ck.object(v, 'reply');
  const heads = fromMaybeHeads(ck, m['heads'], 'heads');
  if (heads.length !== expected) ck.fail('heads', `has ${heads.length} entries for ${expected} keys`);
  return { generation: ck.uint(m['generation'], 'generation'), heads };
}

export function encodeObjects(a: ObjectsAnswer): Record<string, unknown> {
  return { objects: toMaybeObjects(a.objects) };
}

export function decodeObjects(v: unknown, expected: number): ObjectsAnswer {
  const ck = reply('objects reply');
  const objects = fromMaybeObjects(ck, ck.object(v, 'reply')['objects'], 'objects');
  if (objects.length !== expected) ck.fail('objects', `has ${objects.length} entries for ${expected} keys`);
  return { objects };
}

// ---- writes ----

export function encodeWriteRequest(r: WriteRequest): Record<string, unknown> {
  // `hint` and `basis` are trusted only inside the coordinator's process: they never cross.
  return {
    version: VERSION,
    vnode: r.vnode,
    writes: r.writes.map(({ op }) =>
      op.kind === 'put'
        ? { put: { object: toObject(op.object), ifDominates: op.ifDominates === true } }
        : { erase: { bucket: op.bucket, key: op.key, hasIfHash: op.ifHash !== undefined, ifHash: (op.ifHash ?? 0) >>> 0, ifDeleted: op.ifDeleted === true } },
    ),
    noResult: r.noResult === true,
  };
}

export function decodeWriteRequest(v: unknown): WriteRequest {
  const ck = request('write request');
  const m = ck.object(v, 'request');
  checkVersion(ck, m['version']);
  const writes = ck.array(m['writes'], 'writes').map((x, i): WriteEntry => {
    const w = ck.object(x, `writes[${i}]`);
    if (w['op'] === 'put') {
      const p = ck.object(w['put'], `writes[${i}].put`);
      const ifDominates = ck.bool(p['ifDominates'], `writes[${i}].put.ifDominates`);
      return { op: { kind: 'put', object: fromObject(ck, p['object'], `writes[${i}].put.object`), ...(ifDominates ? { ifDominates } : {}) } };
    }
    if (w['op'] === 'erase') {
      const e = ck.object(w['erase'], `writes[${i}].erase`);
      const hasIfHash = ck.bool(e['hasIfHash'], `writes[${i}].erase.hasIfHash`);
      const ifHash = ck.uint(e['ifHash'], `writes[${i}].erase.ifHash`, 0xffff_ffff);
      const ifDeleted = ck.bool(e['ifDeleted'], `writes[${i}].erase.ifDeleted`);
      return {
        op: {
          kind: 'erase',
          bucket: ck.string(e['bucket'], `writes[${i}].erase.bucket`, MAX_NAME),
          key: ck.bytes(e['key'], `writes[${i}].erase.key`),
          ...(hasIfHash ? { ifHash } : {}),
          ...(ifDeleted ? { ifDeleted } : {}),
        },
      };
    }
    return ck.fail(`writes[${i}]`, 'must be a put or an erase');
  });
  const noResult = ck.bool(m['noResult'], 'noResult');
  return { vnode: ck.uint(m['vnode'], 'vnode', 0xffff_ffff), writes, ...(noResult ? { noResult } : {}) };
}

export function encodeWriteAnswer(a: WriteAnswer): Record<string, unknown> {
  return { previous: toMaybeHeads(a.previous) };
}

export function decodeWriteAnswer(v: unknown, expected: number): WriteAnswer {
  const ck = reply('write reply');
  const previous = fromMaybeHeads(ck, ck.object(v, 'reply')['previous'], 'previous');
  if (previous.length !== expected) ck.fail('previous', `has ${previous.length} entries for ${expected} writes`);
  return { previous };
}

export { fromHead };
