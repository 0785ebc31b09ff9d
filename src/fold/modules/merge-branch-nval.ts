import { z } from 'zod';
import { LEAVES_PER_BRANCH, MAX_BRANCH_COUNT, encodeBranches } from '../../tictac/index.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { branchesCodec } from '../acc-codecs.js';
import { parseWith } from '../parse-query.js';
import { wordsBase64, xorWords } from './merge-root-nval.js';

/**
 * merge_branch_nval: some branches of the cluster's tree, from the cached trees alone — the second
 * step of a full exchange, after the roots showed which branches differ. Each branch is the XOR of
 * that branch of every covered IndexN tree: 1 KiB per branch asked, whatever the data size.
 */

export interface MergeBranchQuery {
  /** Branch ids, distinct, ascending after parsing. */
  branches: number[];
}
/** Branch id → its 256 leaves, XORed over every tree seen. */
export type BranchAcc = ReadonlyMap<number, Uint32Array>;

const schema = z.strictObject({
  branches: z.array(z.number().int().min(0).max(MAX_BRANCH_COUNT - 1)).min(1).max(MAX_BRANCH_COUNT),
});

export const mergeBranchNval: FoldModule<MergeBranchQuery, BranchAcc> = {
  name: 'merge_branch_nval',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: "chosen branches of the cluster's tree, XOR of the cached IndexN trees' branches (no scan)",
  parseQuery(input) {
    const q = parseWith('merge_branch_nval', schema, input);
    return { branches: [...new Set(q.branches)].sort((a, b) => a - b) };
  },
  stateNeeds: () => 'tree_cache',
  generateFilter: (q) => ({ cache: { read: 'branches', ids: q.branches } }),
  generateAcc: () => new Map(),
  accCodec: branchesCodec<MergeBranchQuery>(),
  generateMergeFun: () => (a, b) => {
    const out = new Map(a);
    for (const [id, leaves] of b) {
      const mine = out.get(id);
      out.set(id, mine === undefined ? leaves.slice() : xorWords(mine, leaves));
    }
    return out;
  },
  generateObjectFoldFun: () => (acc: BranchAcc, input: FoldInput) => {
    if (input.kind !== 'branches') return acc;
    const out = acc as Map<number, Uint32Array>; // the fold owns its accumulator
    for (const [id, leaves] of input.branches) {
      const mine = out.get(id);
      if (mine === undefined) out.set(id, leaves.slice());
      else for (let i = 0; i < LEAVES_PER_BRANCH; i++) mine[i]! ^= leaves[i]!;
    }
    return out;
  },
  /** At most the branches asked for; the unit is branches (1 KiB each). */
  accBound: (q) => q.branches.length,
  accSize: (acc) => acc.size,
  summarize(acc, q) {
    const ids = [...acc.keys()].sort((a, b) => a - b);
    return {
      json: {
        branches: ids.map((id) => ({ id, leaves: wordsBase64(acc.get(id)!) })),
        /** The exchange wire payload (docs/FORMAT.md, "Root and branch payloads"). */
        payload: Buffer.from(encodeBranches(acc)).toString('base64'),
      },
      table: {
        head: ['branch', 'non-zero leaves', 'xor of leaves'],
        rows: q.branches.map((id) => {
          const leaves = acc.get(id) ?? new Uint32Array(LEAVES_PER_BRANCH);
          let n = 0;
          let x = 0;
          for (const w of leaves) {
            if (w !== 0) n++;
            x ^= w;
          }
          return [id, n, (x >>> 0).toString(16).padStart(8, '0')];
        }),
      },
    };
  },
};
