import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { completeWire } from '../src/cortex/complete.js';
import { PLACEHOLDER_USER_TEXT, EMPTY_TOOL_RESULT_TEXT } from '../src/cortex/plan.js';
import { ProxyError } from '../src/core/errors.js';
import type { ChatRequest, Message, StreamEvent } from '../src/core/types.js';
import type { Deployment } from '../src/config/types.js';
import type { DecoderContext } from '../src/cortex/wire.js';

// ───────────── helpers ─────────────

function dep(cortexModel: string, extra: Partial<Deployment> = {}): Deployment {
  return {
    modelName: 'm',
    cortexModel,
    apiBase: 'https://x.snowflakecomputing.com/api/v2',
    auth: { type: 'pat', token: 't' },
    wire: 'complete',
    ...extra,
  };
}

function req(messages: Message[], extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'm', messages, stream: true, includeUsage: false, unsupported: [], ...extra };
}

const user = (text: string): Message => ({ role: 'user', parts: [{ type: 'text', text }] });
const assistant = (text: string): Message => ({ role: 'assistant', parts: [{ type: 'text', text }] });

function encode(r: ChatRequest, model = 'claude-sonnet-4-5', extra: Partial<Deployment> = {}) {
  return completeWire.encodeRequest(r, dep(model, extra));
}

function encodeError(r: ChatRequest, model = 'claude-sonnet-4-5'): ProxyError {
  try {
    encode(r, model);
  } catch (e) {
    assert.ok(e instanceof ProxyError, `expected ProxyError, got ${e}`);
    return e;
  }
  assert.fail('expected encodeRequest to throw');
}

function decode(chunks: string[], ctx: DecoderContext = {}): StreamEvent[] {
  const events: StreamEvent[] = [];
  const emit = (e: StreamEvent) => events.push(e);
  const d = completeWire.createStreamDecoder(ctx);
  for (const c of chunks) d.feed(c, emit);
  d.end(emit);
  return events;
}

/** Events with error objects reduced to comparable facts. */
function plain(events: StreamEvent[]): unknown[] {
  return events.map((e) =>
    e.type === 'error'
      ? { type: 'error', kind: e.error.kind, message: e.error.message, code: e.error.code, requestId: e.error.requestId }
      : e,
  );
}

function decodeJson(body: unknown, ctx: DecoderContext = {}): StreamEvent[] {
  const events: StreamEvent[] = [];
  completeWire.decodeJson(body, ctx, (e) => events.push(e));
  return events;
}

function splitEvery(text: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += n) out.push(text.slice(i, i + n));
  return out;
}

const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const WEATHER_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { location: { type: 'string' } },
  required: ['location'],
};

// ───────────── encodeRequest ─────────────

