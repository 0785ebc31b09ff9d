import type { FoldEvent, FoldRequest, HeadsAnswer, NodeInfo, ObjectsAnswer, ReadRequest, WriteAnswer, WriteRequest, KeyClock } from '../../src/node/index.js';

/**
 * The values frozen in fixtures/net (protocol major 1): each file holds the protobuf bytes of one
 * request or reply as this version wrote it (`<MessageType>.bin`), and keyclocks.bin a packed
 * key-clock list. test/net/codecs.test.ts decodes every file and expects exactly these values, so a
 * change to the .proto or the codecs that would misread a peer of this version fails a test.
 * Regenerate only with a new major version: `FREEZE=1 npx vitest run test/net/codecs.test.ts`.
 */
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const clock = { entries: [['dc1', 3], ['dr1', 1]] as Array<readonly [string, number]>, lastModified: 1_700_000_000_123 };
const head = { clock, deleted: false, size: 5, hash: 0xdeadbeef, alt: 0x01020304, indexes: [['city_bin', 'Leeds']] as Array<readonly [string, string]> };

export const keyClocks: KeyClock[] = [
  { bucket: 'users', key: enc('alice'), clock, deleted: false, hash: 0x11223344 },
  { bucket: 'users', key: Uint8Array.of(0xff, 0x00), clock: { entries: [['dc1', 4]], lastModified: 1_700_000_000_100 }, deleted: true, hash: 7 },
  { bucket: 'orders', key: enc('o-1'), clock: { entries: [], lastModified: 0 }, deleted: false, hash: 0 },
];

export const info: NodeInfo = {
  name: 'n1',
  cluster: 'dc1',
  contract: { major: 1, minor: 0 },
  software: 'tictac-aae 0.1.0',
  params: { ringSize: 64, nVal: 3, treeSize: 'large', hashMethod: 'clock', seed: 0 },
  vnodes: [0, 4, 8],
  capabilities: { treeCache: true, headFold: true, hashSizeFold: true, objectFold: true, indexFold: true, writes: true },
  modules: [{ name: 'object_stats', version: '1.0.0', mutates: false }],
  folds: { running: 1, waiting: 0, maxRunning: 2, maxWaiting: 32 },
  trees: [{ vnode: 0, keyspace: 62, origin: 'restored' }, { vnode: 4, keyspace: 2, origin: 'missing', reason: 'checksum mismatch' }],
};

export const foldRequest: FoldRequest = {
  module: 'merge_words_nval',
  version: '^1.0.0',
  query: { width: 512, runs: [0, 2048] },
  vnodes: [{ vnode: 0, keyspaces: [62, 63] }, { vnode: 4, keyspaces: [2] }],
  emit: false,
};

/** Minor 1: a node with a plugin serving, one retiring, and one refused. */
export const infoWithPlugins: NodeInfo = {
  ...info,
  contract: { major: 1, minor: 1 },
  modules: [
    { name: 'object_stats', version: '1.0.0', mutates: false },
    { name: 'size_histogram', version: '1.2.0', mutates: false, plugin: { state: 'serving', apiRange: '^1.0.0', digest: 'ab'.repeat(32), path: '/var/lib/aae/plugins/size-histogram' } },
    { name: 'size_histogram', version: '1.1.0', mutates: false, plugin: { state: 'retiring', apiRange: '^1.0.0', digest: 'cd'.repeat(32), path: '/var/lib/aae/plugins/size-histogram' } },
    { name: 'tenant_sum', version: '3.0.0', mutates: true, plugin: { state: 'refused', apiRange: '^2.0.0', digest: 'ef'.repeat(32), path: '/var/lib/aae/plugins/tenant-sum', reason: 'built for plugin API ^2.0.0; this node speaks 1.0.0', code: 'PLUGIN_API_MISMATCH' } },
  ],
};

/** Minor 1: a keystore node (it erases deletes, and says how far behind its source it is), and one never built. */
export const keystoreInfo: NodeInfo = {
  ...info,
  contract: { major: 1, minor: 1 },
  capabilities: { ...info.capabilities, indexFold: false, erasesDeletes: true },
  keystore: { engine: 'postgresql', reliable: true, reason: null, phase: 'ready', position: '0/16B3748', lag: { bytes: 4096, seconds: 0.25, at: 1_700_000_000_000 }, following: true },
};

export const unbuiltKeystoreInfo: NodeInfo = {
  ...keystoreInfo,
  keystore: { engine: 'postgresql', reliable: false, reason: 'never built', phase: 'new', position: null, lag: null, following: false },
};

/** Minor 2: a served node says which copy of its cluster its data is (its directory's cluster.id). */
export const infoWithCopy: NodeInfo = {
  ...info,
  contract: { major: 1, minor: 2 },
  copy: '0123456789abcdef0123456789abcdef',
};

/** Minor 2: a keystore whose feed cannot reach its source (reconnecting), still reliable. */
export const unreachableKeystoreInfo: NodeInfo = {
  ...keystoreInfo,
  contract: { major: 1, minor: 2 },
  keystore: { ...keystoreInfo.keystore!, following: false, unreachable: { reason: 'connect ECONNREFUSED 127.0.0.1:5432', since: 1_700_000_000_500 } },
};

export const pluginFoldRequest: FoldRequest = {
  module: 'size_histogram',
  version: '1.2.0',
  query: { bucket: 'users' },
  vnodes: [{ vnode: 0, keyspaces: [62] }],
  emit: false,
  digest: 'ab'.repeat(32),
};

export const foldEvents: FoldEvent[] = [
  { kind: 'progress', vnodesDone: 1, items: 1000 },
  { kind: 'keys', keys: keyClocks },
  { kind: 'result', acc: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), items: 2000 },
];

export const readRequest: ReadRequest = { vnode: 4, keys: [{ bucket: 'users', key: enc('alice') }, { bucket: 'users', key: Uint8Array.of(0) }] };
export const heads: HeadsAnswer = { generation: 42, heads: [head, null] };
export const objects: ObjectsAnswer = {
  objects: [{ object: { bucket: 'users', key: enc('alice'), clock, value: enc('Leeds'), deleted: false, indexes: [['city_bin', 'Leeds']] }, hash: 0xdeadbeef }, null],
};
export const writeRequest: WriteRequest = {
  vnode: 4,
  writes: [
    { op: { kind: 'put', object: objects.objects[0]!.object, ifDominates: true } },
    { op: { kind: 'erase', bucket: 'users', key: enc('bob'), ifHash: 99, ifDeleted: true } },
    { op: { kind: 'erase', bucket: 'users', key: enc('carol') } },
  ],
};
export const writeAnswer: WriteAnswer = { previous: [head, null, null] };
