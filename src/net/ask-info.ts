/**
 * Asking a served node who it is, when a command starts (an open, a sync's look at which copies
 * it reaches), without waiting on a node that is down.
 *
 * The channel retries UNAVAILABLE for a few seconds (a node restarting answers on a retry), so a
 * node that is down outright would hold up every command as long. A node that has not answered
 * soon is dialled once more (diagnose.ts): one that refuses connections, cannot be routed to or
 * does not resolve is down now (NODE_UNAVAILABLE), and one whose transport does not fit will not
 * answer at all (NET_TLS_MISMATCH). Otherwise the call runs to `timeoutMs` (TIMEOUT or ABORTED).
 */
import type { AaeError } from '../errors.js';
import type { NodeInfo } from '../node/index.js';
import type { RemoteNode } from './remote-node.js';

/** A node that has not answered its Info in this long is dialled once more to see whether it is down outright. */
const EARLY_PROBE_MS = 300;
/** What that dial finds when the node is down now, not slow (diagnose.ts's findings). */
const DOWN_NOW = new Set(['refused', 'unreachable', 'unresolved']);

export async function askInfo(node: RemoteNode, timeoutMs: number): Promise<NodeInfo> {
  const early = new AbortController();
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), early.signal]);
  let found: AaeError | undefined;
  const timer = setTimeout(() => {
    void node.diagnose(`no answer within ${EARLY_PROBE_MS} ms`).then(
      (why) => {
        if (why.code === 'NET_TLS_MISMATCH' || DOWN_NOW.has(String(why.details?.['reason']))) {
          found = why;
          early.abort();
        }
      },
      () => undefined,
    );
  }, EARLY_PROBE_MS);
  try {
    return await node.info({ signal });
  } catch (e) {
    throw found ?? e;
  } finally {
    clearTimeout(timer);
  }
}
