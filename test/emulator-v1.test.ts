// The emulator's v1 endpoints (reference/cortex-api.md §8): /v1/chat/completions with the documented quirks per
// model family and Cortex's refusals, /v1/messages with Anthropic's exact SSE and Bearer-only auth, the shared
// scripts and faults, and the v1 entitlement knob.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { parseSse } from '../src/cortex/sse.js';

const PAT = 'emu-v1-pat-' + 'z'.repeat(30);
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true, unavailableInRegion: ['claude-opus-4-5'] });
});
after(() => emu.close());
beforeEach(() => emu.reset());

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${emu.apiBase}/cortex/v1/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}
const chat = (body: object) => post('chat/completions', body);
const messages = (body: object, headers: Record<string, string> = { 'anthropic-version': '2023-06-01' }) => post('messages', body, headers);
const hi = [{ role: 'user', content: 'hi' }];
const fn = (name: string) => ({ type: 'function', function: { name, parameters: { type: 'object', properties: { city: { type: 'string' } } } } });
/** Every data payload of an SSE body (all event names), parsed. */
const events = (text: string) => {
  const out: any[] = [];
  for (const block of text.split('\n\n')) {
    const line = block.split('\n').find((l) => l.startsWith('data: '));
    if (line) out.push(line.slice(6) === '[DONE]' ? '[DONE]' : JSON.parse(line.slice(6)));
  }
  return out;
};

