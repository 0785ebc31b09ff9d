import { isClusterName } from '../cluster/index.js';
import { AaeError, isAaeError, quote } from '../errors.js';

/** Option parsers for commander: bad values become USAGE errors (exit 2), never NaN flowing inward. */
export function parseIntOption(name: string, min: number, max: number): (raw: string) => number {
  return (raw: string) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new AaeError('USAGE', `${name} must be an integer, got ${quote(raw)}`);
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new AaeError('USAGE', `${name} must be between ${min} and ${max}, got ${quote(raw)}`);
    }
    return n;
  };
}

export function parseChoice<T extends string>(name: string, choices: readonly T[]): (raw: string) => T {
  return (raw: string) => {
    if (!(choices as readonly string[]).includes(raw)) {
      throw new AaeError('USAGE', `${name} must be one of ${choices.join(', ')}, got ${quote(raw)}`);
    }
    return raw as T;
  };
}

/**
 * A cluster name (`cluster create --name`, `connect --name`): one cluster.json accepts
 * (isClusterName), and not blank. Checked before anything is made, so a refused name leaves nothing.
 */
export function parseClusterName(name: string): (raw: string) => string {
  return (raw: string) => {
    if (raw.trim() === '') throw new AaeError('USAGE', `${name} must not be empty`);
    // JSON's quoting, so a NUL or a lone surrogate shows as an escape rather than as nothing.
    if (!isClusterName(raw)) throw new AaeError('USAGE', `${name} must be well-formed text without NUL characters, got ${JSON.stringify(raw)}`);
    return raw;
  };
}

/** A library parser's INVALID_ARGUMENT, named after the flag it came from. */
export function flag<T>(name: string, parse: (raw: string) => T): (raw: string) => T {
  return (raw) => {
    try {
      return parse(raw);
    } catch (e) {
      if (isAaeError(e)) throw new AaeError('USAGE', `${name}: ${e.message}`);
      throw e;
    }
  };
}
