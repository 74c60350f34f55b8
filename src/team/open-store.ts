// Which team store the settings name: PostgreSQL (team/pg-store.ts, its driver imported only when
// general_settings.database_url is set) or the embedded file store (team/file-store.ts) in its folder.
import os from 'node:os';
import path from 'node:path';
import type { Settings } from '../config/types.js';
import type { TeamStore } from './store.js';

/** The embedded store's folder: general_settings.database_path, else the platform data folder's `team/`. */
export function defaultTeamDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform, home = os.homedir()): string {
  if (platform === 'win32') return path.join(env.LOCALAPPDATA?.trim() || path.join(home, 'AppData', 'Local'), 'cortex-proxy', 'team');
  const xdg = env.XDG_DATA_HOME?.trim();
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'cortex-proxy', 'team');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'cortex-proxy', 'team');
  return path.join(home, '.local', 'share', 'cortex-proxy', 'team');
}

/** The store the settings name: PostgreSQL when database_url is set, else the embedded file store. */
export async function openStore(settings: Settings, env: NodeJS.ProcessEnv = process.env): Promise<TeamStore> {
  if (settings.databaseUrl) {
    const { PgStore } = await import('./pg-store.js');
    return new PgStore(settings.databaseUrl, { poolMax: settings.databasePoolLimit, connectTimeoutMs: settings.databaseTimeoutMs });
  }
  const { FileStore } = await import('./file-store.js');
  return new FileStore(settings.databasePath ?? defaultTeamDir(env));
}
