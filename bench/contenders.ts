// Starting and stopping the contenders (cortex-proxy, nginx, Portkey) pinned to core 0, their configs in a
// temporary folder, and the cold-start clock (spawn → first answered chat request).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Target } from './driver.js';
import { cpuUs, processTree } from './procfs.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const BENCH = path.join(ROOT, 'bench');

export interface Managed {
  name: string;
  child: ChildProcess;
  port: number;
  origin: string;
  /** Root pids whose process trees are measured. */
  pids: number[];
}

export interface Launch {
  name: string;
  cmd: string;
  args: string[];
  cwd?: string;
  /** Port it listens on (chosen free beforehand). */
  port: number;
  log: string;
  /** The request that proves it serves (answered 200). */
  probe: Target;
  /** Also wait for this text in its output (serve --workers: the ready line comes once every worker listens). */
  readyText?: string;
}

/** A free loopback port (the kernel's pick; released right away for the contender to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Environment for contenders: no credentials or proxy settings from the caller's shell. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(SNOWFLAKE_|CORTEX_PROXY_|LITELLM_|PORTKEY_|NODE_OPTIONS$|HTTPS?_PROXY$|https?_proxy$|PORT$)/.test(k)) continue;
    env[k] = v;
  }
  env.NO_COLOR = '1';
  return env;
}

export const hasTaskset = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;

/** `taskset -c CORES cmd …` where taskset exists (it execs cmd: the pid is the contender's own). */
export function pinned(core: number | string, cmd: string, args: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
}

