import fc from 'fast-check';
import { expect, test } from 'vitest';
import { changedNodes, fillCopy, formatCopies, parseCopies, sameCopy } from '../../src/cluster/index.js';

/**
 * Which copy a sync state vouches for (src/cluster/copy-id.ts): a served cluster is named by its
 * nodes' ids, an unknown one (a node down) matching any, so a state is resumed by every client
 * directory that reaches the same nodes, and refused once any node is a rebuilt one.
 */

const hex = fc.stringMatching(/^[0-9a-f]{32}$/);
const name = fc.string({ minLength: 1, maxLength: 8 });
/** A served cluster: distinct node names, each with an id. */
const cluster = fc.uniqueArray(fc.tuple(name, hex), { minLength: 1, maxLength: 5, selector: ([n]) => n });
/** Which of its nodes did not answer. */
const withHoles = cluster.chain((nodes) => fc.tuple(fc.constant(nodes), fc.array(fc.boolean(), { minLength: nodes.length, maxLength: nodes.length })));
const holed = (nodes: Array<[string, string]>, holes: boolean[]) => nodes.map(([n, id], i): [string, string | null] => [n, holes[i] ? null : id]);

test('the form round-trips, whatever the node names (commas, equals signs, question marks)', () => {
  fc.assert(
    fc.property(withHoles, ([nodes, holes]) => {
      const entries = holed(nodes, holes);
      expect(parseCopies(formatCopies(entries))).toEqual(entries);
    }),
  );
  expect(parseCopies('0123456789abcdef0123456789abcdef')).toBeNull();
});

test('the same nodes are the same copy, however many of them did not answer, either way round', () => {
  fc.assert(
    fc.property(withHoles, withHoles, ([nodes, holesA], [, holesB]) => {
      const b = holesB.slice(0, nodes.length).concat(Array(Math.max(0, nodes.length - holesB.length)).fill(false));
      const x = formatCopies(holed(nodes, holesA));
      const y = formatCopies(holed(nodes, b));
      expect(sameCopy(x, y)).toBe(true);
      expect(sameCopy(y, x)).toBe(true);
    }),
  );
});

test('one node rebuilt (a new id), and answering, is another copy', () => {
  fc.assert(
    fc.property(cluster, fc.nat(), hex, (nodes, pick, fresh) => {
      const i = pick % nodes.length;
      fc.pre(fresh !== nodes[i]![1]);
      const rebuilt = nodes.map(([n, id], j): [string, string] => [n, j === i ? fresh : id]);
      expect(sameCopy(formatCopies(nodes), formatCopies(rebuilt))).toBe(false);
      // Not if the rebuilt node is the one that did not answer: nothing says it differs.
      expect(sameCopy(formatCopies(nodes), formatCopies(holed(rebuilt, rebuilt.map((_, j) => j === i))))).toBe(true);
    }),
  );
});

test('a directory id and a served cluster are different copies; two directory ids match only when equal; nothing recorded matches anything', () => {
  fc.assert(
    fc.property(hex, hex, cluster, (a, b, nodes) => {
      expect(sameCopy(a, b)).toBe(a === b);
      expect(sameCopy(a, formatCopies(nodes))).toBe(false);
      expect(sameCopy(formatCopies(nodes), a)).toBe(false);
      expect(sameCopy(undefined, a)).toBe(true);
      expect(sameCopy(a, undefined)).toBe(true);
    }),
  );
  // Other nodes (another count, another name) are another cluster's copy.
  expect(sameCopy(formatCopies([['n1', 'a'.repeat(32)]]), formatCopies([['n1', 'a'.repeat(32)], ['n2', null]]))).toBe(false);
  expect(sameCopy(formatCopies([['n1', null]]), formatCopies([['n9', null]]))).toBe(false);
});

test('filling: a node that did not answer takes the id the state recorded; known ids are never changed', () => {
  fc.assert(
    fc.property(withHoles, withHoles, ([nodes, holesNow], [, holesStored]) => {
      const stored = formatCopies(holed(nodes, holesStored.slice(0, nodes.length)));
      const now = formatCopies(holed(nodes, holesNow));
      const filled = fillCopy(now, stored)!;
      const entries = parseCopies(filled)!;
      entries.forEach(([n, id], i) => {
        expect(n).toBe(nodes[i]![0]);
        // Known now, or known then: the node's id; unknown both times: still unknown.
        expect(id).toBe(holesNow[i] && (holesStored[i] ?? false) ? null : nodes[i]![1]);
      });
      expect(sameCopy(stored, filled) && sameCopy(now, filled)).toBe(true);
    }),
  );
  // Of another copy: nothing is taken from it.
  const now = formatCopies([['n1', 'a'.repeat(32)], ['n2', null]]);
  expect(fillCopy(now, formatCopies([['n1', 'b'.repeat(32)], ['n2', 'c'.repeat(32)]]))).toBe(now);
});

test('changedNodes names exactly the answering nodes whose ids differ, and nothing for one id', () => {
  fc.assert(
    fc.property(cluster, fc.array(fc.boolean()), hex, (nodes, flips, fresh) => {
      const now = nodes.map(([n, id], i): [string, string] => [n, flips[i] === true && fresh !== id ? fresh : id]);
      const expected = nodes.filter(([, id], i) => now[i]![1] !== id).map(([n]) => n);
      expect(changedNodes(formatCopies(nodes), formatCopies(now))).toEqual(expected.length === 0 ? null : expected);
    }),
  );
  expect(changedNodes('a'.repeat(32), 'b'.repeat(32))).toBeNull();
});
