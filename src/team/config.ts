// The general_settings keys of the team gateway, read by config/load.ts:
//
//   general_settings:
//     database_url: os.environ/DATABASE_URL      # PostgreSQL (postgres://user:pass@host:5432/db): keys, usage, budgets
//     database_path: ./team                      # or: the embedded store's folder (one machine; default: platform data folder)
//     database_connection_pool_limit: 10         # connections per replica
//     database_connection_timeout: 5             # seconds
//     redis_url: os.environ/REDIS_URL            # limits shared by every replica (redis://[:pass@]host:6379[/db])
import path from 'node:path';
import type { Settings } from '../config/types.js';
import type { Entry, SettingsReader } from '../usage/config.js';

export const TEAM_SETTING_KEYS = ['database_url', 'database_path', 'database_connection_pool_limit', 'database_connection_timeout', 'redis_url'];

interface Reader extends SettingsReader {
  scalar(e: Entry, name: string, expected: string, secret?: boolean): { value: unknown; envName?: string } | undefined;
  warn(node: never, text: string): void;
}

function url(ctx: Reader, e: Entry, name: string, schemes: string[], example: string): string | undefined {
  // A URL may carry a password: never echoed; one written in the file itself gets a warning.
  const s = ctx.scalar(e, name, 'a URL', true);
  if (!s || s.value === null || s.value === undefined) return undefined;
  if (typeof s.value !== 'string') ctx.fail(e.value, `${name} must be a URL`, `write e.g. ${e.key}: ${example}`);
  const v = s.value.trim();
  if (!v) return undefined;
  let scheme: string;
  try {
    const u = new URL(v);
    scheme = u.protocol.replace(/:$/, '');
    if (u.password && !s.envName) ctx.warn(e.value as never, `${name}{at} has a password written in the config file — prefer ${e.key}: ${example} with the URL in .env`);
  } catch {
    ctx.fail(e.value, `${name} is not a URL${s.envName ? ` (from ${s.envName})` : ''}`, `write e.g. ${e.key}: ${example}`);
  }
  if (!schemes.includes(scheme))
    ctx.fail(e.value, `${name} must be a ${schemes.map((x) => `${x}://`).join(' or ')} URL (got ${scheme}://)`, `write e.g. ${e.key}: ${example}`);
  return v;
}

export function readTeamSetting(ctx: Reader, e: Entry, name: string, settings: Settings): void {
  switch (e.key) {
    case 'database_url':
      settings.databaseUrl = url(ctx, e, name, ['postgres', 'postgresql'], 'os.environ/DATABASE_URL');
      return;
    case 'redis_url':
      settings.redisUrl = url(ctx, e, name, ['redis', 'rediss'], 'os.environ/REDIS_URL');
      return;
    case 'database_path': {
      const dir = ctx.string(e, name, './team');
      if (dir) settings.databasePath = path.resolve(path.dirname(ctx.file), dir.replace(/^~(?=$|[\\/])/, process.env.HOME ?? '~'));
      return;
    }
    case 'database_connection_pool_limit':
      settings.databasePoolLimit = ctx.number(e, name, (n) => Number.isInteger(n) && n >= 1 && n <= 1000, 'a whole number of connections from 1 to 1000', '10');
      return;
    case 'database_connection_timeout': {
      const s = ctx.number(e, name, (n) => n > 0 && n <= 600, 'a number of seconds (at most 600)', '5');
      if (s !== undefined) settings.databaseTimeoutMs = Math.round(s * 1000);
      return;
    }
  }
}
