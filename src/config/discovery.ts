// Config discovery: which config file to load (--config, CORTEX_PROXY_CONFIG, the working directory, the
// platform config folder) and the .env files read into the environment; config/load.ts calls these.
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { expandDotEnv } from './dotenv.js';
import { PLATFORM_CONFIG_NAMES, platformConfigDir } from './paths.js';

/** Config file names looked for in the working directory, in order. */
export const CONFIG_FILE_NAMES = ['cortex-proxy.yaml', 'cortex-proxy.yml', 'litellm_config.yaml', 'litellm_config.yml', 'config.yaml'];

/** The config file to load when --config is absent (see the search order at the top of config/load.ts). */
export function findConfigFile(cwd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.CORTEX_PROXY_CONFIG?.trim();
  if (fromEnv) return path.resolve(cwd, fromEnv);
  for (const name of CONFIG_FILE_NAMES) {
    const p = path.join(cwd, name);
    if (!isFile(p)) continue;
    if (name === 'config.yaml' && !/^model_list\s*:/m.test(readSafe(p))) continue;
    return p;
  }
  // Then the user-wide config `cortex-proxy init --global` writes (config/paths.ts).
  const home = platformConfigDir(env);
  for (const name of PLATFORM_CONFIG_NAMES) if (isFile(path.join(home, name))) return path.join(home, name);
  return undefined;
}

// ───────────────────────────── .env ─────────────────────────────

export function loadDotEnv(dir: string, cwd: string, env: NodeJS.ProcessEnv, warnings: string[]): void {
  const p = path.join(dir, '.env');
  let text: string;
  let mode: number;
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return;
    mode = st.mode;
    text = fs.readFileSync(p, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') warnings.push(`could not read ${displayPath(p, cwd)} (${code ?? 'error'}) — skipped`);
    return;
  }
  const vars = expandDotEnv(text, parseEnv(text), env); // ${VAR} as python-dotenv expands it (config/dotenv.ts)
  for (const [k, v] of Object.entries(vars)) if (env[k] === undefined && v !== undefined) env[k] = v;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0 && Object.keys(vars).length > 0) {
    const d = displayPath(p, cwd);
    warnings.push(`${d} is readable by other users; it holds secrets — run: chmod 600 ${d}`);
  }
}

// ───────────────────────────── small helpers ─────────────────────────────

export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function readSafe(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

export function displayPath(p: string, cwd: string): string {
  const rel = path.relative(cwd, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}
