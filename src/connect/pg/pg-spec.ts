import { z } from 'zod';

/**
 * The PostgreSQL section of a keystore's source spec: where the rows are and which of their
 * columns are hashed. Column lists are resolved when the keystore is made (`aae connect` reads
 * the table's catalogue) and saved explicitly, so a column added to the table later does not
 * silently change every row's hash.
 */

/** PostgreSQL's identifier limit (NAMEDATALEN − 1 bytes). */
const MAX_IDENT_BYTES = 63;

export const identSchema = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .refine((s) => s.length > 0 && !s.includes('\0') && s.isWellFormed() && Buffer.byteLength(s) <= MAX_IDENT_BYTES, {
    error: `must be a PostgreSQL identifier: 1..${MAX_IDENT_BYTES} bytes, no NUL`,
  });

/** Slot and publication names we create: lowercase letters, digits and _, as PostgreSQL requires of slots. */
export const slotNameSchema = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .regex(/^[a-z0-9_]{1,63}$/, { error: 'must be 1..63 characters of [a-z0-9_]' });

export const pgSourceSchema = z.strictObject({
  engine: z.literal('postgresql'),
  url: z
    .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
    .refine((s) => /^postgres(ql)?:\/\/[^\s]*$/.test(s), { error: "must be a postgresql:// or postgres:// URL" }),
  schema: identSchema,
  table: identSchema,
  /** Key columns, in order: one gives keys as its text; several, their canonical row bytes. */
  key: z.array(identSchema).min(1, { error: 'must name at least one key column' }),
  /** The hashed value columns, in order (resolved at connect: all but the key by default). */
  columns: z.array(identSchema),
  /** A timestamp column whose value is each key's lastModified; null: the commit time (scan time for a snapshot). */
  updatedAt: identSchema.nullable(),
  slot: slotNameSchema,
  publication: identSchema,
  /** The keystore created the publication (and may drop it); false: a DBA's publication, used as it is. */
  ownPublication: z.boolean(),
});

export type PgSourceSpec = z.infer<typeof pgSourceSchema>;
