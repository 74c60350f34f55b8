// The anthropic wire (/cortex/v1/messages): Anthropic request encoding for Claude, and exact decoding of Anthropic's
// SSE (text, tool_use with input_json_delta, thinking with signature_delta, stop reasons, usage with cache fields).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicWire, ANTHROPIC_PATH, ANTHROPIC_VERSION } from '../src/cortex/anthropic-wire.js';
import { ProxyError } from '../src/core/errors.js';
import { aggregate } from '../src/core/aggregate.js';
import type { ChatRequest, Message, StreamEvent } from '../src/core/types.js';
import type { Deployment } from '../src/config/types.js';
import type { DecoderContext } from '../src/cortex/wire.js';

function dep(cortexModel: string, extra: Partial<Deployment> = {}): Deployment {
  return { modelName: 'm', cortexModel, apiBase: 'https://x.snowflakecomputing.com/api/v2', auth: { type: 'pat', token: 't' }, wire: 'anthropic', ...extra };
}
function req(messages: Message[], extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'm', messages, stream: true, includeUsage: false, unsupported: [], ...extra };
}
const user = (text: string): Message => ({ role: 'user', parts: [{ type: 'text', text }] });
const encode = (r: ChatRequest, model = 'claude-sonnet-4-5', extra: Partial<Deployment> = {}) => anthropicWire.encodeRequest(r, dep(model, extra));
const body = (r: ChatRequest, model?: string) => encode(r, model).body as Record<string, any>;

function decode(chunks: string[], ctx: DecoderContext = {}): StreamEvent[] {
  const events: StreamEvent[] = [];
  const emit = (e: StreamEvent) => events.push(e);
  const d = anthropicWire.createStreamDecoder(ctx);
  for (const c of chunks) d.feed(c, emit);
  d.end(emit);
  return events;
}
const ev = (name: string, data: object) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
const strip = (events: StreamEvent[]) => events.map((e) => (e.type === 'error' ? { type: 'error', message: e.error.message } : e));

describe('encodeRequest', () => {
  test('path, anthropic-version header, Claude model, a default max_tokens (the model limit) when the client sent none', () => {
    const e = encode(req([user('hi')], { system: 'Be brief.' }));
    assert.equal(e.path, ANTHROPIC_PATH);
    assert.deepEqual(e.headers, { 'anthropic-version': ANTHROPIC_VERSION });
    assert.equal(ANTHROPIC_VERSION, '2023-06-01');
    assert.equal('x-api-key' in (e.headers ?? {}), false, 'credentials come from snowflake/auth as Bearer, never x-api-key');
    assert.deepEqual(e.body, { model: 'claude-sonnet-4-5', max_tokens: 64_000, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], system: 'Be brief.', stream: true });
    assert.equal(encode(req([user('hi')], { maxTokens: 512 })).body.max_tokens, 512);
    assert.equal(encode(req([user('hi')], { maxTokens: 10_000_000 }), 'claude-4-sonnet').body.max_tokens, 32_000);
  });

  test('refuses non-Claude models and a trailing assistant message', () => {
    assert.throws(() => encode(req([user('hi')]), 'openai-gpt-4.1'), (e: ProxyError) => e.status === 400 && /Claude models only/.test(e.message));
    assert.throws(() => encode(req([user('hi'), { role: 'assistant', parts: [{ type: 'text', text: '{' }] }])), (e: ProxyError) => /final position/.test(e.message));
  });

  test('tool history: tool_use with parsed input, tool results first in the user turn with is_error, signed thinking replayed', () => {
    const b = body(
      req(
        [
          user('weather?'),
          {
            role: 'assistant',
            parts: [
              { type: 'thinking', text: 'need weather', signature: 'sig1' },
              { type: 'thinking', text: 'unsigned: dropped' },
              { type: 'text', text: 'Checking.' },
              { type: 'tool_call', id: 'call.1', name: 'get_weather', argumentsJson: '{"city":"Paris"}' },
            ],
          },
          { role: 'user', parts: [{ type: 'text', text: 'also this' }, { type: 'tool_result', callId: 'call.1', name: 'get_weather', parts: [], isError: true }] },
        ],
        { tools: [{ name: 'get_weather', description: 'W', jsonSchema: { type: 'object', properties: {} } }], toolChoice: { type: 'required' }, stop: ['END'] },
      ),
    );
    assert.deepEqual(b.messages[1].content, [
      { type: 'thinking', thinking: 'need weather', signature: 'sig1' },
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
    ]);
    assert.deepEqual(b.messages[2].content, [
      { type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: '(no output)' }], is_error: true },
      { type: 'text', text: 'also this' },
    ]);
    assert.deepEqual(b.tools, [{ name: 'get_weather', description: 'W', input_schema: { type: 'object', properties: {} } }]);
    assert.deepEqual(b.tool_choice, { type: 'any' });
    assert.deepEqual(b.stop_sequences, ['END']);
    assert.deepEqual(anthropicWire.unsupportedFields(req([user('x')], { stop: ['x'] })), [], 'stop is carried as stop_sequences');
  });

  test('thinking: enabled with a budget below max_tokens, temperature left unset; images as base64 sources', () => {
    const b = body(req([{ role: 'user', parts: [{ type: 'image', mediaType: 'image/png', base64: 'iVBORw0KGgo=', cache: true }, { type: 'text', text: 'what is it' }] }], { reasoning: { effort: 'low' }, temperature: 0.3, maxTokens: 8000 }));
    assert.deepEqual(b.thinking, { type: 'enabled', budget_tokens: 1024 });
    assert.equal('temperature' in b, false);
    assert.deepEqual(b.messages[0].content[0], { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' }, cache_control: { type: 'ephemeral' } });
  });
});

