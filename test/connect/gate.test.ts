import fc from 'fast-check';
import { expect, test } from 'vitest';
import { Gate } from '../../src/connect/gate.js';

/**
 * The gate a keystore node puts around its store: shared sections (requests) run together, an
 * exclusive one (a swap) alone, and a waiting exclusive section holds back shared ones that come
 * after it. Law over random interleavings: an exclusive section never overlaps anything, and
 * every section runs.
 */

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('law: an exclusive section never overlaps another section; every section runs', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.record({ exclusive: fc.boolean(), ticks: fc.nat(3), startAfter: fc.nat(3) }), { minLength: 1, maxLength: 12 }), async (sections) => {
      const gate = new Gate();
      let shared = 0;
      let exclusive = 0;
      const violations: string[] = [];
      let ran = 0;
      await Promise.all(
        sections.map(async (s, i) => {
          for (let t = 0; t < s.startAfter; t++) await tick();
          const body = async (): Promise<void> => {
            if (s.exclusive) exclusive++;
            else shared++;
            if (exclusive > 1 || (exclusive === 1 && shared > 0)) violations.push(`section ${i}: ${exclusive} exclusive, ${shared} shared`);
            for (let t = 0; t < s.ticks; t++) await tick();
            if (exclusive > 1 || (exclusive === 1 && shared > 0)) violations.push(`section ${i} (end): ${exclusive} exclusive, ${shared} shared`);
            if (s.exclusive) exclusive--;
            else shared--;
            ran++;
          };
          await (s.exclusive ? gate.exclusive(body) : gate.shared(body));
        }),
      );
      expect(violations).toEqual([]);
      expect(ran).toBe(sections.length);
    }),
    { numRuns: 200 },
  );
});

test('a waiting exclusive section holds back shared sections that come after it; hold() releases once', async () => {
  const gate = new Gate();
  const order: string[] = [];
  const release = await gate.hold();
  const swap = gate.exclusive(async () => {
    order.push('swap');
  });
  const later = gate.shared(async () => {
    order.push('later request');
  });
  await tick();
  expect(order).toEqual([]);
  release();
  release(); // a second call changes nothing
  await Promise.all([swap, later]);
  expect(order).toEqual(['swap', 'later request']);
});
