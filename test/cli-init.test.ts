// `cortex-proxy init`, end to end against the emulator: non-interactive (flags/env) and interactive (a real
// pseudo-terminal through tmux), then `serve` using what init wrote.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import OpenAI from 'openai';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { BIN, cleanEnv, runCli, startProxy, tempDir } from './helpers.js';
import { jwtPat } from './setup-helpers.js';

const PAT = jwtPat(90);
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true, unavailableInRegion: ['claude-opus-4-5'] });
});
after(() => emu?.close());

const mode = (f: string) => statSync(f).mode & 0o777;

test('init --yes writes a commented LiteLLM-style config and a 0600 .env, prints no secret, and serve uses them', async () => {
  const dir = tempDir();
  const env = cleanEnv({ SNOWFLAKE_PAT: PAT });
  const r = await runCli(['init', '--yes', '--account', emu.url, '--models', 'claude-sonnet-4-5,openai-gpt-4.1'], { cwd: dir, env });
  assert.equal(r.code, 0, r.stderr);
  const envFile = join(dir, '.env');
  assert.equal(mode(envFile), 0o600);
  const vars = parseEnv(readFileSync(envFile, 'utf8'));
  assert.equal(vars.SNOWFLAKE_PAT, `pat/${PAT}`);
  const key = vars.CORTEX_PROXY_MASTER_KEY!;
  assert.match(key, /^sk-[A-Za-z0-9_-]{43}$/, '256 random bits');
  for (const out of [r.stdout, r.stderr]) {
    assert.ok(!out.includes(PAT), 'the PAT is never printed');
    assert.ok(!out.includes(key), 'the master key is never printed');
  }
  const text = readFileSync(join(dir, 'cortex-proxy.yaml'), 'utf8');
  assert.match(text, /^# cortex-proxy configuration/m);
  assert.ok(!text.includes(PAT) && !text.includes(key));
  const cfg = parseYaml(text);
  assert.deepEqual(cfg.model_list.map((m: any) => m.model_name), ['claude-sonnet-4-5', 'openai-gpt-4.1']);
  assert.equal(cfg.model_list[0].litellm_params.model, 'snowflake/claude-sonnet-4-5');
  assert.equal(cfg.model_list[0].litellm_params.api_key, 'os.environ/SNOWFLAKE_PAT');
  assert.equal(cfg.general_settings.master_key, 'os.environ/CORTEX_PROXY_MASTER_KEY');
  assert.equal(emu.requests.some((q) => q.path === '/api/v2/cortex/models'), true, 'the credential was checked first');

  // Run again: refused without --force, nothing changed.
  const again = await runCli(['init', '--yes', '--account', emu.url], { cwd: dir, env });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exist.*nothing was written/);
  assert.match(again.stderr, /--force/);
  assert.equal(parseEnv(readFileSync(envFile, 'utf8')).CORTEX_PROXY_MASTER_KEY, key);

  // serve, started in that folder with a clean environment, finds both files.
  const p = await startProxy([], { cwd: dir, env: cleanEnv() });
  try {
    const client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: key, maxRetries: 0 });
    emu.script({ text: 'pong' });
    const res = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'ping' }] });
    assert.equal(res.choices[0].message.content, 'pong');
    assert.equal(emu.requests.at(-1)!.headers.authorization, `Bearer ${PAT}`);
    const denied = await request(`${p.url}/v1/models`, { headers: { authorization: 'Bearer sk-wrong' } });
    assert.equal(denied.statusCode, 401);
    await denied.body.dump();
  } finally {
    await p.stop();
  }

  // --force replaces them, keeping backups and other variables of the old .env.
  writeFileSync(envFile, readFileSync(envFile, 'utf8') + 'MY_OTHER_VAR=keep-me\n', { mode: 0o600 });
  const forced = await runCli(['init', '--yes', '--force', '--account', emu.url], { cwd: dir, env });
  assert.equal(forced.code, 0, forced.stderr);
  const after = parseEnv(readFileSync(envFile, 'utf8'));
  assert.equal(after.MY_OTHER_VAR, 'keep-me');
  assert.notEqual(after.CORTEX_PROXY_MASTER_KEY, key);
  const backups = readdirSync(dir).filter((f) => f.includes('.bak-'));
  assert.equal(backups.length, 2);
  for (const b of backups.filter((f) => f.startsWith('.env'))) assert.equal(mode(join(dir, b)), 0o600);
});

test('init --global writes to the platform config folder, and serve finds it from any folder', async () => {
  const xdg = tempDir();
  const env = cleanEnv({ SNOWFLAKE_PAT: PAT, XDG_CONFIG_HOME: xdg, SNOWFLAKE_ACCOUNT: emu.url });
  const r = await runCli(['init', '--yes', '--global'], { cwd: tempDir(), env });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(xdg, 'cortex-proxy', 'cortex-proxy.yaml')));
  assert.equal(mode(join(xdg, 'cortex-proxy', '.env')), 0o600);
  const p = await startProxy([], { cwd: tempDir(), env: cleanEnv({ XDG_CONFIG_HOME: xdg }) });
  try {
    const h = (await (await request(`${p.url}/health`)).body.json()) as any;
    assert.equal(h.demo, false);
    assert.match(p.stderr(), new RegExp(`config: ${join(xdg, 'cortex-proxy', 'cortex-proxy.yaml').replace(/[.]/g, '\\.')}`));
  } finally {
    await p.stop();
  }
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

