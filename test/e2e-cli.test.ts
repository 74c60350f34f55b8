// The CLI itself: demo mode, start-up refusals, bad config files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { request } from 'undici';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BIN, ROOT, cleanEnv, runCli, startProxy, tempDir, waitListening, writeFiles } from './helpers.js';

test('with no config and no credentials, serve starts in demo mode and says so loudly', async () => {
  const dir = tempDir();
  const p = await startProxy([], { cwd: dir });
  try {
    assert.match(p.stderr(), /DEMO MODE/);
    assert.match(p.stderr(), /Connect a real account: cortex-proxy init/, 'the hint names a command that exists after the install');
    const h = await request(`${p.url}/health`);
    assert.equal(h.headers['x-cortex-proxy-demo'], 'true');
    const health = (await h.body.json()) as any;
    assert.equal(health.demo, true);
    assert.match(health.note, /SNOWFLAKE_ACCOUNT/);
    const client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'anything', maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'ping' }] }).withResponse();
    assert.equal(response.headers.get('x-cortex-proxy-demo'), 'true');
    assert.match(data.choices[0].message.content!, /demo emulator/);
  } finally {
    await p.stop();
  }
});

test('a bad config file exits non-zero with the file, the line and a hint', async () => {
  const dir = tempDir();
  writeFiles(dir, { 'litellm_config.yaml': 'model_list:\n  - model_name: x\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      api_base: http://127.0.0.1:9/api/v2\n      api_key: os.environ/NOT_SET_ANYWHERE\n' });
  const r = await runCli(['serve', '--port', '0'], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /litellm_config\.yaml:6/);
  assert.match(r.stderr, /NOT_SET_ANYWHERE/);
  assert.match(r.stderr, /hint/i);
});

test('serving on a non-loopback address without a master key is refused with an explanation', async () => {
  const r = await runCli(['serve', '--port', '0', '--host', '0.0.0.0'], { cwd: tempDir(), env: cleanEnv({ SNOWFLAKE_ACCOUNT: 'myorg-myacct', SNOWFLAKE_PAT: 'pat/' + 'z'.repeat(40) }) });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without a master key/);
  assert.match(r.stderr, /general_settings\.master_key/, 'the hint names the config key');
  assert.match(r.stderr, /--host 127\.0\.0\.1/, 'and the flag');
});

test('zero-config: SNOWFLAKE_ACCOUNT + SNOWFLAKE_PAT give a default model list', async () => {
  const p = await startProxy([], { cwd: tempDir(), env: cleanEnv({ SNOWFLAKE_ACCOUNT: 'myorg-myacct', SNOWFLAKE_PAT: 'pat/' + 'z'.repeat(40) }) });
  try {
    const r = await request(`${p.url}/v1/models`);
    const ids = ((await r.body.json()) as any).data.map((m: any) => m.id);
    assert.ok(ids.includes('claude-sonnet-4-5'));
    assert.doesNotMatch(p.stderr(), /DEMO/);
  } finally {
    await p.stop();
  }
});

