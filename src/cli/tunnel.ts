// `serve --tunnel [cloudflared|ngrok]`: a public HTTPS URL for clients that call from the internet (Cursor calls
// custom base URLs from its own servers, which refuse 127.0.0.1: clients-and-peers.md §1). The tool runs as our
// child, its URL is read from its output, and it stops with the proxy. Refused without a strong master key (the
// URL is public: the key is all that stands between it and the account's credits) and in demo mode.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/types.js';
import { keyStrength, NEW_KEY_COMMAND } from '../config/master-key.js';
import type { Logger } from '../server/log.js';
import { cursorName } from '../config/model-names.js';

export const TUNNEL_TOOLS = ['cloudflared', 'ngrok'] as const;
export type TunnelTool = (typeof TUNNEL_TOOLS)[number];

export interface TunnelPlan {
  tool: TunnelTool;
  executable: string;
}

export interface RunningTunnel {
  url: string;
  stop(): Promise<void>;
}

const URL_TIMEOUT_MS = 45_000;

const INSTALL_HELP = [
  'cloudflared (free quick tunnels, no account needed):',
  '    macOS: brew install cloudflared · Windows: winget install --id Cloudflare.cloudflared',
  '    Linux: the cloudflared package from https://pkg.cloudflare.com or a release from github.com/cloudflare/cloudflared',
  'or ngrok (needs a free account and `ngrok config add-authtoken <token>`): https://ngrok.com/download',
].join('\n  ');

/** Checks everything that can be checked before listening; exits with a message when the tunnel must not start. */
export function planTunnel(choice: string | boolean, config: Config, env: NodeJS.ProcessEnv = process.env): TunnelPlan {
  if (config.demo)
    fail('refusing --tunnel in demo mode: a public URL needs a real account and a master key', 'run cortex-proxy init first (or pass --config)');
  const key = config.settings.masterKey;
  if (!key)
    fail(
      'refusing --tunnel without a master key: anyone who finds the public URL could spend your Cortex credits',
      `set general_settings.master_key: os.environ/CORTEX_PROXY_MASTER_KEY and CORTEX_PROXY_MASTER_KEY=<a random key> in .env (cortex-proxy init does this; ${NEW_KEY_COMMAND} makes one)`,
    );
  const strength = keyStrength(key);
  if (!strength.strong)
    fail(`refusing --tunnel with a weak master key (${strength.reason}): the public URL would be guessable to abuse`, `replace it with a random one: ${NEW_KEY_COMMAND}`);
  const wanted = choice === true || choice === '' ? undefined : String(choice).toLowerCase();
  if (wanted !== undefined && !(TUNNEL_TOOLS as readonly string[]).includes(wanted))
    fail(`--tunnel ${choice}: unknown tool`, `use --tunnel cloudflared or --tunnel ngrok (or --tunnel alone for whichever is installed)`);
  for (const tool of TUNNEL_TOOLS) {
    if (wanted && tool !== wanted) continue;
    const executable = which(tool, env);
    if (executable) return { tool, executable };
  }
  fail(`${wanted ?? 'no tunnel tool'}${wanted ? ' is not installed (not on PATH)' : ' found on PATH (cloudflared or ngrok)'}`, `install one:\n  ${INSTALL_HELP}`);
}

/** Spawns the tool, resolves with its public URL; onExit runs if the tool dies later (the proxy then stops). */
export function startTunnel(plan: TunnelPlan, port: number, log: Logger, onExit: () => void): Promise<RunningTunnel> {
  const local = `http://127.0.0.1:${port}`;
  const args = plan.tool === 'cloudflared' ? ['tunnel', '--url', local] : ['http', String(port), '--log', 'stdout'];
  const child: ChildProcess = spawn(plan.executable, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killAtExit = () => child.kill('SIGTERM');
  process.once('exit', killAtExit);
  let tail = '';
  let url: string | undefined;
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return new Promise<RunningTunnel>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${plan.tool} printed no public URL within ${URL_TIMEOUT_MS / 1000} s. Its last output:\n${tail.trim() || '(nothing)'}`));
    }, URL_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      const text = d.toString('utf8');
      tail = (tail + text).slice(-2000);
      if (url) {
        for (const line of text.split('\n')) if (/\b(ERR|error|lvl=eror|lvl=crit)\b/i.test(line)) log.warn(`${plan.tool}: ${line.trim().slice(0, 300)}`);
        return;
      }
      const found = parseTunnelUrl(plan.tool, tail);
      if (!found) return;
      url = found;
      clearTimeout(timer);
      resolve({
        url,
        async stop() {
          stopping = true;
          process.off('exit', killAtExit);
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const force = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(force);
          }
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${plan.executable}: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!url) reject(new Error(`${plan.tool} exited (${signal ?? `code ${code}`}) before printing a public URL. Its output:\n${tail.trim() || '(nothing)'}`));
      else if (!stopping) {
        log.error(`${plan.tool} exited (${signal ?? `code ${code}`}): the public URL is gone; stopping the proxy`);
        onExit();
      }
    });
  });
}

/** The public https URL in a tool's output, if it has printed one yet. */
export function parseTunnelUrl(tool: TunnelTool, output: string): string | undefined {
  if (tool === 'cloudflared') return /https:\/\/[a-z0-9-]+\.trycloudflare\.com\b/i.exec(output)?.[0];
  // ngrok --log stdout: logfmt lines, e.g. msg="started tunnel" obj=tunnels name=command_line addr=http://localhost:4000 url=https://x.ngrok-free.app
  return /\burl=(https:\/\/[^\s"]+)/.exec(output)?.[1];
}

/** The text to print once the tunnel is up: the URL to paste into Cursor and what to paste with it. */
export function tunnelBanner(url: string, config: Config): string {
  const names = [...new Set(config.deployments.map((d) => cursorName(d.modelName)))];
  return [
    '',
    `  Public URL: ${url}   (anyone with it still needs the master key)`,
    '  Cursor → Settings → Models:',
    `    OpenAI API Key:            your master key (cortex-proxy connect cursor --show-key prints it)`,
    `    Override OpenAI Base URL:  ${url}/v1`,
    `    + Add Custom Model:        ${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}`,
    '  Failed API keys are rate-limited per client address; the request log shows remote=<address>.',
    '',
  ].join('\n');
}

function which(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = path.join(dir, name + ext);
      try {
        if (!fs.statSync(p).isFile()) continue;
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch {
        /* not here */
      }
    }
  }
  return undefined;
}

function fail(message: string, hint?: string): never {
  process.stderr.write(`cortex-proxy: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`);
  process.exit(2);
}
