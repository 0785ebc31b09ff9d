/**
 * src/connect: keystores for external databases (docs/CONNECT.md). Engine-neutral parts (the
 * keystore directory and store, the feed contract, the follower: snapshot, follow, gap → rebuild
 * → swap, lag) at the top; PostgreSQL's in pg/. Imports src/store and below.
 */
export { canonicalRowBytes, decodeRowBytes, keyBytesOf, type RowValues } from './row-bytes.js';
export { keystoreClock, sourceActor } from './keystore-clock.js';
export type { ChangeSource, FeedBatch, FeedChange, FeedStream, FeedTransaction, SnapshotRow, Subscription } from './feed.js';
export { KEYSTORE_NODE, KeystoreStore, KeystoreBuild, headOfRow, rowClock, keystoreClusterSpec, type ClockScheme, type HeadChange } from './keystore-store.js';
export { createKeystore, isKeystore, keystoreStatus, openKeystore, type KeystoreStatus, type OpenKeystore } from './keystore.js';
export { readState, type KeystoreState } from './keystore-state.js';
export { parseSourceSpec, readSourceSpec, type SourceSpec } from './source-spec.js';
export { followKeystore, Follower, type FollowerHooks, type FollowLog, type FollowOptions, type FollowProgress, type FollowReport } from './follower.js';
export { changeSourceOf, rowWriterOf } from './open-source.js';
export { KeystoreNode, type KeystoreNodeOptions } from './keystore-node.js';
export { KeystoreCluster } from './keystore-cluster.js';
export type { RowWriter } from './row-writer.js';
export { connectPostgres, redactUrl, type PgConnectOptions } from './pg/pg-connect.js';
export { PgChangeSource } from './pg/pg-source.js';
export { writeRows, PgRowWriter, type RowWrite, type RowWriteOutcome, type RowWriteReport } from './pg/pg-repair.js';
export { startLocalServer, type LocalServer } from './pg/local-server.js';
