// The openai wire (/cortex/v1/chat/completions): request encoding with Cortex's rules, and decoding of the
// quirky answers of §8.2/§8.3 (literal Claude captures' shapes, split at every byte) into canonical events.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { openaiWire, openaiUsage, OPENAI_PATH } from '../src/cortex/openai-wire.js';
import { ProxyError } from '../src/core/errors.js';
import { aggregate } from '../src/core/aggregate.js';
import type { ChatRequest, Message, StreamEvent } from '../src/core/types.js';
import type { Deployment } from '../src/config/types.js';
import type { DecoderContext } from '../src/cortex/wire.js';

function dep(cortexModel: string, extra: Partial<Deployment> = {}): Deployment {
  return { modelName: 'm', cortexModel, apiBase: 'https://x.snowflakecomputing.com/api/v2', auth: { type: 'pat', token: 't' }, wire: 'openai', ...extra };
}
function req(messages: Message[], extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'm', messages, stream: true, includeUsage: false, unsupported: [], ...extra };
}
const user = (text: string): Message => ({ role: 'user', parts: [{ type: 'text', text }] });
const encode = (r: ChatRequest, model = 'claude-sonnet-4-5', extra: Partial<Deployment> = {}) => openaiWire.encodeRequest(r, dep(model, extra));
const body = (r: ChatRequest, model?: string, extra?: Partial<Deployment>) => encode(r, model, extra).body as Record<string, any>;

function refusal(r: ChatRequest, model: string): ProxyError {
  try {
    encode(r, model);
  } catch (e) {
    assert.ok(e instanceof ProxyError);
    return e;
  }
  assert.fail('expected a refusal');
}

function decode(chunks: string[], ctx: DecoderContext = {}): StreamEvent[] {
  const events: StreamEvent[] = [];
  const emit = (e: StreamEvent) => events.push(e);
  const d = openaiWire.createStreamDecoder(ctx);
  for (const c of chunks) d.feed(c, emit);
  d.end(emit);
  return events;
}

/** Every split of the stream into two pieces decodes to the same events (push-style, any chunking). */
function decodeAllSplits(text: string, ctx: DecoderContext = {}): StreamEvent[] {
  const whole = decode([text], ctx);
  for (let i = 1; i < text.length; i += Math.max(1, Math.floor(text.length / 97))) {
    assert.deepEqual(strip(decode([text.slice(0, i), text.slice(i)], ctx)), strip(whole), `split at ${i}`);
  }
  return whole;
}
const strip = (events: StreamEvent[]) => events.map((e) => (e.type === 'error' ? { type: 'error', message: e.error.message } : e));
const sse = (...objs: unknown[]) => objs.map((o) => `data: ${typeof o === 'string' ? o : JSON.stringify(o)}\n\n`).join('');

