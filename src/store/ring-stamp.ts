/**
 * The ring a node's records were placed by, stamped into the node's store so that an edited
 * `cluster.json` cannot silently misread the data.
 *
 * Where a record lives follows from the spec: the ring size and seed pick a key's keyspace, nVal
 * the vnodes that hold it and the trees it is in, the hash method and seed the trees' contents,
 * and the claim (from the node list) which node holds each vnode. Change any of these in
 * `cluster.json` after data is written and every read looks in the wrong place: keys seem
 * missing, trees disagree with heads, a repair "restores" data that was never lost. So each node
 * records, on first open, the ring it was written by; a later open under a different ring is
 * refused with CLUSTER_SPEC_INVALID, naming what changed. The tree size is not stamped: heads
 * are ordered by the full 32-bit segment hash, and trees of another size are rebuilt from them.
 *
 * Stores written before the stamp existed get it on their next open, from the spec they are
 * opened with (the only knowledge there is).
 */
import { AaeError } from '../errors.js';
import { META_RING_KEY } from './layout.js';
import type { NodeDb } from './node-db.js';

export interface RingStamp {
  ringSize: number;
  nVal: number;
  hashMethod: string;
  seed: number;
  /** The vnodes this node holds, ascending. */
  vnodes: number[];
}

const FIELDS = ['ringSize', 'nVal', 'hashMethod', 'seed', 'vnodes'] as const;

export async function checkRingStamp(db: NodeDb, expected: RingStamp, specFile: string): Promise<void> {
  const bytes = await db.get(META_RING_KEY);
  if (bytes === undefined) {
    await db.batch([{ type: 'put', key: META_RING_KEY, value: new TextEncoder().encode(JSON.stringify(expected)) }], { sync: true });
    return;
  }
  let stamped: Partial<RingStamp>;
  try {
    stamped = JSON.parse(new TextDecoder().decode(bytes)) as Partial<RingStamp>;
  } catch (e) {
    throw new AaeError('STORE_IO', `node ${db.node}: its ring stamp does not decode`, { cause: e });
  }
  const changed = FIELDS.filter((f) => JSON.stringify(stamped[f]) !== JSON.stringify(expected[f]));
  if (changed.length === 0) return;
  const what = changed.map((f) => (f === 'vnodes' ? 'the vnodes it holds (the node list or its order changed)' : `${f} ${JSON.stringify(stamped[f])} → ${JSON.stringify(expected[f])}`));
  throw new AaeError(
    'CLUSTER_SPEC_INVALID',
    `${specFile} no longer matches the data: node ${db.node} was written with a different ring (${what.join('; ')}). ` +
      'Restore the cluster.json the data was written with; to change a ring, load the data into a new cluster.',
    { details: { node: db.node, fields: changed } },
  );
}
