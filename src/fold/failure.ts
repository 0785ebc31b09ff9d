/**
 * How a module's own failures reach the caller, shared by the node's executor, in-thread sessions,
 * the runner and plugin workers: a throw from module code becomes FOLD_MODULE_FAILED naming where
 * (node, vnode) with the module's error as its cause; an AaeError the module raises on purpose
 * (FOLD_ACC_OVERFLOW) passes as it is. And the bound check every accumulator passes after each batch.
 */
import { AaeError, isAaeError } from '../errors.js';

/** The module's failure, as the caller should see it. */
export function moduleFailure(module: string, where: string, e: unknown): unknown {
  if (isAaeError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new AaeError('FOLD_MODULE_FAILED', `fold module ${module} failed on ${where}: ${message}`, { cause: e, details: { module, where } });
}

export function checkBound(name: string, size: number, bound: number): void {
  if (size > bound) {
    throw new AaeError('FOLD_ACC_OVERFLOW', `fold ${name}: its accumulator reached ${size}, over its bound of ${bound}; narrow the query or raise its limit`, {
      details: { size, bound },
    });
  }
}
