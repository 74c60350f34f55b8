// End to end, in process: the proxy app (createApp on 127.0.0.1:0, config loaded from YAML like the CLI does) in
// front of the strict emulator, driven by the real `openai` SDK and plain HTTP. Covers embeddings
// (inference:embed), the model catalogue (model_info overrides, /v1/models metadata, refusals before any upstream
// call) and structured output through the complete wire (cortex_api: complete) from all three client dialects.
import { test, before, after, beforeEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { fakeVector } from '../src/emulator/embed.js';
import { KNOWN_MODELS } from '../src/cortex/models.js';
import { loadConfig } from '../src/config/load.js';
import { createApp, type App } from '../src/server/app.js';
import { createLogger } from '../src/server/log.js';
import { EMBED_BATCH_TEXTS } from '../src/cortex/embed.js';
import { tempDir, writeFiles } from './helpers.js';

const PAT = 'test-pat-' + 'e'.repeat(40);
const MASTER = 'sk-catalogue-' + 'k'.repeat(32);

const yaml = (apiBase: string, dropParams: boolean) => `model_list:
  - model_name: cortex-claude
    litellm_params: { model: snowflake/claude-sonnet-4-5, api_base: ${apiBase}, api_key: os.environ/SNOWFLAKE_PAT, cortex_api: complete }
  - model_name: cortex-gpt
    litellm_params: { model: snowflake/openai-gpt-4.1, api_base: ${apiBase}, api_key: os.environ/SNOWFLAKE_PAT, cortex_api: complete }
  - model_name: cortex-llama
    litellm_params: { model: snowflake/llama3.1-70b, api_base: ${apiBase}, api_key: os.environ/SNOWFLAKE_PAT, cortex_api: complete }
  - model_name: embed-m
    litellm_params: { model: snowflake/snowflake-arctic-embed-m-v1.5, api_base: ${apiBase}, api_key: os.environ/SNOWFLAKE_PAT }
  - model_name: embed-l
    litellm_params: { model: snowflake/snowflake-arctic-embed-l-v2.0, api_base: ${apiBase}, api_key: os.environ/SNOWFLAKE_PAT }
  - model_name: claude-next
    litellm_params: { model: snowflake/claude-sonnet-9, api_base: ${apiBase}, api_key: os.environ/SNOWFLAKE_PAT, cortex_api: complete }
    model_info:
      base_model: claude-sonnet-4-5
      max_input_tokens: 1000000
      max_output_tokens: 100000
      max_images_per_prompt: 2
  - model_name: tiny-context
    litellm_params: { model: snowflake/llama3.1-8b, api_base: ${apiBase}, api_key: os.environ/SNOWFLAKE_PAT, cortex_api: complete }
    model_info: { max_input_tokens: 50 }
litellm_settings:
  drop_params: ${dropParams}
  num_retries: 1
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
`;

interface Running {
  url: string;
  app: App;
  client: OpenAI;
}

async function startApp(apiBase: string, dropParams: boolean): Promise<Running> {
  const dir = tempDir();
  writeFiles(dir, { 'cortex-proxy.yaml': yaml(apiBase, dropParams) });
  const config = loadConfig({ cwd: dir, configPath: 'cortex-proxy.yaml', env: { SNOWFLAKE_PAT: PAT, LITELLM_MASTER_KEY: MASTER } });
  config.settings.retryBaseMs = 1;
  const app = createApp(config, createLogger('silent'));
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { url, app, client: new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER, maxRetries: 0, timeout: 20_000 }) };
}

let emu: Emulator;
let proxy: Running;
let strict: Running; // drop_params: false

before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true, models: [...KNOWN_MODELS.keys(), 'claude-sonnet-9'] });
  proxy = await startApp(emu.apiBase, true);
  strict = await startApp(emu.apiBase, false);
});
after(async () => {
  await proxy?.app.close();
  await strict?.app.close();
  await emu?.close();
});
beforeEach(() => emu.reset());

