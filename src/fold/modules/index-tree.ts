import { z } from 'zod';
import { keyHash, utf8, varintLength, writeVarint } from '../../hash/index.js';
import { DEFAULT_TREE_SIZE, HASH_BYTES, TicTacTree, branchCountOf, segmentCountOf, type TreeSize } from '../../tictac/index.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, type FoldInput, type FoldModule } from '../contract.js';
import { treeCodec } from '../acc-codecs.js';
import { parseWith } from '../parse-query.js';
import { wordsBase64 } from './merge-root-nval.js';
import { keyRangeSchema, treeSizeSchema } from './query-parts.js';

/**
 * index_tree: a TicTac tree over secondary-index entries, so that two clusters' indexes can be
 * compared the way their objects are (Riak never built this).
 *
 * Every entry (bucket, index, term, key) is one member of the set: its canonical bytes are
 * `varint(len b) ‖ b ‖ varint(len i) ‖ i ‖ varint(len t) ‖ t ‖ key` (UTF-8), hashed with xxh64 under
 * the fixed INDEX_TREE_SEED. The low 32 bits pick the segment, the high 32 bits are the entry's
 * contribution — an entry has no version: it is there or it is not, so an index that lost or
 * gained an entry, or files a key under another term, changes exactly that entry's segment. The
 * seed is fixed rather than the cluster's so that index trees compare across clusters whatever
 * their seeds. Entries are read by range scans of one index (the `index` state need).
 */

/** A fixed seed ("1d8" ≈ "idx"): index trees of any two clusters are comparable. */
export const INDEX_TREE_SEED = 0x1d8_7ee5;

export interface IndexTreeQuery {
  bucket: string;
  index: string;
  termRange?: { start: string; end: string } | undefined;
  keyRange?: { start: Uint8Array; end: Uint8Array } | undefined;
  treeSize: TreeSize;
}

const text = z.string().refine((s) => !s.includes('\0') && s.isWellFormed(), { error: 'must be text without NUL' });
const schema = z.strictObject({
  bucket: text.refine((s) => s.length > 0, { error: 'must not be empty' }),
  index: text.refine((s) => s.length > 0, { error: 'must not be empty' }),
  termRange: z
    .strictObject({ start: text, end: text })
    .refine((r) => Buffer.compare(Buffer.from(r.start), Buffer.from(r.end)) <= 0, { error: 'start must not be after end' })
    .optional(),
  keyRange: keyRangeSchema.optional(),
  treeSize: treeSizeSchema.default(DEFAULT_TREE_SIZE),
});

/** The canonical bytes of an index entry (see the file comment). */
export function canonicalIndexEntry(bucket: string, index: string, term: string, key: Uint8Array): Uint8Array {
  const b = utf8(bucket);
  const i = utf8(index);
  const t = utf8(term);
  const out = new Uint8Array(varintLength(b.length) + b.length + varintLength(i.length) + i.length + varintLength(t.length) + t.length + key.length);
  let pos = 0;
  for (const part of [b, i, t]) {
    pos = writeVarint(out, pos, part.length);
    out.set(part, pos);
    pos += part.length;
  }
  out.set(key, pos);
  return out;
}

function treeBytes(size: TreeSize): number {
  return HASH_BYTES * (branchCountOf(size) + segmentCountOf(size));
}

export const indexTree: FoldModule<IndexTreeQuery, TicTacTree> = {
  name: 'index_tree',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: "a TicTac tree over one index's entries (bucket, index, term, key), comparable across clusters",
  parseQuery: (input) => parseWith('index_tree', schema, input),
  stateNeeds: () => 'index',
  generateFilter(q) {
    const index: { bucket: string; index: string; termRange?: { start: string; end: string }; keyRange?: { start: Uint8Array; end: Uint8Array } } = {
      bucket: q.bucket,
      index: q.index,
    };
    if (q.termRange !== undefined) index.termRange = q.termRange;
    if (q.keyRange !== undefined) index.keyRange = q.keyRange;
    return { index };
  },
  generateAcc: (q) => TicTacTree.create(q.treeSize),
  accCodec: treeCodec<IndexTreeQuery>(),
  generateMergeFun: () => (a, b) => a.merge(b),
  generateObjectFoldFun: () => (acc: TicTacTree, input: FoldInput) => {
    if (input.kind !== 'index') return acc;
    const e = input.entry;
    const h = keyHash(canonicalIndexEntry(e.bucket, e.index, e.term, e.key), INDEX_TREE_SEED);
    acc.add(h.segment32, h.alt);
    return acc;
  },
  accBound: (q) => treeBytes(q.treeSize),
  accSize: (acc) => treeBytes(acc.size),
  summarize(acc, q) {
    const stats = acc.stats();
    return {
      json: { bucket: q.bucket, index: q.index, treeSize: acc.size, stats, root: wordsBase64(acc.root()), tree: Buffer.from(acc.export()).toString('base64') },
      table: {
        head: ['bucket', 'index', 'tree size', 'entries', 'non-empty segments'],
        rows: [[q.bucket, q.index, acc.size, stats.keys ?? '-', stats.nonEmptySegments]],
      },
    };
  },
};
