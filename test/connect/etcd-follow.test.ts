import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { etcdClient } from '../../src/connect/etcd/etcd-connection.js';
import { connectEtcd } from '../../src/connect/etcd/etcd-connect.js';
import { writeEtcd } from '../../src/connect/etcd/etcd-repair.js';
import { EtcdChangeSource } from '../../src/connect/etcd/etcd-source.js';
import { readState } from '../../src/connect/keystore-state.js';
import { canonicalRowBytes } from '../../src/connect/row-bytes.js';
import { readSourceSpec } from '../../src/connect/source-spec.js';
import { initHash, objectHashOfValue } from '../../src/hash/index.js';
import { useEtcd } from '../support/redis.js';
import { startFollowing } from './keystore-helpers.js';
import { expectTreesEqualRebuild, followOnce, keystoreHashes, tempDir } from './pg-helpers.js';
import type { Etcd3 } from 'etcd3';

/**
 * An etcd keystore against a real etcd: the snapshot is a range read at one revision (writes
 * during it come from the watch), the feed a watch from the next revision, a stopped follower
 * resumes exactly from its revision, and a compacted revision is a gap that rebuilds.
 */

const etcd = useEtcd();
let dir: { path: string; dispose(): Promise<void> };
let c: Etcd3;

beforeAll(async () => {
  await initHash();
  dir = await tempDir();
  c = etcdClient([etcd.server.endpoint]);
});
afterAll(async () => {
  c.close();
  await dir.dispose();
});

const h = (v: string | Buffer): number => objectHashOfValue(canonicalRowBytes([typeof v === 'string' ? Buffer.from(v) : v]), 0);

async function expected(prefix: string): Promise<Map<string, number>> {
  const all = await c.getAll().prefix(prefix).exec();
  return new Map(all.kvs.map((kv) => [kv.key.subarray(Buffer.byteLength(prefix)).toString(), h(kv.value)]));
}

test('build at one revision while writes go on, follow puts and deletes, resume a stopped follower exactly', async () => {
  const ks = join(dir.path, 'cfg');
  for (let i = 0; i < 6_000; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, j) => c.put(`/cfg/${i + j}`).value(`v${i + j}`)));
  }
  await c.put('/other/x').value('not kept');
  await connectEtcd(ks, { url: etcd.server.url, prefix: '/cfg/' });
  expect((await readSourceSpec(ks)).bucket).toBe('cfg');
  let during: Promise<unknown> | null = null;
  const f = await startFollowing(ks, {
    onProgress: (p) => {
      if (p.kind === 'scan' && during === null) {
        during = Promise.all([
          ...Array.from({ length: 100 }, (_, i) => c.put(`/cfg/${i * 31}`).value(`changed ${i}`)),
          ...Array.from({ length: 50 }, (_, i) => c.delete().key(`/cfg/${i * 41 + 3}`)),
          c.put('/cfg/new').value('new'),
        ]);
      }
    },
  });
  try {
    await f.caughtUp();
    expect(during).not.toBeNull();
    await during;
    // A transaction of several keys is one revision: applied together.
    await c.if('/cfg/1', 'Version', '>', 0).then(c.put('/cfg/1').value('txn a'), c.put('/cfg/2').value('txn b')).commit();
    await c.delete().key('/cfg/10');
    await c.put(Buffer.from('/cfg/\xff bin', 'latin1')).value(Buffer.from([0, 255]));
    await f.caughtUp();
  } finally {
    await f.stop();
  }
  expect(f.logs.map((l) => l.code).filter((x) => x === 'CN004')).toEqual([]);
  expect(await keystoreHashes(ks, 'cfg')).toEqual(await expected('/cfg/'));
  // Stopped: writes meanwhile are in etcd's history; the next follow resumes, no rebuild.
  await c.put('/cfg/while-stopped').value('x');
  await c.delete().key('/cfg/11');
  const r = await followOnce(ks);
  expect(r.builds).toBe(0);
  expect(r.gaps).toEqual([]);
  expect(await keystoreHashes(ks, 'cfg')).toEqual(await expected('/cfg/'));
  await expectTreesEqualRebuild(ks, 'cfg');
}, 180_000);

test('a revision compacted past a stopped keystore is a gap: unreliable, rebuilt, swapped', async () => {
  const ks = join(dir.path, 'cmp');
  await c.put('/cmp/a').value('1');
  await connectEtcd(ks, { url: etcd.server.url, prefix: '/cmp/' });
  await followOnce(ks);
  await c.put('/cmp/b').value('2');
  await c.put('/cmp/a').value('3');
  const rev = Number((await c.get('/cmp/a').exec()).header.revision);
  await c.kv.compact({ revision: String(rev), physical: true });
  const r = await followOnce(ks);
  expect(r.gaps).toEqual([expect.stringMatching(/compacted its history past revision/)]);
  expect(r.builds).toBe(1);
  expect((await readState(ks)).reliable).toBe(true);
  expect(await keystoreHashes(ks, 'cmp')).toEqual(await expected('/cmp/'));
});

test('repair into etcd: a write lands only over the value (mod revision) the decision saw', async () => {
  const ks = join(dir.path, 'rep');
  await connectEtcd(ks, { url: etcd.server.url, prefix: '/rep/' });
  const spec = (await readSourceSpec(ks)).source;
  if (spec.engine !== 'etcd') throw new Error('an etcd keystore');
  const src = new EtcdChangeSource(spec);
  try {
    await c.put('/rep/same').value('old');
    await c.put('/rep/raced').value('old');
    await c.put('/rep/del').value('x');
    await c.put('/rep/appeared').value('someone');
    await c.put('/rep/raced').value('old'); // same value, new mod revision: still the value the decision saw
    const r = await writeEtcd(src, [
      { key: Buffer.from('same'), expect: h('old'), row: ['new'] },
      { key: Buffer.from('raced'), expect: h('stale'), row: ['repair'] },
      { key: Buffer.from('del'), expect: h('x'), row: null },
      { key: Buffer.from('absent'), expect: null, row: ['created'] },
      { key: Buffer.from('appeared'), expect: null, row: ['repair'] },
    ]);
    expect(r.outcomes).toEqual(['written', 'skipped', 'written', 'written', 'skipped']);
    expect(await expected('/rep/')).toEqual(new Map([['same', h('new')], ['raced', h('old')], ['absent', h('created')], ['appeared', h('someone')]]));
  } finally {
    await src.close();
  }
});
