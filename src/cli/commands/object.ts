import { isKeystore } from '../../connect/index.js';
import type { Command } from 'commander';
import { bytesToText, clockEntriesToJson, keyFromJson, MAX_N_VAL, valueToJson, type AaeObject, type IndexEntry } from '../../cluster/index.js';
import { AaeError, escapeControls, quote } from '../../errors.js';
import { EXIT, type CommandContext } from '../io.js';
import { withCluster } from '../open-cluster.js';
import { printJson } from '../output.js';
import { parseIntOption } from '../parse.js';

/** `aae put|get|delete`: one object at a time, through the cluster (every replica of the preflist). */

interface KeyOptions {
  keyBase64?: boolean;
  json?: boolean;
}

function keyArg(key: string, opts: KeyOptions): Uint8Array {
  return opts.keyBase64 ? keyFromJson({ base64: key }) : keyFromJson(key);
}

export function objectJson(obj: AaeObject): Record<string, unknown> {
  return {
    bucket: obj.bucket,
    key: valueToJson(obj.key),
    value: obj.deleted ? null : valueToJson(obj.value),
    clock: clockEntriesToJson(obj.clock),
    lastModified: obj.clock.lastModified,
    deleted: obj.deleted,
    ...(obj.indexes.length > 0 ? { indexes: obj.indexes } : {}),
  };
}

function parseIndex(raw: string, prev: IndexEntry[] = []): IndexEntry[] {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new AaeError('USAGE', `--index takes name=term, got ${quote(raw)}`);
  return [...prev, [raw.slice(0, eq), raw.slice(eq + 1)]];
}

function describe(obj: AaeObject): string {
  const clock = obj.clock.entries.map(([a, c]) => `${a}:${c}`).join(',');
  return `${obj.deleted ? 'tombstone' : `${obj.value.byteLength} byte(s)`}, clock [${clock}], lastModified ${new Date(obj.clock.lastModified).toISOString()}`;
}

export function registerObjectCommands(program: Command, ctx: CommandContext): void {
  program
    .command('put')
    .description('write one object as a new version (its clock increments the replicas\' merged clock)')
    .argument('<cluster>', 'cluster directory')
    .argument('<bucket>')
    .argument('<key>', 'the key as text (or base64 with --key-base64)')
    .argument('[value]', 'the value as text (or base64 with --base64); default empty')
    .option('--key-base64', 'the key argument is base64 (for binary keys)')
    .option('--base64', 'the value argument is base64 (for binary values)')
    .option('--index <name=term>', 'a secondary index entry (repeatable)', parseIndex)
    .option('--replicas <k>', 'write only the first K replicas (makes replica drift)', parseIntOption('--replicas', 1, MAX_N_VAL))
    .option('--json', 'print the stored object as JSON only')
    .addHelpText('after', `
Examples:
  $ aae put ./dc1 users alice '{"city":"Leeds"}' --index city_bin=Leeds
  $ aae put ./dc1 blobs AAEC /wA= --key-base64 --base64
  $ aae put ./dc1 users bob v1 --replicas 1`)
    .action(async (dir: string, bucket: string, key: string, value: string | undefined, opts: KeyOptions & { base64?: boolean; index?: IndexEntry[]; replicas?: number }) => {
      await refuseKeystore(dir, 'put');
      const bytes = value === undefined ? new Uint8Array(0) : opts.base64 ? keyFromJsonValue(value) : new TextEncoder().encode(value);
      const obj = await withCluster(dir, (c) =>
        c.put({ bucket, key: keyArg(key, opts), value: bytes, indexes: opts.index ?? [], ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}) }),
      );
      if (opts.json) printJson(ctx.io.stdout, objectJson(obj));
      else ctx.io.stdout.write(`stored ${escapeControls(bucket)}/${escapeControls(key)}: ${describe(obj)}\n`);
    });

  program
    .command('get')
    .description('read one object: the replicas\' dominant version (exit 1 when missing or deleted)')
    .argument('<cluster>', 'cluster directory')
    .argument('<bucket>')
    .argument('<key>', 'the key as text (or base64 with --key-base64)')
    .option('--key-base64', 'the key argument is base64')
    .option('--json', 'print {bucket, key, value, clock, lastModified, deleted} as JSON only')
    .addHelpText('after', `
The value prints as UTF-8 text when it is valid UTF-8, else as {"base64": …} (JSON) or base64 (text).

Examples:
  $ aae get ./dc1 users alice
  $ aae get ./dc1 users alice --json`)
    .action(async (dir: string, bucket: string, key: string, opts: KeyOptions) => {
      await refuseKeystore(dir, 'get');
      const obj = await withCluster(dir, (c) => c.get(bucket, keyArg(key, opts)));
      if (obj === null || obj.deleted) ctx.setExitCode(EXIT.DIFFERENT);
      if (opts.json) {
        printJson(ctx.io.stdout, obj === null ? null : objectJson(obj));
        return;
      }
      if (obj === null) {
        ctx.io.stderr.write(`${escapeControls(bucket)}/${escapeControls(key)}: not found\n`);
        return;
      }
      if (obj.deleted) {
        ctx.io.stderr.write(`${escapeControls(bucket)}/${escapeControls(key)}: deleted (${describe(obj)})\n`);
        return;
      }
      const text = bytesToText(obj.value);
      ctx.io.stdout.write(`${text ?? Buffer.from(obj.value).toString('base64')}\n`);
      ctx.io.stderr.write(`${describe(obj)}${text === undefined ? ' (value shown as base64)' : ''}\n`);
    });

  program
    .command('delete')
    .description('delete one object: writes a tombstone that keeps a clock, so the delete wins over older versions')
    .argument('<cluster>', 'cluster directory')
    .argument('<bucket>')
    .argument('<key>', 'the key as text (or base64 with --key-base64)')
    .option('--key-base64', 'the key argument is base64')
    .option('--json', 'print the tombstone as JSON only')
    .addHelpText('after', `
Examples:
  $ aae delete ./dc1 users alice`)
    .action(async (dir: string, bucket: string, key: string, opts: KeyOptions) => {
      await refuseKeystore(dir, 'delete');
      const obj = await withCluster(dir, (c) => c.delete(bucket, keyArg(key, opts)));
      if (opts.json) printJson(ctx.io.stdout, objectJson(obj));
      else ctx.io.stdout.write(`deleted ${escapeControls(bucket)}/${escapeControls(key)}: ${describe(obj)}\n`);
    });
}

function keyFromJsonValue(b64: string): Uint8Array {
  try {
    return keyFromJson({ base64: b64 });
  } catch (e) {
    throw new AaeError('USAGE', `the value is not canonical base64`, { cause: e });
  }
}

/**
 * A keystore holds heads, not rows, and only its follower may write it: reading or writing an
 * object there would fail obscurely or put keys in it that the source does not have.
 */
async function refuseKeystore(dir: string, what: 'put' | 'get' | 'delete'): Promise<void> {
  if (!(await isKeystore(dir))) return;
  throw new AaeError('USAGE', `${dir} is a keystore: its rows live in the source database, which is where to ${what} them (it holds only hashes, kept by aae follow)`);
}