describe('encodeRequest: messages', () => {
  test('system + user text: exact minimal body', () => {
    const enc = encode(req([user('Hi')], { system: 'Be brief.' }));
    assert.equal(enc.path, '/cortex/inference:complete');
    assert.equal(enc.maxTokens, 16384);
    assert.deepEqual(enc.body, {
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      max_tokens: 16384,
      stream: true,
    });
  });

  test('empty system is not sent; empty text parts and empty messages are dropped (never content:"")', () => {
    const enc = encode(
      req(
        [
          { role: 'user', parts: [{ type: 'text', text: '' }] },
          assistant(''),
          { role: 'user', parts: [{ type: 'text', text: '' }, { type: 'text', text: 'Q' }] },
        ],
        { system: '' },
      ),
    );
    assert.deepEqual(enc.body.messages, [{ role: 'user', content: 'Q' }]);
  });

  test('consecutive user turns merge ("\\n\\n"); parts of one turn join with "\\n"', () => {
    const enc = encode(
      req([
        user('a'),
        { role: 'user', parts: [{ type: 'text', text: 'b' }, { type: 'text', text: 'c' }] },
        assistant('x'),
        assistant('y'),
        user('z'),
      ]),
    );
    assert.deepEqual(enc.body.messages, [
      { role: 'user', content: 'a\n\nb\nc' },
      { role: 'assistant', content: 'x\n\ny' },
      { role: 'user', content: 'z' },
    ]);
  });

  test('a conversation opening with an assistant turn gets a placeholder user turn', () => {
    const enc = encode(req([assistant('Hello, how can I help?'), user('Fix it')], { system: 'S' }));
    assert.deepEqual(enc.body.messages, [
      { role: 'system', content: 'S' },
      { role: 'user', content: PLACEHOLDER_USER_TEXT },
      { role: 'assistant', content: 'Hello, how can I help?' },
      { role: 'user', content: 'Fix it' },
    ]);
  });

  test('a trailing assistant turn (prefill) is refused with invalid_request', () => {
    const err = encodeError(req([user('a'), assistant('{"')]));
    assert.equal(err.kind, 'invalid_request');
    assert.match(err.message, /must end with a user message/);
  });

  test('no messages at all is invalid_request', () => {
    assert.equal(encodeError(req([])).kind, 'invalid_request');
  });

  test('assistant tool calls → content_list [text, tool_use]; two results → ONE user message, names, then user text', () => {
    const tools = [{ name: 'get_weather', description: 'Weather', jsonSchema: WEATHER_SCHEMA }];
    const enc = encode(
      req(
        [
          user('Weather in SF and NYC?'),
          {
            role: 'assistant',
            parts: [
              { type: 'text', text: 'Checking.' },
              { type: 'tool_call', id: 'call_1', name: 'get_weather', argumentsJson: '{"location":"SF"}' },
              { type: 'tool_call', id: 'call_2', name: 'get_weather', argumentsJson: '{"location":"NYC"}' },
            ],
          },
          {
            role: 'user',
            parts: [
              { type: 'tool_result', callId: 'call_1', name: 'get_weather', parts: [{ type: 'text', text: '69F' }] },
              { type: 'tool_result', callId: 'call_2', name: '', parts: [{ type: 'text', text: 'boom' }], isError: true },
            ],
          },
          user('Thanks, compare them.'),
        ],
        { tools },
      ),
    );
    const msgs = enc.body.messages as Array<Record<string, unknown>>;
    assert.equal(msgs.length, 3);
    assert.ok(msgs.every((m) => m.role !== 'tool'));
    assert.deepEqual(msgs[1], {
      role: 'assistant',
      content_list: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', tool_use: { tool_use_id: 'call_1', name: 'get_weather', input: { location: 'SF' } } },
        { type: 'tool_use', tool_use: { tool_use_id: 'call_2', name: 'get_weather', input: { location: 'NYC' } } },
      ],
    });
    assert.deepEqual(msgs[2], {
      role: 'user',
      content_list: [
        {
          type: 'tool_results',
          tool_results: { tool_use_id: 'call_1', name: 'get_weather', content: [{ type: 'text', text: '69F' }] },
        },
        {
          type: 'tool_results',
          tool_results: { tool_use_id: 'call_2', name: 'get_weather', content: [{ type: 'text', text: 'boom' }], status: 'error' },
        },
        { type: 'text', text: 'Thanks, compare them.' },
      ],
    });
    assert.deepEqual(enc.body.tools, [
      {
        tool_spec: {
          type: 'generic',
          name: 'get_weather',
          description: 'Weather',
          input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
        },
      },
    ]);
    assert.equal(enc.body.tool_choice, undefined);
  });

  test('tool_use input: empty, unparseable or non-object arguments become {}; odd ids are cleaned on both sides', () => {
    const enc = encode(
      req(
        [
          user('go'),
          {
            role: 'assistant',
            parts: [
              { type: 'tool_call', id: 'a', name: 't', argumentsJson: '' },
              { type: 'tool_call', id: 'b', name: 't', argumentsJson: '{"x":' },
              { type: 'tool_call', id: 'functions.t:2', name: 't', argumentsJson: '[1]' },
            ],
          },
          {
            role: 'user',
            parts: [
              { type: 'tool_result', callId: 'a', name: 't', parts: [] },
              { type: 'tool_result', callId: 'b', name: 't', parts: [{ type: 'text', text: 'ok' }] },
              { type: 'tool_result', callId: 'functions.t:2', name: 't', parts: [{ type: 'text', text: 'ok' }] },
            ],
          },
        ],
        { tools: [{ name: 't', jsonSchema: {} }] },
      ),
    );
    const msgs = enc.body.messages as any[];
    assert.deepEqual(
      msgs[1].content_list.map((i: any) => [i.tool_use.tool_use_id, i.tool_use.input]),
      [
        ['a', {}],
        ['b', {}],
        ['functions_t_2', {}],
      ],
    );
    assert.deepEqual(msgs[2].content_list[0].tool_results.content, [{ type: 'text', text: EMPTY_TOOL_RESULT_TEXT }]);
    assert.equal(msgs[2].content_list[2].tool_results.tool_use_id, 'functions_t_2');
    assert.deepEqual((enc.body.tools as any)[0].tool_spec.input_schema, { type: 'object', properties: {} });
  });

  test('a tool result whose name cannot be found is invalid_request naming the call id', () => {
    const err = encodeError(
      req(
        [
          user('go'),
          { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 't', argumentsJson: '{}' }] },
          { role: 'user', parts: [{ type: 'tool_result', callId: 'call_9', name: '', parts: [{ type: 'text', text: 'x' }] }] },
        ],
        { tools: [{ name: 't', jsonSchema: {} }] },
      ),
    );
    assert.equal(err.kind, 'invalid_request');
    assert.match(err.message, /call_9/);
  });

  test('thinking parts replay as anthropic items for Claude (signed only) and are dropped for others', () => {
    const history = (model: string) =>
      encode(
        req(
          [
            user('q'),
            {
              role: 'assistant',
              parts: [
                { type: 'thinking', text: 'hmm', signature: 'sig1' },
                { type: 'thinking', text: 'unsigned' },
                { type: 'text', text: 'answer' },
              ],
            },
            user('more'),
          ],
        ),
        model,
      ).body.messages as any[];
    assert.deepEqual(history('claude-sonnet-4-5')[1], {
      role: 'assistant',
      content_list: [
        { type: 'anthropic', anthropic: { thinking: { thinking: 'hmm', signature: 'sig1' } } },
        { type: 'text', text: 'answer' },
      ],
    });
    assert.deepEqual(history('openai-gpt-5')[1], { role: 'assistant', content: 'answer' });
  });
});

