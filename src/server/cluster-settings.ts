// general_settings.workers and serve --workers (the processes themselves: server/cluster.ts):
//
//   general_settings:
//     workers: auto      # one process per core; or a number (default 1: a single process)
import os from 'node:os';
import type { Settings } from '../config/types.js';
import type { Entry, SettingsReader } from '../usage/config.js';

export const WORKER_SETTING_KEYS = ['workers'];
const MAX_WORKERS = 256;

/** general_settings.workers: a number of processes, or "auto" (one per core). */
export function readWorkersSetting(ctx: SettingsReader, e: Entry, settings: Settings): void {
  const v = (e.value as { value?: unknown } | null)?.value;
  if (v === 'auto') {
    settings.workers = 'auto';
    return;
  }
  const n = ctx.number(e, 'general_settings.workers', (x) => Number.isInteger(x) && x >= 1 && x <= MAX_WORKERS, `a whole number of processes from 1 to ${MAX_WORKERS}, or auto (one per core)`, 'auto');
  if (n !== undefined) settings.workers = n;
}

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
