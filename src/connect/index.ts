/**
 * src/connect: keystores for external databases (docs/CONNECT.md). Engine-neutral parts (the
 * keystore directory and store, the feed contract, the follower: snapshot, follow, gap → rebuild
 * → swap, lag, the keystore node and the source access it reads and writes with) at the top;
 * PostgreSQL's in pg/, Redis's in redis/, etcd's in etcd/. Imports src/store and below.
 */
export { canonicalRowBytes, decodeRowBytes, keyBytesOf, type RowValues } from './row-bytes.js';
export { keystoreClock, sourceActor } from './keystore-clock.js';
export type { ChangeSource, FeedBatch, FeedChange, FeedStream, FeedTransaction, SnapshotRow, Subscription } from './feed.js';
export { KEYSTORE_NODE, KeystoreStore, KeystoreBuild, headOfRow, rowClock, keystoreClusterSpec, type ClockScheme, type HeadChange } from './keystore-store.js';
export { createKeystore, isKeystore, keystoreNameOf, keystoreStatus, openKeystore, type KeystoreStatus, type OpenKeystore } from './keystore.js';
export { readState, type KeystoreState } from './keystore-state.js';
export { parseSourceSpec, readSourceSpec, type SourceSpec } from './source-spec.js';
export { sourceCopyId } from './source-copy.js';
export { followKeystore, Follower, type FollowerHooks, type FollowLog, type FollowOptions, type FollowProgress, type FollowReport } from './follower.js';
export { changeSourceOf, openSource, sourceAccessOf, type EngineSource } from './open-source.js';
export { KeystoreNode, type KeystoreNodeOptions } from './keystore-node.js';
export { KeystoreCluster } from './keystore-cluster.js';
export type { SourceAccess, SourceValue, SourceWrite, SourceWriteOptions, SourceWriteOutcome, SourceWriteReport } from './source-access.js';
export { connectPostgres, redactUrl, type PgConnectOptions } from './pg/pg-connect.js';
export { PgChangeSource } from './pg/pg-source.js';
export { writeRows, PgRowWriter, type RowWrite, type RowWriteOutcome, type RowWriteReport } from './pg/pg-repair.js';
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
