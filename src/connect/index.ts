/**
 * src/connect: keystores for external databases (docs/CONNECT.md). Engine-neutral parts (the
 * keystore directory and store, the feed contract, the follower: snapshot, follow, gap → rebuild
 * → swap, lag) at the top; PostgreSQL's in pg/. Imports src/store and below.
 */
export { canonicalRowBytes, decodeRowBytes, keyBytesOf, type RowValues } from './row-bytes.js';
export { keystoreClock } from './keystore-clock.js';
export type { ChangeSource, FeedBatch, FeedChange, FeedStream, FeedTransaction, SnapshotRow, Subscription } from './feed.js';
export { KeystoreStore, headOfRow, keystoreClusterSpec, type HeadChange } from './keystore-store.js';
export { createKeystore, isKeystore, keystoreStatus, openKeystore, type KeystoreStatus, type OpenKeystore } from './keystore.js';
export { readState, type KeystoreState } from './keystore-state.js';
export { parseSourceSpec, readSourceSpec, type SourceSpec } from './source-spec.js';
export { followKeystore, type FollowLog, type FollowOptions, type FollowProgress, type FollowReport } from './follower.js';
export { changeSourceOf } from './open-source.js';
export { connectPostgres, redactUrl, type PgConnectOptions } from './pg/pg-connect.js';
export { PgChangeSource } from './pg/pg-source.js';
export { writeRows, type RowWrite, type RowWriteOutcome, type RowWriteReport } from './pg/pg-repair.js';
export { startLocalServer, type LocalServer } from './pg/local-server.js';
export type { ValueDigest } from './feed.js';
export { connectRedis, type RedisConnectOptions } from './redis/redis-connect.js';
export { redactRedisUrl } from './redis/redis-connection.js';
export { RedisChangeSource } from './redis/redis-source.js';
export { writeRedis, type RedisWrite, type RedisWriteReport, type RedisWriteValue } from './redis/redis-repair.js';
export { startLocalRedis, startLocalRedisCluster, type LocalRedis, type LocalRedisCluster } from './redis/local-redis.js';
export { connectEtcd, type EtcdConnectOptions } from './etcd/etcd-connect.js';
export { EtcdChangeSource } from './etcd/etcd-source.js';
export { writeEtcd, type EtcdWrite, type EtcdWriteReport } from './etcd/etcd-repair.js';
export { startLocalEtcd, type LocalEtcd } from './etcd/local-etcd.js';
export { sourceAccessOf, type SourceAccess, type SourceValue, type SourceWrite } from './source-access.js';