test('init asks interactively in a terminal (driven through tmux) and hides the token', { skip: hasTmux ? false : 'tmux is not installed', timeout: 60_000 }, async () => {
  const dir = tempDir();
  const target = join(dir, 'cfg');
  mkdirSync(target);
  const socket = `cortex-proxy-test-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const screen = () => tmux('capture-pane', '-p', '-t', 'init');
  const waitFor = async (text: string | RegExp, ms = 20_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = screen();
      if (typeof text === 'string' ? s.includes(text) : text.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${text}; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const envs = Object.entries(cleanEnv({ TERM: 'xterm-256color' }))
    .filter(([k]) => ['PATH', 'HOME', 'XDG_CONFIG_HOME', 'NO_COLOR', 'TERM', 'LANG'].includes(k))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  const cmd = `env -i ${envs.join(' ')} ${process.execPath} ${BIN} init --dir ${target}; echo "EXIT=$?" > ${join(dir, 'exit')}`;
  tmux('new-session', '-d', '-s', 'init', '-x', '160', '-y', '50', cmd);
  try {
    await waitFor('Snowflake account identifier');
    tmux('send-keys', '-t', 'init', '-l', emu.url);
    tmux('send-keys', '-t', 'init', 'Enter');
    await waitFor('How should the proxy sign in');
    tmux('send-keys', '-t', 'init', 'Enter'); // PAT (the default)
    await waitFor('Programmatic access token');
    // Keys typed in the instant between two prompts can be swallowed by the closing one: type until the mask shows.
    for (let attempt = 0; ; attempt++) {
      tmux('send-keys', '-t', 'init', '-l', PAT);
      const typed = await waitFor(/▪{8}|\*{8}/, 1500).catch(() => undefined);
      if (typed) break;
      if (attempt === 3) throw new Error(`the token never reached the prompt; screen:\n${screen()}`);
    }
    tmux('send-keys', '-t', 'init', 'Enter');
    const s = await waitFor('Models to serve');
    assert.ok(!s.includes(PAT), 'the token is masked on screen');
    assert.match(s, /Credential accepted/);
    tmux('send-keys', '-t', 'init', 'Enter'); // the preselected defaults
    const deadline = Date.now() + 20_000;
    while (!existsSync(join(dir, 'exit'))) {
      if (Date.now() > deadline) throw new Error(`init did not finish; screen:\n${screen()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(readFileSync(join(dir, 'exit'), 'utf8').trim(), 'EXIT=0');
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  }
  assert.equal(mode(join(target, '.env')), 0o600);
  assert.equal(parseEnv(readFileSync(join(target, '.env'), 'utf8')).SNOWFLAKE_PAT, `pat/${PAT}`);
  const cfg = parseYaml(readFileSync(join(target, 'cortex-proxy.yaml'), 'utf8'));
  assert.ok(cfg.model_list.some((m: any) => m.model_name === 'claude-sonnet-4-5'));
});

test('init and the Cortex AI Gateway: --gateway writes the endpoint SHOW AI GATEWAYS returns, serve sends chat through it; without the flag init names it; --gateway without one stops', async () => {
  const gw = `${emu.apiBase}/aigateways/SNOWFLAKE`;
  const env = cleanEnv({ SNOWFLAKE_PAT: PAT });
  try {
    emu.setAccount({ aiGateway: gw });
    const dir = tempDir();
    const r = await runCli(['init', '--yes', '--gateway', '--account', emu.url, '--models', 'claude-sonnet-4-5'], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /chat goes through the Cortex AI Gateway/);
    const cfg = parseYaml(readFileSync(join(dir, 'cortex-proxy.yaml'), 'utf8'));
    assert.equal(cfg.model_list[0].litellm_params.api_base, gw);
    const key = parseEnv(readFileSync(join(dir, '.env'), 'utf8')).CORTEX_PROXY_MASTER_KEY!;
    const p = await startProxy([], { cwd: dir, env: cleanEnv() });
    try {
      emu.reset();
      emu.setAccount({ aiGateway: gw });
      const client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: key, maxRetries: 0 });
      await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'ping' }] });
      assert.equal(emu.requests.at(-1)!.path, '/api/v2/aigateways/SNOWFLAKE/v1/messages');
    } finally {
      await p.stop();
    }
    const plain = await runCli(['init', '--yes', '--account', emu.url, '--models', 'claude-sonnet-4-5'], { cwd: tempDir(), env });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /this account has a Cortex AI Gateway .*run init again with --gateway/);
    emu.setAccount({ aiGateway: 'none' });
    const none = await runCli(['init', '--yes', '--gateway', '--account', emu.url, '--models', 'claude-sonnet-4-5'], { cwd: tempDir(), env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /SHOW AI GATEWAYS lists no Cortex AI Gateway/);
  } finally {
    emu.setAccount({ aiGateway: 'none' });
  }
});
