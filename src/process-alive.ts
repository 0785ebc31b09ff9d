/**
 * Whether a process of this machine still runs: how a lock or a staging folder named by its
 * owner's pid is known to be abandoned (the owner died) rather than in use.
 */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but is not ours to signal.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
