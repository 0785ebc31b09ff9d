/**
 * Which copy of a cluster a sync state vouches for (docs/SYNC.md, "A rebuilt cluster").
 *
 * A cluster whose nodes are all served from its directory is one copy: its directory's
 * `cluster.id`, 32 hex digits. A cluster with served nodes is as many copies as it has nodes, each
 * answering with the id of the directory it is served from (NodeInfo.copy), so every client
 * directory that points at the same nodes, on any machine, names the same copy:
 *
 *     nodes:n1=<id>,n2=<id>,n3=?
 *
 * one entry per node in cluster.json's order (names URI-encoded), `?` for a node that did not
 * answer. An unknown entry matches anything: a sync started while one node is down still resumes
 * its state, and learns the missing id from the state it resumed (`fillCopy`). A known entry that
 * differs, or a cluster that changed between the two forms, is another copy.
 */

const PREFIX = 'nodes:';
const UNKNOWN = '?';

/** The id of a cluster with served nodes, from each node's answer (null: it did not answer). */
export function formatCopies(nodes: ReadonlyArray<readonly [string, string | null]>): string {
  return PREFIX + nodes.map(([name, id]) => `${encodeURIComponent(name)}=${id ?? UNKNOWN}`).join(',');
}

/** Each node's id (null: unknown), or null when `id` is one directory's id (or not of this form). */
export function parseCopies(id: string): Array<[string, string | null]> | null {
  if (!id.startsWith(PREFIX)) return null;
  const body = id.slice(PREFIX.length);
  if (body === '') return [];
  return body.split(',').map((part) => {
    const at = part.lastIndexOf('=');
    const name = decodeURIComponent(part.slice(0, at));
    const value = part.slice(at + 1);
    return [name, value === UNKNOWN ? null : value];
  });
}

/** Whether a state written against `stored` vouches for the copy `now` (undefined: not recorded, or not known: no objection). */
export function sameCopy(stored: string | undefined, now: string | undefined): boolean {
  if (stored === undefined || now === undefined) return true;
  const a = parseCopies(stored);
  const b = parseCopies(now);
  if (a === null || b === null) return a === null && b === null && stored === now;
  if (a.length !== b.length) return false;
  return a.every(([name, id], i) => {
    const [otherName, otherId] = b[i]!;
    return name === otherName && (id === null || otherId === null || id === otherId);
  });
}

/** `now`, with the ids its unanswered nodes had in `stored` (the same copy, per sameCopy). */
export function fillCopy(now: string | undefined, stored: string | undefined): string | undefined {
  if (now === undefined || stored === undefined || !sameCopy(stored, now)) return now;
  const a = parseCopies(now);
  const b = parseCopies(stored);
  if (a === null || b === null) return now;
  return formatCopies(a.map(([name, id], i) => [name, id ?? b[i]![1]]));
}

/**
 * Why `stored` and `now` are not the same copy: the nodes whose ids differ (both known), or null
 * when that says nothing (a directory's or a source's id changed, or the cluster changed form).
 */
export function changedNodes(stored: string, now: string): string[] | null {
  const a = parseCopies(stored);
  const b = parseCopies(now);
  if (a === null || b === null || a.length !== b.length) return null;
  const names = a.flatMap(([name, id], i) => (b[i]![0] === name && id !== null && b[i]![1] !== null && id !== b[i]![1] ? [name] : []));
  return names.length === 0 ? null : names;
}
