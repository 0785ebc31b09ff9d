/**
 * Plain data: what every request and answer of the node contract must be — numbers, strings,
 * booleans, null, arrays, plain objects and typed arrays; no class instances, no cycles, no
 * functions, no BigInts. The loopback codec checks what it encodes with it, and the node server
 * checks every fold query it decodes with it before a module sees the query.
 */

/** Where in a value a non-plain part sits, or null when it is all plain data. */
export function notPlainData(value: unknown, path = '$', seen: Set<unknown> = new Set()): string | null {
  if (value === null || value === undefined) return null;
  const t = typeof value;
  if (t === 'string' || t === 'boolean' || t === 'number') return null;
  if (t === 'bigint' || t === 'function' || t === 'symbol') return `${path} is a ${t}`;
  if (ArrayBuffer.isView(value)) return value instanceof DataView ? `${path} is a DataView` : null;
  if (seen.has(value)) return `${path} is a cycle`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const bad = notPlainData(value[i], `${path}[${i}]`, seen);
        if (bad !== null) return bad;
      }
      return null;
    }
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return `${path} is an instance of ${name}`;
    }
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const bad = notPlainData(v, `${path}.${k}`, seen);
      if (bad !== null) return bad;
    }
    return null;
  } finally {
    seen.delete(value);
  }
}
