// CPU time and resident memory of a process and its descendants, from /proc (Linux only).
import { readdirSync, readFileSync } from 'node:fs';

const TICK_US = 1_000_000 / 100; // USER_HZ is 100 on Linux (getconf CLK_TCK)
const PAGE_KB = 4;

interface Stat {
  ppid: number;
  /** utime + stime, µs (10 ms resolution). */
  cpuUs: number;
  rssKb: number;
}

function stat(pid: number): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return { ppid: Number(f[1]), cpuUs: (Number(f[11]) + Number(f[12])) * TICK_US, rssKb: Number(f[21]) * PAGE_KB };
  } catch {
    return undefined; // gone
  }
}

/** The pids of these processes and all their descendants (nginx master + workers, npx wrappers, …). */
export function processTree(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (!s) continue;
    const list = children.get(s.ppid);
    if (list) list.push(pid);
    else children.set(s.ppid, [pid]);
  }
  const out: number[] = [];
  const todo = [...roots];
  while (todo.length) {
    const pid = todo.pop()!;
    if (out.includes(pid)) continue;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Summed user+system CPU time of these pids, in µs. */
export function cpuUs(pids: number[]): number {
  let t = 0;
  for (const p of pids) t += stat(p)?.cpuUs ?? 0;
  return t;
}

/** Summed resident set size of these pids, in KB. */
export function rssKb(pids: number[]): number {
  let t = 0;
  for (const p of pids) t += stat(p)?.rssKb ?? 0;
  return t;
}
