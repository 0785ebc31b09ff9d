/**
 * size_histogram: how many live objects there are of each size, in power-of-two buckets, and how
 * many tombstones — over the whole cluster or a bucket, key range, key prefix or modified range.
 *
 * A tictac-aae fold plugin (docs/PLUGINS.md). The node calls the default export with its SDK
 * (`aae`), so this file imports nothing at run time: it runs against the SDK of the node that
 * loaded it. It reads hash and size only (never clocks or values), and its accumulator is 56
 * numbers whatever the data: bounded by construction.
 */

/** @param {import('tictac-aae/plugin').PluginSdk} aae */
export default function sizeHistogram(aae) {
  const { z, rangeFields, parseWith, rangeFilter, histogram, keyHasPrefix, HISTOGRAM_BUCKETS } = aae;
  const NAME = 'size_histogram';
  const schema = z.strictObject({ ...rangeFields, keyPrefix: z.string().max(1024).optional() });

  /** @type {import('tictac-aae/plugin').FoldModule<any, { live: number; tombstones: number; sizes: number[] }>} */
  const module = {
    name: NAME,
    apiVersion: 1,
    version: '1.0.0',
    description: 'live objects by value size (power-of-two buckets), and tombstones',
    parseQuery: (input) => parseWith(NAME, schema, input ?? {}),
    stateNeeds: () => 'hash_size_only',
    generateFilter: (q) => rangeFilter(q),
    generateAcc: () => ({ live: 0, tombstones: 0, sizes: histogram.empty() }),
    generateMergeFun: () => (a, b) => ({ live: a.live + b.live, tombstones: a.tombstones + b.tombstones, sizes: histogram.merge(a.sizes, b.sizes) }),
    generateObjectFoldFun: (q) => (acc, input) => {
      const e = input.entry;
      if (q.keyPrefix !== undefined && !keyHasPrefix(e.key, q.keyPrefix)) return acc;
      if (e.deleted) acc.tombstones++;
      else {
        acc.live++;
        histogram.add(acc.sizes, e.size);
      }
      return acc;
    },
    accBound: () => HISTOGRAM_BUCKETS + 2,
    accSize: (acc) => acc.sizes.length + 2,
    summarize: (acc, _q, coverage) => {
      const scale = 1 / coverage.fraction;
      const rows = acc.sizes.flatMap((n, b) => (n === 0 ? [] : [[b === 0 ? '0' : `${histogram.lowerBound(b)}–${2 * histogram.lowerBound(b) - 1}`, n]]));
      return {
        json: { live: acc.live, tombstones: acc.tombstones, sizes: Object.fromEntries(rows), ...(coverage.fraction < 1 ? { estimate: { live: Math.round(acc.live * scale) } } : {}) },
        table: { head: ['value bytes', 'objects'], rows: [...rows, ['tombstones', acc.tombstones]] },
      };
    },
  };
  return module;
}