describe('/v1/chat/completions', () => {
  test("Cortex's refusals: max_tokens, service_tier, store, audio/web_search_options on OpenAI models; tools on a model without tool calling; unknown and region-unavailable models", async () => {
    const cases: Array<[object, RegExp]> = [
      [{ model: 'claude-sonnet-4-5', messages: hi, max_tokens: 10 }, /max_tokens is deprecated in favor of max_completion_tokens/],
      [{ model: 'openai-gpt-4.1', messages: hi, service_tier: 'auto' }, /service_tier/],
      [{ model: 'openai-gpt-4.1', messages: hi, store: false }, /store/],
      [{ model: 'claude-sonnet-4-5', messages: hi, store: false }, /store/],
      [{ model: 'openai-gpt-4.1', messages: hi, audio: { voice: 'alloy', format: 'mp3' } }, /audio/],
      [{ model: 'openai-gpt-4.1', messages: hi, web_search_options: {} }, /web_search_options/],
      [{ model: 'openai-gpt-5', messages: hi, reasoning_effort: 'extreme' }, /invalid options object/],
      [{ model: 'llama3.1-70b', messages: hi, tools: [fn('f')] }, /does not support tool calling/],
      [{ model: 'nope', messages: hi }, /unknown model/],
      [{ model: 'claude-opus-4-5', messages: hi }, /unavailable in your region/],
      [{ model: 'claude-sonnet-4-5', messages: hi, response_format: { type: 'json_object' } }, /json_schema/],
    ];
    for (const [body, re] of cases) {
      const r = await chat(body);
      assert.equal(r.status, 400, r.text);
      assert.match(r.json().message, re);
    }
  });

  test("what Snowflake's chart marks ❌ Ignored is accepted and ignored (metadata, modalities, prediction, …); response_format ignored on other models", async () => {
    // https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api, "Detailed compatibility chart".
    const ignored = { metadata: { user: 'u1' }, modalities: ['text'], prediction: { type: 'content', content: 'hi' }, safety_identifier: 'x', prompt_cache_key: 'k', stream_options: undefined };
    for (const model of ['openai-gpt-4.1', 'claude-sonnet-4-5', 'llama3.1-70b']) {
      const r = await chat({ model, messages: hi, ...ignored });
      assert.equal(r.status, 200, `${model}: ${r.text}`);
    }
    for (const [model, extra] of [
      ['claude-sonnet-4-5', { audio: { voice: 'alloy' }, web_search_options: {}, reasoning_effort: 'high' }],
      ['llama3.1-70b', { audio: { voice: 'alloy' }, reasoning_effort: 'minimal', reasoning: { effort: 'high' } }],
    ] as const) {
      const r = await chat({ model, messages: hi, ...extra });
      assert.equal(r.status, 200, `${model} ignores ${Object.keys(extra).join(', ')}: ${r.text}`);
    }
    const none = await chat({ model: 'openai-gpt-5', messages: hi, reasoning_effort: 'none' });
    assert.equal(none.status, 200, none.text);
    // response_format: "❌ Ignored" on models that are neither OpenAI nor Claude — the schema is lost there.
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const lost = (await chat({ model: 'mistral-large2', messages: hi, response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } })).json();
    assert.throws(() => JSON.parse(lost.choices[0].message.content), 'plain text, not the schema');
    const kept = (await chat({ model: 'openai-gpt-4.1', messages: hi, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { ...schema, additionalProperties: false } } } })).json();
    assert.equal(typeof JSON.parse(kept.choices[0].message.content).city, 'string');
  });

  test('Claude prefill → 400 naming the final position; unanswered tool calls → 400', async () => {
    const pre = await chat({ model: 'claude-sonnet-4-5', messages: [...hi, { role: 'assistant', content: 'Sure' }] });
    assert.equal(pre.status, 400);
    assert.match(pre.json().message, /final position/);
    const call = { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] };
    const open = await chat({ model: 'claude-sonnet-4-5', messages: [...hi, call, { role: 'user', content: 'and?' }], tools: [fn('f')] });
    assert.match(open.json().message, /toolResult/);
    const ok = await chat({ model: 'openai-gpt-4.1', messages: [...hi, { role: 'assistant', content: 'Sure' }] });
    assert.equal(ok.status, 200, 'OpenAI models may end on the assistant');
  });

  test('Claude stream: id "", finish_reason "", no role, Go zero values, tool deltas on index 0, cached tokens outside prompt_tokens, no [DONE]', async () => {
    emu.script({ text: 'Checking.', toolCalls: [{ name: 'a', input: { city: 'Paris' } }, { name: 'b', input: { city: 'Rome' } }], usage: { prompt_tokens: 7, completion_tokens: 6, cached_tokens: 4805 } });
    const r = await chat({ model: 'claude-sonnet-4-5', messages: hi, tools: [fn('a'), fn('b')], stream: true, stream_options: { include_usage: true } });
    assert.equal(r.status, 200);
    const ev = events(r.text);
    assert.ok(!ev.includes('[DONE]'));
    const chunks = ev.filter((c) => c.choices.length > 0);
    assert.ok(chunks.every((c) => c.id === '' && c.choices[0].finish_reason === '' && !('role' in c.choices[0].delta)));
    assert.ok(chunks.every((c) => c.choices[0].delta.refusal === '' && c.choices[0].delta.function_call.name === ''));
    const tools = chunks.flatMap((c) => c.choices[0].delta.tool_calls ?? []);
    assert.ok(tools.every((t: any) => t.index === 0));
    assert.deepEqual(tools.filter((t: any) => t.id !== '').map((t: any) => t.function.name), ['a', 'b']);
    assert.deepEqual(ev.at(-1).usage.prompt_tokens, 7);
    assert.equal(ev.at(-1).usage.prompt_tokens_details.cached_tokens, 4805);
    assert.equal(ev.at(-1).usage.total_tokens, 7 + 4805 + 6);
  });

  test('OpenAI stream: role first, one index per call, finish_reason, usage chunk, [DONE]; non-stream JSON in OpenAI form', async () => {
    emu.script({ toolCalls: [{ name: 'a', input: {} }, { name: 'b', input: { city: 'x' } }] });
    const r = await chat({ model: 'openai-gpt-4.1', messages: hi, tools: [fn('a'), fn('b')], stream: true, stream_options: { include_usage: true } });
    const ev = events(r.text);
    assert.equal(ev.at(-1), '[DONE]');
    assert.equal(ev[0].choices[0].delta.role, 'assistant');
    assert.deepEqual([...new Set(ev.flatMap((c: any) => c.choices?.[0]?.delta?.tool_calls ?? []).map((t: any) => t.index))], [0, 1]);
    assert.equal(ev.find((c: any) => c.choices?.[0]?.finish_reason)?.choices[0].finish_reason, 'tool_calls');
    emu.script({ text: 'Four' });
    const j = (await chat({ model: 'openai-gpt-4.1', messages: hi })).json();
    assert.equal(j.object, 'chat.completion');
    assert.equal(j.choices[0].message.content, 'Four');
    assert.equal(j.choices[0].finish_reason, 'stop');
  });

  test('Claude non-stream: the §8.3 Go zero-value body', async () => {
    emu.script({ text: 'Four' });
    const j = (await chat({ model: 'claude-sonnet-4-5', messages: hi })).json();
    assert.equal(j.id, '');
    assert.equal(j.choices[0].finish_reason, '');
    assert.deepEqual(j.choices[0].message.audio, { data: '', expires_at: 0, id: '', transcript: '' });
    assert.deepEqual(j.choices[0].message.function_call, { arguments: '', name: '' });
    assert.equal(j.choices[0].message.refusal, '');
  });
});