/** One attempt at the probe request on a fresh connection: resolves with the status (0 = refused / reset). */
function probeOnce(t: Target): Promise<number> {
  return new Promise((resolve) => {
    const u = new URL(t.origin);
    const req = request(
      { host: u.hostname, port: Number(u.port), path: t.path, method: 'POST', headers: t.headers, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(t.body);
  });
}

/**
 * Spawns the contender and polls its probe every 2 ms until it answers 200. Resolves with the process and the
 * milliseconds from spawn to the first answered request (cold start); rejects after timeoutMs or on exit.
 */
export async function launch(l: Launch, timeoutMs = 30_000): Promise<{ m: Managed; coldMs: number; coldCpuMs: number }> {
  const logStart = existsSync(l.log) ? statSync(l.log).size : 0;
  const fd = openSync(l.log, 'a');
  const t0 = performance.now();
  const child = spawn(l.cmd, l.args, { cwd: l.cwd ?? ROOT, env: cleanEnv(), stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: string | undefined;
  child.once('exit', (code, sig) => (exited = `exited (${sig ?? code})`));
  const origin = `http://127.0.0.1:${l.port}`;
  const probe = { ...l.probe, origin };
  let last = 0;
  for (;;) {
    if (exited) throw new Error(`${l.name} ${exited} before serving; see ${l.log}:\n${tail(l.log)}`);
    if (performance.now() - t0 > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`${l.name} did not serve within ${timeoutMs} ms (last status ${last}); see ${l.log}:\n${tail(l.log)}`);
    }
    last = await probeOnce(probe);
    if (last === 200 && (!l.readyText || readFileSync(l.log, 'utf8').slice(logStart).includes(l.readyText))) break;
    if (last !== 0 && last !== 200) {
      child.kill('SIGKILL');
      throw new Error(`${l.name} answered ${last} to the probe request; see ${l.log}:\n${tail(l.log)}`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const coldMs = performance.now() - t0;
  // CPU time spent to get there (10 ms resolution): less sensitive than wall time to other load on the machine.
  const coldCpuMs = cpuUs(processTree([child.pid!])) / 1000;
  return { m: { name: l.name, child, port: l.port, origin, pids: [child.pid!] }, coldMs, coldCpuMs };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM, then SIGKILL after 3 s; resolves when it is gone. */
export function stop(m: Managed | undefined): Promise<void> {
  if (!m || m.child.exitCode !== null || m.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => m.child.kill('SIGKILL'), 3000);
    m.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    m.child.kill('SIGTERM');
  });
}

// ---- cortex-proxy ------------------------------------------------------------------------------------------

/**
 * The client key the bench's cortex-proxy requires (not a secret: loopback only, for this run). With a master key the
 * request path is the one the README recommends; with none, an unknown client key currently makes every request
 * wait for a team-store re-read (team/gateway.ts lookup, up to 100 ms), which would hide the proxy's own cost.
 */
export const BENCH_MASTER_KEY = 'sk-bench-0123456789abcdef0123456789abcdef01234567';

/** A config with one deployment per wire (model_name bench-<wire>), all against the emulator; state under dir. */
export function cortexProxyConfig(dir: string, apiBase: string, model: string, wires: string[]): string {
  const file = path.join(dir, 'cortex-proxy.yaml');
  const lines = ['model_list:'];
  for (const w of wires) {
    lines.push(
      `  - model_name: bench-${w}`,
      '    litellm_params:',
      `      model: snowflake/${model}`,
      `      api_base: ${apiBase}`,
      '      api_key: bench-pat',
      `      cortex_api: ${w}`,
    );
  }
  lines.push(
    'general_settings:',
    `  master_key: ${BENCH_MASTER_KEY}`,
    `  usage_log_dir: ${path.join(dir, 'usage')}`,
    `  database_path: ${path.join(dir, 'team')}`, // the team store, away from the user's data folder
  );
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export interface CortexProxyOptions {
  /** The CLI to run (default: the published entry point, bin → dist/cli.mjs). */
  entry?: string;
  /** serve --workers N: several processes need several cores, so all of them (not core 0 alone); cold start lasts until all listen. */
  workers?: number;
  /** --log-level silent (with a config that sets disable_spend_logs: what logging and the usage log cost). */
  quiet?: boolean;
}

export function cortexProxyLaunch(dir: string, config: string, port: number, probe: Target, o: CortexProxyOptions = {}): Launch {
  // Default log level (one line per request, to a file).
  const workers = o.workers ?? 1;
  const serveArgs = [o.entry ?? path.join(ROOT, 'bin/cortex-proxy.js'), 'serve', '--config', config, '--port', String(port), '--quiet'];
  if (o.quiet) serveArgs.push('--log-level', 'silent');
  if (workers > 1) serveArgs.push('--workers', String(workers));
  // N workers get every core explicitly: a child inherits the affinity of the bench, which keeps itself on core 1.
  const [cmd, args] = pinned(workers > 1 ? `0-${os.cpus().length - 1}` : 0, process.execPath, serveArgs);
  const name = workers > 1 ? `cortex-proxy --workers ${workers}` : 'cortex-proxy';
  return { name, cmd, args, port, log: path.join(dir, `cortex-proxy.log`), probe, readyText: workers > 1 ? 'listening on http' : undefined };
}

// ---- nginx ---------------------------------------------------------------------------------------------------

export function nginxBinary(): string | undefined {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx', '/usr/local/bin/nginx']) if (existsSync(p)) return p;
  return undefined;
}

export function nginxVersion(bin: string): string {
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return (r.stderr || r.stdout).trim().replace(/^nginx version: /, '');
}

/** A non-daemon nginx, one worker, proxy_pass to the emulator over kept-alive upstream connections, no buffering. */
export function nginxLaunch(dir: string, bin: string, port: number, upstreamPort: number, probe: Target): Launch {
  const prefix = path.join(dir, 'nginx');
  mkdirSync(prefix, { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 16384;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream emulator { server 127.0.0.1:${upstreamPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 32m;
    location / {
      proxy_pass http://emulator;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 600s;
    }
  }
}
`,
  );
  const [cmd, args] = pinned(0, bin, ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')]);
  return { name: 'nginx', cmd, args, port, log: path.join(prefix, 'stderr.log'), probe };
}

// ---- the 25-line Node passthrough (bench/passthrough.mjs) ------------------------------------------------------

export function passthroughLaunch(dir: string, port: number, upstream: string, probe: Target): Launch {
  const [cmd, args] = pinned(0, process.execPath, [path.join(BENCH, 'passthrough.mjs'), String(port), upstream]);
  return { name: 'node-passthrough', cmd, args, port, log: path.join(dir, 'passthrough.log'), probe };
}

// ---- Portkey -------------------------------------------------------------------------------------------------

const PORTKEY_DIR = path.join(BENCH, 'node_modules/@portkey-ai/gateway');

export function portkeyVersion(): string | undefined {
  try {
    return JSON.parse(readFileSync(path.join(PORTKEY_DIR, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** Installs bench/'s own dependencies (Portkey) from bench/package-lock.json. */
export function installPortkey(): boolean {
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', BENCH], { stdio: 'inherit' });
  return r.status === 0 && portkeyVersion() !== undefined;
}

// On Node 20 the gateway's streaming fails: it appends headers to the fetch() Response it got from the provider,
// whose headers are immutable there ("TypeError: immutable"). The patch gives it a mutable copy of the Response
// (same body stream, no buffering) at that one call; nothing else changes.
const PORTKEY_CALL = 'this.updateHeaders(i,n.cacheStatus,o),{response:i';
const PORTKEY_HELPER =
  'const __cpMutable=(r)=>{try{r.headers.append("x-cp-probe","1");r.headers.delete("x-cp-probe");return r}' +
  'catch{return new Response(r.body,{status:r.status,statusText:r.statusText,headers:r.headers})}};\n';

/** Writes start-server.cp-patched.js next to the original; returns its path and whether the patch applied. */
export function portkeyPatched(): { file: string; patched: boolean } {
  const src = readFileSync(path.join(PORTKEY_DIR, 'build/start-server.js'), 'utf8');
  const file = path.join(PORTKEY_DIR, 'build/start-server.cp-patched.js');
  if (!src.includes(PORTKEY_CALL)) return { file: path.join(PORTKEY_DIR, 'build/start-server.js'), patched: false };
  const nl = src.indexOf('\n');
  const out = src.slice(0, nl + 1) + PORTKEY_HELPER + src.slice(nl + 1).replace(PORTKEY_CALL, `(i=__cpMutable(i)),${PORTKEY_CALL}`);
  writeFileSync(file, out);
  return { file, patched: true };
}

export function portkeyLaunch(dir: string, entry: string, port: number, probe: Target): Launch {
  const [cmd, args] = pinned(0, process.execPath, [path.join(BENCH, 'portkey-start.mjs'), entry, `--port=${port}`, '--headless']);
  return { name: 'portkey', cmd, args, cwd: BENCH, port, log: path.join(dir, 'portkey.log'), probe };
}
