// End to end: the real CLI (bin/cortex-proxy.js) with the quickstart's litellm_config.yaml, unchanged,
// in front of the strict built-in emulator, driven by the real `openai` SDK.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { cleanEnv, runCli, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';

const PAT = 'test-pat-' + 'x'.repeat(40);
const MASTER = 'sk-test-master-' + 'y'.repeat(32);

// The quickstart's file, byte for byte, except the api_base host (the emulator), one extra model, and
// `cortex_api: complete`: this file tests the inference:complete translation (the quickstart's endpoint);
// test/e2e-wires.test.ts covers the default (auto) and the v1 wires.
const quickstartYaml = (apiBase: string) => `model_list:
  - model_name: cortex-claude-4-sonnet
    litellm_params:
      model: snowflake/claude-4-sonnet
      api_base: ${apiBase}
      api_key: os.environ/SNOWFLAKE_PAT # MUST be prefixed with \`pat/\` — see below
      stream: true
      cortex_api: complete
  - model_name: cortex-llama
    litellm_params:
      model: snowflake/llama3.1-70b
      api_base: ${apiBase}
      api_key: os.environ/SNOWFLAKE_PAT
      cortex_api: complete
litellm_settings:
  drop_params: true
  num_retries: 2
  request_timeout: 120
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  disable_spend_logs: true
`;

let emu: Emulator;
let proxy: RunningProxy;
let client: OpenAI;
const tools: OpenAI.Chat.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', description: 'Time in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
];

before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true, unavailableInRegion: ['claude-opus-4-5'] });
  const dir = tempDir();
  writeFiles(dir, {
    'litellm_config.yaml': quickstartYaml(emu.apiBase),
    '.env': `SNOWFLAKE_PAT=pat/${PAT}\nLITELLM_MASTER_KEY=${MASTER}\n`,
  });
  proxy = await startProxy(['--config', 'litellm_config.yaml'], { cwd: dir });
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: MASTER, maxRetries: 0 });
});
after(async () => {
  await proxy?.stop();
  await emu?.close();
});
beforeEach(() => emu.reset());

const lastBody = () => emu.requests[emu.requests.length - 1].body as Record<string, any>;

test('non-streaming text answer has the OpenAI shape and the upstream got a PAT with the right token type', async () => {
  emu.script({ text: 'Four.' });
  const r = await client.chat.completions.create({ model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'What is 2+2?' }] });
  assert.equal(r.choices[0].message.content, 'Four.');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'cortex-claude-4-sonnet');
  assert.match(r.id, /^chatcmpl-/);
  assert.ok(r.usage && r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);
  const up = emu.requests[0];
  assert.equal(up.path, '/api/v2/cortex/inference:complete');
  assert.equal(up.headers.authorization, `Bearer ${PAT}`, 'pat/ prefix stripped');
  assert.equal(up.headers['x-snowflake-authorization-token-type'], 'PROGRAMMATIC_ACCESS_TOKEN');
  assert.equal((up.body as any).model, 'claude-4-sonnet');
});

test('streaming text with include_usage: role first, one id, usage chunk with empty choices, [DONE]', async () => {
  emu.script({ text: 'The quick brown fox jumps over the lazy dog.' });
  const stream = await client.chat.completions.create({
    model: 'cortex-claude-4-sonnet',
    messages: [{ role: 'user', content: 'Say the pangram' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(text, 'The quick brown fox jumps over the lazy dog.');
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.ok(last.usage!.completion_tokens > 0);
  assert.equal(chunks[chunks.length - 2].choices[0].finish_reason, 'stop');
});

test('a streamed tool call survives chat.completions.stream + finalChatCompletion()', async () => {
  emu.script({ text: 'Let me check.', toolCalls: [{ name: 'get_weather', input: { city: 'San Francisco, CA' } }] });
  const runner = client.chat.completions.stream({ model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'Weather in SF?' }], tools });
  const final = await runner.finalChatCompletion();
  const msg = final.choices[0].message;
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.equal(msg.content, 'Let me check.');
  assert.equal(msg.tool_calls?.length, 1);
  const call = msg.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'San Francisco, CA' });
  assert.ok(call.id);
  const sent = lastBody();
  assert.equal(sent.tools[0].tool_spec.type, 'generic');
  assert.equal(sent.tools[0].tool_spec.name, 'get_weather');
});

