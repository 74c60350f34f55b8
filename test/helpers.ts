// Shared test plumbing: start the real CLI (bin/cortex-proxy.js) as a child process on port 0
// and wait for the line it prints when it listens.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { ConfigError } from '../src/config/errors.js';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'cortex-proxy.js');

export interface RunningProxy {
  url: string;
  child: ChildProcess;
  /** Everything the proxy wrote to stderr so far (its log). */
  stderr(): string;
  /** Resolves with the first stderr line matching `pattern` (the log is written just after the response). */
  waitForLog(pattern: RegExp | string): Promise<string>;
  stop(): Promise<void>;
}

let emptyConfigHome: string | undefined;

/** A clean environment: no Snowflake credentials leak in from the developer's shell. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(SNOWFLAKE_|LITELLM_|CORTEX_PROXY_)/.test(k)) continue;
    env[k] = v;
  }
  env.NO_COLOR = '1';
  // No user-wide config (config/paths.ts) from the developer's machine: an empty platform config folder.
  env.XDG_CONFIG_HOME = emptyConfigHome ??= mkdtempSync(join(tmpdir(), 'cortex-proxy-xdg-'));
  env.APPDATA = emptyConfigHome;
  // Usage logs of spawned proxies (usage/log.ts defaultUsageDir) land in that temporary folder too.
  env.XDG_DATA_HOME = env.LOCALAPPDATA = emptyConfigHome;
  // serve's code cache (bin/cortex-proxy.js) too, not the developer's ~/.cache.
  env.XDG_CACHE_HOME = emptyConfigHome;
  return { ...env, ...extra };
}

export function tempDir(prefix = 'cortex-proxy-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
}

export async function startProxy(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<RunningProxy> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd: opts.cwd,
    env: opts.env ?? cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { url, stderr } = await waitListening(child, 'proxy');
  const findLine = (pattern: RegExp | string) =>
    stderr().split('\n').find((l) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l)));
  return {
    url,
    child,
    stderr,
    waitForLog(pattern) {
      const found = findLine(pattern);
      if (found) return Promise.resolve(found);
      return new Promise((resolveLine, reject) => {
        const onData = () => {
          const line = findLine(pattern);
          if (line) {
            child.stderr!.off('data', onData);
            resolveLine(line);
          }
        };
        child.stderr!.on('data', onData);
        child.once('exit', () => reject(new Error(`proxy exited before logging ${pattern}`)));
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runToExit(spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Waits for a started child (stdio piped) to exit; its exit code and everything it wrote. */
export async function runToExit(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Resolves with the URL a starting server child (stdio piped) prints on stdout (`listening on http://…`); rejects with
 * its stderr when it exits first. `stderr()` reads everything the child wrote there so far, then and later. */
export async function waitListening(child: ChildProcess, what: string): Promise<{ url: string; stderr: () => string }> {
  let err = '';
  let out = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolveUrl(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} before listening:\n${err}`)));
  });
  return { url, stderr: () => err };
}

/** One model_list entry of a LiteLLM-style config (`model` as written, e.g. snowflake/claude-sonnet-4-5; no api_base when base is ''). */
export function modelEntry(name: string, model: string, base: string, extra = ''): string {
  return `  - model_name: ${JSON.stringify(name)}\n    litellm_params:\n      model: ${model}\n${base ? `      api_base: ${base}\n` : ''}      api_key: os.environ/SNOWFLAKE_PAT\n${extra}`;
}

/** loadConfig in a fresh folder holding `yaml` as cortex-proxy.yaml (and any other `files`), with exactly `env`. */
export function loadYaml(yaml: string, env: Record<string, string>, files: Record<string, string> = {}): Config {
  const dir = tempDir();
  writeFiles(dir, { 'cortex-proxy.yaml': yaml, ...files });
  return loadConfig({ cwd: dir, env });
}

/** Whether an `openssl` command is on PATH (tests that need one skip without it). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The ConfigError `load` throws (fails the test when it throws something else or nothing). */
export function configErrorOf(load: () => unknown): ConfigError {
  try {
    load();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail('expected a ConfigError');
}
