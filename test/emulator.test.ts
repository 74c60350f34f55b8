// The Cortex emulator against cortex-api.md: auth, validation, chunk variants, stream:false, scripts,
// faults, abort detection, /models, admin routes. Real HTTP on 127.0.0.1 with undici.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startEmulator, REGION_UNAVAILABLE_MESSAGE, type Emulator } from '../src/emulator/index.js';

const PAT = 'pat-registered-secret';
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const WEATHER_TOOL = {
  tool_spec: {
    type: 'generic',
    name: 'get_weather',
    description: 'Given a location return the weather',
    input_schema: {
      type: 'object',
      properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' } },
      required: ['location'],
    },
  },
};
const TOOL_ID = 'tooluse_Iwuh-FEeTC-Iefsxu2ueKQ';
// §2.5.3 [DOC] verbatim structure.
const TOOL_FOLLOW_UP = {
  model: 'claude-3-5-sonnet',
  messages: [
    { role: 'user', content: 'What is the weather like in San Francisco?' },
    {
      role: 'assistant',
      content: "I'll help you check the weather in San Francisco.",
      content_list: [{ type: 'tool_use', tool_use: { tool_use_id: TOOL_ID, name: 'get_weather', input: { location: 'San Francisco, CA' } } }],
    },
    {
      role: 'user',
      content_list: [
        {
          type: 'tool_results',
          tool_results: { tool_use_id: TOOL_ID, name: 'get_weather', content: [{ type: 'text', text: '"temperature": "69 fahrenheit"' }] },
        },
      ],
    },
  ],
  tools: [WEATHER_TOOL],
  max_tokens: 4096,
  top_p: 1,
  stream: true,
};

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

let emu: Emulator;

interface Res {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: Json;
}