describe('decoding Anthropic SSE', () => {
  const stream =
    ev('message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000, output_tokens: 1 } } }) +
    ev('ping', { type: 'ping' }) +
    ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }) +
    ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me think.' } }) +
    ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM' } }) +
    ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
    ev('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }) +
    ev('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Checking.' } }) +
    ev('content_block_stop', { type: 'content_block_stop', index: 1 }) +
    ev('content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } }) +
    ev('content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '' } }) +
    ev('content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city": "Pa' } }) +
    ev('content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: 'ris"}' } }) +
    ev('content_block_stop', { type: 'content_block_stop', index: 2 }) +
    ev('content_block_start', { type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'toolu_2', name: 'now', input: {} } }) +
    ev('content_block_stop', { type: 'content_block_stop', index: 3 }) +
    ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 42 } }) +
    ev('message_stop', { type: 'message_stop' });

  test('every event type, split anywhere, into canonical events; usage adds cache reads/writes to the prompt', () => {
    const whole = decode([stream]);
    for (let i = 1; i < stream.length; i += 37) assert.deepEqual(strip(decode([stream.slice(0, i), stream.slice(i)])), strip(whole), `split at ${i}`);
    const usage = { promptTokens: 2112, completionTokens: 42, totalTokens: 2154, cachedTokens: 2000, cacheWriteTokens: 100 };
    assert.deepEqual(whole, [
      { type: 'start', id: 'msg_1' },
      { type: 'thinking', text: 'Let me think.' },
      { type: 'thinking', text: '', signature: 'EqQBCgIYAhIM' },
      { type: 'text', text: 'Checking.' },
      { type: 'tool_call_start', index: 0, id: 'toolu_1', name: 'get_weather' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '{"city": "Pa' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: 'ris"}' },
      { type: 'tool_call_end', index: 0 },
      { type: 'tool_call_start', index: 1, id: 'toolu_2', name: 'now' },
      { type: 'tool_call_delta', index: 1, argumentsFragment: '{}' },
      { type: 'tool_call_end', index: 1 },
      { type: 'usage', usage },
      { type: 'finish', reason: 'tool_calls', usage },
    ]);
    const m = aggregate(whole);
    assert.deepEqual(m.thinking, [{ text: 'Let me think.', signature: 'EqQBCgIYAhIM' }]);
  });

  test('stop reasons: end_turn → stop, max_tokens → length, refusal → content_filter, model_context_window_exceeded → length', () => {
    const one = (stop: string) =>
      aggregate(
        decode([
          ev('message_start', { type: 'message_start', message: { id: 'm', usage: { input_tokens: 1, output_tokens: 1 } } }) +
            ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: 'hi' } }) +
            ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
            ev('message_delta', { type: 'message_delta', delta: { stop_reason: stop }, usage: { output_tokens: 3 } }) +
            ev('message_stop', { type: 'message_stop' }),
        ]),
      ).finishReason;
    assert.equal(one('end_turn'), 'stop');
    assert.equal(one('stop_sequence'), 'stop');
    assert.equal(one('max_tokens'), 'length');
    assert.equal(one('refusal'), 'content_filter');
    assert.equal(one('model_context_window_exceeded'), 'length');
  });

  test('errors: an error event (overloaded → 503 kind), a stream cut inside a tool call, nothing at all, a Snowflake error', () => {
    const over = decode([ev('message_start', { type: 'message_start', message: { id: 'm' } }) + ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })]).at(-1)!;
    assert.equal(over.type === 'error' && over.error.kind, 'unavailable');
    const cut = decode([
      ev('message_start', { type: 'message_start', message: { id: 'm' } }) +
        ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't', name: 'x', input: {} } }) +
        ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"a":' } }),
    ]);
    const last = cut.at(-1)!;
    assert.equal(last.type, 'error', 'a half tool call is never handed out as runnable');
    assert.match(last.type === 'error' ? last.error.message : '', /middle of a tool call/);
    assert.equal(decode(['']).at(-1)!.type, 'error');
    const sf = decode([`data: ${JSON.stringify({ code: '390112', message: 'session expired' })}\n\n`]).at(-1)!;
    assert.equal(sf.type === 'error' && sf.error.kind, 'auth');
  });

  test('decodeJson: a whole message, and an Anthropic error object', () => {
    const events: StreamEvent[] = [];
    anthropicWire.decodeJson(
      { id: 'msg_9', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Hi' }, { type: 'tool_use', id: 'tu', name: 'f', input: { a: 1 } }], stop_reason: 'tool_use', usage: { input_tokens: 5, cache_read_input_tokens: 5, output_tokens: 2 } },
      {},
      (e) => events.push(e),
    );
    const m = aggregate(events);
    assert.equal(m.id, 'msg_9');
    assert.equal(m.text, 'Hi');
    assert.deepEqual(m.toolCalls, [{ id: 'tu', name: 'f', argumentsJson: '{"a":1}' }]);
    assert.deepEqual(m.usage, { promptTokens: 10, completionTokens: 2, totalTokens: 12, cachedTokens: 5 });
    const err: StreamEvent[] = [];
    anthropicWire.decodeJson({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }, {}, (e) => err.push(e));
    assert.equal(err[0].type === 'error' && err[0].error.kind, 'rate_limit');
  });
});