describe('encodeRequest', () => {
  test('path, model, max_completion_tokens (never max_tokens), stream with usage', () => {
    const e = encode(req([user('hi')], { maxTokens: 100 }));
    assert.equal(e.path, OPENAI_PATH);
    assert.equal(e.body.model, 'claude-sonnet-4-5');
    assert.equal(e.body.max_completion_tokens, 100);
    assert.equal('max_tokens' in e.body, false);
    assert.equal(e.maxTokens, 100);
    assert.equal(e.body.stream, true);
    assert.deepEqual(e.body.stream_options, { include_usage: true });
    assert.deepEqual(e.body.messages, [{ role: 'user', content: 'hi' }]);
  });

  test('no max_tokens from the client: the model limit (long tool arguments are not cut); clamped to it', () => {
    assert.equal(body(req([user('hi')]), 'claude-sonnet-4-5').max_completion_tokens, 64_000);
    assert.equal(body(req([user('hi')], { maxTokens: 10_000_000 }), 'openai-gpt-4.1').max_completion_tokens, 32_000);
    assert.equal(body(req([user('hi')]), 'claude-sonnet-4-5', { maxTokens: 2048 }).max_completion_tokens, 2048);
  });

  test('never sends what Cortex rejects: no service_tier, store, metadata, prediction, audio, modalities', () => {
    const b = body(req([user('hi')], { temperature: 0.5, topP: 0.9, stop: ['x'] }), 'openai-gpt-4.1');
    for (const k of ['service_tier', 'store', 'metadata', 'prediction', 'audio', 'modalities', 'max_tokens', 'user']) assert.equal(k in b, false, k);
    assert.equal(b.temperature, 0.5);
    assert.equal(b.top_p, 0.9);
    assert.deepEqual(b.stop, ['x'], 'OpenAI models honour stop');
  });

  test('stop is unsupported (drop_params decides) for models that ignore it there; temperature clamped for Claude', () => {
    assert.deepEqual(openaiWire.unsupportedFields(req([user('x')], { stop: ['\n'] }), dep('claude-sonnet-4-5')), ['stop']);
    assert.deepEqual(openaiWire.unsupportedFields(req([user('x')], { stop: ['\n'] }), dep('openai-gpt-4.1')), []);
    assert.deepEqual(openaiWire.unsupportedFields(req([user('x')]), dep('claude-sonnet-4-5')), []);
    assert.equal(body(req([user('hi')], { temperature: 1.7 }), 'claude-sonnet-4-5').temperature, 1);
    assert.equal(body(req([user('hi')], { temperature: 1.7 }), 'openai-gpt-4.1').temperature, 1.7);
  });

  test('tools, tool history and tool_choice in OpenAI form; ids cleaned; arguments re-serialised as an object', () => {
    const r = req(
      [
        user('weather?'),
        { role: 'assistant', parts: [{ type: 'text', text: 'Checking.' }, { type: 'tool_call', id: 'call:1', name: 'get_weather', argumentsJson: '{"city": "Paris"}' }] },
        { role: 'user', parts: [{ type: 'tool_result', callId: 'call:1', name: 'get_weather', parts: [{ type: 'text', text: 'sunny' }] }, { type: 'text', text: 'and tomorrow?' }] },
      ],
      {
        system: 'Be brief.',
        tools: [{ name: 'get_weather', description: 'Weather', jsonSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { city: { type: 'string' } } } }],
        toolChoice: { type: 'tool', name: 'get_weather' },
      },
    );
    const b = body(r);
    assert.deepEqual(b.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      { role: 'user', content: 'and tomorrow?' },
    ]);
    assert.deepEqual(b.tools, [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]);
    assert.deepEqual(b.tool_choice, { type: 'function', function: { name: 'get_weather' } });
    assert.equal(body(req([user('x')], { tools: r.tools, toolChoice: { type: 'required' } })).tool_choice, 'required');
    const none = body(req([user('x')], { tools: r.tools, toolChoice: { type: 'none' } }));
    assert.equal('tools' in none, false, 'tool_choice none without tool history sends no tools');
  });

  test('tools on a model without tool calling: a clear 400 before any call', () => {
    const e = refusal(req([user('x')], { tools: [{ name: 't', jsonSchema: {} }] }), 'llama3.1-70b');
    assert.equal(e.status, 400);
    assert.match(e.message, /does not support tool calling/);
    assert.equal(e.param, 'tools');
  });

  test('a Claude prefill (trailing assistant message) is refused clearly; OpenAI models may end on the assistant', () => {
    const r = req([user('x'), { role: 'assistant', parts: [{ type: 'text', text: 'Sure, ' }] }]);
    const e = refusal(r, 'claude-sonnet-4-5');
    assert.equal(e.status, 400);
    assert.match(e.message, /final position/);
    assert.equal(body(r, 'openai-gpt-4.1').messages.at(-1).role, 'assistant');
  });

  test('images as data URLs (detail for OpenAI only), cache breakpoints for Claude only, tool-result images after the tool message', () => {
    const img = { type: 'image' as const, mediaType: 'image/png', base64: 'iVBORw0KGgo=', detail: 'high' as const, cache: true };
    const claude = body(req([{ role: 'user', parts: [{ type: 'text', text: 'see', cache: true }, img] }]));
    assert.deepEqual(claude.messages[0].content, [
      { type: 'text', text: 'see', cache_control: { type: 'ephemeral' } },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' }, cache_control: { type: 'ephemeral' } },
    ]);
    const gpt = body(req([{ role: 'user', parts: [{ type: 'text', text: 'see', cache: true }, img] }]), 'openai-gpt-4.1');
    assert.deepEqual(gpt.messages[0].content, [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } }]);
    const withResult = body(
      req([
        user('shot'),
        { role: 'assistant', parts: [{ type: 'tool_call', id: 'c1', name: 'screenshot', argumentsJson: '' }] },
        { role: 'user', parts: [{ type: 'tool_result', callId: 'c1', name: 'screenshot', parts: [img] }] },
      ], { tools: [{ name: 'screenshot', jsonSchema: {} }] }),
      'openai-gpt-4.1',
    );
    assert.deepEqual(withResult.messages.slice(1).map((m: any) => m.role), ['assistant', 'tool', 'user']);
    assert.equal(withResult.messages[1].tool_calls[0].function.arguments, '{}');
    assert.equal(withResult.messages[2].content, '(image attached below)');
  });

  test('reasoning: OpenAI reasoning_effort; Claude OpenRouter-style reasoning.max_tokens without temperature', () => {
    // v1 chat documents none | minimal | low | medium | high for OpenAI models: passed as asked.
    assert.equal(body(req([user('x')], { reasoning: { effort: 'minimal' } }), 'openai-gpt-5').reasoning_effort, 'minimal');
    assert.equal(body(req([user('x')], { reasoning: { effort: 'none' } }), 'openai-gpt-5').reasoning_effort, 'none');
    assert.equal('reasoning' in body(req([user('x')], { reasoning: { effort: 'none' } }), 'claude-sonnet-4-5'), false, 'none: no Claude thinking');
    const c = body(req([user('x')], { reasoning: { effort: 'high' }, temperature: 0.2, maxTokens: 20_000 }), 'claude-sonnet-4-5');
    assert.deepEqual(c.reasoning, { max_tokens: 10_000 });
    assert.equal('temperature' in c, false);
    assert.equal('reasoning_effort' in body(req([user('x')], { reasoning: { effort: 'high' } }), 'openai-gpt-4.1'), false, 'gpt-4.1 takes no reasoning control');
    const gpt5 = body(req([user('x')], { temperature: 0.2, topP: 0.5 }), 'openai-gpt-5');
    assert.equal('temperature' in gpt5 || 'top_p' in gpt5, false, 'reasoning models take only the default sampling');
  });

  test('consecutive user turns merge; a conversation opening with the assistant gets a placeholder user turn', () => {
    const b = body(req([{ role: 'assistant', parts: [{ type: 'text', text: 'Hello!' }] }, user('a'), user('b')]), 'openai-gpt-4.1');
    assert.deepEqual(b.messages, [{ role: 'user', content: '.' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'a\n\nb' }]);
  });
});

