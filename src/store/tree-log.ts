/**
 * Log lines about the trees' honesty, with stable codes an operator can grep. The store never
 * prints: it makes the lines, and the CLI (or a server) writes them.
 *
 * TR001 info  a vnode's trees were rebuilt from its heads and agreed with them
 * TR002 warn  a vnode's trees differed from its heads (replaced, or left as they are by a verify without --fix)
 * TR003 warn  LevelDB dropped damaged records when it opened a node: its saved trees were dropped
 * TR004 error a scheduled rebuild failed (the vnode stays due)
 */
import type { VnodeTreeCheck } from './tree-check.js';

export type TreeLogCode = 'TR001' | 'TR002' | 'TR003' | 'TR004';

export interface TreeLogLine {
  readonly code: TreeLogCode;
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
}

/** The line for one vnode's rebuild or verification; `cluster` names the cluster. */
export function treeCheckLine(check: VnodeTreeCheck, cluster: string): TreeLogLine {
  const where = `vnode ${check.vnode} (node ${check.node}) of ${cluster}`;
  const heads = check.keyspaces.reduce((n, k) => n + k.heads, 0);
  if (!check.differed) return { code: 'TR001', level: 'info', message: `${where}: trees rebuilt from ${heads} head(s) agree with them` };
  const segments = check.keyspaces.reduce((n, k) => n + k.differingSegments, 0);
  const what = check.replaced ? 'replaced by the rebuilt ones' : 'left as they are (verify --fix replaces them)';
  return {
    code: 'TR002',
    level: 'warn',
    message: `${where}: trees differed from the ${heads} head(s) in ${segments} segment(s); ${what}. Replicas may have lost keys: run aae repair`,
  };
}

/** The line for a node whose LevelDB dropped damaged records as it opened. */
export function recoveryLine(node: string, cluster: string, loss: string): TreeLogLine {
  return {
    code: 'TR003',
    level: 'warn',
    message: `node ${node} of ${cluster}: ${loss}; its saved trees were dropped and are rebuilt from what remains. Keys may be missing from its replicas: run aae repair`,
  };
}

/** The line for a scheduled rebuild that failed. */
export function rebuildFailedLine(cluster: string, error: unknown): TreeLogLine {
  return { code: 'TR004', level: 'error', message: `a scheduled tree rebuild of ${cluster} failed: ${error instanceof Error ? error.message : String(error)}` };
}
