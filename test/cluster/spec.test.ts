import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { AaeError, isAaeError } from '../../src/errors.js';
import { TREE_SIZES } from '../../src/tictac/index.js';
import {
  TREE_SIZE_NAMES,
  defaultSpec,
  nodeNames,
  clusterConfigJson,
  parseClusterConfig,
  parseClusterSpec,
  readClusterSpec,
  writeClusterSpec,
  type ClusterSpec,
} from '../../src/cluster/spec.js';

const good = (): ClusterSpec => ({
  version: 1,
  name: 'east',
  ringSize: 64,
  nVal: 3,
  treeSize: 'large',
  hashMethod: 'clock',
  seed: 0,
  nodes: ['n1', 'n2', 'n3', 'n4'],
});

function errorOf(f: () => unknown): AaeError {
  try {
    f();
  } catch (e) {
    if (isAaeError(e)) return e;
    throw e;
  }
  throw new Error('expected an AaeError');
}

async function rejectionOf(p: Promise<unknown>): Promise<AaeError> {
  try {
    await p;
  } catch (e) {
    if (isAaeError(e)) return e;
    throw e;
  }
  throw new Error('expected an AaeError');
}

describe('parseClusterSpec', () => {
  test('accepts a good spec and returns an equal copy', () => {
    const s = good();
    const p = parseClusterSpec(s);
    expect(p).toEqual(s);
    expect(p.nodes).not.toBe(s.nodes);
  });

  test('each bad field is named with its rule', () => {
    const cases: Array<[Partial<Record<keyof ClusterSpec, unknown>>, string]> = [
      [{ ringSize: 48 }, 'cluster.json: ringSize: must be a power of two in 8..1024'],
      [{ ringSize: 2048 }, 'cluster.json: ringSize: must be a power of two in 8..1024'],
      [{ ringSize: '64' }, 'cluster.json: ringSize: must be a power of two in 8..1024'],
      [{ nVal: 0 }, 'cluster.json: nVal: must be an integer in 1..5'],
      [{ nVal: 2.5 }, 'cluster.json: nVal: must be an integer in 1..5'],
      [{ version: 2 }, 'cluster.json: version: must be 1'],
      [{ name: '' }, 'cluster.json: name: must be a non-empty string'],
      [{ treeSize: 'huge' }, 'cluster.json: treeSize: must be one of xxsmall, xsmall, small, medium, large, xlarge'],
      [{ hashMethod: 'sha1' }, 'cluster.json: hashMethod: must be one of clock, value'],
      [{ seed: -1 }, 'cluster.json: seed: must be an integer in 0..4294967295'],
      [{ seed: 2 ** 32 }, 'cluster.json: seed: must be an integer in 0..4294967295'],
      [{ nodes: [] }, 'cluster.json: nodes: must be a list of 1..256 node names'],
      [{ nodes: 'n1' }, 'cluster.json: nodes: must be a list of 1..256 node names'],
      [{ nodes: ['n1', 'n1'] }, "cluster.json: nodes: names node 'n1' twice"],
    ];
    for (const [patch, message] of cases) {
      const e = errorOf(() => parseClusterSpec({ ...good(), ...patch }));
      expect(e.code, message).toBe('CLUSTER_SPEC_INVALID');
      expect(e.message).toBe(message);
      expect(e.details?.fields).toEqual([Object.keys(patch)[0]]);
    }
  });

  test('a node may be served elsewhere ({name, address}); cluster.json then says how to reach it, and round-trips', () => {
    const json = { ...good(), nodes: [{ name: 'n1', address: '10.0.0.5:7001' }, 'n2', { name: 'n3', address: '[::1]:7003' }], tls: { ca: 'ca.pem', cert: 'ops.pem', key: 'ops-key.pem' } };
    const config = parseClusterConfig(json);
    expect(config.spec.nodes).toEqual(['n1', 'n2', 'n3']);
    expect(config.addresses).toEqual({ n1: '10.0.0.5:7001', n3: '[::1]:7003' });
    expect(parseClusterConfig(clusterConfigJson(config))).toEqual(config);
    expect(parseClusterSpec(json)).toEqual({ ...good(), nodes: ['n1', 'n2', 'n3'] });
    expect(parseClusterConfig({ ...good(), tls: 'insecure' }).tls).toBe('insecure');
    for (const [bad, message] of [
      [{ ...good(), nodes: [{ name: 'n1', address: '10.0.0.5' }] }, /nodes\.0\.address: must be host:port/],
      [{ ...good(), nodes: [{ name: 'n1', address: 'h:70000' }] }, /nodes\.0\.address: must be host:port/],
      [{ ...good(), nodes: [{ name: 'a/b', address: 'h:7' }] }, /nodes\.0\.name: must be 1\.\.64 characters/],
      [{ ...good(), nodes: [{ name: 'n1', address: 'h:7', port: 1 }] }, /port: unknown field|Unrecognized key/],
      [{ ...good(), tls: { ca: 'x' } }, /tls/],
    ] as const) {
      const e = errorOf(() => parseClusterConfig(bad));
      expect(e.code).toBe('CLUSTER_SPEC_INVALID');
      expect(e.message).toMatch(message);
    }
  });

  test('node names must be safe directory names', () => {
    for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'a b', 'nö', 'x'.repeat(65), 7]) {
      const e = errorOf(() => parseClusterSpec({ ...good(), nodes: ['n1', bad] }));
      expect(e.code).toBe('CLUSTER_SPEC_INVALID');
      expect(e.message).toMatch(/^cluster\.json: nodes\.1: must be 1\.\.64 characters of \[A-Za-z0-9_\.-\], not '\.' or '\.\.'$/);
    }
    expect(parseClusterSpec({ ...good(), nodes: ['a.b', 'A_1', '-x-', '...', 'x'.repeat(64)] }).nodes).toHaveLength(5);
  });

  test('several bad fields are all named; missing and unknown fields too', () => {
    const e = errorOf(() => parseClusterSpec({ ...good(), ringSize: 100, nVal: 9 }));
    expect(e.message).toBe('cluster.json: ringSize: must be a power of two in 8..1024; nVal: must be an integer in 1..5');
    expect(e.details?.fields).toEqual(['ringSize', 'nVal']);

    const { seed: _seed, ...noSeed } = good();
    expect(errorOf(() => parseClusterSpec(noSeed)).message).toBe('cluster.json: seed: is required');

    const extra = errorOf(() => parseClusterSpec({ ...good(), ringsize: 64 }));
    expect(extra.message).toBe('cluster.json: ringsize: unknown field');
    expect(extra.details?.fields).toEqual(['ringsize']);
  });

  test('not an object', () => {
    for (const bad of [null, 3, 'x', [good()]]) {
      const e = errorOf(() => parseClusterSpec(bad));
      expect(e.code).toBe('CLUSTER_SPEC_INVALID');
      expect(e.message).toBe('cluster.json: must be a JSON object');
    }
  });

  test('fewer nodes than nVal is a valid spec (claim reports it unsafe)', () => {
    expect(parseClusterSpec({ ...good(), nodes: ['solo'] }).nodes).toEqual(['solo']);
  });
});