describe('encodeRequest: images and cache markers', () => {
  const withImage = (detail?: 'low' | 'high' | 'auto'): Message => ({
    role: 'user',
    parts: [
      { type: 'image', mediaType: 'image/png', base64: PNG_B64, detail },
      { type: 'text', text: 'What is this?' },
    ],
  });

  test('images → content_list image items; detail only for openai models', () => {
    assert.deepEqual(encode(req([withImage('low')])).body.messages, [
      {
        role: 'user',
        content_list: [
          { type: 'image', details: { type: 'base64', content: PNG_B64, content_type: 'image/png' } },
          { type: 'text', text: 'What is this?' },
        ],
      },
    ]);
    const openai = encode(req([withImage('low')]), 'openai-gpt-4.1').body.messages as any[];
    assert.deepEqual(openai[0].content_list[0].details, {
      type: 'base64',
      content: PNG_B64,
      content_type: 'image/png',
      detail: 'low',
    });
  });

  test('an image still carrying only a url at encode time is a bug (internal error)', () => {
    const err = encodeError(req([{ role: 'user', parts: [{ type: 'image', mediaType: '', url: 'https://x/y.png' }] }]));
    assert.equal(err.kind, 'internal');
  });

  test('more than 5 images is invalid_request; images on a non-vision model is invalid_request', () => {
    const six: Message = {
      role: 'user',
      parts: Array.from({ length: 6 }, () => ({ type: 'image' as const, mediaType: 'image/png', base64: PNG_B64 })),
    };
    assert.match(encodeError(req([six])).message, /at most 5 images/);
    const err = encodeError(req([withImage()]), 'claude-3-5-sonnet');
    assert.equal(err.kind, 'invalid_request');
    assert.match(err.message, /claude-3-5-sonnet.*does not accept images/);
  });

  test('a cache marker forces content_list with cache_control', () => {
    const enc = encode(req([{ role: 'user', parts: [{ type: 'text', text: 'big context', cache: true }, { type: 'text', text: 'q' }] }]));
    assert.deepEqual(enc.body.messages, [
      {
        role: 'user',
        content_list: [
          { type: 'text', text: 'big context', cache_control: { type: 'ephemeral' } },
          { type: 'text', text: 'q' },
        ],
      },
    ]);
  });
});

