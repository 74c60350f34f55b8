// general_settings.workers (read by config/server-settings.ts) and serve --workers (the processes: server/cluster.ts):
//
//   general_settings:
//     workers: auto      # one process per core; or a number (default 1: a single process)
import os from 'node:os';
import { MAX_WORKERS } from '../config/server-settings.js';

export function coreCount(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length || 1;
}

/** The number of processes: --workers over general_settings.workers; 1 = a single process (no cluster). */
export function workerCount(cli: string | undefined, setting: number | 'auto' | undefined): number | string {
  const v = cli ?? (setting === undefined ? '1' : String(setting));
  if (v.trim().toLowerCase() === 'auto') return Math.min(coreCount(), MAX_WORKERS);
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS)
    return `--workers must be a whole number from 1 to ${MAX_WORKERS} or auto (one per core; this machine has ${coreCount()}); got '${v}'`;
  return n;
}