const embedCalls = () => emu.requests.filter((r) => r.path === '/api/v2/cortex/inference:embed');
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${proxy.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER}`, ...headers },
    body: JSON.stringify(body),
  });

/** Asserts the error an openai SDK call rejects with. */
async function rejects(p: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof OpenAI.APIError, `expected an APIError, got ${e}`);
    assert.equal(e.status, status);
    assert.match(e.message, message);
    return true;
  });
}

describe('embeddings through the openai SDK', () => {
  test('one string: the vector Cortex computed, 768 floats, usage.prompt_tokens, the model name asked for', async () => {
    const r = await proxy.client.embeddings.create({ model: 'embed-m', input: 'hello world', encoding_format: 'float' });
    assert.equal(r.object, 'list');
    assert.equal(r.model, 'embed-m');
    assert.equal(r.data.length, 1);
    assert.equal(r.data[0].object, 'embedding');
    assert.equal(r.data[0].index, 0);
    assert.deepEqual(r.data[0].embedding, fakeVector('snowflake-arctic-embed-m-v1.5', 'hello world', 768));
    assert.ok(r.usage.prompt_tokens > 0);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens);
    const up = embedCalls();
    assert.equal(up.length, 1);
    assert.deepEqual(up[0].body, { model: 'snowflake-arctic-embed-m-v1.5', text: ['hello world'] });
    assert.equal(up[0].headers.authorization, `Bearer ${PAT}`);
    assert.equal(up[0].headers['x-snowflake-authorization-token-type'], 'PROGRAMMATIC_ACCESS_TOKEN');
  });

  test('a large batch is split into upstream batches and comes back complete and in input order', async () => {
    const n = EMBED_BATCH_TEXTS + 22;
    const input = Array.from({ length: n }, (_, i) => `chunk ${i}: function f${i}() { return ${i}; }`);
    const r = await proxy.client.embeddings.create({ model: 'embed-l', input, encoding_format: 'float' });
    assert.equal(r.data.length, n);
    r.data.forEach((d, i) => {
      assert.equal(d.index, i);
      assert.equal(d.embedding.length, 1024);
      assert.deepEqual(d.embedding, fakeVector('snowflake-arctic-embed-l-v2.0', input[i], 1024), `vector ${i}`);
    });
    const up = embedCalls();
    assert.deepEqual(up.map((c) => (c.body as { text: string[] }).text.length).sort((a, b) => b - a), [EMBED_BATCH_TEXTS, 22]);
    const sent = up.flatMap((c) => (c.body as { text: string[] }).text).sort();
    assert.deepEqual(sent, [...input].sort(), 'every input sent exactly once');
    assert.equal(r.usage.prompt_tokens, input.reduce((s, t) => s + Math.ceil(Buffer.byteLength(t) / 4), 0));
  });

  test("base64 (the SDK's default encoding) decodes to exactly the float answer", async () => {
    const input = ['alpha', 'beta', 'gamma'];
    const viaBase64 = await proxy.client.embeddings.create({ model: 'embed-m', input }); // SDK asks for base64, decodes it
    const viaFloat = await proxy.client.embeddings.create({ model: 'embed-m', input, encoding_format: 'float' });
    assert.equal(viaBase64.data.length, 3);
    for (let i = 0; i < 3; i++) assert.deepEqual(Array.from(viaBase64.data[i].embedding), viaFloat.data[i].embedding);
    // The raw wire format: float32 little-endian, base64.
    const raw = (await (await post('/v1/embeddings', { model: 'embed-m', input: 'alpha', encoding_format: 'base64' })).json()) as any;
    const buf = Buffer.from(raw.data[0].embedding, 'base64');
    assert.equal(buf.length, 768 * 4);
    assert.equal(buf.readFloatLE(0), viaFloat.data[0].embedding[0]);
  });

  test('dimensions: the native size passes; another is dropped under drop_params, a 400 without it', async () => {
    const same = await proxy.client.embeddings.create({ model: 'embed-m', input: 'x', dimensions: 768, encoding_format: 'float' });
    assert.equal(same.data[0].embedding.length, 768);
    const dropped = await proxy.client.embeddings.create({ model: 'embed-m', input: 'x', dimensions: 256, encoding_format: 'float' });
    assert.equal(dropped.data[0].embedding.length, 768);
    assert.equal(embedCalls().length, 2);
    await rejects(strict.client.embeddings.create({ model: 'embed-m', input: 'x', dimensions: 256 }), 400, /'dimensions' 256 cannot be honoured \(snowflake-arctic-embed-m-v1\.5 returns 768\)/);
    assert.equal(embedCalls().length, 2, 'refused before any upstream call');
  });

  test('bad input is a 400 naming the field, before any upstream call', async () => {
    await rejects(proxy.client.embeddings.create({ model: 'embed-m', input: [1, 2, 3] }), 400, /token arrays/);
    await rejects(proxy.client.embeddings.create({ model: 'embed-m', input: [[1, 2], [3]] }), 400, /token arrays/);
    await rejects(proxy.client.embeddings.create({ model: 'embed-m', input: [] }), 400, /empty array/);
    await rejects(proxy.client.embeddings.create({ model: 'embed-m', input: ['ok', ''] }), 400, /input\[1\]' must not be an empty string/);
    await rejects(proxy.client.embeddings.create({ model: 'embed-m', input: 'x', encoding_format: 'int8' as 'float' }), 400, /encoding_format/);
    await rejects(proxy.client.embeddings.create({ model: 'nope', input: 'x' }), 404, /not configured/);
    const r = await post('/v1/embeddings', { model: 'embed-m' });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as any).error.param, 'input');
    assert.equal(embedCalls().length, 0);
  });

  test('a chat model used for embeddings, or an embedding model used for chat: a clear 400 and no upstream call', async () => {
    await rejects(proxy.client.embeddings.create({ model: 'cortex-claude', input: 'x' }), 400, /"cortex-claude" \(Cortex model claude-sonnet-4-5\) is a chat model, not an embedding model/);
    await rejects(
      proxy.client.chat.completions.create({ model: 'embed-m', messages: [{ role: 'user', content: 'hi' }] }),
      400,
      /"embed-m" \(Cortex model snowflake-arctic-embed-m-v1\.5\) is an embedding model: it cannot chat/,
    );
    assert.equal(emu.requests.length, 0);
  });

  test('Cortex errors come back in OpenAI form: 429 is retried, 401 and 200-dressed errors explain the credential, 503 stays 503', async () => {
    emu.inject({ status: 429 });
    const ok = await proxy.client.embeddings.create({ model: 'embed-m', input: 'retry me', encoding_format: 'float' });
    assert.equal(ok.data.length, 1);
    assert.equal(embedCalls().length, 2, 'one retry');

    emu.reset();
    emu.inject({ status: 401 });
    await rejects(proxy.client.embeddings.create({ model: 'embed-m', input: 'x' }), 401, /Snowflake says the token is invalid/);

    emu.reset();
    emu.inject({ json200Error: { code: '390112', message: 'Your session has expired. Please login again.' } });
    await rejects(proxy.client.embeddings.create({ model: 'embed-m', input: 'x' }), 401, /session token has expired/);

    emu.reset();
    emu.inject({ status: 503, message: 'Service Unavailable' }, { status: 503, message: 'Service Unavailable' });
    await rejects(proxy.client.embeddings.create({ model: 'embed-m', input: 'x' }), 503, /Cortex is temporarily unavailable/);
    assert.equal(embedCalls().length, 2, 'retried once, then gave up');
  });

  test('one failing batch fails the whole request (no partial answer)', async () => {
    const input = Array.from({ length: EMBED_BATCH_TEXTS + 1 }, (_, i) => `t${i}`);
    emu.inject({ status: 400, message: 'invalid options object' });
    await rejects(proxy.client.embeddings.create({ model: 'embed-m', input }), 400, /Cortex rejected the request/);
  });
});

describe('model catalogue', () => {
  test('/v1/models carries context, output limit and capabilities for each configured model', async () => {
    const list = await proxy.client.models.list();
    const byId = new Map(list.data.map((m) => [m.id, m as unknown as Record<string, any>]));
    assert.deepEqual([...byId.keys()], ['cortex-claude', 'cortex-gpt', 'cortex-llama', 'embed-m', 'embed-l', 'claude-next', 'tiny-context']);
    const claude = byId.get('cortex-claude')!;
    assert.equal(claude.object, 'model');
    assert.equal(claude.type, 'model', 'Anthropic field kept');
    assert.equal(claude.display_name, 'cortex-claude');
    assert.equal(claude.context_length, 200_000);
    assert.equal(claude.max_output_tokens, 64_000);
    assert.equal(claude.top_provider.context_length, 200_000);
    assert.deepEqual(claude.architecture.input_modalities, ['text', 'image']);
    assert.deepEqual(claude.capabilities, { chat: true, embeddings: false, function_calling: true, vision: true, structured_output: true, reasoning: true });
    assert.ok(claude.supported_parameters.includes('tools'));
    const llama = byId.get('cortex-llama')!;
    assert.equal(llama.capabilities.function_calling, false);
    assert.equal(llama.capabilities.vision, false);
    assert.ok(!llama.supported_parameters.includes('tools'));
    const embed = byId.get('embed-l')!;
    assert.equal(embed.mode, 'embedding');
    assert.equal(embed.dimensions, 1024);
    assert.equal(embed.capabilities.embeddings, true);
    const next = byId.get('claude-next')!;
    assert.equal(next.context_length, 1_000_000, 'model_info override');
    assert.equal(next.max_output_tokens, 100_000);
    assert.equal(next.capabilities.function_calling, true, 'inherited from base_model');
    assert.equal(next.cortex_model, 'claude-sonnet-9');
  });

  test('/v1/model/info answers in LiteLLM form, without any secret', async () => {
    const r = await fetch(`${proxy.url}/v1/model/info`, { headers: { authorization: `Bearer ${MASTER}` } });
    assert.equal(r.status, 200);
    const text = await r.text();
    assert.ok(!text.includes(PAT) && !text.includes('127.0.0.1'), 'no credential, no api_base');
    const { data } = JSON.parse(text) as { data: any[] };
    const gpt = data.find((d) => d.model_name === 'cortex-gpt');
    assert.equal(gpt.litellm_params.model, 'snowflake/openai-gpt-4.1');
    assert.equal(gpt.model_info.max_input_tokens, 128_000);
    assert.equal(gpt.model_info.supports_function_calling, true);
    assert.equal(data.find((d) => d.model_name === 'embed-m').model_info.output_vector_size, 768);
  });

  test('impossible requests are refused with a 400 naming model and limit, before any upstream call', async () => {
    const tools: OpenAI.Chat.ChatCompletionTool[] = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }];
    await rejects(
      proxy.client.chat.completions.create({ model: 'cortex-llama', messages: [{ role: 'user', content: 'hi' }], tools }),
      400,
      /"cortex-llama" \(Cortex model llama3\.1-70b\) does not support tool calling/,
    );
    const img = { type: 'image_url' as const, image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==' } };
    await rejects(
      proxy.client.chat.completions.create({ model: 'cortex-llama', messages: [{ role: 'user', content: [{ type: 'text', text: 'look' }, img] }] }),
      400,
      /does not accept images/,
    );
    await rejects(
      proxy.client.chat.completions.create({ model: 'claude-next', messages: [{ role: 'user', content: [{ type: 'text', text: 'look' }, img, img, img] }] }),
      400,
      /accepts at most 2 images per request; this request has 3/,
    );
    const long = 'word '.repeat(200); // 1,000 bytes: at least 166 tokens
    const e = await proxy.client.chat.completions.create({ model: 'tiny-context', messages: [{ role: 'user', content: long }] }).catch((x) => x);
    assert.ok(e instanceof OpenAI.APIError && e.status === 400);
    assert.match(e.message, /^400 prompt is too long: at least 166 tokens > 50 maximum \(the context window of model "tiny-context" \(Cortex model llama3\.1-8b\)\)/);
    assert.equal(e.code, 'context_length_exceeded');
    // The Anthropic dialect gets it in its own envelope (Claude Code compacts on "prompt is too long").
    const a = await post('/v1/messages', { model: 'tiny-context', max_tokens: 10, messages: [{ role: 'user', content: long }] }, { 'anthropic-version': '2023-06-01' });
    assert.equal(a.status, 400);
    const body = (await a.json()) as any;
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /^prompt is too long/);
    assert.equal(emu.requests.length, 0, 'no round trip spent');
    // A short prompt on the same model goes through.
    const ok = await proxy.client.chat.completions.create({ model: 'tiny-context', messages: [{ role: 'user', content: 'hi' }] });
    assert.ok(ok.choices[0].message.content);
  });

  test('model_info max_output_tokens clamps max_tokens, and base_model gives an unknown model its facts', async () => {
    await proxy.client.chat.completions.create({ model: 'claude-next', messages: [{ role: 'user', content: 'hi' }], max_tokens: 500_000 });
    const sent = emu.requests[0].body as Record<string, any>;
    assert.equal(sent.model, 'claude-sonnet-9');
    assert.equal(sent.max_tokens, 16_384, 'inference:complete caps every model at 16,384');
    emu.reset();
    await proxy.client.chat.completions.create({ model: 'claude-next', messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'high' });
    assert.ok((emu.requests[0].body as any).anthropic?.thinking, 'reasoning flag inherited from claude-sonnet-4-5: Claude thinking sent');
  });
});

describe('structured output through the complete wire', () => {
  const schema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: {
      name: { type: 'string' },
      age: { type: 'integer' },
      tags: { type: 'array', items: { type: 'string' } },
      nickname: { type: 'string' }, // optional
    },
    required: ['name', 'age', 'tags'],
  };
  const matches = (v: any) => {
    assert.equal(typeof v, 'object');
    assert.equal(typeof v.name, 'string');
    assert.equal(typeof v.age, 'number');
    assert.ok(Array.isArray(v.tags));
    assert.ok(v.nickname === undefined || v.nickname === null || typeof v.nickname === 'string');
  };

  test('json_schema on an OpenAI model: the schema is made strict for Cortex and the answer parses and matches', async () => {
    const r = await proxy.client.chat.completions.create({
      model: 'cortex-gpt',
      messages: [{ role: 'user', content: 'Extract: Alice, 30' }],
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
    });
    matches(JSON.parse(r.choices[0].message.content!));
    const sent = (emu.requests[0].body as any).response_format;
    assert.equal(sent.type, 'json');
    assert.equal(sent.schema.$schema, undefined, '$schema stripped');
    assert.equal(sent.schema.additionalProperties, false);
    assert.deepEqual(sent.schema.required, ['name', 'age', 'tags', 'nickname']);
    assert.deepEqual(sent.schema.properties.nickname, { type: ['string', 'null'] });
  });

  test('json_schema on Claude, streamed: the schema goes as given (minus $schema) and the JSON text parses', async () => {
    const stream = await proxy.client.chat.completions.create({
      model: 'cortex-claude',
      stream: true,
      messages: [{ role: 'user', content: 'Extract: Bob, 25' }],
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema } },
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    matches(JSON.parse(text));
    const sent = (emu.requests[0].body as any).response_format;
    assert.deepEqual(sent.schema.required, ['name', 'age', 'tags']);
    assert.equal(sent.schema.$schema, undefined);
  });

  test('Anthropic output_config.format and Responses text.format reach Cortex as response_format', async () => {
    const a = await post(
      '/v1/messages',
      { model: 'cortex-claude', max_tokens: 200, messages: [{ role: 'user', content: 'Extract: Carol, 41' }], output_config: { format: { type: 'json_schema', schema } } },
      { 'anthropic-version': '2023-06-01' },
    );
    assert.equal(a.status, 200);
    const msg = (await a.json()) as any;
    matches(JSON.parse(msg.content[0].text));
    assert.equal((emu.requests[0].body as any).response_format.type, 'json');

    emu.reset();
    const r = await proxy.client.responses.create({
      model: 'cortex-gpt',
      input: 'Extract: Dan, 52',
      text: { format: { type: 'json_schema', name: 'person', schema, strict: true } },
    });
    matches(JSON.parse(r.output_text));
    assert.equal((emu.requests[0].body as any).response_format.schema.additionalProperties, false);
  });

  test('json_object: a generic object schema for Claude; left to the prompt for OpenAI models (no strict schema fits)', async () => {
    await proxy.client.chat.completions.create({ model: 'cortex-claude', messages: [{ role: 'user', content: 'JSON please' }], response_format: { type: 'json_object' } });
    assert.deepEqual((emu.requests[0].body as any).response_format, { type: 'json', schema: { type: 'object' } });
    emu.reset();
    await proxy.client.chat.completions.create({ model: 'cortex-gpt', messages: [{ role: 'user', content: 'JSON please' }], response_format: { type: 'json_object' } });
    assert.equal((emu.requests[0].body as any).response_format, undefined);
  });
});
