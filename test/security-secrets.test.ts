// Secrets and echoed input (issue 13 item 5; server/redact.ts), each attack next to its legitimate twin:
//   - Cortex echoes the credential (or the master key) in every error path it has — a 4xx/5xx JSON body, a non-JSON
//     error page, a 200 whose JSON body is an error, an error event before and after output — on each wire
//     (inference:complete, /v1/chat/completions, /v1/messages, embeddings) and each client dialect, streamed or not:
//     the token reaches no answer, log line, usage record, /ui statistics or /metrics. The PAT here is deliberately
//     not token-shaped (no dots, short, no "Bearer"/"pat/" before it), so only exact redaction can catch it.
//   - A 2 MB model name, tool name or user id is not echoed: answers and log lines stay small.
//   - /health/ready says ready / not ready to anyone; its details need the master key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { startEmulator, type Emulator, type Fault } from '../src/emulator/index.js';
import { startProxy, tempDir, writeFiles, cleanEnv, type RunningProxy } from './helpers.js';
import { DIALECTS, PATHS, call, type DialectName } from './reliability-helpers.js';

const PAT = 'plainpat' + 'Q'.repeat(16) + 'k3'; // 26 characters, no token shape
const MASTER = 'sk-secrets-master-' + 'm'.repeat(24);
let emu: Emulator;
let proxy: RunningProxy;
let dir: string;

const model = (name: string, cortex: string, wire: string) => `  - model_name: ${name}
    litellm_params:
      model: snowflake/${cortex}
      api_base: ${emu.apiBase}
      api_key: os.environ/SNOWFLAKE_PAT
      cortex_api: ${wire}
`;

before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true });
  dir = tempDir();
  writeFiles(dir, {
    'cortex-proxy.yaml': `model_list:
${model('via-complete', 'claude-sonnet-4-5', 'complete')}${model('via-openai', 'openai-gpt-4.1', 'openai')}${model('via-anthropic', 'claude-sonnet-4-5', 'anthropic')}${model('embed', 'snowflake-arctic-embed-m-v1.5', 'complete')}litellm_settings:
  num_retries: 0
general_settings:
  master_key: os.environ/CORTEX_PROXY_MASTER_KEY
  usage_log_dir: ./usage
`,
  });
  proxy = await startProxy(['--quiet'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT, CORTEX_PROXY_MASTER_KEY: MASTER }) });
});
after(async () => {
  await proxy?.stop();
  await emu?.close();
});

const echo = `the credential '${PAT}' (key ${MASTER}) is not valid`;
const FAULTS: Array<[string, Fault]> = [
  ['401 JSON', { status: 401, code: '390303', message: echo }],
  ['400 JSON', { status: 400, message: echo }],
  ['403 JSON', { status: 403, message: echo }],
  ['429 JSON', { status: 429, message: echo, retryAfter: 60 }],
  ['500 JSON', { status: 500, message: echo }],
  ['502 HTML page', { raw: { status: 502, headers: { 'content-type': 'text/html' }, body: `<html><body>bad gateway for ${PAT} / ${MASTER}</body></html>` } }],
  ['200 JSON error', { json200Error: { code: '390112', message: echo } }],
  ['200 plain-text body', { raw: { status: 200, headers: { 'content-type': 'text/plain' }, body: echo } }],
  ['error event before output', { midStreamError: echo, afterChunks: 0 }],
  ['error event after output', { midStreamError: echo, afterChunks: 2 }],
];

const seen: string[] = [];
function assertClean(what: string, text: string) {
  assert.ok(!text.includes(PAT), `the PAT reached ${what}: ${text.slice(0, 300)}`);
  assert.ok(!text.includes(MASTER), `the master key reached ${what}: ${text.slice(0, 300)}`);
}

