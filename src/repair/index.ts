/**
 * src/repair: deciding who is ahead (pure), and the repair loop over an injected backend that reads
 * versions and writes conditionally. Imports src/cluster and src/errors only.
 */
export { resolveVersions, aheadOf, lwwLater, sameVersion, CONFLICT_POLICIES, REPAIR_ACTOR, type Ahead, type ConflictPolicy, type Resolution, type Version } from './decide.js';
export { ConflictLogFile, MemoryConflictSink, conflictLine, type ConflictEntry, type ConflictLogOptions, type ConflictSink } from './conflict-log.js';
export {
  repairKeys,
  emptyStats,
  REPAIR_DIRECTIONS,
  type FetchedObject,
  type PlaceRef,
  type PlaceVersion,
  type RepairDirection,
  type RepairAction,
  type RepairActionKind,
  type RepairBackend,
  type RepairOptions,
  type RepairStats,
  type WriteOutcome,
} from './repair-keys.js';
