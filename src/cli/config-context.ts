// The config as doctor, connect and models see it: found the way `serve` finds it, loaded into a copy of the
// environment (so .env values never leak into this process), plus where things came from: the .env files, the
// os.environ/ names the file refers to, and where the master key lives (to tell the user without printing it).
// Commands that cannot run without a config take it from loadConfigOrExit / loadContextOrExit.
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { parseDocument } from 'yaml';
import { ConfigError, findConfigFile, loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { envRefs } from './offline-checks.js';
import { die } from './ui.js';

export interface KeyLocation {
  /** Where it is, in words: "CORTEX_PROXY_MASTER_KEY in /home/me/proj/.env". */
  where: string;
  /** The variable that holds it, when one does. */
  envName?: string;
  /** The .env file that defines envName, when that is where it comes from. */
  envFile?: string;
}

export interface ConfigContext {
  cwd: string;
  /** The config file (absolute), when one was found or named. */
  file?: string;
  config?: Config;
  error?: ConfigError;
  /** process.env plus the .env values (a copy). */
  env: NodeJS.ProcessEnv;
  /** .env files that exist in the folders serve reads (config folder, working directory). */
  envFiles: string[];
  /** os.environ/NAME references in the config file. */
  refs: string[];
  masterKey?: { value: string } & KeyLocation;
}

/**
 * The config for a command that cannot run without one (serve, keys, usage): a config error ends the command through
 * its own `exit` (its message, then `more(err)`, e.g. serve's block of missing variables).
 */
export function loadConfigOrExit(configPath: string | undefined, exit: (message: string) => never, more: (err: ConfigError) => string = () => ''): Config {
  try {
    return loadConfig({ configPath });
  } catch (err) {
    if (err instanceof ConfigError) exit(err.message + more(err));
    throw err;
  }
}

/** loadContext for a command that needs a working config (connect, models): a config error exits with its first line and hint. */
export function loadContextOrExit(configPath: string | undefined): ConfigContext & { config: Config } {
  const ctx = loadContext(configPath);
  if (ctx.error || !ctx.config) die(ctx.error ? ctx.error.message.split('\n')[0] : 'no config could be loaded', ctx.error?.hint);
  return ctx as ConfigContext & { config: Config };
}

export function loadContext(configPath: string | undefined, cwd = process.cwd()): ConfigContext {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const file = configPath ? path.resolve(cwd, configPath) : findConfigFile(cwd, env);
  const ctx: ConfigContext = { cwd, file, env, envFiles: [], refs: [] };
  const dirs = [...new Set([file ? path.dirname(file) : cwd, cwd])];
  for (const d of dirs) if (isFile(path.join(d, '.env'))) ctx.envFiles.push(path.join(d, '.env'));
  let text = '';
  if (file && isFile(file)) {
    text = fs.readFileSync(file, 'utf8');
    ctx.refs = envRefs(text);
  }
  try {
    ctx.config = loadConfig({ configPath: file, cwd, env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    ctx.error = err;
  }
  ctx.masterKey = locateMasterKey(ctx, text);
  return ctx;
}

function locateMasterKey(ctx: ConfigContext, text: string): ConfigContext['masterKey'] {
  const value = ctx.config?.settings.masterKey;
  if (!value) return undefined;
  let raw: unknown;
  try {
    raw = text ? (parseDocument(text).toJS() as any)?.general_settings?.master_key : undefined;
  } catch {
    raw = undefined;
  }
  if (typeof raw === 'string' && !raw.trim().startsWith('os.environ/'))
    return { value, where: `general_settings.master_key in ${ctx.file}` };
  const candidates = typeof raw === 'string' ? [raw.trim().slice('os.environ/'.length)] : ['CORTEX_PROXY_MASTER_KEY', 'LITELLM_MASTER_KEY'];
  for (const name of candidates) {
    if (process.env[name] !== undefined) return { value, envName: name, where: `the environment variable ${name}` };
    for (const f of ctx.envFiles) {
      try {
        if (parseEnv(fs.readFileSync(f, 'utf8'))[name] !== undefined) return { value, envName: name, envFile: f, where: `${name} in ${f}` };
      } catch {
        /* unreadable: try the next */
      }
    }
  }
  return { value, envName: candidates[0], where: `the variable ${candidates[0]}` };
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
