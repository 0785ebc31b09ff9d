import Table from 'cli-table3';
import { escapeControls } from '../errors.js';
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

/**
 * A table for a terminal. Cells hold data (keys, buckets, actors) that may contain escape
 * sequences or bidi overrides: they are shown escaped (`\x1b`), never acted on.
 */
export function renderTable(head: string[], rows: Array<Array<string | number>>): string {
  // No rule between rows: a summary of twenty buckets fits a screen. Cells are shown safely: a key or
  // bucket holding terminal controls is escaped, never sent to the terminal raw.
  const table = new Table({ head: head.map(escapeControls), style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const row of rows) table.push(row.map((cell) => escapeControls(String(cell))));
  return table.toString();
}

export function printTable(out: OutStream, head: string[], rows: Array<Array<string | number>>): void {
  out.write(`${renderTable(head, rows)}\n`);
}
