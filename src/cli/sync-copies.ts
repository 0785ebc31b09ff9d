/**
 * Which copies of two clusters a sync reaches, and what it says when they are not the copies its
 * state vouches for (docs/SYNC.md, "A rebuilt cluster"): a cluster's directory, a served cluster's
 * nodes (src/net/cluster-copy.ts), a keystore's source (src/connect/source-copy.ts).
 */
import { changedNodes, fillCopy, readClusterSpec, sameCopy } from '../cluster/index.js';
import { isKeystore, readSourceSpec, sourceCopyId } from '../connect/index.js';
import { AaeError } from '../errors.js';
import { clusterCopy, openClusterCopy, type ClusterCopy } from '../net/index.js';
import { copiesOf, defaultStatePath, readSyncStatus, type OpenPair, type SyncCoordination, type SyncIdentity, type SyncStatus } from '../sync/index.js';

/** A time as the sync's lines print it (whole seconds without their .000). */
export const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');

/** The two clusters' names and ids, and the state file that belongs to them (and the bucket). */
export async function identify(
  source: string,
  sink: string,
  opts: { bucket?: string; state?: string },
): Promise<{ names: readonly [string, string]; who: SyncIdentity; unknown: Array<{ cluster: string; node: string; why: string }>; stateFile: string }> {
  const [sourceSpec, sinkSpec] = [await readClusterSpec(source), await readClusterSpec(sink)];
  if (sourceSpec.name === sinkSpec.name) {
    throw new AaeError('USAGE', `source and sink are both named '${sourceSpec.name}'; a sync needs two clusters`);
  }
  const names = [sourceSpec.name, sinkSpec.name] as const;
  // Which copies: a directory's id, or a served cluster's nodes' (asked now; one that does not
  // answer is unknown, and matches any: src/cluster/copy-id.ts).
  const [sourceCopy, sinkCopy] = await Promise.all([copyOf(source), copyOf(sink)]);
  const who: SyncIdentity = {
    source: names[0],
    sink: names[1],
    ...(opts.bucket === undefined ? {} : { bucket: opts.bucket }),
    sourceId: sourceCopy.id,
    sinkId: sinkCopy.id,
  };
  const unknown = [...sourceCopy.unknown.map((u) => ({ ...u, cluster: names[0] })), ...sinkCopy.unknown.map((u) => ({ ...u, cluster: names[1] }))];
  return { names, who, unknown, stateFile: opts.state ?? defaultStatePath(source, sinkSpec.name, opts.bucket) };
}

/**
 * A sync moving to --lock: etcd holds no state for the pair yet, but this machine's state file
 * does (a sync run here without --lock). Its watermark still vouches for the same copies, so it is
 * carried into etcd rather than started afresh; the file is left as it was.
 */
export async function importStateFile(empty: SyncStatus, stateFile: string, who: SyncIdentity, coord: SyncCoordination, err: { write(s: string): unknown }): Promise<SyncStatus> {
  const local = await importableState(stateFile, who);
  if (local === undefined) return empty;
  Object.assign(who, local.copies);
  await coord.saveState(local.state, local.lastCheck, local.lastSuccessAt);
  const w = local.state.previousSuccess;
  err.write(`imported the state of ${stateFile} (watermark ${w === null ? 'none' : iso(w)}) into ${coord.where}; the file is left as it was\n`);
  return { ...local, copies: copiesOf(who) };
}

/**
 * This machine's state file, when it holds a state of these copies that a first --lock run
 * carries into etcd. A file that is missing, or of other copies, is none; one that cannot be read
 * or parsed fails (SYNC_STATE_IO, SYNC_STATE_INVALID): taken as none, the first run would save a
 * fresh state to etcd and the file's watermark would never be imported.
 */
export async function importableState(stateFile: string, who: SyncIdentity): Promise<SyncStatus | undefined> {
  const local = await readSyncStatus(stateFile, who);
  return local.exists && !local.otherCopies ? local : undefined;
}

/** A keystore directory is the copy of what it reads (src/connect/source-copy.ts); a cluster, of its directory or its nodes. */
async function copyOf(dir: string): Promise<ClusterCopy> {
  return (await isKeystore(dir)) ? { id: sourceCopyId(await readSourceSpec(dir)), unknown: [] } : clusterCopy(dir);
}

/**
 * At a check's open: whether each cluster is still the copy the state vouches for (a served node
 * may have been rebuilt, served from a new directory, since the sync started). Newly answering
 * nodes' ids are learnt into `who`. Other copies: SYNC_COPIES_CHANGED, and the copies found are
 * returned for the state to record once the check has been reported failed.
 */
export async function checkCopies(
  pair: OpenPair,
  dirs: readonly [string, string],
  names: readonly [string, string],
  who: SyncIdentity,
): Promise<{ error?: AaeError; found: { sourceId?: string; sinkId?: string } }> {
  const changed: Array<{ side: 'source' | 'sink'; nodes: string[] | null }> = [];
  const found: { sourceId?: string; sinkId?: string } = {};
  for (const [i, side] of (['source', 'sink'] as const).entries()) {
    // A keystore's copy is the source it reads, fixed by its spec (it cannot change under a running sync).
    if (await isKeystore(dirs[i]!)) continue;
    const key = side === 'source' ? 'sourceId' : 'sinkId';
    const now = await openClusterCopy(i === 0 ? pair.source : pair.sink, dirs[i]!);
    const was = who[key];
    if (sameCopy(was, now)) {
      const learnt = fillCopy(now, was);
      if (learnt !== undefined) found[key] = learnt;
    } else {
      changed.push({ side, nodes: changedNodes(was!, now) });
      found[key] = now;
    }
  }
  if (changed.length === 0) {
    Object.assign(who, found);
    return { found };
  }
  const why = copiesChanged(changed, names);
  return { error: new AaeError('SYNC_COPIES_CHANGED', `${why}: the watermark does not vouch for it; starting afresh (the next full check sets one)`, { details: { changed } }), found };
}

/** Which cluster is another copy now, and why, in words. */
export function copiesChanged(changed: SyncStatus['changed'], names: readonly [string, string]): string {
  return (changed ?? [])
    .map((c) => {
      const name = c.side === 'source' ? names[0] : names[1];
      if (c.nodes === null) return `${name} is another copy (a cluster directory made anew, or a keystore reading another source, table or address)`;
      return `${name}'s ${c.nodes.length === 1 ? `node ${c.nodes[0]} is` : `nodes ${c.nodes.join(', ')} are`} served from another directory (rebuilt?)`;
    })
    .join('; ');
}

export function unknownCopyLine(u: { cluster: string; node: string; why: string }): string {
  return `warning: node ${u.node} of ${u.cluster} did not say which copy of the cluster it is (${u.why}); the state is matched on the other nodes\n`;
}