describe('decoding Cortex quirks (§8.2/§8.3)', () => {
  // Claude on /v1/chat/completions: id "", finish_reason "", no delta.role, Go zero values, every tool on index 0,
  // continuation fragments with id "", cached tokens outside prompt_tokens, no [DONE].
  const zero = { refusal: '', function_call: { arguments: '', name: '' } };
  const claudeChunk = (delta: object) => ({ id: '', object: 'chat.completion.chunk', created: 1787679484, model: 'claude-sonnet-4-5', choices: [{ index: 0, delta: { ...delta, ...zero }, finish_reason: '' }] });
  const claudeStream = sse(
    claudeChunk({ content: 'Let me check.', tool_calls: null }),
    claudeChunk({ content: '', tool_calls: [{ index: 0, id: 'tooluse_A', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
    claudeChunk({ content: '', tool_calls: [{ index: 0, id: '', type: '', function: { name: '', arguments: '{"city":' } }] }),
    claudeChunk({ content: '', tool_calls: [{ index: 0, id: '', type: '', function: { name: '', arguments: '"Paris"}' } }] }),
    claudeChunk({ content: '', tool_calls: [{ index: 0, id: 'tooluse_B', type: 'function', function: { name: 'get_time', arguments: '' } }] }),
    claudeChunk({ content: '', tool_calls: [{ index: 0, id: '', type: '', function: { name: '', arguments: '{"tz":"CET"}' } }] }),
    claudeChunk({ content: '', tool_calls: null }),
    { id: '', object: 'chat.completion.chunk', created: 1787679484, model: 'claude-sonnet-4-5', choices: [], usage: { prompt_tokens: 7, completion_tokens: 6, total_tokens: 4818, prompt_tokens_details: { cached_tokens: 4805, cache_write_tokens: 0 } } },
  );

  test('Claude stream: tools re-indexed by id, zero values ignored, finish derived, cached tokens added back, no [DONE] needed', () => {
    const events = decodeAllSplits(claudeStream, { requestId: 'req-1', maxTokens: 1000 });
    assert.deepEqual(events, [
      { type: 'start', id: 'req-1', created: 1787679484 },
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_call_start', index: 0, id: 'tooluse_A', name: 'get_weather' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '{"city":' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '"Paris"}' },
      { type: 'tool_call_end', index: 0 },
      { type: 'tool_call_start', index: 1, id: 'tooluse_B', name: 'get_time' },
      { type: 'tool_call_delta', index: 1, argumentsFragment: '{"tz":"CET"}' },
      { type: 'tool_call_end', index: 1 },
      { type: 'usage', usage: { promptTokens: 4812, completionTokens: 6, totalTokens: 4818, cachedTokens: 4805 } },
      { type: 'finish', reason: 'tool_calls', usage: { promptTokens: 4812, completionTokens: 6, totalTokens: 4818, cachedTokens: 4805 } },
    ]);
  });

  test('OpenAI stream: role first, distinct indexes, finish_reason, [DONE]; cached tokens already inside prompt_tokens', () => {
    const c = (delta: object, finish: string | null = null) => ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 5, model: 'openai-gpt-4.1', choices: [{ index: 0, delta, finish_reason: finish }] });
    const text = sse(
      c({ role: 'assistant', content: '' }),
      c({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }),
      c({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"x":1}' } }] }),
      c({}, 'tool_calls'),
      { id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105, prompt_tokens_details: { cached_tokens: 64 } } },
      '[DONE]',
    );
    const final = aggregate(decodeAllSplits(text));
    assert.deepEqual(final.toolCalls, [
      { id: 'call_a', name: 'a', argumentsJson: '{}' },
      { id: 'call_b', name: 'b', argumentsJson: '{"x":1}' },
    ]);
    assert.equal(final.finishReason, 'tool_calls');
    assert.deepEqual(final.usage, { promptTokens: 100, completionTokens: 5, totalTokens: 105, cachedTokens: 64 });
    assert.equal(final.id, 'chatcmpl-1');
  });

  test('finish: "" with text → stop; length from the upstream or from hitting max_tokens; refusal → content_filter', () => {
    const claude = (delta: object, fr = '') => ({ id: '', choices: [{ index: 0, delta: { ...delta, ...zero }, finish_reason: fr }] });
    assert.equal(aggregate(decode([sse(claude({ content: 'Four' }))])).finishReason, 'stop');
    assert.equal(aggregate(decode([sse(claude({ content: 'x' }, 'length'))])).finishReason, 'length');
    const cut = sse(claude({ content: 'a b c' }), { id: '', choices: [], usage: { prompt_tokens: 3, completion_tokens: 10, total_tokens: 13 } });
    assert.equal(aggregate(decode([cut], { maxTokens: 10 })).finishReason, 'length');
    const refused = aggregate(decode([sse({ id: 'x', choices: [{ index: 0, delta: { refusal: 'I cannot help with that.' }, finish_reason: null }] })]));
    assert.equal(refused.text, 'I cannot help with that.');
    assert.equal(refused.finishReason, 'content_filter');
  });

  test('reasoning text (Claude `reasoning`, others `reasoning_content`) becomes thinking; content after it is text', () => {
    const m = aggregate(decode([sse({ id: '', choices: [{ index: 0, delta: { content: '', reasoning: 'First, ' } }] }, { id: '', choices: [{ index: 0, delta: { reasoning_content: 'think.' } }] }, { id: '', choices: [{ index: 0, delta: { content: 'Done.' } }] })]));
    assert.deepEqual(m.thinking, [{ text: 'First, think.' }]);
    assert.equal(m.text, 'Done.');
  });

  test('a parameterless tool that streamed no arguments gets "{}"; a nameless fragment on an unseen index is ignored', () => {
    const ev = decode([sse({ id: '', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 't1', type: 'function', function: { name: 'now', arguments: '' } }] }, finish_reason: '' }] }, { id: '', choices: [{ index: 0, delta: { tool_calls: [{ index: 3, id: '', type: '', function: { name: '', arguments: '' } }] }, finish_reason: '' }] })]);
    assert.deepEqual(aggregate(ev).toolCalls, [{ id: 't1', name: 'now', argumentsJson: '{}' }]);
  });

  test('errors: mid-stream error object (kind from its type), a Snowflake error dressed as a chunk, bad JSON, an empty body', () => {
    const mid = decode([sse({ id: '', choices: [{ index: 0, delta: { content: 'par' } }] }, { error: { message: 'too many requests', type: 'rate_limit' } })], { requestId: 'r9' });
    const err = mid.at(-1)!;
    assert.equal(err.type, 'error');
    assert.equal(err.type === 'error' && err.error.kind, 'rate_limit');
    assert.match(err.type === 'error' ? err.error.message : '', /too many requests.*r9/);
    const sf = decode([sse({ code: '390112', message: 'Your session has expired.' })]).at(-1)!;
    assert.equal(sf.type === 'error' && sf.error.kind, 'auth');
    const badJson = decode(['data: {"id":"x","choices":[{"delta":{"content":"a"\n\n']).at(-1)!;
    assert.match(badJson.type === 'error' ? badJson.error.message : '', /malformed/);
    const empty = decode(['']).at(-1)!;
    assert.match(empty.type === 'error' ? empty.error.message : '', /without sending any data/);
  });

  test('decodeJson: the §8.3 non-stream Claude body (Go zero values) becomes a clean message', () => {
    const events: StreamEvent[] = [];
    openaiWire.decodeJson(
      {
        choices: [{ finish_reason: '', index: 0, message: { annotations: null, audio: { data: '', expires_at: 0, id: '', transcript: '' }, content: 'Four', function_call: { arguments: '', name: '' }, refusal: '', role: 'assistant', tool_calls: null } }],
        created: 1787679484, id: '', model: 'claude-sonnet-4-5', object: 'chat.completion', service_tier: '', system_fingerprint: '',
        usage: { completion_tokens: 4, completion_tokens_details: { accepted_prediction_tokens: 0, audio_tokens: 0, reasoning_tokens: 0, rejected_prediction_tokens: 0 }, prompt_tokens: 21, prompt_tokens_details: { audio_tokens: 0, cache_write_tokens: 0, cached_tokens: 0 }, total_tokens: 25 },
      },
      { requestId: 'rid' },
      (e) => events.push(e),
    );
    const m = aggregate(events);
    assert.equal(m.text, 'Four');
    assert.deepEqual(m.toolCalls, []);
    assert.equal(m.finishReason, 'stop');
    assert.equal(m.id, 'rid');
    assert.deepEqual(m.usage, { promptTokens: 21, completionTokens: 4, totalTokens: 25 });
  });

  test('openaiUsage tells the two cache conventions apart by total_tokens', () => {
    assert.deepEqual(openaiUsage({ prompt_tokens: 7, completion_tokens: 6, total_tokens: 4818, prompt_tokens_details: { cached_tokens: 4805 } }), { promptTokens: 4812, completionTokens: 6, totalTokens: 4818, cachedTokens: 4805 });
    assert.deepEqual(openaiUsage({ prompt_tokens: 5000, completion_tokens: 6, total_tokens: 5006, prompt_tokens_details: { cached_tokens: 4805 } }), { promptTokens: 5000, completionTokens: 6, totalTokens: 5006, cachedTokens: 4805 });
    // Claude: cached_tokens is reads + writes (Snowflake's chart), cache_write_tokens its writes' share: counted once.
    assert.deepEqual(openaiUsage({ prompt_tokens: 7, completion_tokens: 6, prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 20 } }), { promptTokens: 107, completionTokens: 6, totalTokens: 113, cachedTokens: 80, cacheWriteTokens: 20 });
    assert.deepEqual(openaiUsage({ prompt_tokens: 7, completion_tokens: 6, total_tokens: 113, prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 20 } }), { promptTokens: 107, completionTokens: 6, totalTokens: 113, cachedTokens: 80, cacheWriteTokens: 20 });
    // …and an answer whose total counts the writes apart from cached_tokens is read that way.
    assert.deepEqual(openaiUsage({ prompt_tokens: 7, completion_tokens: 6, total_tokens: 133, prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 20 } }), { promptTokens: 127, completionTokens: 6, totalTokens: 133, cachedTokens: 100, cacheWriteTokens: 20 });
    assert.equal(openaiUsage({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }), undefined, 'a zero-value usage object says nothing');
  });
});
