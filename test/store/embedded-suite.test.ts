import { defaultSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/store/index.js';
import { tempDir } from './helpers.js';
import { storeSuite } from './store-suite.js';

storeSuite('embedded cluster (LevelDB in a temp directory)', async (overrides) => {
  const dir = await tempDir();
  try {
    const store = await EmbeddedCluster.create(dir.path, defaultSpec('suite', overrides));
    return {
      store,
      dispose: async () => {
        await store.close();
        await dir.dispose();
      },
    };
  } catch (e) {
    await dir.dispose();
    throw e;
  }
});
