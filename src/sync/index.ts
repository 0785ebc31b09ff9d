/**
 * src/sync: keeping two clusters agreeing on a schedule (`aae sync`), as Riak's full-sync manager
 * does: a period's checks dealt to slices, each check's scope chosen from what the last one left,
 * each check a repair over that scope, the state kept in a file across restarts.
 */
export {
  DAY_MS,
  MAX_SLICES,
  WORK_ITEMS,
  dealSlices,
  firstPeriodStart,
  formatSchedule,
  parseDuration,
  parseSchedule,
  planPeriod,
  sliceCount,
  validateWants,
  type ScheduledCheck,
  type ScheduleWants,
  type WorkItem,
} from './schedule.js';
export { INITIAL_STATE, afterCheck, inWindow, parseWindow, resolveCheck, spanOf, type CheckOutcome, type CheckRange, type CheckWindow, type ResolvedCheck, type SyncScope, type SyncState } from './checks.js';
export { CHECK_OUTCOMES, runCheck, type CheckOutcomeKind, type CheckReport, type OpenPair, type RunCheckOptions } from './run-check.js';
export { abortableSleep, runSyncLoop, type SyncLoopOptions, type SyncLoopResult } from './sync-loop.js';
export { copiesOf, defaultStatePath, encodeSyncState, loadSyncState, parseSyncStatus, readSyncStatus, saveSyncState, successTime, type SyncIdentity, type SyncStatus } from './state-file.js';
export { fileCoordination, type SyncCoordination } from './coordination.js';
export { DEFAULT_LOCK_TTL_SECONDS, etcdCoordination, etcdSyncStatus, parseLockUrl, type EtcdLockOptions } from './etcd-coordination.js';
export { acquireSyncLock, syncLockHolder, type SyncLock } from './sync-lock.js';