describe('encodeRequest: tools, limits, sampling, formats, reasoning', () => {
  const tools = [{ name: 'get_weather', description: 'Weather', jsonSchema: WEATHER_SCHEMA }];
  const withCallHistory: Message[] = [
    user('go'),
    { role: 'assistant', parts: [{ type: 'tool_call', id: 'c1', name: 'get_weather', argumentsJson: '{}' }] },
    { role: 'user', parts: [{ type: 'tool_result', callId: 'c1', name: 'get_weather', parts: [{ type: 'text', text: 'r' }] }] },
  ];

  test('tool_choice auto / required / tool', () => {
    assert.deepEqual(encode(req([user('x')], { tools, toolChoice: { type: 'auto' } })).body.tool_choice, { type: 'auto' });
    assert.deepEqual(encode(req([user('x')], { tools, toolChoice: { type: 'required' } })).body.tool_choice, {
      type: 'required',
    });
    assert.deepEqual(encode(req([user('x')], { tools, toolChoice: { type: 'tool', name: 'get_weather' } })).body.tool_choice, {
      type: 'tool',
      name: ['get_weather'],
    });
    assert.equal(encodeError(req([user('x')], { tools, toolChoice: { type: 'tool', name: 'nope' } })).kind, 'invalid_request');
  });

  test('tool_choice none: no tool history → neither tools nor tool_choice; with tool history → tools kept, no tool_choice', () => {
    const a = encode(req([user('x')], { tools, toolChoice: { type: 'none' } })).body;
    assert.equal('tools' in a, false);
    assert.equal('tool_choice' in a, false);
    const b = encode(req(withCallHistory, { tools, toolChoice: { type: 'none' } })).body;
    assert.equal((b.tools as unknown[]).length, 1);
    assert.equal('tool_choice' in b, false);
  });

  test('tools on a model without tool support → invalid_request naming the model and a tool-capable one', () => {
    const err = encodeError(req([user('x')], { tools }), 'llama3.1-70b');
    assert.equal(err.kind, 'invalid_request');
    assert.match(err.message, /llama3\.1-70b/);
    assert.match(err.message, /claude-sonnet-4-5/);
    // Tool history on such a model cannot be sent either.
    assert.equal(encodeError(req(withCallHistory), 'mistral-large2').kind, 'invalid_request');
    // tool_choice none without history: tools are simply not sent.
    assert.equal('tools' in encode(req([user('x')], { tools, toolChoice: { type: 'none' } }), 'llama3.1-70b').body, false);
  });

  test('max_tokens: clamped to min(16384, model max), default = that cap; max_output_tokens never sent', () => {
    let enc = encode(req([user('x')], { maxTokens: 100_000 }));
    assert.equal(enc.body.max_tokens, 16384);
    assert.equal(enc.maxTokens, 16384);
    enc = encode(req([user('x')]), 'mistral-large2');
    assert.equal(enc.body.max_tokens, 8192);
    assert.equal(enc.maxTokens, 8192);
    enc = encode(req([user('x')], { maxTokens: 300 }));
    assert.equal(enc.body.max_tokens, 300);
    assert.equal('max_output_tokens' in enc.body, false);
    enc = encode(req([user('x')]), 'claude-sonnet-4-5', { maxTokens: 2000, temperature: 0.2 });
    assert.equal(enc.body.max_tokens, 2000);
    assert.equal(enc.body.temperature, 0.2);
  });

  test('temperature is clamped to [0,1]; top_p passes through', () => {
    const b = encode(req([user('x')], { temperature: 1.7, topP: 0.9 })).body;
    assert.equal(b.temperature, 1);
    assert.equal(b.top_p, 0.9);
    assert.equal(encode(req([user('x')], { temperature: 0 })).body.temperature, 0);
  });

  test('response_format json with and without schema', () => {
    const schema = { $schema: 'x', type: 'object', properties: { a: { type: 'string' } } };
    assert.deepEqual(encode(req([user('x')], { responseFormat: { type: 'json', schema } })).body.response_format, {
      type: 'json',
      schema: { type: 'object', properties: { a: { type: 'string' } } },
    });
    assert.deepEqual(encode(req([user('x')], { responseFormat: { type: 'json' } })).body.response_format, {
      type: 'json',
      schema: { type: 'object' },
    });
  });

  test('reasoning: openai effort (minimal→low, said); claude thinking budget with temperature 1 and no top_p', () => {
    // inference:complete's spec enumerates low | medium | high only.
    const min = encode(req([user('x')], { reasoning: { effort: 'minimal' } }), 'openai-gpt-5');
    assert.deepEqual(min.body.openai, { reasoning: { effort: 'low' } });
    assert.match(min.warnings?.[0] ?? '', /reasoning_effort minimal sent as low/);
    assert.deepEqual(encode(req([user('x')], { reasoning: { effort: 'high' } }), 'openai-gpt-5').body.openai, {
      reasoning: { effort: 'high' },
    });
    const c = encode(req([user('x')], { reasoning: { effort: 'medium' }, temperature: 0.2, topP: 0.5 })).body;
    assert.deepEqual(c.anthropic, { thinking: { budget_tokens: 4096 } });
    assert.equal(c.temperature, 1);
    assert.equal('top_p' in c, false);
    // effort-derived budget keeps half of max_tokens for the answer
    const h = encode(req([user('x')], { reasoning: { effort: 'high' }, maxTokens: 8000 })).body;
    assert.deepEqual(h.anthropic, { thinking: { budget_tokens: 4000 } });
    // explicit budget stays below max_tokens
    const e = encode(req([user('x')], { reasoning: { budgetTokens: 31_999 } })).body;
    assert.deepEqual(e.anthropic, { thinking: { budget_tokens: 16383 } });
    assert.equal(e.max_tokens, 16384);
    // a max_tokens too small for the minimum budget is a cost cap: kept, and thinking dropped with a warning
    const small = encode(req([user('x')], { reasoning: { effort: 'low' }, maxTokens: 500, temperature: 0.2 }));
    assert.equal('anthropic' in small.body, false);
    assert.equal(small.body.max_tokens, 500);
    assert.equal(small.body.temperature, 0.2, 'no thinking: the client\'s sampling stays');
    assert.match(small.warnings?.[0] ?? '', /thinking dropped: max_tokens 500/);
    // just above the minimum: the minimum budget, below max_tokens
    assert.deepEqual(encode(req([user('x')], { reasoning: { effort: 'low' }, maxTokens: 1500 })).body.anthropic, { thinking: { budget_tokens: 1024 } });
    assert.equal(encode(req([user('x')], { reasoning: { effort: 'low' }, maxTokens: 1500 })).body.max_tokens, 1500);
    // models without reasoning controls: dropped
    const m = encode(req([user('x')], { reasoning: { effort: 'high' } }), 'mistral-large2').body;
    assert.equal('openai' in m || 'anthropic' in m, false);
  });

  test('unsupportedFields reports stop only when present', () => {
    assert.deepEqual(completeWire.unsupportedFields(req([user('x')], { stop: ['\n'] })), ['stop']);
    assert.deepEqual(completeWire.unsupportedFields(req([user('x')])), []);
    assert.deepEqual(completeWire.unsupportedFields(req([user('x')], { stop: [] })), []);
  });
});

