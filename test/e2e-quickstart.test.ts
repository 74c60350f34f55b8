// README's quick start, literally: init → doctor (all ✓) → serve → connect claude-code, then the settings connect
// printed (evaluated by bash) drive the real Anthropic SDK through the proxy to the emulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { ROOT, cleanEnv, runCli, startProxy, tempDir } from './helpers.js';
import { freePort, jwtPat } from './setup-helpers.js';

const PAT = jwtPat(90);
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true });
});
after(() => emu?.close());

test('init → doctor all ✓ → serve → connect claude-code → a working agent connection', async () => {
  const dir = tempDir();
  const init = await runCli(['init', '--yes', '--account', emu.url], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
  assert.equal(init.code, 0, init.stderr);

  const port = await freePort();
  const doctor = await runCli(['doctor', '--json', '--port', String(port)], { cwd: dir, env: cleanEnv() });
  const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: Array<{ title: string; status: string; detail: string }> };
  assert.equal(doctor.code, 0);
  const notOk = report.checks.filter((c) => c.status !== 'ok');
  assert.deepEqual(notOk, [], 'every check is ✓');

  const proxy = await startProxy([], { cwd: dir, env: cleanEnv() });
  try {
    const proxyPort = new URL(proxy.url).port;
    const connect = await runCli(['connect', 'claude-code', '--port', proxyPort], { cwd: dir, env: cleanEnv() });
    assert.equal(connect.code, 0, connect.stderr);
    assert.match(connect.stdout, /The proxy is running at/);
    const exports = connect.stdout.split('\n').filter((l) => l.startsWith('export '));
    const [baseURL, authToken, model] = execFileSync('bash', ['-c', `${exports.join('\n')}\nprintf '%s\\n' "$ANTHROPIC_BASE_URL" "$ANTHROPIC_AUTH_TOKEN" "$ANTHROPIC_MODEL"`], { cwd: dir, encoding: 'utf8' }).split('\n');
    emu.script({ text: 'ready' });
    const client = new Anthropic({ baseURL, authToken, apiKey: null, maxRetries: 0 });
    const msg = await client.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(msg.content[0].type === 'text' && msg.content[0].text, 'ready');
    assert.equal(emu.requests.at(-1)!.headers.authorization, `Bearer ${PAT}`);
  } finally {
    await proxy.stop();
  }
});

// One naming rule (config/model-names.ts): the Cortex id works in every mode, and the names clients send for it
// (Cursor's cortex- prefix, Claude Code's dated ids, snowflake/<id>) are aliases of it.
async function ask(url: string, model: string, key = 'any'): Promise<{ status: number; model?: string; message?: string }> {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model, max_tokens: 8, messages: [{ role: 'user', content: 'ping' }] }),
  });
  const body = (await r.json()) as { model?: string; error?: { message?: string } };
  return { status: r.status, model: body.model, message: body.error?.message };
}

test('one set of model names: the README curl model answers in demo, after init and with the quickstart file; aliases too', async () => {
  // demo mode
  const demo = await startProxy([], { cwd: tempDir(), env: cleanEnv() });
  try {
    for (const name of ['claude-sonnet-4-5', 'cortex-claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', 'snowflake/claude-sonnet-4-5'])
      assert.equal((await ask(demo.url, name)).status, 200, name);
    assert.equal((await ask(demo.url, 'claude-sonnet-4-20250514')).status, 200, "Anthropic's Claude 4 id");
    assert.equal((await ask(demo.url, 'cortex-claude-4-sonnet')).status, 200, "the quickstart's name");
    const unknown = await ask(demo.url, 'gpt-4o');
    assert.equal(unknown.status, 404);
    assert.match(unknown.message!, /Configured models: claude-sonnet-4-5/);
  } finally {
    await demo.stop();
  }

  // after init: init writes the Cortex ids as model names
  const dir = tempDir();
  const init = await runCli(['init', '--yes', '--account', emu.url, '--models', 'claude-sonnet-4-5,openai-gpt-5'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /2 models: claude-sonnet-4-5, openai-gpt-5/);
  const key = /CORTEX_PROXY_MASTER_KEY=(\S+)/.exec(readFileSync(join(dir, '.env'), 'utf8'))![1];
  const served = await startProxy([], { cwd: dir, env: cleanEnv() });
  try {
    for (const name of ['claude-sonnet-4-5', 'cortex-claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', 'openai-gpt-5'])
      assert.equal((await ask(served.url, name, key)).status, 200, name);
  } finally {
    await served.stop();
  }

  // the quickstart's own file, unchanged but for the account: its cortex-claude-4-sonnet, and the Cortex id
  const qs = tempDir();
  writeFileSync(join(qs, 'litellm_config.yaml'), readFileSync(join(ROOT, 'examples', 'litellm_config.yaml'), 'utf8').replace('https://myorg-myaccount.snowflakecomputing.com/api/v2', emu.apiBase));
  writeFileSync(join(qs, '.env'), `SNOWFLAKE_PAT=pat/${PAT}\nLITELLM_MASTER_KEY=${key}\n`, { mode: 0o600 });
  const quick = await startProxy(['--config', 'litellm_config.yaml'], { cwd: qs, env: cleanEnv() });
  try {
    for (const name of ['cortex-claude-4-sonnet', 'claude-4-sonnet', 'claude-sonnet-4-20250514'])
      assert.equal((await ask(quick.url, name, key)).status, 200, name);
  } finally {
    await quick.stop();
  }
});