test('two tool calls in one answer arrive with distinct indexes and intact arguments', async () => {
  emu.script({ toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }, { name: 'get_time', input: { city: 'Tokyo' } }] });
  const stream = await client.chat.completions.create({ model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'Both please' }], tools, stream: true });
  const indexes = new Set<number>();
  for await (const c of stream) for (const t of c.choices[0]?.delta?.tool_calls ?? []) indexes.add(t.index);
  assert.deepEqual([...indexes].sort(), [0, 1]);

  emu.script({ toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }, { name: 'get_time', input: { city: 'Tokyo' } }] });
  const final = await client.chat.completions.stream({ model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'Both please' }], tools }).finalChatCompletion();
  const calls = final.choices[0].message.tool_calls as OpenAI.Chat.ChatCompletionMessageFunctionToolCall[];
  assert.deepEqual(calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]), [
    ['get_weather', { city: 'Paris' }],
    ['get_time', { city: 'Tokyo' }],
  ]);
  assert.notEqual(calls[0].id, calls[1].id);
});

test('a full tool round trip: tool results reach Cortex as ONE user message of named tool_results', async () => {
  emu.script({ toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }, { name: 'get_time', input: { city: 'Tokyo' } }] });
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Weather in Paris and time in Tokyo?' },
  ];
  const first = await client.chat.completions.create({ model: 'cortex-claude-4-sonnet', messages, tools });
  const assistant = first.choices[0].message;
  messages.push(assistant);
  for (const call of assistant.tool_calls as OpenAI.Chat.ChatCompletionMessageFunctionToolCall[]) {
    messages.push({ role: 'tool', tool_call_id: call.id, content: call.function.name === 'get_weather' ? '18°C, cloudy' : '21:04' });
  }
  emu.script({ text: 'Paris is 18°C and cloudy; Tokyo time is 21:04.' });
  const second = await client.chat.completions.create({ model: 'cortex-claude-4-sonnet', messages, tools });
  assert.equal(second.choices[0].message.content, 'Paris is 18°C and cloudy; Tokyo time is 21:04.');

  const sent = lastBody();
  assert.equal(sent.messages[0].role, 'system');
  assert.equal(sent.messages[0].content, 'You are terse.');
  const roles = sent.messages.map((m: any) => m.role);
  assert.deepEqual(roles, ['system', 'user', 'assistant', 'user']);
  assert.ok(!JSON.stringify(sent).includes('"tool"'), 'no role "tool" goes upstream');
  const results = sent.messages[3].content_list.filter((i: any) => i.type === 'tool_results');
  assert.deepEqual(
    results.map((r: any) => [r.tool_results.name, r.tool_results.content[0].text]),
    [
      ['get_weather', '18°C, cloudy'],
      ['get_time', '21:04'],
    ],
  );
  const uses = sent.messages[2].content_list.filter((i: any) => i.type === 'tool_use');
  assert.deepEqual(uses.map((u: any) => u.tool_use.input), [{ city: 'Paris' }, { city: 'Tokyo' }]);
  assert.equal(emu.requests[1].outcome, 'ok');
});

for (const variant of ['A', 'B', 'C'] as const) {
  test(`chunk variant ${variant}: the same text, tool call and usage come out`, async () => {
    emu.setKnobs({ variant, ...(variant === 'B' ? { eventLines: true, multilineData: true, done: true } : {}) });
    emu.script({ text: 'Checking the weather now.', toolCalls: [{ name: 'get_weather', input: { city: 'Oslo' } }] });
    const stream = await client.chat.completions.create({
      model: 'cortex-claude-4-sonnet',
      messages: [{ role: 'user', content: 'Oslo weather?' }],
      tools,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let args = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      for (const t of c.choices[0]?.delta?.tool_calls ?? []) args += t.function?.arguments ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
      usage = c.usage ?? usage;
    }
    assert.equal(text, 'Checking the weather now.');
    assert.deepEqual(JSON.parse(args), { city: 'Oslo' });
    assert.equal(finish, 'tool_calls');
    const reply = emu.requests[0].reply!;
    assert.equal(usage?.prompt_tokens, reply.usage.prompt_tokens);
    assert.equal(usage?.completion_tokens, reply.usage.completion_tokens);
  });
}

test('unknown model: 404 naming the configured models', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), (err: any) => {
    assert.equal(err.status, 404);
    assert.match(err.message, /cortex-claude-4-sonnet/);
    assert.equal(err.code, 'model_not_found');
    return true;
  });
  assert.equal(emu.requests.length, 0, 'nothing was sent upstream');
});

