// Where cortex-proxy keeps a user-wide config: the platform's config folder. `init --global` writes there and
// `serve`/`doctor`/`connect`/`models` look there after the working directory (config/load.ts findConfigFile).
//   Linux & others: $XDG_CONFIG_HOME/cortex-proxy (default ~/.config/cortex-proxy)
//   macOS:          ~/Library/Application Support/cortex-proxy ($XDG_CONFIG_HOME/cortex-proxy when set)
//   Windows:        %APPDATA%\cortex-proxy
import os from 'node:os';
import path from 'node:path';

export function platformConfigDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
  if (platform === 'win32') return path.join(env.APPDATA?.trim() || path.join(home, 'AppData', 'Roaming'), 'cortex-proxy');
  const xdg = env.XDG_CONFIG_HOME?.trim();
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'cortex-proxy');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'cortex-proxy');
  return path.join(home, '.config', 'cortex-proxy');
}

/** Config file names looked for in the platform config folder (what `init` writes), in order. */
export const PLATFORM_CONFIG_NAMES = ['cortex-proxy.yaml', 'cortex-proxy.yml'];
