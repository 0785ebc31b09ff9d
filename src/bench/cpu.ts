import { readdir, readFile } from 'node:fs/promises';

/**
 * CPU time, for figures whose wall time this machine makes too noisy to trust. The benchmark
 * machine is two cores shared by several sessions (load 8–12): a phase's wall time is mostly how
 * long it waited for a core, while the CPU it used (this process, every thread, plus the database
 * server's processes) changes little from run to run. Both are reported; targets stay on the rates.
 */

/** This process's CPU time so far (user + system, every thread), ms. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Linux reports process times in clock ticks of 1/100 s (USER_HZ, fixed for /proc). */
const TICK_MS = 10;

/**
 * CPU time (ms) of process `pid` and all its descendants, live and exited (an exited child's time
 * is in its parent's cutime/cstime once reaped, as PostgreSQL's postmaster reaps its backends), from
 * /proc. Null where /proc is not readable (not Linux).
 */
export async function processTreeCpuMs(pid: number): Promise<number | null> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return null;
  }
  const stats = new Map<number, { ppid: number; own: number; children: number }>();
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        const text = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => null);
        if (text === null) return;
        // The command name (field 2) is in parentheses and may hold spaces: fields count from after it.
        const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
        stats.set(Number(e), { ppid: Number(f[1]), own: (Number(f[11]) + Number(f[12])) * TICK_MS, children: (Number(f[13]) + Number(f[14])) * TICK_MS });
      }),
  );
  const root = stats.get(pid);
  if (root === undefined) return null;
  let total = root.own + root.children;
  const seen = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, s] of stats) {
      if (!seen.has(p) && seen.has(s.ppid)) {
        seen.add(p);
        total += s.own + s.children;
        grew = true;
      }
    }
  }
  return total;
}