test('the credential echoed by Cortex in every error path, on every wire, in every dialect: never in an answer', { timeout: 60_000 }, async () => {
  let n = 0;
  for (const m of ['via-complete', 'via-openai', 'via-anthropic']) {
    for (const [name, fault] of FAULTS) {
      for (const d of DIALECTS) {
        for (const stream of [true, false]) {
          emu.inject(fault);
          const a = await call(proxy.url, d, { key: MASTER, model: m, stream, prompt: 'secret echo' });
          const what = `${m} ${name} ${d} stream=${stream}`;
          assert.ok(a.status >= 400 || a.streamError !== undefined || !a.clean, `${what}: the failure is reported (${a.status})`);
          assertClean(`the answer (${what})`, `${JSON.stringify(a.headers)} ${a.raw}`);
          seen.push(a.raw);
          n++;
        }
      }
    }
  }
  // Embeddings: a JSON error, a 200-with-error and an HTML page.
  for (const [name, fault] of FAULTS.filter(([k]) => /401|500|200 JSON|HTML/.test(k))) {
    emu.inject(fault);
    const r = await request(`${proxy.url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'embed', input: 'x' }) });
    const text = await r.body.text();
    assert.ok(r.statusCode >= 400, `embeddings ${name}: ${r.statusCode}`);
    assertClean(`the embeddings answer (${name})`, text);
  }
  assert.ok(n >= 180);
  // Twin: the same requests without a fault are answered.
  for (const m of ['via-complete', 'via-openai', 'via-anthropic']) {
    for (const d of DIALECTS) {
      const a = await call(proxy.url, d, { key: MASTER, model: m, stream: true, prompt: 'fine' });
      assert.equal(a.status, 200);
      assert.equal(a.clean, true, `${m} ${d}`);
    }
  }
});

test('a 2 MB model name, tool name or user id is not echoed: small answers, short log lines', { timeout: 30_000 }, async () => {
  const huge = 'x'.repeat(2 * 1024 * 1024);
  const tool = { type: 'function', function: { name: huge, parameters: { type: 'object' } } };
  const bodies: Array<[DialectName | 'count' | 'embed', string, unknown]> = [
    ['chat', PATHS.chat, { model: huge, messages: [{ role: 'user', content: 'hi' }] }],
    ['messages', PATHS.messages, { model: huge, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }],
    ['responses', PATHS.responses, { model: huge, input: 'hi' }],
    ['count', '/v1/messages/count_tokens', { model: huge, messages: [{ role: 'user', content: 'hi' }] }],
    ['embed', '/v1/embeddings', { model: huge, input: 'hi' }],
    ['chat', PATHS.chat, { model: 'via-openai', messages: [{ role: 'user', content: 'hi' }], tools: [tool], tool_choice: { type: 'function', function: { name: huge + 'y' } } }],
    ['chat', PATHS.chat, { model: 'via-complete', user: huge, messages: [{ role: 'user', content: 'hi' }], tools: [tool] }],
    ['messages', PATHS.messages, { model: 'via-anthropic', max_tokens: 10, metadata: { user_id: huge }, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: huge, input_schema: { type: 'object' } }], tool_choice: { type: 'tool', name: 'nope' + huge } }],
  ];
  const logBefore = proxy.stderr().length;
  for (const [d, p, body] of bodies) {
    const r = await request(proxy.url + p, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await r.body.text();
    assert.ok(text.length < 16_384, `${d} ${p}: answered ${r.statusCode} with ${text.length} characters: ${text.slice(0, 200)}`);
    assert.ok(r.statusCode < 500, `${d} ${p}: ${r.statusCode}`);
  }
  // A client that pastes its key into the model field does not get it quoted back, logged or recorded.
  for (const d of ['chat', 'messages'] as const) {
    const pasted = await request(proxy.url + PATHS[d], { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: `my key is ${MASTER}`, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }) });
    const text = await pasted.body.text();
    assert.equal(pasted.statusCode, 404);
    assertClean(`the 404 for a pasted key (${d})`, text);
    assert.match(text, /my key is \*\*\*/);
  }
  // Twin: a normal name is quoted whole so the client sees what it sent.
  const r = await request(proxy.url + PATHS.chat, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }) });
  assert.equal(r.statusCode, 404);
  assert.match(await r.body.text(), /model 'no-such-model' is not configured/);
  await proxy.waitForLog('model=no-such-model');
  const lines = proxy.stderr().slice(logBefore).split('\n');
  for (const l of lines) assert.ok(l.length < 4096, `a log line of ${l.length} characters: ${l.slice(0, 200)}`);
});

test('/health/ready: ready or not to anyone, the details only with the master key', async () => {
  const pub = await request(`${proxy.url}/health/ready`);
  assert.equal(pub.statusCode, 200);
  assert.deepEqual(await pub.body.json(), { status: 'ready' });
  const wrong = await request(`${proxy.url}/health/ready`, { headers: { authorization: 'Bearer sk-wrong-key-123' } });
  assert.deepEqual(await wrong.body.json(), { status: 'ready' });
  const admin = await request(`${proxy.url}/health/ready`, { headers: { authorization: `Bearer ${MASTER}` } });
  const details = (await admin.body.json()) as Record<string, unknown>;
  assert.equal(details.status, 'ready');
  assert.ok(Object.keys(details).length > 1, `details for the admin: ${JSON.stringify(details)}`);
});

// Last: it stops the proxy to flush the usage log.
test('no echoed secret in the log, the usage log, /ui statistics or /metrics after all of that', { timeout: 30_000 }, async () => {
  for (const p of ['/ui/api/stats', '/metrics']) {
    const r = await request(proxy.url + p, { headers: { authorization: `Bearer ${MASTER}` } });
    const text = await r.body.text();
    assert.equal(r.statusCode, 200, p);
    assertClean(p, text);
  }
  const stats = await (await request(`${proxy.url}/ui/api/stats`, { headers: { authorization: `Bearer ${MASTER}` } })).body.text();
  assert.match(stats, /\*\*\*/, 'the errors are still shown, with the secret replaced');
  await proxy.stop();
  const usage = fs.readdirSync(path.join(dir, 'usage')).map((f) => fs.readFileSync(path.join(dir, 'usage', f), 'utf8')).join('\n');
  assert.ok(usage.length > 0);
  assertClean('the usage log', usage);
  assert.match(usage, /\*\*\*/, 'usage records keep the error, redacted');
  const log = proxy.stderr();
  assertClean('the log', log);
  for (const l of log.split('\n')) assert.ok(l.length < 4096, `a log line of ${l.length} characters`);
});