async function call(
  body: unknown,
  opts: { token?: string | null; headers?: Record<string, string>; path?: string; method?: string; raw?: string; base?: Emulator } = {},
): Promise<Res> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? PAT}`;
  const r = await request((opts.base ?? emu).url + (opts.path ?? '/api/v2/cortex/inference:complete'), {
    method: (opts.method ?? 'POST') as 'POST',
    headers,
    body: opts.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await r.body.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.statusCode, headers: r.headers as Record<string, string>, text, json };
}

/** Parses an SSE body: optional `event:` lines, multi-line data joined with \n, [DONE] kept as a string. */
function parseSse(text: string): Json[] {
  return text
    .split('\n\n')
    .filter((e) => e.trim() !== '')
    .map((ev) => {
      const data = ev
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}

const simple = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-4-5',
  messages: [{ role: 'user', content: 'hello' }],
  ...extra,
});
const withTools = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-3-5-sonnet',
  messages: [{ role: 'user', content: 'weather?' }],
  tools: [WEATHER_TOOL],
  ...extra,
});
const img = (extra: Record<string, unknown> = {}) => ({
  type: 'image',
  details: { type: 'base64', content: PNG, content_type: 'image/png', ...extra },
});

before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true, unavailableInRegion: ['claude-opus-4-6'] });
});
after(() => emu.close());
beforeEach(() => emu.reset());

describe('auth (§2.1, §6, §7)', () => {
  it('missing bearer → 401 390146 with request_id = X-Snowflake-Request-ID', async () => {
    const r = await call(simple(), { token: null });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, {
      message: 'Bearer token is missing',
      code: '390146',
      error_code: '390146',
      request_id: r.headers['x-snowflake-request-id'],
    });
    assert.match(r.json.request_id, /^[0-9a-f-]{36}$/);
    assert.equal(emu.requests[0].outcome, 'rejected');
    assert.equal(emu.requests[0].id, r.json.request_id);
  });

  it('unknown PAT → 401 PAT-invalid; registered PAT with or without the PAT type header → 200', async () => {
    const bad = await call(simple(), { token: 'not-registered' });
    assert.equal(bad.status, 401);
    assert.equal(bad.json.message, 'Programmatic access token is invalid.');
    assert.equal((await call(simple())).status, 200);
    const typed = await call(simple(), { headers: { 'x-snowflake-authorization-token-type': 'PROGRAMMATIC_ACCESS_TOKEN' } });
    assert.equal(typed.status, 200);
  });

  it('a registered PAT sent as KEYPAIR_JWT → 401 390144 JWT invalid (litellm #17346)', async () => {
    const r = await call(simple(), { headers: { 'x-snowflake-authorization-token-type': 'KEYPAIR_JWT' } });
    assert.equal(r.status, 401);
    assert.equal(r.json.code, '390144');
    assert.match(r.json.message, /^JWT token is invalid\. \[[0-9a-f-]{36}\]$/);
  });

  it('unknown token type and OAUTH-declared PAT → 401', async () => {
    const r1 = await call(simple(), { headers: { 'x-snowflake-authorization-token-type': 'PAT' } });
    assert.equal(r1.status, 401);
    const r2 = await call(simple(), { headers: { 'x-snowflake-authorization-token-type': 'OAUTH' } });
    assert.equal(r2.status, 401);
  });

  it('key-pair JWTs: unregistered → 390144; demo mode: any bearer, opaque-as-JWT 390144, expired 390198', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const jwt = (iat: number, exp: number) =>
      `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: 'A.U.SHA256:x', sub: 'A.U', iat, exp })}.c2ln`;
    assert.equal((await call(simple(), { token: jwt(now, now + 600) })).json.code, '390144');

    const demo = await startEmulator({ quiet: true });
    try {
      assert.equal((await call(simple(), { base: demo, token: 'anything' })).status, 200);
      const opaque = await call(simple(), { base: demo, token: 'anything', headers: { 'x-snowflake-authorization-token-type': 'KEYPAIR_JWT' } });
      assert.equal(opaque.json.code, '390144');
      const ok = await call(simple(), { base: demo, token: jwt(now, now + 600), headers: { 'x-snowflake-authorization-token-type': 'KEYPAIR_JWT' } });
      assert.equal(ok.status, 200);
      const expired = await call(simple(), { base: demo, token: jwt(now - 7200, now - 3600) });
      assert.deepEqual([expired.status, expired.json.code], [401, '390198']);
      const tooLong = await call(simple(), { base: demo, token: jwt(now, now + 3700) });
      assert.equal(tooLong.json.code, '390144');
    } finally {
      await demo.close();
    }
  });
});

describe('validation rejects (§2.2–§2.4, §6, §13)', () => {
  const PAYLOAD = 'Incoming request does not contain a valid payload.';
  const OPTIONS = 'invalid options object';
  const cases: Array<[string, unknown, number, string | RegExp, string?]> = [
    ['unknown model', { model: 'fake_model', messages: [{ content: 'x' }] }, 400, 'unknown model: "fake_model"', '300014'],
    ['region-unavailable model', simple({ model: 'claude-opus-4-6' }), 400, REGION_UNAVAILABLE_MESSAGE],
    ['missing model', { messages: [{ content: 'x' }] }, 400, PAYLOAD, '390142'],
    ['empty messages', simple({ messages: [] }), 400, PAYLOAD, '390142'],
    ['role tool', simple({ messages: [{ role: 'tool', content: 'x' }] }), 400, 'unknown role "tool"'],
    ['role developer', simple({ messages: [{ role: 'developer', content: 'x' }] }), 400, 'unknown role "developer"'],
    ['system not first', simple({ messages: [{ content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'system', content: 's' }, { content: 'c' }] }), 400, PAYLOAD, '390142'],
    ['two systems', simple({ messages: [{ role: 'system', content: 'a' }, { role: 'system', content: 'b' }, { content: 'c' }] }), 400, PAYLOAD, '390142'],
    ['last message assistant', simple({ messages: [{ content: 'a' }, { role: 'assistant', content: 'b' }] }), 400, PAYLOAD, '390142'],
    ['only a system message', simple({ messages: [{ role: 'system', content: 'a' }] }), 400, PAYLOAD, '390142'],
    ['two user messages in a row', simple({ messages: [{ content: 'a' }, { content: 'b' }] }), 400, PAYLOAD, '390142'],
    ['assistant first', simple({ messages: [{ role: 'assistant', content: 'a' }, { content: 'b' }] }), 400, PAYLOAD, '390142'],
    ['array content', simple({ messages: [{ content: [{ type: 'text', text: 'hi' }] }] }), 400, PAYLOAD, '390142'],
    ['null content', simple({ messages: [{ content: null }] }), 400, PAYLOAD, '390142'],
    ['empty content', simple({ messages: [{ role: 'user', content: '' }] }), 400, "messages[0].content cannot be empty string (was '')"],
    ['empty content beside content_list', simple({ messages: [{ content: 'a' }, { role: 'assistant', content: '', content_list: [{ type: 'text', text: 'b' }] }, { content: 'c' }] }), 400, "messages[1].content cannot be empty string (was '')"],
    ['neither content nor content_list', simple({ messages: [{ role: 'user' }] }), 400, PAYLOAD, '390142'],
    ['empty content_list', simple({ messages: [{ content_list: [] }] }), 400, PAYLOAD, '390142'],
    ['unknown key in a text item (annotations)', simple({ messages: [{ content_list: [{ type: 'text', text: 'a', annotations: [] }] }] }), 400, PAYLOAD, '390142'],
    ['unknown message key (tool_calls)', simple({ messages: [{ content: 'a', tool_calls: [] }] }), 400, PAYLOAD, '390142'],
    ['item type tool_result (singular)', withTools({ messages: [{ content_list: [{ type: 'tool_result', tool_result: {} }] }] }), 400, PAYLOAD, '390142'],
    ['bad cache_control', simple({ messages: [{ content_list: [{ type: 'text', text: 'a', cache_control: { type: 'ephemeral', ttl: '1h' } }] }] }), 400, PAYLOAD, '390142'],
    ['tool_results without name', { ...TOOL_FOLLOW_UP, messages: [TOOL_FOLLOW_UP.messages[0], TOOL_FOLLOW_UP.messages[1], { role: 'user', content_list: [{ type: 'tool_results', tool_results: { tool_use_id: TOOL_ID, content: [] } }] }] }, 400, 'tool_results.name is required'],
    ['tool_results name not in tools', { ...TOOL_FOLLOW_UP, tools: [{ tool_spec: { ...WEATHER_TOOL.tool_spec, name: 'other' } }], messages: [TOOL_FOLLOW_UP.messages[0], { role: 'assistant', content_list: [{ type: 'tool_use', tool_use: { tool_use_id: TOOL_ID, name: 'other', input: {} } }] }, TOOL_FOLLOW_UP.messages[2]] }, 400, 'tool_results name "get_weather" does not match any tool in tools'],
    ['tool_results id not in the previous assistant turn', { ...TOOL_FOLLOW_UP, messages: [TOOL_FOLLOW_UP.messages[0], TOOL_FOLLOW_UP.messages[1], { role: 'user', content_list: [{ type: 'tool_results', tool_results: { tool_use_id: TOOL_ID, name: 'get_weather', content: [] } }, { type: 'tool_results', tool_results: { tool_use_id: 'tooluse_other', name: 'get_weather', content: [] } }] }] }, 400, 'tool_results tool_use_id "tooluse_other" does not match a tool_use in the preceding assistant message'],
    ['tool_use without its result', { ...TOOL_FOLLOW_UP, messages: [TOOL_FOLLOW_UP.messages[0], TOOL_FOLLOW_UP.messages[1], { role: 'user', content: 'never mind' }] }, 400, 'Each toolUse block must be accompanied with a matching toolResult block'],
    ['tool_use input []', { ...TOOL_FOLLOW_UP, messages: [TOOL_FOLLOW_UP.messages[0], { role: 'assistant', content_list: [{ type: 'tool_use', tool_use: { tool_use_id: TOOL_ID, name: 'get_weather', input: [] } }] }, TOOL_FOLLOW_UP.messages[2]] }, 400, PAYLOAD, '390142'],
    ['tool_use input string', { ...TOOL_FOLLOW_UP, messages: [TOOL_FOLLOW_UP.messages[0], { role: 'assistant', content_list: [{ type: 'tool_use', tool_use: { tool_use_id: TOOL_ID, name: 'get_weather', input: '{}' } }] }, TOOL_FOLLOW_UP.messages[2]] }, 400, PAYLOAD, '390142'],
    ['tool_results in an assistant message', withTools({ messages: [{ content: 'a' }, { role: 'assistant', content_list: [TOOL_FOLLOW_UP.messages[2].content_list![0]] }, { content: 'b' }] }), 400, PAYLOAD, '390142'],
    ['image URL', simple({ messages: [{ content_list: [{ type: 'image', details: { type: 'url', content: 'https://x/y.png', content_type: 'image/png' } }] }] }), 400, PAYLOAD, '390142'],
    ['image data: URL as content', simple({ messages: [{ content_list: [img({ content: `data:image/png;base64,${PNG}` })] }] }), 400, PAYLOAD, '390142'],
    ['image content_type image/bmp', simple({ messages: [{ content_list: [img({ content_type: 'image/bmp' })] }] }), 400, PAYLOAD, '390142'],
    ['six images', simple({ messages: [{ content_list: [img(), img(), img(), img(), img(), img()] }] }), 400, 'too many images: 6 (at most 5 per request)'],
    ['image on a non-vision model', simple({ model: 'claude-3-5-sonnet', messages: [{ content_list: [img()] }] }), 400, 'model claude-3-5-sonnet does not support image input'],
    ['tools on a model without tool support', { ...withTools(), model: 'mistral-large' }, 400, 'model mistral-large does not support tool calling'],
    ['OpenAI-style tool', withTools({ tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] }), 400, OPTIONS],
    ['tool_spec type function', withTools({ tools: [{ tool_spec: { ...WEATHER_TOOL.tool_spec, type: 'function' } }] }), 400, OPTIONS],
    ['tool_choice none', withTools({ tool_choice: { type: 'none' } }), 400, OPTIONS],
    ['tool_choice auto with name', withTools({ tool_choice: { type: 'auto', name: ['get_weather'] } }), 400, OPTIONS],
    ['tool_choice tool without name', withTools({ tool_choice: { type: 'tool' } }), 400, OPTIONS],
    ['tool_choice name as a string', withTools({ tool_choice: { type: 'tool', name: 'get_weather' } }), 400, OPTIONS],
    ['max_tokens above 16384', simple({ max_tokens: 16385 }), 400, 'max tokens of count exceeded'],
    ['max_tokens above the model limit', simple({ model: 'mistral-large', max_tokens: 8193 }), 400, 'max tokens of count exceeded'],
    ['max_output_tokens above the model limit', simple({ model: 'mistral-large', max_output_tokens: 9000 }), 400, 'max tokens of count exceeded'],
    ['max_tokens 1.5', simple({ max_tokens: 1.5 }), 400, OPTIONS],
    ['temperature < 0', simple({ temperature: -0.1 }), 400, OPTIONS],
    ['top_p > 1', simple({ top_p: 1.5 }), 400, OPTIONS],
    ['stream "yes"', simple({ stream: 'yes' }), 400, OPTIONS],
    ['response_format json_schema', simple({ response_format: { type: 'json_schema', json_schema: {} } }), 400, OPTIONS],
    ['response_format without schema', simple({ response_format: { type: 'json' } }), 400, 'schema validation failed'],
    ['non-strict schema on an OpenAI model', simple({ model: 'openai-gpt-4.1', response_format: { type: 'json', schema: { type: 'object', properties: { a: { type: 'string' } } } } }), 400, /^input schema validation error: \[/],
    ['unknown top-level field (strict)', simple({ stop: ['x'] }), 400, OPTIONS],
    ['five cache breakpoints on Claude', simple({ messages: [{ content_list: [1, 2, 3, 4, 5].map((i) => ({ type: 'text', text: `t${i}`, cache_control: { type: 'ephemeral' } })) }] }), 400, 'A maximum of 4 blocks with cache_control may be provided. Found 5.'],
    ['thinking budget below 1024', simple({ anthropic: { thinking: { budget_tokens: 500 } } }), 400, OPTIONS],
    ['thinking on a non-Claude model', simple({ model: 'mistral-large', anthropic: { thinking: { budget_tokens: 2000 } } }), 400, OPTIONS],
    ['thinking with temperature 0.5', simple({ temperature: 0.5, anthropic: { thinking: { budget_tokens: 2000 } } }), 400, OPTIONS],
    ['thinking replay without signature', simple({ messages: [{ content: 'a' }, { role: 'assistant', content_list: [{ type: 'anthropic', anthropic: { thinking: { thinking: 'hm' } } }] }, { content: 'b' }] }), 400, PAYLOAD, '390142'],
  ];
  for (const [name, body, status, message, code] of cases) {
    it(name, async () => {
      const r = await call(body);
      assert.equal(r.status, status, r.text);
      if (typeof message === 'string') assert.equal(r.json.message, message);
      else assert.match(r.json.message, message);
      assert.equal(r.json.code, code);
      assert.equal(r.json.request_id, r.headers['x-snowflake-request-id']);
      assert.equal(emu.requests.at(-1)!.outcome, 'rejected');
    });
  }

  it('non-JSON body → 390142; missing Content-Type → 415', async () => {
    const r = await call(undefined, { raw: '{nope' });
    assert.deepEqual([r.status, r.json.code], [400, '390142']);
    const r2 = await call(undefined, { raw: JSON.stringify(simple()), headers: { 'content-type': 'text/plain' } });
    assert.equal(r2.status, 415);
  });

  it('the strict knob off lets unknown top-level fields through', async () => {
    emu.setKnobs({ strict: false });
    assert.equal((await call(simple({ stop: ['x'], disable_parallel_tool_use: true }))).status, 200);
  });

  it('an account model list limits the models (others: unknown model)', async () => {
    const small = await startEmulator({ quiet: true, models: ['mistral-large'] });
    try {
      const r = await call(simple(), { base: small, token: 't' });
      assert.deepEqual([r.status, r.json.message], [400, 'unknown model: "claude-sonnet-4-5"']);
      assert.equal((await call(simple({ model: 'mistral-large' }), { base: small, token: 't' })).status, 200);
    } finally {
      await small.close();
    }
  });
});

describe('validation accepts the documented bodies', () => {
  const good: Array<[string, unknown]> = [
    ['§2.5.1 minimal', { model: 'mistral-large', messages: [{ content: 'Summarize this: <text>' }], top_p: 0, temperature: 0 }],
    ['§2.5.2 tool declaration', { model: 'claude-3-5-sonnet', messages: [{ role: 'user', content: 'What is the weather like in San Francisco?' }], tools: [WEATHER_TOOL], max_tokens: 4096, top_p: 1, stream: true }],
    ['§2.5.3 tool result follow-up', TOOL_FOLLOW_UP],
    ['§2.5.4 structured output', { model: 'mistral-large2', messages: [{ role: 'user', content: 'Extract people: Alice is 30, Bob is 25' }], response_format: { type: 'json', schema: { type: 'object', properties: { people: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, age: { type: 'number' } }, required: ['name', 'age'] } } }, required: ['people'] } } }],
    ['§2.5.5 images', { model: 'claude-4-sonnet', messages: [{ role: 'user', content_list: [img(), img(), { type: 'text', text: 'Compare these two images.' }] }] }],
    ['§2.5.6 OpenAI reasoning', { model: 'openai-gpt-5', messages: [{ role: 'user', content: '...' }], openai: { reasoning: { effort: 'low' } } }],
    ['§2.5.6 Claude thinking', { model: 'claude-haiku-4-5', temperature: 1, messages: [{ role: 'user', content: '...' }], anthropic: { thinking: { budget_tokens: 4000 } } }],
    ['thinking replay (DOC and SPEC item forms)', simple({ messages: [{ content: 'a' }, { role: 'assistant', content_list: [{ type: 'anthropic', anthropic: { thinking: { thinking: 'hm', signature: 'sig' } } }, { type: 'text', text: 'b' }] }, { content: 'c' }, { role: 'assistant', content_list: [{ type: 'anthropic', thinking: { thinking: 'hm', signature: 'sig' } }] }, { content: 'd' }] })],
    ['OpenAI reasoning replay', simple({ model: 'openai-gpt-5', messages: [{ content: 'a' }, { role: 'assistant', content_list: [{ type: 'openai', openai: { reasoning: { summary: 's', encrypted_content: 'e' } } }] }, { content: 'b' }] })],
    ['§2.5.7 guardrails, max_output_tokens, provisioned_throughput_id, system first, role omitted', { model: 'llama3.1-70b', messages: [{ role: 'system', content: 'be brief' }, { content: 'hi' }], guardrails: { enabled: true, response_when_unsafe: 'Response filtered by Cortex Guard' }, max_output_tokens: 100, provisioned_throughput_id: 'ptu-1' }],
    ['cache_control beside and inside tool_spec, on items, 4 breakpoints', withTools({ tools: [{ ...WEATHER_TOOL, cache_control: { type: 'ephemeral' } }, { tool_spec: { ...WEATHER_TOOL.tool_spec, name: 'w2', cache_control: { type: 'ephemeral' } } }], messages: [{ content_list: [{ type: 'text', text: 'a', cache_control: { type: 'ephemeral' } }, { ...img(), cache_control: { type: 'ephemeral' } }] }], model: 'claude-sonnet-4-5' })],
    ['tool results with json items, status error, several results in one user turn; tool_choice tool', { ...TOOL_FOLLOW_UP, tool_choice: { type: 'tool', name: ['get_weather'] }, messages: [TOOL_FOLLOW_UP.messages[0], { role: 'assistant', content_list: [{ type: 'tool_use', tool_use: { tool_use_id: 'a', name: 'get_weather', input: {} } }, { type: 'tool_use', tool_use: { tool_use_id: 'b', name: 'get_weather', input: { location: 'x' } } }] }, { role: 'user', content_list: [{ type: 'tool_results', tool_results: { tool_use_id: 'a', name: 'get_weather', content: [{ type: 'json', json: { temp_f: 69 } }], status: 'success' } }, { type: 'tool_results', tool_results: { tool_use_id: 'b', name: 'get_weather', content: [{ type: 'text', text: 'boom' }], status: 'error', result: {} } }, { type: 'text', text: 'and?' }] }] }],
    ['max_tokens exactly min(16384, model max)', simple({ model: 'mistral-large', max_tokens: 8192 })],
    ['OpenAI strict schema on an OpenAI model', simple({ model: 'openai-gpt-4.1', response_format: { type: 'json', schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false } } })],
  ];
  for (const [name, body] of good) {
    it(name, async () => {
      const r = await call(body);
      assert.equal(r.status, 200, r.text);
      assert.equal(emu.requests.at(-1)!.outcome, 'ok');
    });
  }
});

/** Text/tool content of a parsed stream, normalised the way §3.2 tells the proxy to. */
function collect(chunks: Json[]) {
  let text = '';
  const tools: Array<{ id: string; name: string; input: string }> = [];
  for (const c of chunks) {
    if (c === '[DONE]') continue;
    const d = c.choices[0].delta;
    const cl = d.content_list?.[0] ?? {};
    const id = d.tool_use_id ?? cl.tool_use_id;
    if (id) tools.push({ id, name: d.name ?? cl.name, input: '' });
    const input = d.input ?? cl.input;
    if (input !== undefined) tools.at(-1)!.input += input;
    if (!id && input === undefined && d.type !== 'anthropic' && d.type !== 'openai') text += d.content ?? '';
  }
  return { text, tools };
}

describe('streaming chunk variants (§3.1–§3.4)', () => {
  const reply = { text: 'I will check the weather now.', toolCalls: [{ name: 'get_weather', input: { location: 'San Francisco, CA' }, id: 'tooluse_abc' }] };

  it('variant A (mistral default): created, content only, cumulative usage, no [DONE], no finish_reason', async () => {
    emu.script({ text: 'Cortex is a managed service.' });
    const r = await call(simple({ model: 'mistral-large' }));
    assert.equal(r.headers['content-type'], 'text/event-stream');
    assert.equal(r.headers['cache-control'], 'no-cache');
    const chunks = parseSse(r.text);
    assert.ok(chunks.length >= 2);
    const id = r.headers['x-snowflake-request-id'];
    let prev = 0;
    for (const c of chunks) {
      assert.deepEqual(Object.keys(c), ['id', 'created', 'model', 'choices', 'usage']);
      assert.equal(c.id, id);
      assert.equal(c.model, 'mistral-large');
      assert.deepEqual(Object.keys(c.choices[0]), ['delta']);
      assert.deepEqual(Object.keys(c.choices[0].delta), ['content']);
      assert.ok(c.usage.completion_tokens >= prev);
      prev = c.usage.completion_tokens;
      assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
    }
    assert.equal(collect(chunks).text, 'Cortex is a managed service.');
    assert.equal(prev, emu.requests[0].reply!.usage.completion_tokens);
    assert.ok(!r.text.includes('[DONE]'));
  });

  it('variant B: content + content_list text, content_list tool start/input, usage {} until a final empty delta', async () => {
    emu.setKnobs({ variant: 'B' });
    emu.script(reply);
    const chunks = parseSse((await call(withTools())).text);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices[0].delta, {});
    assert.ok(last.usage.prompt_tokens > 0 && last.usage.completion_tokens > 0);
    for (const c of chunks.slice(0, -1)) {
      assert.deepEqual(c.usage, {});
      assert.equal('created' in c, false);
      const d = c.choices[0].delta;
      assert.equal('type' in d, false);
      if ('content' in d) assert.deepEqual(d.content_list, [{ text: d.content, type: 'text' }]);
    }
    const start = chunks.find((c) => c.choices[0].delta.content_list?.[0]?.tool_use_id);
    assert.deepEqual(start.choices[0].delta, { content_list: [{ name: 'get_weather', tool_use_id: 'tooluse_abc' }] });
    const got = collect(chunks);
    assert.equal(got.text, reply.text);
    assert.deepEqual(got.tools.map((t) => [t.id, t.name, JSON.parse(t.input)]), [['tooluse_abc', 'get_weather', { location: 'San Francisco, CA' }]]);
  });

  it('variant C (Claude default): type discriminator, duplicated text, flattened tool fields, usage on the last content chunk', async () => {
    emu.script(reply);
    const chunks = parseSse((await call(withTools())).text);
    for (const c of chunks.slice(0, -1)) assert.deepEqual(c.usage, {});
    const last = chunks.at(-1);
    assert.equal(last.choices[0].delta.type, 'tool_use');
    assert.ok(last.usage.completion_tokens > 0);
    const texts = chunks.filter((c) => c.choices[0].delta.type === 'text');
    for (const c of texts) {
      const d = c.choices[0].delta;
      assert.deepEqual(Object.keys(d), ['type', 'content', 'content_list', 'text']);
      assert.equal(d.text, d.content);
      assert.deepEqual(d.content_list, [{ type: 'text', text: d.content }]);
    }
    const start = chunks.find((c) => c.choices[0].delta.tool_use_id).choices[0].delta;
    assert.deepEqual(start, {
      type: 'tool_use',
      tool_use_id: 'tooluse_abc',
      name: 'get_weather',
      content_list: [{ tool_use_id: 'tooluse_abc', name: 'get_weather' }],
      text: '',
    });
    const frags = chunks.filter((c) => typeof c.choices[0].delta.input === 'string');
    assert.ok(frags.length > 1, 'input arrives as several string fragments');
    for (const f of frags) assert.deepEqual(f.choices[0].delta.content_list, [{ input: f.choices[0].delta.input }]);
    const got = collect(chunks);
    assert.equal(got.text, reply.text);
    assert.deepEqual(JSON.parse(got.tools[0].input), { location: 'San Francisco, CA' });
  });

  it('variant A with tools: flat SPEC fields; several tool calls are sequential', async () => {
    emu.setKnobs({ variant: 'A' });
    emu.script({ toolCalls: [{ name: 'get_weather', input: { location: 'A' } }, { name: 'get_weather', input: { location: 'B' } }] });
    const chunks = parseSse((await call(withTools({ model: 'openai-gpt-4.1' }))).text);
    assert.equal(chunks[0].choices[0].delta.type, 'tool_use', 'the tool start may be the very first chunk (§3.3)');
    const got = collect(chunks);
    assert.deepEqual(got.tools.map((t) => JSON.parse(t.input)), [{ location: 'A' }, { location: 'B' }]);
    assert.match(got.tools[0].id, /^tooluse_[A-Za-z0-9_-]{22}$/);
    assert.notEqual(got.tools[0].id, got.tools[1].id);
  });

  it('knobs: event lines, multi-line data, [DONE], created on C, cumulative usage on C, chunk size', async () => {
    emu.setKnobs({ eventLines: true, multilineData: true, done: true, created: true, usage: 'cumulative', chunkChars: 5 });
    emu.script({ text: 'abcdefghijklmnopqrst' });
    const r = await call(simple());
    assert.match(r.text, /^event: message\ndata: \{\ndata: {3}"id"/);
    assert.ok(r.text.endsWith('data: [DONE]\n\n'));
    const chunks = parseSse(r.text);
    assert.equal(chunks.at(-1), '[DONE]');
    const data = chunks.slice(0, -1);
    assert.deepEqual(data.map((c) => c.choices[0].delta.content), ['abcde', 'fghij', 'klmno', 'pqrst']);
    assert.ok(data.every((c) => typeof c.created === 'number' && c.usage.completion_tokens > 0));
  });

  it('chunking never splits a surrogate pair', async () => {
    emu.setKnobs({ chunkChars: 1, variant: 'A' });
    emu.script({ text: 'a😀b🎉' });
    const parts = parseSse((await call(simple())).text).map((c) => c.choices[0].delta.content);
    assert.deepEqual(parts, ['a', '😀', 'b', '🎉']);
  });

  it('parameterless tool input: "" (default), omitted, or "{}"', async () => {
    const inputs = async () => {
      emu.script({ toolCalls: [{ name: 'get_weather', input: {} }] });
      return parseSse((await call(withTools())).text)
        .map((c) => c.choices[0].delta.input)
        .filter((x) => x !== undefined);
    };
    assert.deepEqual(await inputs(), ['']);
    emu.setKnobs({ emptyToolInput: 'omit' });
    assert.deepEqual(await inputs(), []);
    emu.setKnobs({ emptyToolInput: 'braces' });
    assert.deepEqual(await inputs(), ['{}']);
  });

  it('Claude thinking: type anthropic deltas then a signature, before the text [INF shape]', async () => {
    emu.script({ thinking: 'Let me think.', text: 'Done.' });
    const chunks = parseSse((await call(simple())).text);
    const th = chunks.filter((c) => c.choices[0].delta.type === 'anthropic').map((c) => c.choices[0].delta.thinking);
    assert.equal(th.filter((t) => 'thinking' in t).map((t) => t.thinking).join(''), 'Let me think.');
    assert.ok(typeof th.at(-1).signature === 'string' && th.at(-1).signature.length > 0);
    assert.equal(chunks[0].choices[0].delta.type, 'anthropic');
    assert.equal(collect(chunks).text, 'Done.');
  });

  it('OpenAI reasoning: type openai summary deltas; default reply thinks when thinking is requested', async () => {
    emu.script({ thinking: 'Reasoning.', text: 'ok' });
    const chunks = parseSse((await call(simple({ model: 'openai-gpt-5' }))).text);
    const sums = chunks.filter((c) => c.choices[0].delta.type === 'openai').map((c) => c.choices[0].delta.reasoning);
    assert.equal(sums.filter((s) => s.summary).map((s) => s.summary).join(''), 'Reasoning.');
    assert.ok(sums.at(-1).encrypted_content);
    const r = await call(simple({ anthropic: { thinking: { budget_tokens: 2000 } } }));
    assert.ok(parseSse(r.text).some((c) => c.choices[0].delta.type === 'anthropic'));
  });

  it('Cortex Guard: response_when_unsafe text, finish_reason prohibited_content, guard_tokens', async () => {
    emu.script({ text: 'something unsafe', finishReason: 'prohibited_content' });
    const chunks = parseSse((await call(simple({ guardrails: { enabled: true, response_when_unsafe: 'Filtered!' } }))).text);
    assert.equal(collect(chunks).text, 'Filtered!');
    const last = chunks.at(-1);
    assert.equal(last.choices[0].finish_reason, 'prohibited_content');
    assert.ok(last.usage.guard_tokens > 0);
    assert.ok(chunks.slice(0, -1).every((c) => !('finish_reason' in c.choices[0])));
  });

  it('finishReason knob: tool_calls on the last chunk', async () => {
    emu.setKnobs({ finishReason: true });
    emu.script(reply);
    const chunks = parseSse((await call(withTools())).text);
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'tool_calls');
  });

  it('max_tokens truncates the output: completion_tokens = max_tokens only when cut', async () => {
    emu.script({ text: 'x'.repeat(100) }, { text: 'y'.repeat(16) });
    const cut = parseSse((await call(simple({ max_tokens: 5 }))).text);
    assert.equal(collect(cut).text, 'x'.repeat(20));
    assert.equal(cut.at(-1).usage.completion_tokens, 5);
    const whole = parseSse((await call(simple({ max_tokens: 4 }))).text);
    assert.equal(collect(whole).text, 'y'.repeat(16));
    assert.ok(whole.at(-1).usage.completion_tokens < 4);
  });

  it('scripted usage overrides the estimate', async () => {
    emu.script({ text: 'hi', usage: { prompt_tokens: 397, completion_tokens: 65 } });
    const last = parseSse((await call(simple())).text).at(-1);
    assert.deepEqual(last.usage, { prompt_tokens: 397, completion_tokens: 65, total_tokens: 462 });
  });
});

describe('stream:false (§3.7)', () => {
  it('JSON with id/created/model, content, content_list with parsed tool input, usage', async () => {
    emu.script({ text: "I'll check the weather.", toolCalls: [{ name: 'get_weather', input: { location: 'San Francisco, CA' }, id: 'tooluse_abc' }] });
    const r = await call(withTools({ stream: false }));
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.json.id, r.headers['x-snowflake-request-id']);
    assert.equal(typeof r.json.created, 'number');
    assert.equal(r.json.model, 'claude-3-5-sonnet');
    assert.deepEqual(r.json.choices, [
      {
        message: {
          content: "I'll check the weather.",
          content_list: [
            { type: 'text', text: "I'll check the weather." },
            { type: 'tool_use', tool_use: { tool_use_id: 'tooluse_abc', name: 'get_weather', input: { location: 'San Francisco, CA' } } },
          ],
        },
      },
    ]);
    assert.equal(r.json.usage.total_tokens, r.json.usage.prompt_tokens + r.json.usage.completion_tokens);
    assert.equal('finish_reason' in r.json, false);
  });

  it('a tool call cut by max_tokens is left out; completion_tokens = max_tokens', async () => {
    emu.script({ text: 'abcd', toolCalls: [{ name: 'get_weather', input: { location: 'a long place name here' } }] });
    const r = await call(withTools({ stream: false, max_tokens: 3 }));
    assert.deepEqual(r.json.choices[0].message.content_list, [{ type: 'text', text: 'abcd' }]);
    assert.equal(r.json.usage.completion_tokens, 3);
  });
});

describe('default (demo) reply', () => {
  it('echoes the question, deterministically', async () => {
    const a = await call(simple({ stream: false, messages: [{ content: 'What is   Snowflake?' }] }));
    const b = await call(simple({ stream: false, messages: [{ content: 'What is   Snowflake?' }] }));
    const text = a.json.choices[0].message.content;
    assert.match(text, /cortex-proxy demo emulator/);
    assert.match(text, /You asked: "What is Snowflake\?"/);
    assert.equal(text, b.json.choices[0].message.content);
  });

  it('summarises tool results by tool name', async () => {
    const r = await call({ ...TOOL_FOLLOW_UP, stream: false });
    assert.match(r.json.choices[0].message.content, /get_weather returned "temperature": "69 fahrenheit"/);
  });

  it('response_format → a JSON instance of the schema; tool_choice required → a tool call', async () => {
    const schema = { type: 'object', properties: { people: { type: 'array', items: { type: 'string' } }, n: { type: 'integer' } }, required: ['people', 'n'] };
    const r = await call(simple({ model: 'mistral-large2', stream: false, response_format: { type: 'json', schema } }));
    assert.deepEqual(JSON.parse(r.json.choices[0].message.content), { people: [], n: 0 });
    const t = await call(withTools({ stream: false, tool_choice: { type: 'required' } }));
    const item = t.json.choices[0].message.content_list[0];
    assert.equal(item.type, 'tool_use');
    assert.deepEqual(item.tool_use.input, { location: 'demo' });
  });
});

describe('faults', { timeout: 5000 }, () => {
  it('429 with Retry-After does not consume the script', async () => {
    emu.inject({ status: 429, retryAfter: 2 });
    emu.script({ text: 'after the storm' });
    const r = await call(simple());
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '2');
    assert.equal(r.json.message, 'too many requests');
    assert.equal(collect(parseSse((await call(simple())).text)).text, 'after the storm');
    assert.deepEqual(emu.requests.map((q) => q.outcome), ['rejected', 'ok']);
    assert.deepEqual(emu.requests[0].fault, { status: 429, retryAfter: 2 });
    const seen = emu.requests[1];
    assert.equal(seen.method, 'POST');
    assert.equal(seen.path, '/api/v2/cortex/inference:complete');
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal((seen.body as Json).model, 'claude-sonnet-4-5');
  });

  it('503 inference timed out, 500, and a custom 401 in FIFO order', async () => {
    emu.inject({ status: 503, message: 'inference timed out' }, { status: 500 }, { status: 401, code: '390144', message: 'JWT token is invalid.' });
    const a = await call(simple());
    const b = await call(simple());
    const c = await call(simple());
    assert.deepEqual([a.status, a.json.message], [503, 'inference timed out']);
    assert.equal(b.status, 500);
    assert.deepEqual([c.status, c.json.code], [401, '390144']);
    assert.equal((await call(simple())).status, 200);
  });

  it('faults wait for a valid request (an invalid one is rejected first)', async () => {
    emu.inject({ status: 500 });
    assert.equal((await call(simple({ messages: [] }))).status, 400);
    assert.equal((await call(simple())).status, 500);
  });

  it('mid-stream error after n chunks (§3.6)', async () => {
    emu.setKnobs({ chunkChars: 2 });
    emu.inject({ midStreamError: 'boom', afterChunks: 2 });
    emu.script({ text: 'abcdefgh' });
    const r = await call(simple());
    assert.equal(r.status, 200);
    const chunks = parseSse(r.text);
    assert.equal(chunks.length, 3);
    assert.equal(collect(chunks.slice(0, 2)).text, 'abcd');
    assert.deepEqual(chunks[2], { error: { message: 'boom', code: '500' } });
    assert.equal(emu.requests[0].outcome, 'faulted');
  });

  it('200 JSON error body (390112 session expired)', async () => {
    emu.inject({ json200Error: { code: '390112', message: 'Your session has expired. Please login again.' } });
    const r = await call(simple());
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.json.code, '390112');
  });

  it('TCP cut after n chunks: the client sees the chunks, then a broken body', async () => {
    emu.setKnobs({ chunkChars: 2 });
    emu.inject({ cutAfterChunks: 1 });
    emu.script({ text: 'abcdefgh' });
    const r = await request(emu.url + '/api/v2/cortex/inference:complete', {
      method: 'POST',
      headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json' },
      body: JSON.stringify(simple()),
    });
    assert.equal(r.statusCode, 200);
    let got = '';
    await assert.rejects(async () => {
      for await (const c of r.body) got += c.toString();
    });
    assert.equal(collect(parseSse(got)).text, 'ab');
    assert.equal(emu.requests[0].outcome, 'faulted');
  });

  it('raw fault sends anything verbatim', async () => {
    emu.inject({ raw: { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>bad gateway</html>' } });
    const r = await call(simple());
    assert.deepEqual([r.status, r.text], [502, '<html>bad gateway</html>']);
  });
});

describe('client disconnects (abort detection)', { timeout: 5000 }, () => {
  async function openStream(body: unknown, signal: AbortSignal) {
    return request(emu.url + '/api/v2/cortex/inference:complete', {
      method: 'POST',
      headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
  }

  it('stall after n chunks: aborting after the first chunk records aborted (waitForAbort called first)', async () => {
    emu.inject({ stallAfterChunks: 1 });
    const waiting = emu.waitForAbort();
    const ac = new AbortController();
    const r = await openStream(simple(), ac.signal);
    const it = r.body[Symbol.asyncIterator]();
    const first = await it.next();
    assert.match(first.value.toString(), /^data: /);
    ac.abort();
    const rec = await waiting;
    assert.equal(rec.outcome, 'aborted');
    assert.deepEqual(rec.fault, { stallAfterChunks: 1 });
    await it.return?.().catch(() => {});
  });

  it('a slow stream stops generating once the client leaves (waitForAbort called after)', async () => {
    emu.setKnobs({ chunkDelayMs: 15, chunkChars: 1 });
    emu.script({ text: 'abcdefghij' }, { text: 'klmnopqrstuvwxyz0123' });
    const ac = new AbortController();
    const r = await openStream(simple(), ac.signal);
    const it = r.body[Symbol.asyncIterator]();
    await it.next();
    ac.abort();
    await it.return?.().catch(() => {});
    const rec = await emu.waitForAbort();
    assert.equal(rec.outcome, 'aborted');
    // A full second stream takes longer than what was left of the first; had the first kept generating,
    // it would have finished (and been recorded 'ok') by now.
    const second = await call(simple());
    assert.equal(collect(parseSse(second.text)).text, 'klmnopqrstuvwxyz0123');
    assert.equal(emu.requests[0].outcome, 'aborted');
    assert.equal(emu.requests[1].outcome, 'ok');
  });

  it('hang before headers: the client timeout is seen as an abort', async () => {
    emu.inject({ hangBeforeHeaders: true });
    await assert.rejects(
      request(emu.url + '/api/v2/cortex/inference:complete', {
        method: 'POST',
        headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json' },
        body: JSON.stringify(simple()),
        headersTimeout: 100,
      }),
    );
    const rec = await emu.waitForAbort((q) => q.fault !== undefined);
    assert.deepEqual(rec.fault, { hangBeforeHeaders: true });
  });
});

describe('GET /api/v2/cortex/models (§1, §3.8) and routing', () => {
  it('415 391910 without a JSON body; the list with {}; region-unavailable ids left out; filter', async () => {
    const bare = await call(undefined, { path: '/api/v2/cortex/models', method: 'GET', headers: { 'content-type': '' } });
    assert.equal(bare.status, 415);
    assert.equal(bare.json.code, '391910');
    assert.equal(bare.json.message, 'Invalid input value. null');
    const ok = await call({}, { path: '/api/v2/cortex/models', method: 'GET' });
    assert.equal(ok.status, 200);
    assert.ok(ok.json.models.includes('claude-sonnet-4-5'));
    assert.ok(!ok.json.models.includes('claude-opus-4-6'));
    const f = await call({ models: ['mistral-large', 'nope'] }, { path: '/api/v2/cortex/models', method: 'GET' });
    assert.deepEqual(f.json, { models: ['mistral-large'] });
    const noAuth = await call({}, { path: '/api/v2/cortex/models', method: 'GET', token: null });
    assert.equal(noAuth.status, 401);
  });

  it('unknown path → 404 JSON, wrong method → 405, both with a request id', async () => {
    const nf = await call({}, { path: '/api/v2/cortex/v1/models', method: 'GET' });
    assert.equal(nf.status, 404);
    assert.ok(nf.json.message);
    assert.ok(nf.headers['x-snowflake-request-id']);
    const wm = await call(undefined, { method: 'GET' });
    assert.equal(wm.status, 405);
    assert.equal(wm.headers.allow, 'POST');
  });
});

describe('admin surface and API', () => {
  const admin = async (path: string, body?: unknown, method = 'POST') => {
    const r = await request(emu.url + '/_emulator/' + path, {
      method: method as 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.statusCode, json: (await r.body.json()) as Json };
  };

  it('script, inject, knobs, requests, reset over HTTP', async () => {
    assert.equal((await admin('script', [{ text: 'one' }, { text: 'two' }])).json.queued, 2);
    assert.equal((await admin('inject', { status: 429 })).status, 200);
    assert.equal((await admin('knobs', { variant: 'B' })).json.knobs.variant, 'B');
    assert.equal((await call(simple())).status, 429);
    const chunks = parseSse((await call(simple())).text);
    assert.equal(collect(chunks).text, 'one');
    assert.ok('content_list' in chunks[0].choices[0].delta && !('type' in chunks[0].choices[0].delta));
    const reqs = await admin('requests', undefined, 'GET');
    assert.equal(reqs.json.length, 2);
    assert.equal(reqs.json[1].reply.text, 'one');
    assert.equal((await admin('knobs', { varient: 'B' })).status, 400);
    assert.equal((await admin('inject', { nonsense: true })).status, 400);
    await admin('reset');
    assert.equal(emu.requests.length, 0);
    assert.equal(emu.knobs.variant, 'auto');
    const after = await call(simple({ stream: false }));
    assert.match(after.json.choices[0].message.content, /demo emulator/, 'reset also cleared the script');
  });

  it('when: a scripted reply is consumed only by a matching request; others get the demo reply and leave it queued', async () => {
    emu.script(
      { when: { tool: 'get_weather', lastUserIncludes: 'weather' }, toolCalls: [{ name: 'get_weather', input: { location: 'Oslo' } }] },
      { when: { model: 'llama3.1-70b' }, text: 'from llama' },
    );
    const side = await call(simple({ stream: false, messages: [{ role: 'user', content: 'Write a title for: weather?' }] }));
    assert.match(side.json.choices[0].message.content, /demo emulator/, 'no tools offered: not the scripted call');
    const otherText = await call(withTools({ stream: false, messages: [{ role: 'user', content: 'quota' }] }));
    assert.match(otherText.json.choices[0].message.content, /demo emulator/, 'tool offered but the prompt does not match');
    const main = await call(withTools({ stream: false }));
    assert.equal(main.json.choices[0].message.content_list[0].tool_use.name, 'get_weather');
    assert.deepEqual(main.json.choices[0].message.content_list[0].tool_use.input, { location: 'Oslo' });
    const again = await call(withTools({ stream: false }));
    assert.match(again.json.choices[0].message.content, /demo emulator/, 'consumed once');
    const llama = await call(simple({ stream: false, model: 'llama3.1-70b' }));
    assert.equal(llama.json.choices[0].message.content, 'from llama');
    // A tool-result turn has no user text, so lastUserIncludes does not match it.
    emu.script({ when: { lastUserIncludes: 'weather' }, text: 'scripted' });
    const followUp = await call({ ...TOOL_FOLLOW_UP, stream: false });
    assert.match(followUp.json.choices[0].message.content, /Tool results received/);
    // Without `when`, the queue stays strictly FIFO.
    emu.reset();
    emu.script({ text: 'first' }, { when: { tool: 'nope' }, text: 'never' }, { text: 'second' });
    assert.equal((await call(simple({ stream: false }))).json.choices[0].message.content, 'first');
    assert.equal((await call(simple({ stream: false }))).json.choices[0].message.content, 'second');
  });

  it('when over HTTP: accepted on /_emulator/script, typos rejected', async () => {
    assert.equal((await admin('script', { when: { tool: 'get_weather' }, text: 'with tools' })).json.queued, 1);
    assert.match((await call(simple({ stream: false }))).json.choices[0].message.content, /demo emulator/);
    assert.equal((await call(withTools({ stream: false }))).json.choices[0].message.content, 'with tools');
    const typo = await admin('script', { when: { tools: 'get_weather' }, text: 'x' });
    assert.equal(typo.status, 400);
    assert.match(typo.json.message, /unknown when field "tools"/);
    assert.equal((await admin('script', { when: { model: 7 } })).status, 400);
    assert.equal((await admin('script', { when: 'always' })).status, 400);
    assert.throws(() => emu.script({ when: { lastUser: 'x' } } as never), /unknown when field/);
  });

  it('setKnobs rejects typos; reset restores construction knobs', async () => {
    assert.throws(() => emu.setKnobs({ chunkSize: 3 } as never), /unknown knob/);
    assert.throws(() => emu.setKnobs({ usage: 'sometimes' } as never), /bad value/);
    const custom = await startEmulator({ quiet: true, variant: 'B', knobs: { done: true } });
    try {
      custom.setKnobs({ variant: 'C', done: false });
      custom.reset();
      assert.equal(custom.knobs.variant, 'B');
      assert.equal(custom.knobs.done, true);
      assert.equal(custom.apiBase, custom.url + '/api/v2');
      assert.match(custom.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await custom.close();
    }
  });
});