test('expired PAT (401 from Snowflake) becomes a 401 that says how to fix it, with the Snowflake request id', async () => {
  emu.inject({ status: 401, code: '390303', message: 'Invalid OAuth access token. [PAT expired]' });
  await assert.rejects(client.chat.completions.create({ model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'hi' }] }), (err: any) => {
    assert.equal(err.status, 401);
    assert.match(err.message, /programmatic access token|PAT/i);
    assert.match(err.message, new RegExp(emu.requests[0].id));
    assert.equal(err.headers.get('x-request-id'), emu.requests[0].id);
    assert.ok(!err.message.includes(PAT));
    return true;
  });
  assert.equal(emu.requests.length, 1, '401 is not retried');
});

test('model unavailable in the region: 400 naming cross-region inference', async () => {
  const dir = tempDir();
  writeFiles(dir, {
    'cortex-proxy.yaml': `model_list:\n  - model_name: opus\n    litellm_params:\n      model: snowflake/claude-opus-4-5\n      api_base: ${emu.apiBase}\n      api_key: ${'pat/' + PAT}\n`,
  });
  const p = await startProxy([], { cwd: dir });
  try {
    const c = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await assert.rejects(c.chat.completions.create({ model: 'opus', messages: [{ role: 'user', content: 'hi' }] }), (err: any) => {
      assert.equal(err.status, 400);
      assert.match(err.message, /CORTEX_ENABLED_CROSS_REGION|cross.region/i);
      return true;
    });
  } finally {
    await p.stop();
  }
});

test('503 then success: retried transparently; 429 every time: the client gets 429 after num_retries', async () => {
  emu.inject({ status: 503, message: 'inference timed out' });
  emu.script({ text: 'ok after retry' });
  const r = await client.chat.completions.create({ model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.choices[0].message.content, 'ok after retry');
  assert.deepEqual(emu.requests.map((q) => q.status), [503, 200]);

  emu.reset();
  emu.inject({ status: 429, message: 'too many requests' }, { status: 429, message: 'too many requests' }, { status: 429, message: 'too many requests', retryAfter: 7 });
  await assert.rejects(client.chat.completions.create({ model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'hi' }] }), (err: any) => {
    assert.equal(err.status, 429);
    assert.equal(err.headers.get('retry-after'), '7');
    return true;
  });
  assert.equal(emu.requests.length, 3, 'one call plus num_retries: 2');
});

test('a mid-stream Cortex error reaches the client as an error, not a clean end', async () => {
  emu.inject({ midStreamError: 'model crashed', afterChunks: 2 });
  emu.script({ text: 'This answer will be cut off part way through, sadly.' });
  const stream = await client.chat.completions.create({ model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let text = '';
  await assert.rejects(
    (async () => {
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    })(),
    /model crashed/,
  );
  assert.ok(text.length > 0, 'content before the error was delivered');
});

test('a client abort mid-stream aborts the request to Cortex', async () => {
  emu.setKnobs({ chunkDelayMs: 20, chunkChars: 4 });
  emu.script({ text: 'a long answer that streams slowly enough to be interrupted by the client' });
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
    { model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'hi' }], stream: true },
    { signal: controller.signal },
  );
  const aborted = emu.waitForAbort();
  try {
    for await (const _ of stream) controller.abort();
  } catch {
    // the SDK may or may not surface its own abort; what matters is what reached Cortex
  }
  const req = await aborted;
  assert.equal(req.outcome, 'aborted');
});

test('tools sent to a model without tool support: clear 400 before any upstream call', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'cortex-llama', messages: [{ role: 'user', content: 'hi' }], tools }), (err: any) => {
    assert.equal(err.status, 400);
    assert.match(err.message, /llama3\.1-70b/);
    assert.match(err.message, /tool/i);
    return true;
  });
  assert.equal(emu.requests.length, 0);
});

test('client auth: no key or a wrong key is a 401 in the OpenAI error shape; /health needs none', async () => {
  for (const headers of [{}, { authorization: 'Bearer sk-wrong' }, { 'x-api-key': 'nope' }]) {
    const r = await request(`${proxy.url}/v1/models`, { headers });
    assert.equal(r.statusCode, 401);
    const body = (await r.body.json()) as any;
    assert.equal(body.error.type, 'authentication_error');
  }
  const ok = await request(`${proxy.url}/v1/models`, { headers: { 'x-api-key': MASTER } });
  assert.equal(ok.statusCode, 200);
  await ok.body.dump();
  const probe = await request(proxy.url, { method: 'HEAD' });
  assert.equal(probe.statusCode, 200, 'HEAD / (Claude Code\'s start-up probe) needs no key');
  await probe.body.dump();
  const health = await request(`${proxy.url}/health`);
  assert.equal(health.statusCode, 200);
  const h = (await health.body.json()) as any;
  assert.equal(h.demo, false);
  assert.ok(!JSON.stringify(h).includes(MASTER) && !JSON.stringify(h).includes(PAT));
});

