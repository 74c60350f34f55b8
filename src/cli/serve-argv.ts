// What a `serve` command line means, in one place: commander's serve options (cli/index.ts) take their defaults from
// here, and bin/cortex-proxy.js reads a plain serve's options with plainServe (from dist/serve-argv.cjs, built from
// this file) to start the code-cached fast path without loading commander.
import { isLogLevel } from '../core/log.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_LOG_LEVEL = 'info';
/** $PORT (what hosting platforms set), else 4000. */
export const defaultPort = (env: NodeJS.ProcessEnv = process.env): string => env.PORT ?? '4000';

export interface ServeArgs {
  config?: string;
  port: string;
  host: string;
  logLevel: string;
  quiet?: boolean;
  workers?: string;
}

const VALUE_FLAGS: Record<string, 'config' | 'port' | 'host' | 'logLevel' | 'workers'> = {
  '-c': 'config',
  '--config': 'config',
  '-p': 'port',
  '--port': 'port',
  '--host': 'host',
  '--log-level': 'logLevel',
  '--workers': 'workers',
};

/**
 * The options of a plain `serve` command line — only -c/--config, -p/--port, --host, --log-level, -q/--quiet and
 * --workers, each well-formed — with commander's defaults; undefined for anything else (another command, --help,
 * --tunnel, a missing or odd value), which then goes through commander and gets its usual answer or error.
 */
export function plainServe(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeArgs | undefined {
  let i = 0;
  if (argv[0] === 'serve') i = 1;
  else if (argv.length && !argv[0].startsWith('-')) return undefined; // another command
  const o: ServeArgs = { port: defaultPort(env), host: DEFAULT_HOST, logLevel: DEFAULT_LOG_LEVEL };
  for (; i < argv.length; i++) {
    let flag = argv[i];
    let value: string | undefined;
    const eq = flag.startsWith('--') ? flag.indexOf('=') : -1;
    if (eq > 0) [flag, value] = [flag.slice(0, eq), flag.slice(eq + 1)];
    if ((flag === '-q' || flag === '--quiet') && value === undefined) {
      o.quiet = true;
      continue;
    }
    const key = VALUE_FLAGS[flag];
    if (!key) return undefined;
    if (value === undefined) value = argv[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return undefined; // commander says what is wrong
    o[key] = value;
  }
  return isLogLevel(o.logLevel) ? o : undefined;
}
