import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { openaiChat } from '../src/dialects/openai-chat/index.js';
import { ProxyError } from '../src/core/errors.js';
import { aggregate } from '../src/core/aggregate.js';
import type { ChatRequest, FinalMessage, StreamEvent } from '../src/core/types.js';

const UA = { 'user-agent': 'test-agent/1.0' };
const decode = (body: unknown, headers: Record<string, string | string[] | undefined> = UA) =>
  openaiChat.decodeRequest(body, headers);

// ---------------------------------------------------------------------------------------------
// decodeRequest: realistic bodies → exact ChatRequest

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const decodeCases: Array<{ name: string; body: unknown; want: ChatRequest; headers?: Record<string, string> }> = [
  {
    name: 'Cursor ask mode',
    body: {
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'system', content: 'You are a powerful agentic AI coding assistant.' },
        { role: 'user', content: '<user_query>\nexplain main.ts\n</user_query>' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.3,
      user: 'user_123',
      metadata: { conversation: 'abc' },
    },
    want: {
      model: 'claude-sonnet-4-5',
      system: 'You are a powerful agentic AI coding assistant.',
      messages: [{ role: 'user', parts: [{ type: 'text', text: '<user_query>\nexplain main.ts\n</user_query>' }] }],
      temperature: 0.3,
      stream: true,
      includeUsage: true,
      unsupported: [],
      client: { dialect: 'openai-chat', userAgent: 'test-agent/1.0' },
    },
  },
  {
    name: 'Continue with include_usage, image_url parts and stop',
    body: {
      model: 'llama3.1-70b',
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this image?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}`, detail: 'low' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
      max_tokens: 4096,
      stream: true,
      stream_options: { include_usage: true },
      stop: ['<|im_end|>'],
    },
    want: {
      model: 'llama3.1-70b',
      system: 'Be brief.',
      messages: [
        {
          role: 'user',
          parts: [
            { type: 'text', text: 'What is in this image?' },
            { type: 'image', mediaType: 'image/png', base64: PNG, detail: 'low' },
            { type: 'image', mediaType: '', url: 'https://example.com/cat.jpg' },
          ],
        },
      ],
      maxTokens: 4096,
      stop: ['<|im_end|>'],
      stream: true,
      includeUsage: true,
      unsupported: [],
      client: { dialect: 'openai-chat', userAgent: 'test-agent/1.0' },
    },
  },
  {
    name: 'Roo/Cline with cache_control text parts, tools and parallel_tool_calls',
    body: {
      model: 'claude-3-7-sonnet',
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'You are Roo.', cache_control: { type: 'ephemeral' } }] },
        { role: 'user', content: [{ type: 'text', text: '<task>fix it</task>', cache_control: { type: 'ephemeral' } }] },
        { role: 'assistant', content: 'Looking.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: '<environment_details>…</environment_details>' },
            { type: 'text', text: 'go on', cache_control: { type: 'ephemeral' }, annotations: [] },
          ],
        },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'read_file',
            description: 'Read a file',
            parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
            strict: true,
          },
        },
        { type: 'function', function: { name: 'attempt_completion' } },
      ],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    },
    want: {
      model: 'claude-3-7-sonnet',
      system: 'You are Roo.',
      messages: [
        { role: 'user', parts: [{ type: 'text', text: '<task>fix it</task>', cache: true }] },
        { role: 'assistant', parts: [{ type: 'text', text: 'Looking.' }] },
        {
          role: 'user',
          parts: [
            { type: 'text', text: '<environment_details>…</environment_details>' },
            { type: 'text', text: 'go on', cache: true },
          ],
        },
      ],
      tools: [
        {
          name: 'read_file',
          description: 'Read a file',
          jsonSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
        },
        { name: 'attempt_completion', jsonSchema: { type: 'object', properties: {} } },
      ],
      toolChoice: { type: 'auto' },
      temperature: 0,
      stream: true,
      includeUsage: true,
      unsupported: [],
      client: { dialect: 'openai-chat', userAgent: 'test-agent/1.0' },
    },
  },
  {
    name: 'developer role (o-series style), reasoning_effort, both token limits, json_schema',
    body: {
      model: 'openai-gpt-5',
      messages: [
        { role: 'developer', content: 'Formatting re-enabled.' },
        { role: 'system', content: [{ type: 'text', text: 'Rule A.' }, { type: 'text', text: 'Rule B.' }] },
        { role: 'user', content: 'hi' },
      ],
      max_tokens: 100,
      max_completion_tokens: 32000,
      reasoning_effort: 'medium',
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'number' } } }, strict: true },
      },
      stream: false,
      stream_options: { include_usage: true },
      prompt_cache_key: 'k',
      store: false,
      service_tier: 'auto',
      safety_identifier: 's',
      prediction: { type: 'content', content: 'x' },
    },
    want: {
      model: 'openai-gpt-5',
      system: 'Formatting re-enabled.\n\nRule A.\n\nRule B.',
      messages: [{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
      maxTokens: 32000,
      responseFormat: { type: 'json', name: 'answer', schema: { type: 'object', properties: { a: { type: 'number' } } } },
      reasoning: { effort: 'medium' },
      stream: false,
      includeUsage: false, // include_usage only means something on a stream
      unsupported: [],
      client: { dialect: 'openai-chat', userAgent: 'test-agent/1.0' },
    },
  },
  {
    name: 'tool round trip: two parallel calls, two tool messages, then the user again',
    body: {
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'user', content: 'read a and b' },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'I need both files.',
          tool_calls: [
            { id: 'call_A', type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } },
            { id: 'call_B', type: 'function', function: { name: 'read_file', arguments: '{"path":"b"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_A', content: 'AAA' },
        { role: 'tool', tool_call_id: 'call_B', content: [{ type: 'text', text: 'BBB' }] },
        { role: 'user', content: 'thanks' },
      ],
      tools: [{ type: 'function', function: { name: 'read_file', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'read_file' } },
    },
    want: {
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'user', parts: [{ type: 'text', text: 'read a and b' }] },
        {
          role: 'assistant',
          parts: [
            { type: 'thinking', text: 'I need both files.' },
            { type: 'tool_call', id: 'call_A', name: 'read_file', argumentsJson: '{"path":"a"}' },
            { type: 'tool_call', id: 'call_B', name: 'read_file', argumentsJson: '{"path":"b"}' },
          ],
        },
        {
          role: 'user',
          parts: [
            { type: 'tool_result', callId: 'call_A', name: 'read_file', parts: [{ type: 'text', text: 'AAA' }] },
            { type: 'tool_result', callId: 'call_B', name: 'read_file', parts: [{ type: 'text', text: 'BBB' }] },
          ],
        },
        { role: 'user', parts: [{ type: 'text', text: 'thanks' }] },
      ],
      tools: [{ name: 'read_file', jsonSchema: { type: 'object' } }],
      toolChoice: { type: 'tool', name: 'read_file' },
      stream: false,
      includeUsage: false,
      unsupported: [],
      client: { dialect: 'openai-chat', userAgent: 'test-agent/1.0' },
    },
  },
  {
    name: 'assistant tool_calls: [] is no tool call; empty assistant turns vanish; no user-agent',
    body: {
      model: 'm',
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b', tool_calls: [] },
        { role: 'assistant', content: '', tool_calls: [] },
        { role: 'user', content: 'c' },
      ],
      tools: [],
      tool_choice: 'none',
    },
    headers: {},
    want: {
      model: 'm',
      messages: [
        { role: 'user', parts: [{ type: 'text', text: 'a' }] },
        { role: 'assistant', parts: [{ type: 'text', text: 'b' }] },
        { role: 'user', parts: [{ type: 'text', text: 'c' }] },
      ],
      stream: false,
      includeUsage: false,
      unsupported: [],
      client: { dialect: 'openai-chat' },
    },
  },
  {
    name: 'legacy functions / function_call / function role; input_text and input_image parts',
    body: {
      model: 'm',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'see' },
            { type: 'input_image', image_url: 'data:image/svg+xml,%3Csvg%2F%3E', detail: 'high' },
          ],
        },
        { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        { role: 'function', name: 'get_weather', content: 'rain' },
      ],
      functions: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
      function_call: { name: 'get_weather' },
      stop: 'END',
    },
    want: {
      model: 'm',
      messages: [
        {
          role: 'user',
          parts: [
            { type: 'text', text: 'see' },
            { type: 'image', mediaType: 'image/svg+xml', base64: Buffer.from('<svg/>').toString('base64'), detail: 'high' },
          ],
        },
        { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_fn_1', name: 'get_weather', argumentsJson: '{"city":"Oslo"}' }] },
        { role: 'user', parts: [{ type: 'tool_result', callId: 'call_fn_1', name: 'get_weather', parts: [{ type: 'text', text: 'rain' }] }] },
      ],
      tools: [{ name: 'get_weather', jsonSchema: { type: 'object', properties: { city: { type: 'string' } } } }],
      toolChoice: { type: 'tool', name: 'get_weather' },
      stop: ['END'],
      stream: false,
      includeUsage: false,
      unsupported: [],
      client: { dialect: 'openai-chat', userAgent: 'test-agent/1.0' },
    },
  },
  {
    name: 'LangChain-style extras become unsupported; nulls mean unset; defaults mean nothing',
    body: {
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      n: 2,
      logprobs: true,
      top_logprobs: 3,
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: 0,
      logit_bias: { '50256': -100 },
      audio: { voice: 'alloy', format: 'mp3' },
      modalities: ['text', 'audio'],
      temperature: null,
      max_tokens: null,
      tools: null,
      tool_choice: null,
      stop: null,
      response_format: { type: 'text' },
      reasoning_effort: 'none',
    },
    want: {
      model: 'm',
      messages: [{ role: 'user', parts: [{ type: 'text', text: 'x' }] }],
      stream: false,
      includeUsage: false,
      unsupported: ['n', 'logprobs', 'top_logprobs', 'seed', 'presence_penalty', 'logit_bias', 'audio', 'modalities'],
      reasoning: { effort: 'none' }, // passed on: Cortex's v1 chat takes reasoning_effort none for OpenAI models
      client: { dialect: 'openai-chat', userAgent: 'test-agent/1.0' },
    },
  },
];

describe('decodeRequest: realistic bodies', () => {
  for (const c of decodeCases) {
    test(c.name, () => assert.deepStrictEqual(decode(structuredClone(c.body), c.headers ?? UA), c.want));
  }

  test('json_object, xhigh effort, tool content as empty string, array user-agent', () => {
    const r = decode(
      {
        model: 'm',
        messages: [
          { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '' } }] },
          { role: 'tool', tool_call_id: 'c1', content: '' },
        ],
        response_format: { type: 'json_object' },
        reasoning_effort: 'xhigh',
      },
      { 'user-agent': ['ua-1', 'ua-2'] },
    );
    assert.deepStrictEqual(r.responseFormat, { type: 'json' });
    assert.deepStrictEqual(r.reasoning, { effort: 'high' });
    assert.deepStrictEqual(r.messages, [
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'c1', name: 'f', argumentsJson: '{}' }] },
      { role: 'user', parts: [{ type: 'tool_result', callId: 'c1', name: 'f', parts: [] }] },
    ]);
    assert.deepStrictEqual(r.client, { dialect: 'openai-chat', userAgent: 'ua-1' });
  });

  test('flat Responses-style tools (Cursor mixes them in) and Anthropic-style tool_choice', () => {
    const r = decode({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      tools: [
        { type: 'function', name: 'edit', description: 'Edit', parameters: { type: 'object', properties: {} } },
        { type: 'function', function: { name: 'read' } },
      ],
      tool_choice: { type: 'any' },
    });
    assert.deepStrictEqual(r.tools?.map((t) => t.name), ['edit', 'read']);
    assert.deepStrictEqual(r.toolChoice, { type: 'required' });
  });

  test('prototype-pollution keys are data, never merged into anything', () => {
    const body = JSON.parse(
      '{"model":"m","__proto__":{"polluted":1},"messages":[{"role":"user","__proto__":{"x":1},"content":[{"type":"text","text":"hi","__proto__":{"cache":true},"constructor":{"prototype":{"bad":1}}}]}],' +
        '"tools":[{"type":"function","function":{"name":"t","parameters":{"type":"object","__proto__":{"y":1}}}}]}',
    );
    const r = decode(body);
    assert.deepStrictEqual(r.messages, [{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).bad, undefined);
    assert.equal(Object.getPrototypeOf(r), Object.prototype);
  });

  test('a huge message decodes without copying surprises', () => {
    const big = 'x'.repeat(5_000_000);
    const r = decode({ model: 'm', messages: [{ role: 'user', content: big }] });
    assert.equal((r.messages[0]!.parts[0] as { text: string }).text.length, 5_000_000);
  });
});

// ---------------------------------------------------------------------------------------------
// decodeRequest: every bad-input rule → invalid_request naming the param

const ok = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
const withMsgs = (...messages: unknown[]) => ({ model: 'm', messages });
const with_ = (extra: Record<string, unknown>) => ({ ...ok, ...extra });
const asst = { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] };

const badCases: Array<[string, unknown, string | undefined]> = [
  ['body null', null, undefined],
  ['body array', [ok], undefined],
  ['body string', 'hello', undefined],
  ['model missing', { messages: ok.messages }, 'model'],
  ['model not a string', { ...ok, model: 42 }, 'model'],
  ['model empty', { ...ok, model: '' }, 'model'],
  ['messages missing', { model: 'm' }, 'messages'],
  ['messages not an array', { model: 'm', messages: { role: 'user' } }, 'messages'],
  ['messages empty', { model: 'm', messages: [] }, 'messages'],
  ['message not an object', withMsgs('hi'), 'messages[0]'],
  ['message null', withMsgs({ role: 'user', content: 'a' }, null), 'messages[1]'],
  ['role missing', withMsgs({ content: 'a' }), 'messages[0].role'],
  ['role unknown', withMsgs({ role: 'robot', content: 'a' }), 'messages[0].role'],
  ['role not a string', withMsgs({ role: 1, content: 'a' }), 'messages[0].role'],
  ['user content missing', withMsgs({ role: 'user' }), 'messages[0].content'],
  ['user content number', withMsgs({ role: 'user', content: 5 }), 'messages[0].content'],
  ['user content null', withMsgs({ role: 'user', content: null }), 'messages[0].content'],
  ['user content empty array', withMsgs({ role: 'user', content: [] }), 'messages[0].content'],
  ['part not an object', withMsgs({ role: 'user', content: ['x'] }), 'messages[0].content[0]'],
  ['part type missing', withMsgs({ role: 'user', content: [{ text: 'x' }] }), 'messages[0].content[0].type'],
  ['part type unknown', withMsgs({ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'input_audio', input_audio: {} }] }), 'messages[0].content[1].type'],
  ['part type tool_result (Anthropic block)', withMsgs({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x' }] }), 'messages[0].content[0].type'],
  ['text part text not a string', withMsgs({ role: 'user', content: [{ type: 'text', text: 1 }] }), 'messages[0].content[0].text'],
  ['image_url missing', withMsgs({ role: 'user', content: [{ type: 'image_url' }] }), 'messages[0].content[0].image_url'],
  ['image url missing', withMsgs({ role: 'user', content: [{ type: 'image_url', image_url: {} }] }), 'messages[0].content[0].image_url.url'],
  ['image url ftp', withMsgs({ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }), 'messages[0].content[0].image_url.url'],
  ['image data url not an image', withMsgs({ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:text/plain;base64,aGk=' } }] }), 'messages[0].content[0].image_url.url'],
  ['image data url without comma', withMsgs({ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64' } }] }), 'messages[0].content[0].image_url.url'],
  ['image data url empty', withMsgs({ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,' } }] }), 'messages[0].content[0].image_url.url'],
  ['image detail bad', withMsgs({ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'ultra' } }] }), 'messages[0].content[0].image_url.detail'],
  ['system content number', withMsgs({ role: 'system', content: 1 }, { role: 'user', content: 'x' }), 'messages[0].content'],
  ['system image part', withMsgs({ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x' } }] }), 'messages[0].content[0].type'],
  ['assistant content number', withMsgs({ role: 'assistant', content: 3 }), 'messages[0].content'],
  ['assistant part unknown', withMsgs({ role: 'assistant', content: [{ type: 'image_url' }] }), 'messages[0].content[0].type'],
  ['assistant reasoning_content number', withMsgs({ role: 'assistant', content: 'a', reasoning_content: 1 }), 'messages[0].reasoning_content'],
  ['tool_calls not an array', withMsgs({ role: 'assistant', tool_calls: {} }), 'messages[0].tool_calls'],
  ['tool_call not an object', withMsgs({ role: 'assistant', tool_calls: [null] }), 'messages[0].tool_calls[0]'],
  ['tool_call id missing', withMsgs({ role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f' } }] }), 'messages[0].tool_calls[0].id'],
  ['tool_call type custom', withMsgs({ role: 'assistant', tool_calls: [{ id: 'c', type: 'custom', custom: {} }] }), 'messages[0].tool_calls[0].type'],
  ['tool_call function missing', withMsgs({ role: 'assistant', tool_calls: [{ id: 'c', type: 'function' }] }), 'messages[0].tool_calls[0].function'],
  ['tool_call name missing', withMsgs({ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: {} }] }), 'messages[0].tool_calls[0].function.name'],
  ['tool_call arguments number', withMsgs({ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: 1 } }] }), 'messages[0].tool_calls[0].function.arguments'],
  ['function_call not an object', withMsgs({ role: 'assistant', function_call: 'f' }), 'messages[0].function_call'],
  ['tool_call_id missing', withMsgs(asst, { role: 'tool', content: 'x' }), 'messages[1].tool_call_id'],
  ['tool_call_id unknown', withMsgs(asst, { role: 'tool', tool_call_id: 'nope', content: 'x' }), 'messages[1].tool_call_id'],
  ['tool content number', withMsgs(asst, { role: 'tool', tool_call_id: 'c1', content: 1 }), 'messages[1].content'],
  ['tool content part unknown', withMsgs(asst, { role: 'tool', tool_call_id: 'c1', content: [{ type: 'file' }] }), 'messages[1].content[0].type'],
  ['function role without earlier call', withMsgs({ role: 'function', name: 'f', content: 'x' }), 'messages[0].name'],
  ['function role name missing', withMsgs({ role: 'function', content: 'x' }), 'messages[0].name'],
  ['tools not an array', with_({ tools: {} }), 'tools'],
  ['tool not an object', with_({ tools: [1] }), 'tools[0]'],
  ['tool type custom', with_({ tools: [{ type: 'custom', name: 'ApplyPatch' }] }), 'tools[0].type'],
  ['tool function missing', with_({ tools: [{ type: 'function' }] }), 'tools[0].function'],
  ['tool function not an object', with_({ tools: [{ type: 'function', function: 'f' }] }), 'tools[0].function'],
  ['tool name missing', with_({ tools: [{ type: 'function', function: { description: 'd' } }] }), 'tools[0].function.name'],
  ['tool name empty', with_({ tools: [{ type: 'function', function: { name: '' } }] }), 'tools[0].function.name'],
  ['tool description number', with_({ tools: [{ type: 'function', function: { name: 'f', description: 1 } }] }), 'tools[0].function.description'],
  ['tool parameters array', with_({ tools: [{ type: 'function', function: { name: 'f', parameters: [] } }] }), 'tools[0].function.parameters'],
  ['functions not an array', with_({ functions: 'f' }), 'functions'],
  ['functions[0] name missing', with_({ functions: [{}] }), 'functions[0].name'],
  ['tool_choice unknown string', with_({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'any' }), 'tool_choice'],
  ['tool_choice number', with_({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 1 }), 'tool_choice'],
  ['tool_choice names an unknown tool', with_({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } }), 'tool_choice.function.name'],
  ['tool_choice function without name', with_({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function' } }), 'tool_choice.function.name'],
  ['tool_choice type unknown', with_({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'allowed_tools' } }), 'tool_choice.type'],
  ['tool_choice required without tools', with_({ tool_choice: 'required' }), 'tool_choice'],
  ['tool_choice named without tools', with_({ tool_choice: { type: 'function', function: { name: 'f' } } }), 'tool_choice.function.name'],
  ['function_call names an unknown function', with_({ functions: [{ name: 'f' }], function_call: { name: 'g' } }), 'function_call.name'],
  ['max_tokens zero', with_({ max_tokens: 0 }), 'max_tokens'],
  ['max_tokens decimal', with_({ max_tokens: 1.5 }), 'max_tokens'],
  ['max_tokens string', with_({ max_tokens: '100' }), 'max_tokens'],
  ['max_completion_tokens negative', with_({ max_completion_tokens: -1 }), 'max_completion_tokens'],
  ['max_tokens bad even with max_completion_tokens', with_({ max_tokens: 'x', max_completion_tokens: 10 }), 'max_tokens'],
  ['temperature too high', with_({ temperature: 2.5 }), 'temperature'],
  ['temperature string', with_({ temperature: '0.5' }), 'temperature'],
  ['top_p too high', with_({ top_p: 1.1 }), 'top_p'],
  ['stop number', with_({ stop: 1 }), 'stop'],
  ['stop too many', with_({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop'],
  ['stop element not a string', with_({ stop: ['a', 2] }), 'stop[1]'],
  ['response_format string', with_({ response_format: 'json' }), 'response_format'],
  ['response_format type unknown', with_({ response_format: { type: 'yaml' } }), 'response_format.type'],
  ['response_format type missing', with_({ response_format: {} }), 'response_format.type'],
  ['json_schema missing', with_({ response_format: { type: 'json_schema' } }), 'response_format.json_schema'],
  ['json_schema.schema not an object', with_({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: 'y' } } }), 'response_format.json_schema.schema'],
  ['reasoning_effort unknown', with_({ reasoning_effort: 'max' }), 'reasoning_effort'],
  ['reasoning_effort number', with_({ reasoning_effort: 1 }), 'reasoning_effort'],
  ['stream string', with_({ stream: 'true' }), 'stream'],
  ['stream_options not an object', with_({ stream: true, stream_options: true }), 'stream_options'],
  ['include_usage string', with_({ stream: true, stream_options: { include_usage: 'yes' } }), 'stream_options.include_usage'],
  ['n zero', with_({ n: 0 }), 'n'],
  ['logprobs string', with_({ logprobs: 'yes' }), 'logprobs'],
  ['presence_penalty out of range', with_({ presence_penalty: 3 }), 'presence_penalty'],
  ['frequency_penalty string', with_({ frequency_penalty: 'x' }), 'frequency_penalty'],
  ['logit_bias array', with_({ logit_bias: [1] }), 'logit_bias'],
  ['seed decimal', with_({ seed: 1.5 }), 'seed'],
  ['modalities string', with_({ modalities: 'text' }), 'modalities'],
];

describe('decodeRequest: bad input → invalid_request naming the param', () => {
  for (const [name, body, param] of badCases) {
    test(name, () => {
      assert.throws(
        () => decode(body),
        (e: unknown) => {
          assert.ok(e instanceof ProxyError, `not a ProxyError: ${String(e)}`);
          assert.equal(e.kind, 'invalid_request');
          assert.equal(e.status, 400);
          assert.equal(e.param, param);
          if (param) assert.ok(e.message.includes(`'${param}'`), e.message);
          return true;
        },
      );
    });
  }

  test('error messages quote client values short', () => {
    assert.throws(
      () => decode(withMsgs({ role: 'r'.repeat(10_000), content: 'x' })),
      (e: unknown) => e instanceof ProxyError && e.message.length < 300,
    );
  });

  test('fuzz: hostile shapes never crash with anything but invalid_request', () => {
    const values: unknown[] = [null, 0, -1, 1.5, '', 'x', true, [], [null], {}, { type: 'text' }, { __proto__: null }];
    const keys = ['model', 'messages', 'tools', 'tool_choice', 'stop', 'response_format', 'stream_options', 'max_tokens', 'functions', 'function_call', 'logit_bias'];
    for (const k of keys) {
      for (const v of values) {
        for (const base of [ok, withMsgs(asst, { role: 'tool', tool_call_id: 'c1', content: v })]) {
          try {
            decode({ ...base, [k]: v });
          } catch (e) {
            assert.ok(e instanceof ProxyError && e.kind === 'invalid_request', `${k}=${JSON.stringify(v)}: ${String(e)}`);
          }
        }
      }
    }
    for (const v of values) {
      for (const field of ['role', 'content', 'tool_calls', 'function_call', 'reasoning_content', 'tool_call_id', 'name']) {
        try {
          decode(withMsgs({ role: 'assistant', content: 'x', [field]: v }));
          decode(withMsgs({ role: 'user', content: [{ type: 'image_url', image_url: v }] }));
          decode(withMsgs({ role: 'user', content: [v] }));
        } catch (e) {
          assert.ok(e instanceof ProxyError && e.kind === 'invalid_request', `${field}=${JSON.stringify(v)}: ${String(e)}`);
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Stream encoder

const META = { id: 'chatcmpl-test1', created: 1700000000, model: 'claude-sonnet-4-5' };
const reqWith = (over: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'claude-sonnet-4-5',
  messages: [{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
  stream: true,
  includeUsage: true,
  unsupported: [],
  ...over,
});

const TOOL_EVENTS: StreamEvent[] = [
  { type: 'start', id: 'upstream-id' },
  { type: 'thinking', text: 'Plan.' },
  { type: 'text', text: 'Reading "both".' },
  // Upstream indices need not be dense (Anthropic block indices): the client must see 0 and 1.
  { type: 'tool_call_start', index: 1, id: 'call_A', name: 'read_file' },
  { type: 'tool_call_delta', index: 1, argumentsFragment: '{"path":' },
  { type: 'tool_call_delta', index: 1, argumentsFragment: '"a.ts"}' },
  { type: 'tool_call_end', index: 1 },
  { type: 'tool_call_start', index: 2, id: 'call_B', name: 'read_file' },
  { type: 'tool_call_delta', index: 2, argumentsFragment: '' },
  { type: 'tool_call_delta', index: 2, argumentsFragment: '{"path":"b.ts"}' },
  { type: 'tool_call_end', index: 2 },
  { type: 'usage', usage: { promptTokens: 120, completionTokens: 30, totalTokens: 150, cachedTokens: 100 } },
  { type: 'finish', reason: 'tool_calls' },
];

function encodeAll(events: StreamEvent[], req = reqWith(), meta = META): string {
  const enc = openaiChat.createStreamEncoder(req, meta);
  let out = '';
  for (const e of events) out += enc.event(e);
  return out + enc.end();
}

const H = '{"id":"chatcmpl-test1","object":"chat.completion.chunk","created":1700000000,"model":"claude-sonnet-4-5","choices":[';
const chunk = (delta: string, finish = 'null') => `data: ${H}{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish}}]}\n\n`;

describe('stream encoder', () => {
  test('text, thinking, two tool calls, usage, finish → exact SSE', () => {
    const expected =
      chunk('{"role":"assistant","content":""}') +
      chunk('{"reasoning_content":"Plan."}') +
      chunk('{"content":"Reading \\"both\\"."}') +
      chunk('{"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"read_file","arguments":""}}]}') +
      chunk('{"tool_calls":[{"index":0,"function":{"arguments":"{\\"path\\":"}}]}') +
      chunk('{"tool_calls":[{"index":0,"function":{"arguments":"\\"a.ts\\"}"}}]}') +
      chunk('{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"read_file","arguments":""}}]}') +
      chunk('{"tool_calls":[{"index":1,"function":{"arguments":"{\\"path\\":\\"b.ts\\"}"}}]}') +
      chunk('{}', '"tool_calls"') +
      `data: ${H}],"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":100},"cache_read_input_tokens":100,"cache_creation_input_tokens":0}}\n\n` +
      'data: [DONE]\n\n';
    const out = encodeAll(TOOL_EVENTS);
    assert.equal(out, expected);
    // Every frame is a single `data:` line of valid JSON (or [DONE]); no event: lines, no empty frames.
    const frames = out.split('\n\n').slice(0, -1);
    for (const f of frames) {
      assert.match(f, /^data: \S/);
      assert.ok(!f.includes('\n'));
      if (f !== 'data: [DONE]') JSON.parse(f.slice(6));
    }
  });

  test('role chunk comes lazily when start never came; no usage chunk without include_usage', () => {
    const out = encodeAll([{ type: 'text', text: 'Hi' }, { type: 'text', text: '' }, { type: 'finish', reason: 'stop' }], reqWith({ includeUsage: false }));
    assert.equal(out, chunk('{"role":"assistant","content":""}') + chunk('{"content":"Hi"}') + chunk('{}', '"stop"') + 'data: [DONE]\n\n');
  });

  test('finish with no content still carries the role; usage zeros are integers', () => {
    const out = encodeAll([{ type: 'finish', reason: 'stop' }]);
    assert.equal(
      out,
      chunk('{"role":"assistant","content":""}') +
        chunk('{}', '"stop"') +
        `data: ${H}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}}}\n\n` +
        'data: [DONE]\n\n',
    );
  });

  test('finish usage wins; events after finish write nothing; end() once', () => {
    const enc = openaiChat.createStreamEncoder(reqWith(), META);
    enc.event({ type: 'usage', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } });
    const fin = enc.event({ type: 'finish', reason: 'length', usage: { promptTokens: 5, completionTokens: 7, totalTokens: 12 } });
    assert.ok(fin.includes('"finish_reason":"length"'));
    assert.ok(fin.includes('"prompt_tokens":5,"completion_tokens":7,"total_tokens":12'));
    assert.equal(enc.event({ type: 'text', text: 'late' }), '');
    assert.equal(enc.end(), 'data: [DONE]\n\n');
    assert.equal(enc.end(), '');
  });

  test('error event → data: {"error":…} then [DONE]', () => {
    const err = new ProxyError('rate_limit', 'Too many requests to Cortex', { code: '429001' });
    const out = encodeAll([{ type: 'start', id: 'x' }, { type: 'text', text: 'a' }, { type: 'error', error: err }]);
    assert.equal(
      out,
      chunk('{"role":"assistant","content":""}') +
        chunk('{"content":"a"}') +
        'data: {"error":{"message":"Too many requests to Cortex","type":"rate_limit_error","param":null,"code":"429001"}}\n\n' +
        'data: [DONE]\n\n',
    );
  });

  test('ids and model with characters that need escaping stay valid JSON', () => {
    const out = encodeAll([{ type: 'text', text: 'x' }, { type: 'finish', reason: 'stop' }], reqWith(), {
      id: 'id"\\\n',
      created: 1,
      model: 'm"</script>',
    });
    for (const f of out.split('\n\n').slice(0, -2)) {
      const j = JSON.parse(f.slice(6));
      assert.equal(j.id, 'id"\\\n');
      assert.equal(j.model, 'm"</script>');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The real openai SDK against a tiny server that writes our encoder's output

type Reply = { status: number; headers: Record<string, string>; body: string };
let reply: Reply;
let lastBody: unknown;
let server: http.Server;
let client: OpenAI;

describe('the real openai SDK accepts what we write', () => {
  before(async () => {
    server = http.createServer((req, res) => {
      let data = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (data += c));
      req.on('end', () => {
        lastBody = data ? JSON.parse(data) : undefined;
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const sse = (body: string): Reply => ({ status: 200, headers: { 'content-type': 'text/event-stream' }, body });
  const json = (status: number, body: unknown): Reply => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  test('chat.completions.stream(): two tool calls, finish_reason tool_calls, usage chunk', async () => {
    const params = {
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'user' as const, content: 'read a and b' }],
      tools: [{ type: 'function' as const, function: { name: 'read_file', parameters: { type: 'object', properties: { path: { type: 'string' } } } } }],
      stream_options: { include_usage: true },
    };
    // The encoder runs on the request decoded from the same params; the body the SDK really sent is checked after.
    const decoded = decode({ ...params, stream: true });
    assert.equal(decoded.includeUsage, true);
    reply = sse(encodeAll(TOOL_EVENTS, decoded));

    const stream = client.chat.completions.stream(params);
    const deltas: string[] = [];
    stream.on('content', (d) => deltas.push(d));
    const argsDone: Array<{ name: string; arguments: string }> = [];
    stream.on('tool_calls.function.arguments.done', (e) => argsDone.push({ name: e.name, arguments: e.arguments }));
    const final = await stream.finalChatCompletion();

    const sent = decode(lastBody, {});
    assert.deepStrictEqual([sent.tools, sent.stream, sent.includeUsage], [decoded.tools, true, true]);
    assert.equal(final.id, 'chatcmpl-test1');
    assert.equal(final.model, 'claude-sonnet-4-5');
    const choice = final.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.message.content, 'Reading "both".');
    assert.deepStrictEqual(
      choice.message.tool_calls?.map((c) => (c.type === 'function' ? [c.id, c.function.name, c.function.arguments] : [])),
      [
        ['call_A', 'read_file', '{"path":"a.ts"}'],
        ['call_B', 'read_file', '{"path":"b.ts"}'],
      ],
    );
    assert.deepStrictEqual(argsDone, [
      { name: 'read_file', arguments: '{"path":"a.ts"}' },
      { name: 'read_file', arguments: '{"path":"b.ts"}' },
    ]);
    assert.deepStrictEqual(deltas, ['Reading "both".']);
    assert.equal(final.usage?.prompt_tokens, 120);
    assert.equal(final.usage?.completion_tokens, 30);
    assert.equal(final.usage?.total_tokens, 150);
    assert.equal(final.usage?.prompt_tokens_details?.cached_tokens, 100);
  });

  test('create({stream:true}) iterates every chunk, usage chunk has choices: []', async () => {
    reply = sse(encodeAll([{ type: 'text', text: 'Hello' }, { type: 'text', text: ' world' }, { type: 'finish', reason: 'stop' }]));
    const chunks = [];
    for await (const c of await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    })) {
      chunks.push(c);
    }
    assert.equal(chunks.length, 5);
    assert.ok(chunks.every((c) => c.id === 'chatcmpl-test1' && c.object === 'chat.completion.chunk'));
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Hello world');
    assert.equal(chunks[3]!.choices[0]!.finish_reason, 'stop');
    assert.deepStrictEqual(chunks[4]!.choices, []);
    assert.equal(chunks[4]!.usage?.total_tokens, 0);
  });

  test('an in-stream error becomes an APIError in the SDK', async () => {
    const err = new ProxyError('upstream', 'Cortex went away', { code: 'upstream_error' });
    reply = sse(encodeAll([{ type: 'text', text: 'par' }, { type: 'error', error: err }]));
    const stream = client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    await assert.rejects(stream.finalChatCompletion(), (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError, String(e));
      assert.match(e.message, /Cortex went away/);
      return true;
    });
  });

  test('non-stream response parses, tool calls with null content', async () => {
    const final = aggregate(TOOL_EVENTS.filter((e) => e.type !== 'text'));
    reply = json(200, openaiChat.encodeResponse(final, reqWith({ stream: false }), META));
    const r = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(r.id, 'chatcmpl-test1');
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
    assert.equal(r.choices[0]!.message.content, null);
    assert.equal((r.choices[0]!.message as unknown as { reasoning_content: string }).reasoning_content, 'Plan.');
    assert.deepStrictEqual(
      r.choices[0]!.message.tool_calls?.map((c) => (c.type === 'function' ? c.function.arguments : '')),
      ['{"path":"a.ts"}', '{"path":"b.ts"}'],
    );
    assert.equal(r.usage?.prompt_tokens_details?.cached_tokens, 100);
  });

  test('HTTP error envelope → typed SDK errors with type/param/code', async () => {
    const e400 = new ProxyError('invalid_request', "Missing required parameter: 'messages'.", { param: 'messages' });
    reply = json(400, openaiChat.encodeError(e400));
    await assert.rejects(client.chat.completions.create({ model: 'm', messages: [] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal(e.param, 'messages');
      assert.equal(e.type, 'invalid_request_error');
      assert.equal(e.code, null);
      return true;
    });
    reply = json(401, openaiChat.encodeError(new ProxyError('auth', 'bad key')));
    await assert.rejects(client.chat.completions.create({ model: 'm', messages: [] }), OpenAI.AuthenticationError);
  });
});

// ---------------------------------------------------------------------------------------------
// encodeResponse / encodeError shapes

describe('encodeResponse and encodeError', () => {
  test('plain text answer: exact shape', () => {
    const msg: FinalMessage = {
      id: 'x',
      created: 5,
      text: 'Hi!',
      thinking: [],
      toolCalls: [],
      finishReason: 'stop',
      usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
    };
    assert.deepStrictEqual(openaiChat.encodeResponse(msg, reqWith({ stream: false }), META), {
      id: 'chatcmpl-test1',
      object: 'chat.completion',
      created: 1700000000,
      model: 'claude-sonnet-4-5',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi!', refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, prompt_tokens_details: { cached_tokens: 0 } },
    });
  });

  test('empty answer keeps content "" (not null) and never-null integer usage', () => {
    const msg: FinalMessage = {
      id: 'x',
      created: 5,
      text: '',
      thinking: [{ text: 'a', signature: 's' }, { text: 'b' }],
      toolCalls: [],
      finishReason: 'length',
      usage: { promptTokens: 2.6, completionTokens: NaN, totalTokens: 0 },
    };
    const r = openaiChat.encodeResponse(msg, reqWith(), META) as { choices: Array<{ message: Record<string, unknown> }>; usage: unknown };
    assert.equal(r.choices[0]!.message.content, '');
    assert.equal(r.choices[0]!.message.reasoning_content, 'ab');
    assert.deepStrictEqual(r.usage, { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3, prompt_tokens_details: { cached_tokens: 0 } });
  });

  const envelopes: Array<[ProxyError, unknown]> = [
    [new ProxyError('invalid_request', 'bad', { param: 'messages[2].content' }), { error: { message: 'bad', type: 'invalid_request_error', param: 'messages[2].content', code: null } }],
    [new ProxyError('auth', 'no key'), { error: { message: 'no key', type: 'authentication_error', param: null, code: null } }],
    [new ProxyError('permission', 'denied', { code: '390303' }), { error: { message: 'denied', type: 'permission_error', param: null, code: '390303' } }],
    [new ProxyError('not_found', 'The model `x` does not exist.', { code: 'model_not_found', param: 'model' }), { error: { message: 'The model `x` does not exist.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } }],
    [new ProxyError('rate_limit', 'slow'), { error: { message: 'slow', type: 'rate_limit_error', param: null, code: null } }],
    [new ProxyError('budget', 'out of credits'), { error: { message: 'out of credits', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } }],
    [new ProxyError('too_large', 'too big'), { error: { message: 'too big', type: 'invalid_request_error', param: null, code: null } }],
    [new ProxyError('upstream', 'bad gateway'), { error: { message: 'bad gateway', type: 'api_error', param: null, code: null } }],
    [new ProxyError('timeout', 'slow upstream'), { error: { message: 'slow upstream', type: 'api_error', param: null, code: null } }],
    [new ProxyError('internal', 'oops'), { error: { message: 'oops', type: 'api_error', param: null, code: null } }],
  ];
  for (const [err, want] of envelopes) {
    test(`error envelope: ${err.kind}`, () => assert.deepStrictEqual(openaiChat.encodeError(err), want));
  }
});
