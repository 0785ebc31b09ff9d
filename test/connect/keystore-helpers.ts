import { followKeystore, type FollowLog, type FollowProgress, type FollowReport } from '../../src/connect/follower.js';
import type { ChangeSource } from '../../src/connect/feed.js';
import { changeSourceOf } from '../../src/connect/open-source.js';
import { readSourceSpec } from '../../src/connect/source-spec.js';

/**
 * A continuous follower (aae follow) over a change source the test holds, so the test can ask the
 * source for its current position (a barrier) and wait until the follower has applied up to it,
 * while the follower still runs. Engine-neutral: Redis, etcd, PostgreSQL.
 */
export interface RunningFollower {
  source: ChangeSource;
  logs: FollowLog[];
  /** Resolves once the follower has applied everything the source had when this was called. */
  caughtUp(): Promise<void>;
  /** What ended the follower's run by itself (null while it runs). */
  readonly failure: unknown;
  stop(): Promise<FollowReport | undefined>;
}

export async function startFollowing(dir: string, options: { onProgress?: (p: FollowProgress) => void } = {}): Promise<RunningFollower> {
  const source = changeSourceOf(await readSourceSpec(dir));
  const logs: FollowLog[] = [];
  const ac = new AbortController();
  let applied: string | null = null;
  let building = true;
  const run = followKeystore(dir, source, {
    signal: ac.signal,
    retryMs: 50,
    statusEveryMs: 50,
    log: (l) => {
      logs.push(l);
      if (process.env.AAE_TEST_LOG) console.error(Date.now() % 100000, l.code, l.message.slice(0, 200));
      // A gap or a build starts a new subscription, whose positions do not compare with the old one's.
      if (l.code === 'CN001' || l.code === 'CN004') {
        building = true;
        applied = null;
      }
    },
    onProgress: (p) => {
      if (p.kind === 'idle' || p.kind === 'applied') {
        building = false;
        applied = p.position;
      }
      options.onProgress?.(p);
    },
  });
  run.catch(() => undefined);
  let failed: unknown = null;
  run.catch((e: unknown) => (failed = e));
  return {
    source,
    logs,
    get failure() {
      return failed;
    },
    async caughtUp() {
      // Wait for a follower that streams (a build first ends), then for its position to pass the source's.
      for (let i = 0; i < 1200; i++) {
        if (failed !== null) throw failed;
        if (!building && applied !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const target = await source.currentPosition();
      for (let i = 0; i < 1200; i++) {
        if (failed !== null) throw failed;
        if (!building && applied !== null && source.comparePositions(applied, target) >= 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the follower did not reach ${target} (at ${applied}; logs: ${logs.map((l) => `${l.code} ${l.message}`).join(' | ')})`);
    },
    async stop() {
      ac.abort();
      try {
        return await run.catch((e: unknown) => {
          if ((e as { code?: string }).code !== 'ABORTED') throw e;
          return undefined;
        });
      } finally {
        await source.close();
      }
    },
  };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, tries = 1200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
