import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { defaultSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { objectStats, runFold } from '../../src/fold/index.js';
import { PluginHost, loadClientPlugin } from '../../src/plugin/index.js';
import { verifyTrees } from '../../src/store/index.js';
import { withTempDir } from '../cli/helpers.js';

/** A mutating plugin: erases the keys of bucket "doomed" it folds over, through its flush, each erase conditional on the version it saw. */
const ERASER = `// aae-plugin {"name": "eraser", "version": "1.0.0", "pluginApi": "^1.0.0", "mutates": true}
export default (aae) => ({
  name: 'eraser', apiVersion: 1, version: '1.0.0', mutates: true,
  parseQuery: (input) => aae.parseRange('eraser', input ?? {}),
  stateNeeds: () => 'hash_size_only',
  generateFilter: () => ({ buckets: ['doomed'] }),
  coverage: () => 'every_replica',
  generateAcc: () => ({ pending: [], removed: 0 }),
  generateMergeFun: () => (a, b) => ({ pending: [], removed: a.removed + b.removed }),
  generateObjectFoldFun: () => (acc, input) => {
    acc.pending.push({ key: input.entry.key, hash: input.entry.hash });
    return acc;
  },
  generateFlushFun: () => async (acc, ctx) => {
    if (acc.pending.length > 0) {
      const previous = await ctx.vnode.write(acc.pending.map((p) => ({ kind: 'erase', bucket: 'doomed', key: p.key, ifHash: p.hash })));
      acc.removed += previous.filter((h) => h !== null).length;
    }
    return { acc: { pending: [], removed: acc.removed } };
  },
  accBound: () => 2000,
  accSize: (acc) => acc.pending.length,
});
`;

test('a mutating plugin loads only where the node allows it, and writes through its vnode (trees kept current)', async () => {
  await withTempDir(async (dir) => {
    const plugins = join(dir, 'plugins');
    await mkdir(plugins);
    await writeFile(join(plugins, 'eraser.mjs'), ERASER);
    const refusing = await PluginHost.start({ dir: plugins, watch: false, pollMs: 0 });
    expect(refusing.list().find((m) => m.name === 'eraser')?.plugin).toMatchObject({ state: 'refused', code: 'FOLD_MUTATION_REFUSED' });
    await refusing.close();

    const host = await PluginHost.start({ dir: plugins, watch: false, pollMs: 0, allowMutations: true });
    const cluster = await EmbeddedCluster.create(join(dir, 'c'), defaultSpec('m1', { nodeCount: 2, ringSize: 8, nVal: 2 }), { source: host });
    try {
      await cluster.putMany(Array.from({ length: 60 }, (_, i) => ({ bucket: i % 3 === 0 ? 'doomed' : 'kept', key: `k${i}`, value: 'v' })));
      const copy = await loadClientPlugin(plugins, 'eraser');
      const r = await runFold(cluster, copy.module, {}, { version: '1.0.0', digest: copy.digest });
      // 20 doomed keys × 2 replicas, each erased on its own vnode.
      expect((r.acc as { removed: number }).removed).toBe(40);
      const after = await runFold(cluster, objectStats, { bucket: 'doomed' }, { offset: 0 });
      expect(after.acc.count).toBe(0);
      expect((await runFold(cluster, objectStats, {}, { offset: 1 })).acc.count).toBe(40);
      // The erases went through each vnode's write step: its trees agree with its data.
      const report = await verifyTrees(cluster);
      expect(report.differed).toEqual([]);
      expect(report.vnodes.length).toBe(8);
    } finally {
      await cluster.close();
      await host.close();
    }
  });
}, 60_000);
