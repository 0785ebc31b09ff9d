/**
 * Accumulator codecs: how an accumulator crosses from the node that folded to the coordinator that
 * merges (FoldModule.accCodec). Each decode validates what it reads.
 *
 * - `plainCodec`, the default: msgpack (msgpackr) with structured clone, which keeps typed arrays,
 *   Sets and nested plain data exactly. A module whose accumulator is plain data needs nothing more.
 * - `treeCodec`: a TicTacTree as its export (docs/FORMAT.md, "TicTac tree export": compact, with a
 *   checksum), refused unless it is a tree of the query's size.
 * - `branchesCodec`: a map of branch id → 256 leaves, as the exchange's branch payload.
 * - `keyClocksCodec`: a list of keys and clocks, packed (actor and bucket dictionaries, varints).
 */
import { Packr } from 'msgpackr';
import { AaeError } from '../errors.js';
import { TicTacTree, decodeBranches, encodeBranches, type TreeSize } from '../tictac/index.js';
import { decodeKeyClocks, encodeKeyClocks } from '../node/index.js';
import type { AccCodec, KeyClock } from './contract.js';

const packr = new Packr({ structuredClone: true, useRecords: false, moreTypes: true });

export function plainCodec<Q, A>(): AccCodec<Q, A> {
  return {
    encode: (acc) => packr.pack(acc),
    decode: (bytes) => {
      try {
        return packr.unpack(bytes) as A;
      } catch (e) {
        throw new AaeError('FOLD_ACC_CORRUPT', `an accumulator failed to decode: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}

export function treeCodec<Q extends { treeSize: TreeSize }>(): AccCodec<Q, TicTacTree> {
  return {
    encode: (acc) => acc.export(),
    decode: (bytes, q) => {
      let tree: TicTacTree;
      try {
        tree = TicTacTree.import(bytes);
      } catch (e) {
        throw new AaeError('FOLD_ACC_CORRUPT', `a tree accumulator failed to decode: ${(e as Error).message}`, { cause: e });
      }
      if (tree.size !== q.treeSize) throw new AaeError('FOLD_ACC_CORRUPT', `a tree accumulator of size ${tree.size} where ${q.treeSize} was asked`);
      return tree;
    },
  };
}

export function branchesCodec<Q>(): AccCodec<Q, ReadonlyMap<number, Uint32Array>> {
  return {
    encode: (acc) => encodeBranches(acc),
    decode: (bytes) => {
      try {
        // The payload names no tree size; every size's branches are 256 leaves, so the largest size's ids bound it.
        return decodeBranches(bytes, 'xlarge');
      } catch (e) {
        throw new AaeError('FOLD_ACC_CORRUPT', `a branch accumulator failed to decode: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}

/**
 * A list of keys and clocks as a packed key-clock list (src/node/key-clocks.ts): an actor and a
 * bucket dictionary, varint counters, times as deltas. What an exchange's clock round moves.
 */
export function keyClocksCodec<Q>(): AccCodec<Q, KeyClock[]> {
  return {
    encode: (acc) => encodeKeyClocks(acc),
    decode: (bytes) => {
      try {
        return decodeKeyClocks(bytes, 'a key-clock accumulator');
      } catch (e) {
        throw new AaeError('FOLD_ACC_CORRUPT', `a key-clock accumulator failed to decode: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}