// ───────────── stream decoding ─────────────

// §3.2 fixtures, verbatim.
const VARIANT_A =
  'data: {"id":"65c5e2ac-529b-461e-8a8c-f80655e6bd3f","created":1723493954,"model":"mistral-7b","choices":[{"delta":{"content":"Cor"}}],"usage":{"prompt_tokens":57,"completion_tokens":1,"total_tokens":58}}\n\n' +
  'data: {"id":"65c5e2ac-529b-461e-8a8c-f80655e6bd3f","created":1723493954,"model":"mistral-7b","choices":[{"delta":{"content":"tex"}}],"usage":{"prompt_tokens":57,"completion_tokens":2,"total_tokens":59}}\n\n';

const VARIANT_B = [
  'data: {"id":"78fe…","model":"claude-3-5-sonnet","choices":[{"delta":{"content":"I","content_list":[{"text":"I","type":"text"}]}}],"usage":{}}',
  'data: {"id":"78fe…","model":"claude-3-5-sonnet","choices":[{"delta":{"content_list":[{"name":"get_weather","tool_use_id":"tooluse_Iwuh-FEeTC-Iefsxu2ueKQ"}]}}],"usage":{}}',
  'data: {"id":"78fe…","model":"claude-3-5-sonnet","choices":[{"delta":{"content_list":[{"input":"{\\"location\\""}]}}],"usage":{}}',
  'data: {"id":"78fe…","model":"claude-3-5-sonnet","choices":[{"delta":{"content_list":[{"input":": \\"San Francisco, CA\\"}"}]}}],"usage":{}}',
  'data: {"id":"78fe…","model":"claude-3-5-sonnet","choices":[{"delta":{}}],"usage":{"prompt_tokens":390,"completion_tokens":53,"total_tokens":443}}',
]
  .map((l) => l + '\n\n')
  .join('');

const VARIANT_C = [
  'data: {"id":"a9537c2c-2017-4906-9817-2456168d89fa","model":"claude-3-5-sonnet","choices":[{"delta":{"type":"text","content":"I","content_list":[{"type":"text","text":"I"}],"text":"I"}}],"usage":{}}',
  'data: {"id":"a9537c2c-…","model":"claude-3-5-sonnet","choices":[{"delta":{"type":"text","content":"\'ll help you check Nvidia\'s current","content_list":[{"type":"text","text":"\'ll help you check Nvidia\'s current"}],"text":"\'ll help you check Nvidia\'s current"}}],"usage":{}}',
  'data: {"id":"a9537c2c-…","model":"claude-3-5-sonnet","choices":[{"delta":{"type":"tool_use","tool_use_id":"tooluse_FB_nOElDTAOKa-YnVWI5Uw","name":"get_stock_price","content_list":[{"tool_use_id":"tooluse_FB_nOElDTAOKa-YnVWI5Uw","name":"get_stock_price"}],"text":""}}],"usage":{}}',
  'data: {"id":"a9537c2c-…","model":"claude-3-5-sonnet","choices":[{"delta":{"type":"tool_use","input":"{\\"symbol\\":\\"NVDA\\"}","content_list":[{"input":"{\\"symbol\\":\\"NVDA\\"}"}],"text":""}}],"usage":{"prompt_tokens":397,"completion_tokens":65,"total_tokens":462}}',
]
  .map((l) => l + '\n\n')
  .join('');

