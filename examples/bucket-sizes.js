// bucket_sizes: a worked example of a fold module loaded from a file (docs/FOLDS.md).
//
//   aae fold ./c1 ./examples/bucket-sizes.js --query '{"maxBuckets": 100}'
//
// For every bucket: how many live objects, how many tombstones, and how many value bytes. Plain
// ES module JavaScript with no imports, so it loads without building anything.

/** Buckets the accumulator may hold unless the query says otherwise. */
const DEFAULT_MAX_BUCKETS = 1000;

export default {
  name: 'bucket_sizes',
  apiVersion: 1,
  description: 'objects, tombstones and value bytes per bucket',

  // Validate and normalise. Throwing any Error is reported as FOLD_QUERY_INVALID.
  parseQuery(input) {
    const q = input ?? {};
    if (typeof q !== 'object' || Array.isArray(q)) throw new Error('the query must be a JSON object');
    for (const k of Object.keys(q)) if (k !== 'maxBuckets') throw new Error(`unknown field '${k}'`);
    const maxBuckets = q.maxBuckets ?? DEFAULT_MAX_BUCKETS;
    if (!Number.isInteger(maxBuckets) || maxBuckets < 1) throw new Error('maxBuckets must be a positive integer');
    return { maxBuckets };
  },

  // Sizes are enough: no clocks, no values are read.
  stateNeeds: () => 'hash_size_only',

  // No narrowing: every key of the covered keyspaces.
  generateFilter: () => ({}),

  // bucket -> [objects, tombstones, bytes]. A Map is the identity of merge when empty.
  generateAcc: () => new Map(),

  // Associative and commutative, and it must not change a or b.
  generateMergeFun: () => (a, b) => {
    const out = new Map(a);
    for (const [bucket, [n, t, bytes]] of b) {
      const [n0, t0, bytes0] = out.get(bucket) ?? [0, 0, 0];
      out.set(bucket, [n0 + n, t0 + t, bytes0 + bytes]);
    }
    return out;
  },

  // Called once per key; may change and return the accumulator it is given.
  generateObjectFoldFun: () => (acc, input) => {
    if (input.kind !== 'hash_size') return acc;
    const { bucket, deleted, size } = input.entry;
    let row = acc.get(bucket);
    // No check here: the runner compares accSize with accBound after every batch (at most 1000
    // keys) and stops the run with FOLD_ACC_OVERFLOW, so the map never outgrows the bound by much.
    if (row === undefined) acc.set(bucket, (row = [0, 0, 0]));
    if (deleted) row[1]++;
    else {
      row[0]++;
      row[2] += size;
    }
    return acc;
  },

  // The declared bound, in buckets, and the accumulator's size in the same unit.
  accBound: (q) => q.maxBuckets,
  accSize: (acc) => acc.size,

  // The fold runs on the nodes, and each node's accumulator travels to the caller as bytes. Plain
  // data (objects, arrays, numbers, strings, typed arrays) needs nothing here; a Map does: this
  // writes its entries as JSON and checks what it reads back.
  accCodec: {
    encode: (acc) => new TextEncoder().encode(JSON.stringify([...acc])),
    decode(bytes) {
      const entries = JSON.parse(new TextDecoder().decode(bytes));
      const ok = Array.isArray(entries) && entries.every((e) => Array.isArray(e) && typeof e[0] === 'string' && Array.isArray(e[1]) && e[1].length === 3 && e[1].every(Number.isSafeInteger));
      if (!ok) throw new Error('not a bucket_sizes accumulator');
      return new Map(entries);
    },
  },

  // Optional: the result for people (a table) and for scripts (JSON). coverage.fraction < 1 when
  // the run was sampled, so estimates can be scaled.
  summarize(acc, _q, coverage) {
    const rows = [...acc].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      json: { fraction: coverage.fraction, buckets: rows.map(([bucket, [objects, tombstones, bytes]]) => ({ bucket, objects, tombstones, bytes })) },
      table: { head: ['bucket', 'objects', 'tombstones', 'bytes'], rows: rows.map(([bucket, r]) => [bucket, ...r]) },
    };
  },
};
