import Table from 'cli-table3';
import type { OutStream } from './io.js';

/** `--json` output: one JSON document on stdout and nothing else. */
export function printJson(out: OutStream, value: unknown): void {
  out.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

/** Byte strings print as base64 objects; bigint as decimal strings. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString('base64') };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function renderTable(head: string[], rows: Array<Array<string | number>>): string {
  // No rule between rows: a summary of twenty buckets fits a screen.
  const table = new Table({ head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const row of rows) table.push(row.map(String));
  return table.toString();
}

export function printTable(out: OutStream, head: string[], rows: Array<Array<string | number>>): void {
  out.write(`${renderTable(head, rows)}\n`);
}