test('--help lists the commands and --version prints the version', async () => {
  const help = await runCli(['--help'], { cwd: tempDir() });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /serve/);
  assert.match(help.stdout, /emulate/);
  const v = await runCli(['--version'], { cwd: tempDir() });
  assert.match(v.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

test('`cortex-proxy emulate` serves a strict Cortex stand-in that a proxy can use', async () => {
  const child = spawn(process.execPath, [BIN, 'emulate', '--port', '0', '--pat', 'emu-pat-1234567890'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const { url } = await waitListening(child, 'emulate');
    const bad = await request(`${url}/api/v2/cortex/inference:complete`, {
      method: 'POST',
      headers: { authorization: 'Bearer emu-pat-1234567890', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-4-sonnet', messages: [{ role: 'tool', content: 'x' }] }),
    });
    assert.equal(bad.statusCode, 400);
    assert.match(await bad.body.text(), /unknown role \\"tool\\"/);
  } finally {
    child.kill('SIGTERM');
  }
});

test('without a master key, an arbitrary client key is served at once (no wait for a key-store re-read)', async () => {
  const p = await startProxy([], { cwd: tempDir() });
  try {
    const client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'sk-some-client-key', maxRetries: 0 });
    await client.models.list(); // warm up
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) await client.models.list();
    // Five requests that each waited for the 100 ms store re-read would take ≥ 500 ms.
    assert.ok(performance.now() - t0 < 400, `five /v1/models calls took ${Math.round(performance.now() - t0)} ms`);
  } finally {
    await p.stop();
  }
});

test('demo traffic is kept apart: nothing under HOME, its temporary folder removed at exit, marked demo and never counted as spend', async () => {
  const home = tempDir('cortex-proxy-home-');
  const tmp = tempDir('cortex-proxy-tmp-');
  const env = cleanEnv({ HOME: home, TMPDIR: tmp });
  for (const k of ['XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'APPDATA', 'LOCALAPPDATA']) delete env[k]; // the defaults: under HOME
  const ask = async (url: string) => {
    const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'ping' }] }) });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  };
  const p = await startProxy(['--quiet'], { cwd: tempDir(), env });
  await ask(p.url);
  await p.waitForLog(/usage log: .*cortex-proxy-demo-.*\(demo: kept apart, removed at exit\)/);
  await p.stop();
  assert.deepEqual(readdirSync(home), [], 'demo mode created nothing under HOME');
  assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('cortex-proxy-demo-')), [], 'its temporary folder is gone');

  // A usage folder named explicitly gets the demo records, marked; `cortex-proxy usage` does not count them.
  const usageDir = tempDir('cortex-proxy-usage-');
  const q = await startProxy(['--quiet'], { cwd: tempDir(), env: { ...env, CORTEX_PROXY_USAGE_DIR: usageDir } });
  await ask(q.url);
  await q.stop();
  const [file] = readdirSync(usageDir);
  const records = readFileSync(join(usageDir, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(records.length, 1);
  assert.equal(records[0].demo, true);
  const real = { ...records[0], demo: undefined, ts: new Date().toISOString() };
  appendFileSync(join(usageDir, file), JSON.stringify(real) + '\n');
  const u = await runCli(['usage', '--dir', usageDir, '--json'], { cwd: tempDir(), env });
  assert.equal(u.code, 0, u.stderr);
  assert.equal(JSON.parse(u.stdout).totals.requests, 1, 'only the non-demo record counts');
});

test('`emulate` (and `serve`) on a busy port print one clear line, no stack trace', async () => {
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = String((busy.address() as net.AddressInfo).port);
  try {
    for (const cmd of ['emulate', 'serve']) {
      const r = await runCli([cmd, '--port', port], { cwd: tempDir(), env: cleanEnv() });
      assert.equal(r.code, 2, cmd);
      assert.match(r.stderr, new RegExp(`^cortex-proxy: port ${port} on 127\\.0\\.0\\.1 is already in use: stop the other process \\(lsof -i :${port}\\) or pass --port`, 'm'));
      assert.doesNotMatch(r.stderr, /\n\s+at |EADDRINUSE/, `${cmd}: no stack trace`);
    }
  } finally {
    busy.close();
  }
});

test('`npm start` stops the server on SIGTERM (npm signals its shell, not the server)', { skip: process.platform === 'win32' }, async () => {
  const child = spawn('npm', ['start', '--', '--port', '0', '--quiet'], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const { url, stderr } = await waitListening(child, 'npm start');
  assert.equal((await fetch(`${url}/health`)).status, 200);
  const closed = once(child, 'close'); // every holder of its stdout and stderr, the server included, has exited
  child.kill('SIGTERM');
  await closed;
  await assert.rejects(fetch(`${url}/health`), 'nothing listens any more');
  assert.match(stderr(), /npm start exited: finishing in-flight requests, then stopping/);
});

test('/favicon.ico is answered quietly (204, no key needed, no log line), next to a request that is logged', async () => {
  const key = 'sk-' + 'Q7x9'.repeat(4) + 'mZ3kL8pW2vN5tR1y';
  const p = await startProxy([], { cwd: tempDir(), env: cleanEnv({ CORTEX_PROXY_MASTER_KEY: key }) });
  try {
    const fav = await fetch(`${p.url}/favicon.ico`);
    assert.equal(fav.status, 204);
    assert.match(fav.headers.get('cache-control') ?? '', /max-age=86400/);
    const r = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }) });
    assert.equal(r.status, 404);
    await p.waitForLog(/POST \/v1\/chat\/completions status=404/);
    assert.doesNotMatch(p.stderr(), /favicon/);
  } finally {
    await p.stop();
  }
});
