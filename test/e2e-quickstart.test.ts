// README's quick start, literally: init → doctor (all ✓) → serve → connect claude-code, then the settings connect
// printed (evaluated by bash) drive the real Anthropic SDK through the proxy to the emulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import Anthropic from '@anthropic-ai/sdk';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { cleanEnv, runCli, startProxy, tempDir } from './helpers.js';
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
