import { z } from 'zod';
import { AaeError } from '../errors.js';
import type { FoldModule } from './contract.js';

/**
 * Query validation, shared by every module: a zod schema's failure becomes one FOLD_QUERY_INVALID
 * that names each bad field, and a module (a loaded file, say) that throws anything but an
 * AaeError from parseQuery has that wrapped into FOLD_QUERY_INVALID too, so callers see one code.
 */

/** Parses `input` with `schema`; every issue is named (path: message) in one FOLD_QUERY_INVALID. */
export function parseWith<S extends z.ZodType>(module: string, schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input === undefined ? {} : input);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.length === 0 ? 'query' : i.path.join('.')}: ${i.message}`);
  throw new AaeError('FOLD_QUERY_INVALID', `bad query for fold ${module}: ${problems.join('; ')}`, { details: { problems } });
}

/** module.parseQuery, with any non-AaeError failure reported as FOLD_QUERY_INVALID. */
export function parseFoldQuery<Query, Acc>(module: FoldModule<Query, Acc>, input: unknown): Query {
  try {
    return module.parseQuery(input);
  } catch (e) {
    if (e instanceof AaeError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new AaeError('FOLD_QUERY_INVALID', `bad query for fold ${module.name}: ${message}`, { cause: e });
  }
}
