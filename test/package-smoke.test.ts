// The package as a user gets it: `npm pack`, then `npm install -g` of the tarball into an empty prefix, then the
// installed `cortex-proxy` command — --help, demo serve with one request in each dialect, init against the built-in
// emulator (`cortex-proxy emulate` stands in for the account), doctor, serve with the account — and what is NOT in
// the package (source maps, the team gateway's drivers: a config that needs one names the command that installs it).
// The tarball has no runtime dependencies, so the install needs no registry.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cleanEnv, runToExit, tempDir, waitListening } from './helpers.js';
import { jwtPat } from './setup-helpers.js';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function du(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += du(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

/** Runs the installed command to completion. */
async function run(bin: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return runToExit(spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Starts a long-running command (serve, emulate) and resolves with the URL it prints on stdout. */
async function start(bin: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const { url, stderr } = await waitListening(child, args[0]);
  return {
    url,
    stderr,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: r.status, demo: r.headers.get('x-cortex-proxy-demo'), body: (await r.json()) as any };
}

test('npm pack → npm install -g into an empty prefix → the installed command works end to end', { timeout: 120_000 }, async () => {
  // `npm test` built dist/ already; --ignore-scripts keeps the pack from rebuilding it under the other tests' feet.
  const packDir = tempDir('cortex-proxy-pack-');
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))[0] as {
    filename: string;
    size: number;
    unpackedSize: number;
    files: Array<{ path: string }>;
  };
  const files = packed.files.map((f) => f.path);
  for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/cortex-proxy.js', 'dist/cli.mjs', 'dist/ui/index.html']) assert.ok(files.includes(f), `the package has ${f}`);
  assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'no source maps shipped');
  assert.deepEqual(files.filter((f) => !/^(LICENSE|README\.md|package\.json|bin\/|dist\/)/.test(f)), [], 'nothing but bin/, dist/ and the docs');
  assert.ok(packed.size < 1.5 * 2 ** 20, `tarball ${packed.size} bytes`);

  const prefix = tempDir('cortex-proxy-prefix-');
  const npmEnv = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', join(packDir, packed.filename)], { cwd: packDir, env: npmEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  rmSync(packDir, { recursive: true, force: true });
  const pkgDir = process.platform === 'win32' ? join(prefix, 'node_modules', 'cortex-proxy') : join(prefix, 'lib', 'node_modules', 'cortex-proxy');
  const bin = join(pkgDir, 'bin', 'cortex-proxy.js');
  if (process.platform !== 'win32') assert.ok(statSync(join(prefix, 'bin', 'cortex-proxy')).isFile(), 'cortex-proxy is on the prefix PATH');
  const installed = du(pkgDir);
  assert.ok(installed <= 8 * 2 ** 20, `installed size ${installed} bytes is at most 8 MB`);
  assert.deepEqual(readdirSync(pkgDir).filter((f) => f === 'node_modules'), [], 'no runtime dependencies at all');

  // Everything below runs with a fresh HOME and config folders, from an empty folder.
  const home = tempDir('cortex-proxy-home-');
  const env = cleanEnv({ HOME: home, USERPROFILE: home });
  const cwd = tempDir('cortex-proxy-user-');

  const help = await run(bin, ['--help'], cwd, env);
  assert.equal(help.code, 0, help.stderr);
  for (const cmd of ['serve', 'init', 'doctor', 'connect', 'emulate', 'usage', 'keys']) assert.match(help.stdout, new RegExp(`\\b${cmd}\\b`));

  // demo mode: one request in each dialect, with the model name the README uses
  const demo = await start(bin, ['serve', '--port', '0', '--quiet'], cwd, env);
  try {
    const chat = await post(`${demo.url}/v1/chat/completions`, { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'ping' }] });
    assert.equal(chat.status, 200, JSON.stringify(chat.body));
    assert.equal(chat.demo, 'true');
    assert.equal(typeof chat.body.choices[0].message.content, 'string');
    const msg = await post(`${demo.url}/v1/messages`, { model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'ping' }] });
    assert.equal(msg.status, 200, JSON.stringify(msg.body));
    assert.equal(msg.body.type, 'message');
    const resp = await post(`${demo.url}/v1/responses`, { model: 'claude-sonnet-4-5', input: 'ping', store: false });
    assert.equal(resp.status, 200, JSON.stringify(resp.body));
    assert.equal(resp.body.object, 'response');
  } finally {
    await demo.stop();
  }

  // an account: the installed emulator stands in for Snowflake; init checks it and writes the files
  const emu = await start(bin, ['emulate', '--port', '0'], cwd, env);
  try {
    const pat = jwtPat(90);
    const init = await run(bin, ['init', '--yes', '--account', emu.url], cwd, { ...env, SNOWFLAKE_PAT: pat });
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /cortex-proxy doctor/);
    const doctor = await run(bin, ['doctor', '--json', '--port', '1'], cwd, env);
    const report = JSON.parse(doctor.stdout) as { checks: Array<{ id: string; status: string; detail: string }> };
    const bad = report.checks.filter((c) => c.status === 'fail' && c.id !== 'port');
    assert.deepEqual(bad, [], 'doctor: every check but the port passes (port 1 is not ours to bind)');
    const proxy = await start(bin, ['serve', '--port', '0', '--quiet'], cwd, env);
    try {
      const key = /CORTEX_PROXY_MASTER_KEY=(\S+)/.exec(readFileSync(join(cwd, '.env'), 'utf8'))![1];
      const auth = { authorization: `Bearer ${key}` };
      const chat = await post(`${proxy.url}/v1/chat/completions`, { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'ping' }] }, auth);
      assert.equal(chat.status, 200, JSON.stringify(chat.body));
      assert.equal(chat.demo, null, 'a real (emulated) account, not demo mode');
      const msg = await post(`${proxy.url}/v1/messages`, { model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'ping' }] }, auth);
      assert.equal(msg.status, 200, JSON.stringify(msg.body));
      const resp = await post(`${proxy.url}/v1/responses`, { model: 'claude-sonnet-4-5', input: 'ping', store: false }, auth);
      assert.equal(resp.status, 200, JSON.stringify(resp.body));
    } finally {
      await proxy.stop();
    }
  } finally {
    await emu.stop();
  }

  // the team gateway's drivers are not installed: the message names the command that installs them
  const team = tempDir('cortex-proxy-team-');
  writeFileSync(join(team, 'cortex-proxy.yaml'), 'model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-sonnet-4-5\n      api_base: http://127.0.0.1:9/api/v2\n      api_key: x\ngeneral_settings:\n  database_url: postgres://u@127.0.0.1:9/db\n');
  const keys = await run(bin, ['keys', 'list'], team, env);
  assert.notEqual(keys.code, 0);
  assert.match(keys.stderr, /needs the pg driver, which is not installed with cortex-proxy: install it with npm install -g pg/);
  assert.doesNotMatch(keys.stderr, /\n\s+at /, 'no stack trace');
});