describe('/v1/messages', () => {
  test('Bearer required (x-api-key alone → 401 390146), anthropic-version required, Claude only, max_tokens required', async () => {
    const noBearer = await post('messages', { model: 'claude-sonnet-4-5', max_tokens: 10, messages: hi }, { authorization: '', 'x-api-key': PAT, 'anthropic-version': '2023-06-01' });
    assert.equal(noBearer.status, 401);
    assert.equal(noBearer.json().code, '390146');
    assert.match((await messages({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: hi }, {})).json().message, /anthropic-version/);
    assert.match((await messages({ model: 'openai-gpt-4.1', max_tokens: 10, messages: hi })).json().message, /Claude models only/);
    assert.match((await messages({ model: 'claude-sonnet-4-5', messages: hi })).json().message, /max_tokens/);
  });

  test("Anthropic's pairing rules: tool_use needs tool_result in the next message; tool blocks need tools", async () => {
    const use = { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] };
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    const r1 = await messages({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [...hi, use, { role: 'user', content: 'go on' }], tools });
    assert.match(r1.json().message, /tool_use` ids were found without `tool_result`/);
    const r2 = await messages({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [...hi, use, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] }] });
    assert.match(r2.json().message, /must define tools/);
  });

  test('exact Anthropic SSE: message_start, ping, thinking + signature, text, tool_use with input_json_delta, message_delta, message_stop', async () => {
    emu.script({ thinking: 'hmm', text: 'Hi', toolCalls: [{ name: 'f', input: { city: 'Paris' } }], usage: { prompt_tokens: 10, completion_tokens: 4, cached_tokens: 50 } });
    const r = await messages({ model: 'claude-sonnet-4-5', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: hi, tools: [{ name: 'f', input_schema: { type: 'object' } }], stream: true });
    assert.equal(r.status, 200);
    const names = r.text.split('\n').filter((l) => l.startsWith('event: ')).map((l) => l.slice(7));
    assert.deepEqual(names, [
      'message_start', 'ping',
      'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_stop',
      'message_delta', 'message_stop',
    ]);
    const data = parseSse(r.text).map((d) => JSON.parse(d)); // only unnamed/message events: none here
    assert.equal(data.length, 0, 'every Anthropic event is named');
    const ev = events(r.text);
    assert.deepEqual(ev[0].message.usage, { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 50, output_tokens: 1 });
    assert.equal(ev[4].delta.type, 'signature_delta');
    assert.equal(ev[10].delta.type, 'input_json_delta');
    assert.deepEqual(ev.at(-2).delta, { stop_reason: 'tool_use', stop_sequence: null });
  });
});

describe('shared scripting, faults and the v1 knob', () => {
  test('faults apply to the v1 endpoints: a status fault, and a mid-stream error in each endpoint\'s own form', async () => {
    emu.inject({ status: 429 });
    assert.equal((await chat({ model: 'openai-gpt-4.1', messages: hi })).status, 429);
    emu.inject({ midStreamError: 'boom', afterChunks: 1 });
    emu.script({ text: 'some text that will be cut' });
    const c = events((await chat({ model: 'openai-gpt-4.1', messages: hi, stream: true })).text);
    assert.equal(c.at(-1).error.message, 'boom');
    emu.inject({ midStreamError: 'boom', afterChunks: 3 });
    const m = await messages({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: hi, stream: true });
    assert.match(m.text, /event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"boom"\}\}/);
  });

  test('knob v1: forbidden → 403 003001 on both v1 endpoints, not_found → 404; inference:complete unaffected', async () => {
    emu.setKnobs({ v1: 'forbidden' });
    const f = await chat({ model: 'openai-gpt-4.1', messages: hi });
    assert.equal(f.status, 403);
    assert.equal(f.json().code, '003001');
    assert.equal((await messages({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: hi })).status, 403);
    const complete = await fetch(`${emu.apiBase}/cortex/inference:complete`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: hi }),
    });
    assert.equal(complete.status, 200);
    await complete.text();
    emu.setKnobs({ v1: 'not_found' });
    assert.equal((await chat({ model: 'openai-gpt-4.1', messages: hi })).status, 404);
    assert.throws(() => emu.setKnobs({ v1: 'maybe' as never }), /bad value for knob "v1"/);
  });
});

describe('/v1/messages adaptive thinking (Snowflake: claude-opus-4-6 and newer, claude-sonnet-4-6)', () => {
  test('accepted with output_config.effort on those models, refused on older ones', async () => {
    const ok = await messages({ model: 'claude-sonnet-4-6', max_tokens: 2000, thinking: { type: 'adaptive' }, output_config: { effort: 'low' }, messages: hi });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(ok.json().content.some((b: any) => b.type === 'thinking'));
    const old = await messages({ model: 'claude-sonnet-4-5', max_tokens: 2000, thinking: { type: 'adaptive' }, messages: hi });
    assert.equal(old.status, 400);
    const badEffort = await messages({ model: 'claude-opus-4-6', max_tokens: 2000, thinking: { type: 'adaptive' }, output_config: { effort: 'extreme' }, messages: hi });
    assert.equal(badEffort.status, 400);
  });
});

describe('images on the v1 endpoints (docs/images.md: 20 images and 20 MiB per request, vision models only)', () => {
  const PNG64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
  const chatImages = (model: string, n: number, data = PNG64) => ({
    model,
    messages: [{ role: 'user', content: [...Array.from({ length: n }, () => ({ type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } })), { type: 'text', text: 'see' }] }],
  });
  const messageImages = (n: number, data = PNG64) => ({
    model: 'claude-sonnet-4-5',
    max_tokens: 5,
    messages: [{ role: 'user', content: [...Array.from({ length: n }, () => ({ type: 'image', source: { type: 'base64', media_type: 'image/png', data } })), { type: 'text', text: 'see' }] }],
  });

  test('20 images are accepted on both endpoints, for Claude and OpenAI models; 21 are refused', async () => {
    assert.equal((await chat(chatImages('openai-gpt-4.1', 20))).status, 200);
    assert.equal((await chat(chatImages('claude-sonnet-4-5', 20))).status, 200);
    assert.equal((await messages(messageImages(20))).status, 200);
    for (const r of [await chat(chatImages('openai-gpt-4.1', 21)), await messages(messageImages(21))]) {
      assert.equal(r.status, 400);
      assert.match(r.text, /too many images: 21 \(at most 20\)/);
    }
  });

  test('more than 20 MiB of base64 images is refused; just under is accepted; non-vision models refuse any image', async () => {
    const chunk = 'A'.repeat(7 * 1024 * 1024); // 7 MiB of base64 (a multiple of 4)
    const three = await chat({ ...chatImages('openai-gpt-4.1', 0), messages: [{ role: 'user', content: [1, 2, 3].map(() => ({ type: 'image_url', image_url: { url: `data:image/png;base64,${chunk}` } })) }] });
    assert.equal(three.status, 400);
    assert.match(three.text, /images too large/);
    const two = await chat({ ...chatImages('openai-gpt-4.1', 0), messages: [{ role: 'user', content: [1, 2].map(() => ({ type: 'image_url', image_url: { url: `data:image/png;base64,${chunk}` } })) }] });
    assert.equal(two.status, 200, two.text.slice(0, 200));
    const llama = await chat(chatImages('llama3.1-70b', 1));
    assert.equal(llama.status, 400);
    assert.match(llama.text, /does not support image input/);
  });
});
