// The general_settings keys of usage logging, metrics and credit estimates, read by config/load.ts:
//
//   general_settings:
//     usage_log_dir: ./usage          # relative to the config file; default: the platform data folder
//     usage_log_max_mb: 50            # roll over to a new file at this size
//     public_metrics: false           # true: GET /metrics without the master key
//     credit_rates:                   # AI credits per million tokens, by Cortex model (estimates)
//       claude-4-sonnet: { input: 1.5, output: 7.5, cached_input: 0.15 }
import path from 'node:path';
import type { Settings } from '../config/types.js';

export const USAGE_SETTING_KEYS = ['usage_log_dir', 'usage_log_max_mb', 'public_metrics', 'credit_rates'];

/** The parts of load.ts's FileCtx used here (structural). */
export interface Entry {
  key: string;
  keyNode: unknown;
  value: unknown;
}
export interface SettingsReader {
  readonly file: string;
  entries(node: unknown, where: string): Entry[];
  bool(e: Entry, name: string): boolean | undefined;
  number(e: Entry, name: string, ok: (n: number) => boolean, expected: string, example: string): number | undefined;
  string(e: Entry, name: string, example: string): string | undefined;
  fail(node: unknown, detail: string, hint: string): never;
}

const RATE_KEYS: Record<string, 'input' | 'output' | 'cachedInput'> = { input: 'input', output: 'output', cached_input: 'cachedInput' };

export function readUsageSetting(ctx: SettingsReader, e: Entry, name: string, settings: Settings): void {
  switch (e.key) {
    case 'usage_log_dir': {
      const dir = ctx.string(e, name, './usage');
      if (dir) settings.usageLogDir = path.resolve(path.dirname(ctx.file), dir.replace(/^~(?=$|[\\/])/, process.env.HOME ?? '~'));
      return;
    }
    case 'usage_log_max_mb': {
      const mb = ctx.number(e, name, (n) => n >= 1 && n <= 100_000, 'a number of megabytes from 1 to 100000', '50');
      if (mb !== undefined) settings.usageLogMaxBytes = Math.round(mb * 1024 * 1024);
      return;
    }
    case 'public_metrics':
      settings.publicMetrics = ctx.bool(e, name) ?? settings.publicMetrics;
      return;
    case 'credit_rates': {
      if (e.value === null || (e.value as { value?: unknown }).value === null) return;
      const rates: NonNullable<Settings['creditRates']> = {};
      for (const m of ctx.entries(e.value, name)) {
        const where = `${name}.${m.key}`;
        const rate: { input?: number; output?: number; cachedInput?: number } = {};
        for (const r of ctx.entries(m.value, where)) {
          const field = RATE_KEYS[r.key];
          if (!field) ctx.fail(r.keyNode, `unknown key '${where}.${r.key}'`, 'a rate has input, output and (optionally) cached_input, in AI credits per million tokens');
          rate[field] = ctx.number(r, `${where}.${r.key}`, (n) => n >= 0 && n < 1e6, 'a number of credits per million tokens (0 or more)', '1.5');
        }
        if (rate.input === undefined || rate.output === undefined)
          ctx.fail(m.keyNode, `${where} needs both input and output`, `write ${m.key}: { input: 1.5, output: 7.5 }`);
        rates[m.key] = { input: rate.input, output: rate.output, ...(rate.cachedInput !== undefined ? { cachedInput: rate.cachedInput } : {}) };
      }
      settings.creditRates = rates;
      return;
    }
  }
}
