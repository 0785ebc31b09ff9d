/**
 * Writing a small file so that a crash leaves the old contents or the new, never half of one: a
 * temp file in the same directory, fsync, rename over the old file, fsync the directory. On failure
 * the temp file is removed and the error is rethrown for the caller to name.
 *
 * The file is created owner-only (0600, whatever the umask): it describes a cluster or holds a
 * sync's state, and nobody else has business reading or replacing it.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(file: string, body: string): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(body, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}

/** Makes the rename durable. Some platforms cannot open a directory for fsync; that is not an error. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort: Windows and some filesystems refuse fsync on a directory
  } finally {
    await fh?.close();
  }
}
