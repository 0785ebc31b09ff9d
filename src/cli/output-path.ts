import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AaeError, type AaeErrorCode } from '../errors.js';

/**
 * Refuses, before any work, a file a command was told to write whose folder is missing or cannot
 * be written: the command would otherwise do all its work and fail at the end (`--html`), or make
 * folders nobody asked for (`--state`). The folder is never created.
 */
export async function checkWritableParent(path: string, flag: string, code: AaeErrorCode = 'OUTPUT_IO'): Promise<void> {
  const dir = dirname(resolve(path));
  let why: string | undefined;
  try {
    if (!(await stat(dir)).isDirectory()) why = `${dir} is not a folder`;
    else await access(dir, constants.W_OK);
  } catch (e) {
    why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `the folder ${dir} does not exist` : `the folder ${dir} cannot be written`;
  }
  if (why !== undefined) throw new AaeError(code, `${flag} ${path}: ${why}`);
}
