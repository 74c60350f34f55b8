// `serve` runs doctor's offline checks at start-up (cli/offline-checks.ts) and prints them as one block: an expired
// PAT, an unknown Cortex id with the id it means, every missing variable at once, a master key too weak for the
// address. Fatal only where the proxy could not work or would run open; each refusal sits next to the legitimate
// set-up that still starts. Also: a master key in a misspelt section is an error, never a warning.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { cleanEnv, runCli, startProxy, tempDir, writeFiles } from './helpers.js';
import { jwtPat, STRONG_KEY } from './setup-helpers.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ quiet: true });
});
after(() => emu?.close());

const config = (model = 'claude-sonnet-4-5', extra = '') =>
  `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/${model}\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\n${extra}`;

function folder(files: Record<string, string>): string {
  const d = tempDir();
  writeFiles(d, files);
  return d;
}

test('an expired PAT stops serve before it listens, with the date and the fix; doctor says the same', async () => {
  const dir = folder({ 'cortex-proxy.yaml': config() });
  const env = cleanEnv({ SNOWFLAKE_PAT: jwtPat(-2) });
  const r = await runCli(['serve', '--port', '0'], { cwd: dir, env });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '', 'it never listened');
  assert.match(r.stderr, /no model can reach Cortex: programmatic access token, expired on \d{4}-\d\d-\d\d/);
  assert.match(r.stderr, /start-up checks[\s\S]*✗ token +programmatic access token, expired on[\s\S]*fix: create a new programmatic access token/);
  assert.ok(!r.stderr.includes(env.SNOWFLAKE_PAT!), 'the token is never printed');
  const d = await runCli(['doctor', '--json', '--port', '1'], { cwd: dir, env });
  const token = JSON.parse(d.stdout).checks.find((c: { id: string }) => c.id === 'token');
  assert.match(token.detail, /^programmatic access token, expired on/, 'one rule, one wording');

  // a PAT that expires soon: it starts, and says so in the block
  const soon = await startProxy(['--quiet'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: jwtPat(3) }) });
  try {
    assert.match(soon.stderr(), /! token +programmatic access token, expires in [23] day\(s\)/);
  } finally {
    await soon.stop();
  }
});

test('an unknown Cortex id starts with a warning that names the id it means (snowflake/gpt-5 → openai-gpt-5)', async () => {
  const dir = folder({ 'cortex-proxy.yaml': config('gpt-5') });
  const p = await startProxy(['--quiet'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: jwtPat(30) }) });
  try {
    assert.match(p.stderr(), /start-up checks[\s\S]*Cortex model 'gpt-5' at line 4 is not one cortex-proxy knows — did you mean 'openai-gpt-5'\?/);
    // and the same hint when a request reaches Cortex with it
    const r = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /did you mean 'openai-gpt-5'/i);
  } finally {
    await p.stop();
  }
  const good = await startProxy(['--quiet'], { cwd: folder({ 'cortex-proxy.yaml': config() }), env: cleanEnv({ SNOWFLAKE_PAT: jwtPat(30) }) });
  try {
    assert.doesNotMatch(good.stderr(), /start-up checks/, 'a clean set-up prints no block');
  } finally {
    await good.stop();
  }
});

test('every missing variable is named in one run', async () => {
  const dir = folder({ 'cortex-proxy.yaml': config('claude-sonnet-4-5', 'general_settings:\n  master_key: os.environ/MY_MASTER_KEY\n') });
  const r = await runCli(['serve', '--port', '0'], { cwd: dir, env: cleanEnv() });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /✗ environment variables +not set: SNOWFLAKE_PAT, MY_MASTER_KEY/);
  assert.match(r.stderr, /add SNOWFLAKE_PAT=… and MY_MASTER_KEY=… to .*\.env/);
});

test('beyond loopback a weak master key is refused (sk-abc); a strong one listens', async () => {
  const env = (key: string) => cleanEnv({ SNOWFLAKE_ACCOUNT: 'myorg-myacct', SNOWFLAKE_PAT: jwtPat(30), CORTEX_PROXY_MASTER_KEY: key });
  for (const host of ['0.0.0.0', '127.0.0.2']) {
    const r = await runCli(['serve', '--port', '0', '--host', host], { cwd: tempDir(), env: env('sk-abc') });
    assert.equal(r.code, 2, host);
    assert.equal(r.stdout, '', `${host}: it never listened`);
    assert.match(r.stderr, new RegExp(`refusing to listen on ${host.replace(/\./g, '\\.')} with a weak master key`));
    assert.match(r.stderr, /✗ master key +weak: only 3 characters/);
    assert.ok(!r.stderr.includes('sk-abc'), 'the key itself is never printed');
  }
  // 127.0.0.2 is beyond the loopback set cortex-proxy trusts, yet reachable only here: the legitimate use
  const ok = await startProxy(['--quiet', '--host', '127.0.0.2'], { cwd: tempDir(), env: env(STRONG_KEY) });
  await ok.stop();
  // on loopback a weak key still starts, with a warning
  const local = await startProxy(['--quiet'], { cwd: tempDir(), env: env('sk-abc') });
  try {
    assert.match(local.stderr(), /! master key +weak: only 3 characters/);
  } finally {
    await local.stop();
  }
});

test('demo mode beyond loopback starts and says truthfully what is exposed (nothing can spend credits)', async () => {
  const p = await startProxy(['--quiet', '--host', '127.0.0.2'], { cwd: tempDir(), env: cleanEnv() });
  try {
    const log = p.stderr();
    assert.match(log, /demo mode on 127\.0\.0\.2 without a master key: anyone who can reach it gets emulator answers \(no account is configured, so no credits can be spent\)/);
    assert.match(log, /general_settings\.master_key/);
    assert.match(log, /--host 127\.0\.0\.1/);
    assert.doesNotMatch(log, /could spend your/);
  } finally {
    await p.stop();
  }
});

test('a master key in a misspelt section (general_setting:) or under a misspelt key is an error, never a warning', async () => {
  const env = cleanEnv({ SNOWFLAKE_PAT: jwtPat(30), K: STRONG_KEY });
  for (const extra of ['general_setting:\n  master_key: os.environ/K\n', 'general_settings:\n  master-key: os.environ/K\n', 'litellm_settings:\n  master_key: os.environ/K\n']) {
    const r = await runCli(['serve', '--port', '0'], { cwd: folder({ 'cortex-proxy.yaml': config('claude-sonnet-4-5', extra) }), env });
    assert.equal(r.code, 2, extra);
    assert.equal(r.stdout, '', 'it never listened');
    assert.match(r.stderr, /looks like a master key that cortex-proxy would not read: the proxy would start without client authentication/);
    assert.match(r.stderr, /hint: write it as general_settings\.master_key/);
  }
  const p = await startProxy(['--quiet'], { cwd: folder({ 'cortex-proxy.yaml': config('claude-sonnet-4-5', 'general_settings:\n  master_key: os.environ/K\n') }), env });
  try {
    const r = await fetch(`${p.url}/v1/models`);
    assert.equal(r.status, 401, 'the key is read and enforced');
  } finally {
    await p.stop();
  }
});
