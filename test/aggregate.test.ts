import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Aggregator, aggregate } from '../src/core/aggregate.js';
import { ProxyError } from '../src/core/errors.js';
import type { StreamEvent } from '../src/core/types.js';

test('text, two tool calls, usage and finish become one FinalMessage', () => {
  const events: StreamEvent[] = [
    { type: 'start', id: 'msg_1', created: 1700000000 },
    { type: 'text', text: 'Let me ' },
    { type: 'text', text: 'look.' },
    { type: 'tool_call_start', index: 0, id: 'call_a', name: 'read_file' },
    { type: 'tool_call_delta', index: 0, argumentsFragment: '{"path":' },
    { type: 'tool_call_start', index: 1, id: 'call_b', name: 'list_dir' },
    { type: 'tool_call_delta', index: 1, argumentsFragment: '{"dir":"src"}' },
    { type: 'tool_call_delta', index: 0, argumentsFragment: '"a.ts"}' },
    { type: 'tool_call_end', index: 0 },
    { type: 'tool_call_end', index: 1 },
    { type: 'usage', usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 4 } },
    { type: 'finish', reason: 'tool_calls' },
  ];
  assert.deepEqual(aggregate(events), {
    id: 'msg_1',
    created: 1700000000,
    text: 'Let me look.',
    thinking: [],
    toolCalls: [
      { id: 'call_a', name: 'read_file', argumentsJson: '{"path":"a.ts"}' },
      { id: 'call_b', name: 'list_dir', argumentsJson: '{"dir":"src"}' },
    ],
    finishReason: 'tool_calls',
    usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 4 },
  });
});

test('defaults for id/created, ZERO usage, {} for a call without arguments', () => {
  const agg = new Aggregator({ id: 'chatcmpl-x', created: 42 });
  agg.push({ type: 'tool_call_start', index: 3, id: 'call_1', name: 'now' });
  agg.push({ type: 'finish', reason: 'tool_calls' });
  const m = agg.result();
  assert.equal(m.id, 'chatcmpl-x');
  assert.equal(m.created, 42);
  assert.deepEqual(m.toolCalls, [{ id: 'call_1', name: 'now', argumentsJson: '{}' }]);
  assert.deepEqual(m.usage, { promptTokens: 0, completionTokens: 0, totalTokens: 0 });
  assert.ok(agg.finished);
});

test('without defaults an id and a created time are made up', () => {
  const m = aggregate([{ type: 'text', text: 'hi' }, { type: 'finish', reason: 'stop' }]);
  assert.match(m.id, /^msg_/);
  assert.ok(Math.abs(m.created - Date.now() / 1000) < 60);
});

test('finish usage overrides an earlier usage event', () => {
  const m = aggregate([
    { type: 'usage', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } },
    { type: 'finish', reason: 'length', usage: { promptTokens: 7, completionTokens: 9, totalTokens: 16 } },
  ]);
  assert.equal(m.finishReason, 'length');
  assert.deepEqual(m.usage, { promptTokens: 7, completionTokens: 9, totalTokens: 16 });
});

test('thinking segments: consecutive deltas join, a signature closes, text in between splits', () => {
  const m = aggregate([
    { type: 'thinking', text: 'First ' },
    { type: 'thinking', text: 'idea.' },
    { type: 'thinking', text: '', signature: 'sig1' },
    { type: 'thinking', text: 'Second.' },
    { type: 'text', text: 'Answer' },
    { type: 'thinking', text: 'Third.', signature: 'sig3' },
    { type: 'finish', reason: 'stop' },
  ]);
  assert.deepEqual(m.thinking, [
    { text: 'First idea.', signature: 'sig1' },
    { text: 'Second.' },
    { text: 'Third.', signature: 'sig3' },
  ]);
  assert.equal(m.text, 'Answer');
});

test('an error event surfaces: result() throws it, error exposes it', () => {
  const err = new ProxyError('rate_limit', 'slow down', { retryAfter: 3 });
  const agg = new Aggregator();
  agg.push({ type: 'text', text: 'partial' });
  agg.push({ type: 'error', error: err });
  assert.equal(agg.error, err);
  assert.throws(() => agg.result(), (e) => e === err);
});

test('an error after finish still wins; events after finish are ignored', () => {
  const agg = new Aggregator();
  agg.push({ type: 'text', text: 'a' });
  agg.push({ type: 'finish', reason: 'stop' });
  agg.push({ type: 'text', text: 'b' });
  assert.equal(agg.result().text, 'a');
  const err = new ProxyError('upstream', 'boom');
  agg.push({ type: 'error', error: err });
  assert.throws(() => agg.result(), (e) => e === err);
});

test('no finish: result() throws an upstream ProxyError instead of guessing', () => {
  const agg = new Aggregator();
  agg.push({ type: 'tool_call_start', index: 0, id: 'c', name: 'x' });
  agg.push({ type: 'tool_call_delta', index: 0, argumentsFragment: '{"a":' });
  assert.throws(
    () => agg.result(),
    (e) => e instanceof ProxyError && e.kind === 'upstream',
  );
});

test('push works unbound (as an Emit callback); stray deltas and repeated starts are harmless', () => {
  const agg = new Aggregator();
  const emit = agg.push;
  emit({ type: 'tool_call_delta', index: 5, argumentsFragment: 'lost' });
  emit({ type: 'tool_call_start', index: 0, id: 'c1', name: 'a' });
  emit({ type: 'tool_call_start', index: 0, id: 'c1-again', name: 'a' });
  emit({ type: 'tool_call_delta', index: 0, argumentsFragment: '{}' });
  emit({ type: 'finish', reason: 'tool_calls' });
  assert.deepEqual(agg.result().toolCalls, [{ id: 'c1', name: 'a', argumentsJson: '{}' }]);
});

test('result() does not expose internal state', () => {
  const agg = new Aggregator();
  agg.push({ type: 'thinking', text: 't' });
  agg.push({ type: 'finish', reason: 'stop' });
  const a = agg.result();
  a.thinking[0]!.text = 'mutated';
  a.usage.promptTokens = 99;
  const b = agg.result();
  assert.equal(b.thinking[0]!.text, 't');
  assert.equal(b.usage.promptTokens, 0);
});

test('OpenAI reasoning items: each its own segment, sealed with id/summary/encrypted_content; empty unsealed ones dropped', () => {
  const agg = new Aggregator();
  const events: StreamEvent[] = [
    { type: 'reasoning_item', phase: 'start', item: { id: 'rs_1' } },
    { type: 'thinking', text: 'First.' },
    { type: 'reasoning_item', phase: 'done', item: { id: 'rs_1', summary: ['First.'], encryptedContent: 'enc1' } },
    { type: 'thinking', text: 'Claude-style, after a sealed item.' },
    { type: 'reasoning_item', phase: 'start', item: { id: 'rs_2' } },
    { type: 'reasoning_item', phase: 'done', item: { id: 'rs_2', summary: [], encryptedContent: 'enc2' } },
    { type: 'reasoning_item', phase: 'start', item: { id: 'rs_3' } },
    { type: 'text', text: 'answer' },
    { type: 'finish', reason: 'stop' },
  ];
  for (const e of events) agg.push(e);
  assert.deepEqual(agg.result().thinking, [
    { text: 'First.', openai: { id: 'rs_1', summary: ['First.'], encryptedContent: 'enc1' } },
    { text: 'Claude-style, after a sealed item.' },
    { text: '', openai: { id: 'rs_2', summary: [], encryptedContent: 'enc2' } },
  ]);
});
