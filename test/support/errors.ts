import { isAaeError } from '../../src/errors.js';

/** The AaeError code `f` throws; 'not an AaeError' for any other throw; undefined if it returns. */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isAaeError(e) ? e.code : 'not an AaeError';
  }
  return undefined;
}