const EXPECT_A: StreamEvent[] = [
  { type: 'start', id: '65c5e2ac-529b-461e-8a8c-f80655e6bd3f', created: 1723493954 },
  { type: 'text', text: 'Cor' },
  { type: 'text', text: 'tex' },
  { type: 'usage', usage: { promptTokens: 57, completionTokens: 2, totalTokens: 59 } },
  { type: 'finish', reason: 'stop', usage: { promptTokens: 57, completionTokens: 2, totalTokens: 59 } },
];

const B_USAGE = { promptTokens: 390, completionTokens: 53, totalTokens: 443 };
const EXPECT_B: StreamEvent[] = [
  { type: 'start', id: '78fe…' },
  { type: 'text', text: 'I' },
  { type: 'tool_call_start', index: 0, id: 'tooluse_Iwuh-FEeTC-Iefsxu2ueKQ', name: 'get_weather' },
  { type: 'tool_call_delta', index: 0, argumentsFragment: '{"location"' },
  { type: 'tool_call_delta', index: 0, argumentsFragment: ': "San Francisco, CA"}' },
  { type: 'tool_call_end', index: 0 },
  { type: 'usage', usage: B_USAGE },
  { type: 'finish', reason: 'tool_calls', usage: B_USAGE },
];

const C_USAGE = { promptTokens: 397, completionTokens: 65, totalTokens: 462 };
const EXPECT_C: StreamEvent[] = [
  { type: 'start', id: 'a9537c2c-2017-4906-9817-2456168d89fa' },
  { type: 'text', text: 'I' },
  { type: 'text', text: "'ll help you check Nvidia's current" },
  { type: 'tool_call_start', index: 0, id: 'tooluse_FB_nOElDTAOKa-YnVWI5Uw', name: 'get_stock_price' },
  { type: 'tool_call_delta', index: 0, argumentsFragment: '{"symbol":"NVDA"}' },
  { type: 'tool_call_end', index: 0 },
  { type: 'usage', usage: C_USAGE },
  { type: 'finish', reason: 'tool_calls', usage: C_USAGE },
];

const data = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;