test('GET /v1/models and /models list the configured model names', async () => {
  const list = await client.models.list();
  assert.deepEqual(
    list.data.map((m) => m.id),
    ['cortex-claude-4-sonnet', 'cortex-llama'],
  );
  const r = await request(`${proxy.url}/models`, { headers: { authorization: `Bearer ${MASTER}` } });
  assert.equal(((await r.body.json()) as any).data.length, 2);
});

test('malformed JSON is a 400, and the path without /v1 works too', async () => {
  const r = await request(`${proxy.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: '{"model": ' });
  assert.equal(r.statusCode, 400);
  const body = (await r.body.json()) as any;
  assert.match(body.error.message, /not valid JSON/);
  emu.script({ text: 'no prefix' });
  const ok = await request(`${proxy.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(ok.statusCode, 200);
  assert.equal(((await ok.body.json()) as any).choices[0].message.content, 'no prefix');
});

test('the request log has one line per request with model, status and Snowflake request id, and no secret', async () => {
  emu.script({ text: 'logged' });
  await client.chat.completions.create({ model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'hi' }] });
  const line = await proxy.waitForLog(emu.requests[0].id);
  const log = proxy.stderr();
  assert.match(line, /POST \/v1\/chat\/completions status=200 .*model=cortex-claude-4-sonnet/);
  assert.ok(!log.includes(PAT) && !log.includes(MASTER), 'no secret in the log');
});

test('a body over max_request_body_mb is refused with 413', async () => {
  const dir = tempDir();
  writeFiles(dir, {
    'cortex-proxy.yaml': `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\ngeneral_settings:\n  max_request_body_mb: 1\n`,
  });
  const p = await startProxy([], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
  try {
    const r = await request(`${p.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }] }),
    });
    assert.equal(r.statusCode, 413);
    assert.match(((await r.body.json()) as any).error.message, /max_request_body_mb/);
  } finally {
    await p.stop();
  }
});

test('a 200 JSON body that is really an error (expired session 390112) becomes a 401', async () => {
  emu.inject({ json200Error: { code: '390112', message: 'Your session has expired. Please login again.' } });
  await assert.rejects(client.chat.completions.create({ model: 'cortex-claude-4-sonnet', messages: [{ role: 'user', content: 'hi' }] }), (err: any) => {
    assert.equal(err.status, 401);
    assert.match(err.message, /expired/i);
    return true;
  });
});

test('request_timeout bounds the wait for a first byte and idle gaps, not a healthy stream', async () => {
  const dir = tempDir();
  writeFiles(dir, {
    'cortex-proxy.yaml': `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\n      cortex_api: complete\nlitellm_settings:\n  request_timeout: 1\n  num_retries: 0\n`,
  });
  const p = await startProxy([], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
  try {
    const c = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'x', maxRetries: 0 });
    // Upstream never answers: 504 with a hint, after about request_timeout.
    emu.inject({ hangBeforeHeaders: true });
    await assert.rejects(c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }), (err: any) => {
      assert.equal(err.status, 504);
      assert.match(err.message, /request_timeout/);
      return true;
    });
    // Upstream stalls after some output: the stream ends with an error event, never hangs.
    emu.inject({ stallAfterChunks: 2 });
    emu.script({ text: 'some words that start streaming and then stop forever' });
    const stream = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
    await assert.rejects(
      (async () => {
        for await (const _ of stream);
      })(),
      /request_timeout|sent nothing/,
    );
    // A stream slower in total than request_timeout, but never idle that long, completes.
    emu.setKnobs({ chunkDelayMs: 150, chunkChars: 3 });
    emu.script({ text: 'slow but steady wins' });
    const slow = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const ch of slow) text += ch.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'slow but steady wins');
  } finally {
    await p.stop();
  }
});

test('connection refused: retried, then a 502 that names the host', async () => {
  const dir = tempDir();
  // Port 9 on loopback: nothing listens there.
  writeFiles(dir, {
    'cortex-proxy.yaml': `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      api_base: http://127.0.0.1:9/api/v2\n      api_key: os.environ/SNOWFLAKE_PAT\nlitellm_settings:\n  num_retries: 1\n`,
  });
  const p = await startProxy([], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
  try {
    const c = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }), (err: any) => {
      assert.equal(err.status, 502);
      assert.match(err.message, /127\.0\.0\.1:9/);
      return true;
    });
    const line = await p.waitForLog('status=502');
    assert.match(line, /retries=1|error=/);
  } finally {
    await p.stop();
  }
});
