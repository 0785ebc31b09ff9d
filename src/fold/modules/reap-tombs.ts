import { mutationModule } from './mutation.js';

/**
 * reap_tombs: count (default) or reap the tombstones of a range. Query: the range fields,
 * `change: "count" | "reap"`, `batchSize`, `pauseMs` (see mutation.ts).
 */
export const reapTombs = mutationModule({
  name: 'reap_tombs',
  verb: 'reap',
  description: 'count (default) or reap tombstones in a range, on every replica; batched and throttled',
  matches: (h) => h.deleted,
  onlyTombstones: true,
});