describe('createStreamDecoder', () => {
  test('variant A (cumulative usage on every chunk): last usage kept', () => {
    assert.deepEqual(decode([VARIANT_A], { maxTokens: 100 }), EXPECT_A);
  });

  test('variant B (content + content_list, usage on a final empty delta): text once, tool fragments', () => {
    assert.deepEqual(decode([VARIANT_B], { maxTokens: 4096 }), EXPECT_B);
  });

  test('variant C (type discriminator, triple text, flattened tool fields): no duplicated text or tool', () => {
    assert.deepEqual(decode([VARIANT_C], { maxTokens: 4096 }), EXPECT_C);
  });

  test('CRLF framing and one-byte splits give identical events', () => {
    for (const [fixture, expected] of [
      [VARIANT_A, EXPECT_A],
      [VARIANT_B, EXPECT_B],
      [VARIANT_C, EXPECT_C],
    ] as const) {
      const crlf = fixture.replaceAll('\n', '\r\n');
      assert.deepEqual(decode([crlf], { maxTokens: 4096 }), expected);
      assert.deepEqual(decode(splitEvery(fixture, 1), { maxTokens: 4096 }), expected);
      assert.deepEqual(decode(splitEvery(crlf, 1), { maxTokens: 4096 }), expected);
      assert.deepEqual(decode(splitEvery(fixture, 7), { maxTokens: 4096 }), expected);
    }
  });

  test('event: message lines, comments, multi-line data and a [DONE] terminator are tolerated', () => {
    const text =
      ': hello\nevent: message\ndata: {"id":"r1",\ndata:  "choices":[{"delta":{"content":"Hi"}}]}\n\n' +
      'event: ping\ndata: {"id":"r1","choices":[{"delta":{"content":"IGNORED"}}]}\n\n' +
      'data: [DONE]\n\n';
    assert.deepEqual(decode([text]), [
      { type: 'start', id: 'r1' },
      { type: 'text', text: 'Hi' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  test('start id falls back to the Snowflake request id when chunks carry none', () => {
    const ev = decode([data({ choices: [{ delta: { content: 'x' } }] })], { requestId: 'req-9' });
    assert.deepEqual(ev[0], { type: 'start', id: 'req-9' });
  });

  test('usage on the last content chunk, and a later empty usage does not erase it', () => {
    const ev = decode([
      data({ id: 'a', choices: [{ delta: { content: 'x' } }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }),
      data({ id: 'a', choices: [{ delta: {} }], usage: {} }),
    ]);
    assert.deepEqual(ev.slice(-2), [
      { type: 'usage', usage: { promptTokens: 5, completionTokens: 1, totalTokens: 6 } },
      { type: 'finish', reason: 'stop', usage: { promptTokens: 5, completionTokens: 1, totalTokens: 6 } },
    ]);
  });

  test('completion tokens reaching max_tokens → finish length', () => {
    const ev = decode([data({ id: 'a', choices: [{ delta: { content: 'x' } }], usage: { prompt_tokens: 5, completion_tokens: 10 } })], {
      maxTokens: 10,
    });
    assert.equal((ev.at(-1) as { reason: string }).reason, 'length');
  });

  test('guard: finish_reason prohibited_content → content_filter', () => {
    const ev = decode([
      data({ id: 'g', choices: [{ delta: { content: 'Response filtered by Cortex Guard' }, finish_reason: 'prohibited_content' }] }),
    ]);
    assert.deepEqual(ev, [
      { type: 'start', id: 'g' },
      { type: 'text', text: 'Response filtered by Cortex Guard' },
      { type: 'finish', reason: 'content_filter' },
    ]);
  });

  test('parameterless tools: input "" or no input → one "{}" fragment at tool end; sequential indices', () => {
    const ev = decode([
      data({ id: 't', choices: [{ delta: { type: 'tool_use', tool_use_id: 'tu1', name: 'list', content_list: [{ tool_use_id: 'tu1', name: 'list' }] } }] }),
      data({ id: 't', choices: [{ delta: { type: 'tool_use', input: '', content_list: [{ input: '' }] } }] }),
      data({ id: 't', choices: [{ delta: { content_list: [{ tool_use_id: 'tu2', name: 'now' }] } }] }),
      data({ id: 't', choices: [{ delta: { content_list: [{ tool_use_id: 'tu3', name: 'read' }] } }] }),
      data({ id: 't', choices: [{ delta: { content_list: [{ input: '{"p":1}' }] } }] }),
    ]);
    assert.deepEqual(ev, [
      { type: 'start', id: 't' },
      { type: 'tool_call_start', index: 0, id: 'tu1', name: 'list' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '{}' },
      { type: 'tool_call_end', index: 0 },
      { type: 'tool_call_start', index: 1, id: 'tu2', name: 'now' },
      { type: 'tool_call_delta', index: 1, argumentsFragment: '{}' },
      { type: 'tool_call_end', index: 1 },
      { type: 'tool_call_start', index: 2, id: 'tu3', name: 'read' },
      { type: 'tool_call_delta', index: 2, argumentsFragment: '{"p":1}' },
      { type: 'tool_call_end', index: 2 },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  test('a tool call as the very first chunk', () => {
    const ev = decode([data({ id: 'f', choices: [{ delta: { content_list: [{ tool_use_id: 'x', name: 'go' }] } }] })]);
    assert.deepEqual(ev.slice(0, 2), [
      { type: 'start', id: 'f' },
      { type: 'tool_call_start', index: 0, id: 'x', name: 'go' },
    ]);
  });

  test('thinking deltas (type anthropic) → thinking events, signature kept; then text', () => {
    const ev = decode([
      data({ id: 'k', choices: [{ delta: { type: 'anthropic', anthropic: { thinking: { thinking: 'Let me think' } } } }] }),
      data({ id: 'k', choices: [{ delta: { type: 'anthropic', thinking: { thinking: ' more' } } }] }),
      data({ id: 'k', choices: [{ delta: { type: 'anthropic', content_list: [{ type: 'anthropic', anthropic: { thinking: { signature: 'SIG' } } }] } }] }),
      data({ id: 'k', choices: [{ delta: { type: 'text', content: 'Answer', content_list: [{ type: 'text', text: 'Answer' }] } }] }),
    ]);
    assert.deepEqual(ev, [
      { type: 'start', id: 'k' },
      { type: 'thinking', text: 'Let me think' },
      { type: 'thinking', text: ' more' },
      { type: 'thinking', text: '', signature: 'SIG' },
      { type: 'text', text: 'Answer' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  test('openai reasoning summary deltas → thinking', () => {
    const ev = decode([data({ id: 'o', choices: [{ delta: { type: 'openai', openai: { reasoning: { summary: 'plan' } } } }] })]);
    assert.deepEqual(ev[1], { type: 'thinking', text: 'plan' });
  });

  test('a mid-stream error → one error event (upstream, message, code, request id) and nothing after', () => {
    const ev = decode(
      [
        data({ id: 'm', choices: [{ delta: { content: 'partial' } }] }),
        data({ error: { message: 'model overloaded', code: '500' } }),
        data({ id: 'm', choices: [{ delta: { content: 'late' } }] }),
      ],
      { requestId: 'rid-1' },
    );
    assert.deepEqual(plain(ev), [
      { type: 'start', id: 'm' },
      { type: 'text', text: 'partial' },
      {
        type: 'error',
        kind: 'upstream',
        message: 'Cortex failed during the answer: model overloaded (code 500) (Snowflake request id: rid-1)',
        code: '500',
        requestId: 'rid-1',
      },
    ]);
  });

  test('truncated JSON (stream cut mid-event) → error event', () => {
    const ev = plain(decode([data({ id: 'x', choices: [{ delta: { content: 'a' } }] }) + 'data: {"id":"x","choi']));
    assert.equal(ev.length, 3);
    assert.deepEqual((ev[2] as any).kind, 'upstream');
    assert.match((ev[2] as any).message, /truncated or malformed/);
  });

  test('a body with nothing in it (or only [DONE]) → error', () => {
    for (const chunks of [[], [''], ['data: [DONE]\n\n'], [': comment\n\n']]) {
      const ev = plain(decode(chunks, { requestId: 'r' }));
      assert.equal(ev.length, 1);
      assert.equal((ev[0] as any).type, 'error');
      assert.match((ev[0] as any).message, /without sending any data \(Snowflake request id: r\)/);
    }
  });

  test('a session-expired body dressed as an SSE event → auth error', () => {
    const ev = plain(decode([data({ code: '390112', message: 'Your session has expired. Please login again.' })], { requestId: 'r2' }));
    assert.equal(ev.length, 1);
    assert.equal((ev[0] as any).kind, 'auth');
  });
});

describe('decodeJson', () => {
  test('200 JSON with code/message and no choices (390112) → auth error with request id', () => {
    const ev = plain(decodeJson({ code: '390112', message: 'Your session has expired. Please login again.' }, { requestId: 'r3' }));
    assert.equal(ev.length, 1);
    const e = ev[0] as any;
    assert.equal(e.type, 'error');
    assert.equal(e.kind, 'auth');
    assert.equal(e.code, '390112');
    assert.equal(e.requestId, 'r3');
    assert.match(e.message, /\(Snowflake request id: r3\)$/);
  });

  test('§3.7 non-stream body → the same events a stream gives (text once, tool input as JSON text)', () => {
    const body = {
      id: 'ns1',
      choices: [
        {
          message: {
            content: "I'll check the weather.",
            content_list: [
              { type: 'text', text: "I'll check the weather." },
              { type: 'tool_use', tool_use: { tool_use_id: 'tooluse_abc', name: 'get_weather', input: { location: 'San Francisco, CA' } } },
            ],
          },
        },
      ],
      usage: { prompt_tokens: 390, completion_tokens: 53, total_tokens: 443 },
    };
    assert.deepEqual(decodeJson(JSON.stringify(body), { maxTokens: 4096 }), [
      { type: 'start', id: 'ns1' },
      { type: 'text', text: "I'll check the weather." },
      { type: 'tool_call_start', index: 0, id: 'tooluse_abc', name: 'get_weather' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '{"location":"San Francisco, CA"}' },
      { type: 'tool_call_end', index: 0 },
      { type: 'usage', usage: B_USAGE },
      { type: 'finish', reason: 'tool_calls', usage: B_USAGE },
    ]);
  });

  test('flattened tool_use items, content-only text, empty input → "{}"', () => {
    const body = {
      choices: [
        {
          message: {
            content: 'Sure.',
            content_list: [
              { type: 'tool_use', tool_use_id: 't1', name: 'calc', input: { e: '2+2' } },
              { type: 'tool_use', tool_use_id: 't2', name: 'now', input: {} },
            ],
          },
        },
      ],
    };
    assert.deepEqual(decodeJson(body, { requestId: 'r4' }), [
      { type: 'start', id: 'r4' },
      { type: 'text', text: 'Sure.' },
      { type: 'tool_call_start', index: 0, id: 't1', name: 'calc' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '{"e":"2+2"}' },
      { type: 'tool_call_end', index: 0 },
      { type: 'tool_call_start', index: 1, id: 't2', name: 'now' },
      { type: 'tool_call_delta', index: 1, argumentsFragment: '{}' },
      { type: 'tool_call_end', index: 1 },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  test('non-JSON or shapeless 200 bodies → upstream error', () => {
    assert.equal((decodeJson('<html>') as any)[0].error.kind, 'upstream');
    assert.equal((decodeJson({ foo: 1 }) as any)[0].error.kind, 'upstream');
  });
});
