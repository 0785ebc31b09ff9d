export { initHash, hashReady } from './xxhash.js';
export {
  canonicalKey,
  canonicalClock,
  compareBytes,
  utf8,
  validateBucket,
  writeVarint,
  varintLength,
  type ClockEntry,
} from './canonical.js';
export {
  keyHash,
  keyHashOf,
  keyPlacement,
  objectHash,
  objectHashOfClock,
  objectHashOfValue,
  partitionHash,
  partitionHashOf,
  contribution,
  fmix32,
  parseHashMethod,
  validateSeed,
  HASH_METHODS,
  PARTITION_SEED,
  type HashMethod,
  type KeyHash,
  type KeyPlacement,
} from './hashes.js';
export { Xxh32Stream } from './xxh32-stream.js';
