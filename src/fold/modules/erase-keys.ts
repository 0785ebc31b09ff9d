import { mutationModule } from './mutation.js';

/**
 * erase_keys: count (default) or erase every key of a range (expiry: keys last modified before a
 * date), on every replica. Query: the range fields, `change: "count" | "erase"`, `batchSize`,
 * `pauseMs` (see mutation.ts).
 */
export const eraseKeys = mutationModule({
  name: 'erase_keys',
  verb: 'erase',
  description: 'count (default) or erase every key in a range, on every replica; batched and throttled',
  matches: () => true,
  onlyTombstones: false,
});