describe('defaultSpec', () => {
  test('the documented defaults', () => {
    expect(defaultSpec('c')).toEqual({
      version: 1,
      name: 'c',
      ringSize: 64,
      nVal: 3,
      treeSize: 'large',
      hashMethod: 'clock',
      seed: 0,
      nodes: ['n1', 'n2', 'n3'],
    });
  });

  test('overrides, validated', () => {
    const s = defaultSpec('c', { nodeCount: 5, ringSize: 128, nVal: 2, treeSize: 'small', hashMethod: 'value', seed: 9 });
    expect(s).toMatchObject({ ringSize: 128, nVal: 2, treeSize: 'small', hashMethod: 'value', seed: 9 });
    expect(s.nodes).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(defaultSpec('c', { nodes: ['a', 'b'] }).nodes).toEqual(['a', 'b']);
    const e = errorOf(() => defaultSpec('c', { ringSize: 10 }));
    expect(e.code).toBe('CLUSTER_SPEC_INVALID');
    expect(e.message).toBe('cluster spec: ringSize: must be a power of two in 8..1024');
    expect(errorOf(() => nodeNames(0)).code).toBe('INVALID_ARGUMENT');
  });

  test('tree size names equal src/tictac’s list', () => {
    expect([...TREE_SIZE_NAMES]).toEqual([...TREE_SIZES]);
  });
});

describe('reading and writing cluster.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aae-spec-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('write then read round-trips; only cluster.json is left behind', async () => {
    await writeClusterSpec(dir, good());
    expect(await readClusterSpec(dir)).toEqual(good());
    expect(await readdir(dir)).toEqual(['cluster.json']);
    const next = { ...good(), nodes: ['a', 'b'] };
    await writeClusterSpec(dir, next);
    expect(await readClusterSpec(dir)).toEqual(next);
    expect(await readdir(dir)).toEqual(['cluster.json']);
    expect(JSON.parse(await readFile(join(dir, 'cluster.json'), 'utf8'))).toEqual(next);
  });

  test('missing directory or file is CLUSTER_NOT_FOUND', async () => {
    expect((await rejectionOf(readClusterSpec(dir))).code).toBe('CLUSTER_NOT_FOUND');
    expect((await rejectionOf(readClusterSpec(join(dir, 'nope')))).code).toBe('CLUSTER_NOT_FOUND');
  });

  test('bad JSON or a bad field is CLUSTER_SPEC_INVALID', async () => {
    await writeFile(join(dir, 'cluster.json'), '{"version": 1,');
    const e = await rejectionOf(readClusterSpec(dir));
    expect(e.code).toBe('CLUSTER_SPEC_INVALID');
    expect(e.message).toMatch(/^cluster\.json: not valid JSON/);
    await writeFile(join(dir, 'cluster.json'), JSON.stringify({ ...good(), treeSize: 'big' }));
    const f = await rejectionOf(readClusterSpec(dir));
    expect(f.code).toBe('CLUSTER_SPEC_INVALID');
    expect(f.message).toContain('treeSize: must be one of');
  });

  test('an invalid spec is refused before anything is written', async () => {
    const e = await rejectionOf(writeClusterSpec(dir, { ...good(), nVal: 7 }));
    expect(e.code).toBe('CLUSTER_SPEC_INVALID');
    expect(await readdir(dir)).toEqual([]);
  });

  test('a failed write leaves the old spec and no temp file', async () => {
    await writeClusterSpec(dir, good());
    // Make the rename fail: the target becomes a non-empty directory.
    await rm(join(dir, 'cluster.json'));
    await mkdir(join(dir, 'cluster.json', 'x'), { recursive: true });
    const e = await rejectionOf(writeClusterSpec(dir, good()));
    expect(e.code).toBe('STORE_IO');
    expect(await readdir(dir)).toEqual(['cluster.json']);
    // Into a directory that does not exist: nothing is created.
    const g = await rejectionOf(writeClusterSpec(join(dir, 'missing'), good()));
    expect(g.code).toBe('STORE_IO');
    expect(await readdir(dir)).toEqual(['cluster.json']);
  });
});
