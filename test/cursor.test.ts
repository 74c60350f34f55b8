// The Cursor-aware chat dialect in process: shape detection, the three decodings, freeform-tool unwrapping
// (incremental, across any fragment split), the Azure path helpers and the min_output_tokens floor.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { azureDeployment, chatCompletions as cursorAwareChat, detectShape, withDeploymentModel } from '../src/dialects/chat-completions.js';
import { FreeformArgs } from '../src/dialects/freeform.js';
import { openaiChat } from '../src/dialects/openai-chat/index.js';
import { ProxyError } from '../src/core/errors.js';
import type { ChatRequest, FinalMessage, StreamEvent, ToolCallPart, ToolResultPart } from '../src/core/types.js';
import type { ResponseMeta } from '../src/dialects/dialect.js';
import { applyOutputFloor } from '../src/server/max-tokens.js';
import { loadConfig, ConfigError } from '../src/config/load.js';
import type { Deployment } from '../src/config/types.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'cursor');
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as Record<string, any>;
const META: ResponseMeta = { id: 'chatcmpl-test', created: 1_700_000_000, model: 'cortex-gpt-4.1' };
const H = { 'user-agent': 'Cursor/1.7' };
const decode = (body: unknown) => cursorAwareChat.decodeRequest(body, H);

function decodeError(body: unknown): ProxyError {
  try {
    decode(body);
  } catch (e) {
    assert.ok(e instanceof ProxyError, String(e));
    return e;
  }
  assert.fail('expected a ProxyError');
}

/** Runs events through the dialect's stream encoder and parses the SSE frames. */
function streamOf(req: ChatRequest, events: StreamEvent[]): any[] {
  const enc = cursorAwareChat.createStreamEncoder(req, META);
  let sse = '';
  for (const e of events) sse += enc.event(e);
  sse += enc.end();
  assert.ok(sse.endsWith('data: [DONE]\n\n'));
  return sse
    .split('\n\n')
    .filter((f) => f.startsWith('data: ') && f !== 'data: [DONE]')
    .map((f) => JSON.parse(f.slice(6)));
}

/** Tool calls accumulated the way a Chat Completions client does it (by index). */
function toolCallsOf(chunks: any[]): Array<{ id: string; name: string; arguments: string }> {
  const calls: Array<{ id: string; name: string; arguments: string }> = [];
  for (const c of chunks)
    for (const t of c.choices?.[0]?.delta?.tool_calls ?? []) {
      if (t.id) calls[t.index] = { id: t.id, name: t.function.name, arguments: t.function.arguments ?? '' };
      else calls[t.index].arguments += t.function.arguments;
    }
  return calls;
}

const PATCH = '*** Begin Patch\n*** Update File: main.py\n@@\n-def main():\n+def hello():\n+    print("hi \\"there\\"", \'\\\\\')\n+    # ünïcödé 🚀 \u2028 tab\there\n*** End Patch';

describe('shape detection', () => {
  test('standard Chat Completions stays chat, including mixed nested/flat tools and tool_calls: []', () => {
    assert.equal(detectShape(fixture('chat-mixed-tools.json')), 'chat');
    assert.equal(detectShape({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }), 'chat');
    assert.equal(detectShape('not an object'), 'chat');
  });
  test('a Responses body on the chat path is responses', () => {
    assert.equal(detectShape(fixture('agent-responses.json')), 'responses');
    assert.equal(detectShape({ model: 'm', input: 'hi' }), 'responses');
  });
  test('Anthropic blocks, a top-level system, {name,input_schema} tools and custom tools are blocks', () => {
    assert.equal(detectShape(fixture('anthropic-blocks.json')), 'blocks');
    assert.equal(detectShape({ model: 'm', system: 'x', messages: [] }), 'blocks');
    assert.equal(detectShape({ model: 'm', messages: [], tools: [{ name: 't', input_schema: { type: 'object' } }] }), 'blocks');
    assert.equal(detectShape({ model: 'm', messages: [], tools: [{ type: 'custom', name: 'ApplyPatch' }] }), 'blocks');
  });
});

describe('decoding', () => {
  test('a chat body decodes exactly as openai-chat decodes it', () => {
    const body = fixture('chat-mixed-tools.json');
    const ours = decode(body);
    const theirs = openaiChat.decodeRequest(body, H);
    assert.deepEqual(ours.messages, theirs.messages);
    assert.deepEqual(ours.tools, theirs.tools);
    assert.deepEqual(
      ours.tools!.map((t) => t.name),
      ['read_file', 'run_terminal_cmd', 'grep_search'],
    );
    // tool_calls: [] with content null leaves no empty assistant turn behind
    assert.ok(ours.messages.every((m) => m.parts.length > 0));
  });

  test('a Responses-shaped body: input items, flat + custom tools, usage only when asked, previous_response_id null accepted', () => {
    const body = fixture('agent-responses.json');
    const req = decode(body);
    assert.equal(req.stream, true);
    assert.equal(req.includeUsage, true);
    assert.match(req.system!, /Cursor/);
    assert.deepEqual(
      req.tools!.map((t) => t.name),
      ['read_file', 'run_terminal_cmd', 'ApplyPatch'],
    );
    const patchTool = req.tools!.find((t) => t.name === 'ApplyPatch')!;
    assert.deepEqual((patchTool.jsonSchema as any).required, ['input']);
    assert.match((patchTool.jsonSchema as any).properties.input.description, /lark grammar/);
    const results = req.messages.flatMap((m) => m.parts).filter((p): p is ToolResultPart => p.type === 'tool_result');
    assert.deepEqual(results.map((r) => r.name), ['read_file']);

    assert.equal(decode({ ...body, stream_options: undefined }).includeUsage, false);
    const e = decodeError({ ...body, previous_response_id: 'resp_123' });
    assert.match(e.message, /previous_response_id/);
    assert.equal(e.status, 400);
  });

  test('Responses shape: max_tokens is honoured when max_output_tokens is absent', () => {
    assert.equal(decode({ model: 'm', input: 'hi', max_tokens: 64 }).maxTokens, 64);
    assert.equal(decode({ model: 'm', input: 'hi', max_output_tokens: 32, max_tokens: 64 }).maxTokens, 32);
  });

  test('Anthropic blocks: system blocks, tool_use/tool_result (named), cache_control, input_schema tools, images', () => {
    const req = decode(fixture('anthropic-blocks.json'));
    assert.match(req.system!, /^You are Cursor's agent/);
    assert.match(req.system!, /Workspace rules/);
    // the last client message splits into its tool results and what the user wrote (the wire merges the two turns)
    assert.deepEqual(req.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user', 'user']);
    const calls = req.messages.flatMap((m) => m.parts).filter((p): p is ToolCallPart => p.type === 'tool_call');
    assert.deepEqual(calls.map((c) => [c.id, c.name, JSON.parse(c.argumentsJson)]), [
      ['toolu_01A', 'read_file', { target_file: 'src/app.ts' }],
      ['toolu_01B', 'grep_search', { query: 'TODO' }],
    ]);
    const results = req.messages.flatMap((m) => m.parts).filter((p): p is ToolResultPart => p.type === 'tool_result');
    assert.deepEqual(results.map((r) => [r.callId, r.name, r.isError ?? false]), [
      ['toolu_01A', 'read_file', false],
      ['toolu_01B', 'grep_search', true],
    ]);
    const tools = Object.fromEntries(req.tools!.map((t) => [t.name, t.jsonSchema]));
    assert.deepEqual(Object.keys(tools), ['read_file', 'grep_search', 'run_terminal_cmd']);
    assert.deepEqual((tools.read_file as any).required, ['target_file'], 'input_schema kept, not replaced by an empty schema');
    const last = req.messages[req.messages.length - 1];
    assert.ok(last.parts.some((p) => p.type === 'image' && p.mediaType === 'image/png'));
    assert.ok(last.parts.some((p) => p.type === 'text' && p.cache === true), 'cache_control kept as a cache marker');
    assert.equal(req.client?.dialect, 'openai-chat/blocks');
  });

  test('custom tools in a messages body: offered as {input}, a raw-text replay is wrapped again', () => {
    const req = decode({
      model: 'm',
      tools: [
        { type: 'function', function: { name: 'read_file', parameters: { type: 'object' } } },
        { type: 'custom', name: 'ApplyPatch', description: 'Edit files', format: { type: 'grammar', syntax: 'lark', definition: 'start: x' } },
      ],
      messages: [
        { role: 'user', content: 'patch it' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'ApplyPatch', arguments: PATCH } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'Applied.' },
        { role: 'user', content: 'again, LiteLLM style' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_2', type: 'custom', custom: { name: 'ApplyPatch', input: PATCH } }] },
        { role: 'tool', tool_call_id: 'call_2', content: 'Applied again.' },
      ],
      tool_choice: { type: 'custom', name: 'ApplyPatch' },
    });
    const calls = req.messages.flatMap((m) => m.parts).filter((p): p is ToolCallPart => p.type === 'tool_call');
    assert.deepEqual(calls.map((c) => JSON.parse(c.argumentsJson)), [{ input: PATCH }, { input: PATCH }]);
    assert.deepEqual(req.toolChoice, { type: 'tool', name: 'ApplyPatch' });
  });

  test('hosted tools are dropped; a bad block is a 400 that names the client\'s own message index', () => {
    const req = decode({ model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }, { name: 'a', input_schema: { type: 'object' } }] });
    assert.deepEqual(req.tools!.map((t) => t.name), ['a']);

    const e = decodeError({
      model: 'm',
      system: [{ type: 'text', text: 'sys' }],
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_nope', content: 'x' }] },
      ],
    });
    assert.equal(e.status, 400);
    assert.match(e.message, /messages\[1\]/);
    assert.match(e.message, /toolu_nope/);
    assert.match(decodeError({ model: 'm', messages: [{ role: 'assistant', content: [{ type: 'tool_use', name: 'x' }] }] }).message, /messages\[0\]\.content\[0\]\.id/);
    assert.match(decodeError({ model: 'm', system: 5, messages: [] }).message, /'system'/);
  });
});

describe('freeform tool calls come back as raw text', () => {
  const encoded = JSON.stringify({ input: PATCH });

  test('FreeformArgs decodes {"input": "..."} across every split point', () => {
    for (let cut = 0; cut <= encoded.length; cut++) {
      const a = new FreeformArgs();
      const out = a.feed(encoded.slice(0, cut)) + a.feed(encoded.slice(cut)) + a.end();
      assert.equal(out, PATCH, `split at ${cut}`);
    }
    // one character at a time, with whitespace around the key
    const spaced = `{ "input" : ${JSON.stringify(PATCH)} }`;
    const a = new FreeformArgs();
    let out = '';
    for (const ch of spaced) out += a.feed(ch);
    assert.equal(out + a.end(), PATCH);
  });

  test('FreeformArgs streams progressively, and buffers shapes it cannot stream', () => {
    const a = new FreeformArgs();
    assert.equal(a.feed('{"input":"*** Begin'), '*** Begin');
    assert.equal(a.feed(' Patch\\n'), ' Patch\n');
    assert.equal(a.feed('"}'), '');
    assert.equal(a.end(), '');
    const b = new FreeformArgs();
    assert.equal(b.feed('{"other":1,"input":"x"}'), '');
    assert.equal(b.end(), 'x');
    const c = new FreeformArgs();
    assert.equal(c.feed('{}'), '');
    assert.equal(c.end(), '{}');
  });

  const customReq = () =>
    decode({
      model: 'm',
      stream: true,
      input: 'patch main.py',
      tools: [
        { type: 'function', name: 'read_file', parameters: { type: 'object', properties: { p: { type: 'string' } } } },
        { type: 'custom', name: 'ApplyPatch', format: { type: 'grammar', syntax: 'lark', definition: 'start: x' } },
      ],
    });

  test('stream: the ApplyPatch call is a function tool_call whose arguments are the patch; other calls untouched', () => {
    const req = customReq();
    const events: StreamEvent[] = [
      { type: 'start', id: 'x' },
      { type: 'tool_call_start', index: 0, id: 'call_a', name: 'read_file' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '{"p":' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '"main.py"}' },
      { type: 'tool_call_end', index: 0 },
      { type: 'tool_call_start', index: 1, id: 'call_b', name: 'ApplyPatch' },
    ];
    for (let i = 0; i < encoded.length; i += 7) events.push({ type: 'tool_call_delta', index: 1, argumentsFragment: encoded.slice(i, i + 7) });
    events.push({ type: 'tool_call_end', index: 1 }, { type: 'finish', reason: 'tool_calls' });
    const chunks = streamOf(req, events);
    const calls = toolCallsOf(chunks);
    assert.deepEqual(calls, [
      { id: 'call_a', name: 'read_file', arguments: '{"p":"main.py"}' },
      { id: 'call_b', name: 'ApplyPatch', arguments: PATCH },
    ]);
    for (const c of chunks) for (const t of c.choices[0]?.delta?.tool_calls ?? []) if (t.id) assert.equal(t.type, 'function');
    assert.equal(chunks[chunks.length - 1].choices[0].finish_reason, 'tool_calls');
  });

  test('stream: a freeform call cut by max_tokens ends with finish_reason length', () => {
    const req = customReq();
    const chunks = streamOf(req, [
      { type: 'tool_call_start', index: 0, id: 'call_b', name: 'ApplyPatch' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: encoded.slice(0, 40) },
      { type: 'finish', reason: 'length' },
    ]);
    assert.equal(toolCallsOf(chunks)[0].arguments, JSON.parse(`"${encoded.slice('{"input":"'.length, 40)}"`));
    assert.equal(chunks[chunks.length - 1].choices[0].finish_reason, 'length');
  });

  test('JSON answer: the freeform call carries the raw text', () => {
    const req = customReq();
    const msg: FinalMessage = {
      id: 'x',
      created: 1,
      text: '',
      thinking: [],
      toolCalls: [
        { id: 'call_a', name: 'read_file', argumentsJson: '{"p":"a"}' },
        { id: 'call_b', name: 'ApplyPatch', argumentsJson: encoded },
      ],
      finishReason: 'tool_calls',
      usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
    };
    const out = cursorAwareChat.encodeResponse(msg, req, META) as any;
    assert.deepEqual(
      out.choices[0].message.tool_calls.map((c: any) => [c.type, c.function.name, c.function.arguments]),
      [
        ['function', 'read_file', '{"p":"a"}'],
        ['function', 'ApplyPatch', PATCH],
      ],
    );
    assert.equal(out.object, 'chat.completion');
  });
});

describe('Azure-style deployment path', () => {
  test('the deployment name is read from the path (URL-decoded); other paths do not match', () => {
    assert.equal(azureDeployment('/openai/deployments/cortex-claude-4-sonnet/chat/completions'), 'cortex-claude-4-sonnet');
    assert.equal(azureDeployment('/v1/openai/deployments/my%20model/chat/completions'), 'my model');
    assert.equal(azureDeployment('/openai/deployments//chat/completions'), undefined);
    assert.equal(azureDeployment('/openai/deployments/a/b/chat/completions'), undefined);
    assert.equal(azureDeployment('/openai/deployments/a/completions'), undefined);
    assert.equal(azureDeployment('/v1/chat/completions'), undefined);
    assert.deepEqual(withDeploymentModel({ model: 'gpt-4o', messages: [] }, 'd'), { model: 'd', messages: [] });
  });
});

describe('general_settings.min_output_tokens', () => {
  const dep = (maxTokens?: number): Deployment => ({ modelName: 'm', cortexModel: 'claude-4-sonnet', apiBase: 'http://x', auth: { type: 'pat', token: 't' }, wire: 'complete', maxTokens });
  const chat = (maxTokens?: number): ChatRequest => ({ model: 'm', messages: [], stream: false, includeUsage: false, unsupported: [], maxTokens });

  test('raises a low client value (or model default), leaves higher and absent values alone, is off by default', () => {
    let r = chat(256);
    applyOutputFloor(r, dep(), 8192);
    assert.equal(r.maxTokens, 8192);
    r = chat(10_000);
    applyOutputFloor(r, dep(), 8192);
    assert.equal(r.maxTokens, 10_000);
    r = chat();
    applyOutputFloor(r, dep(), 8192);
    assert.equal(r.maxTokens, undefined, 'absent: the wire sends the model limit');
    r = chat();
    applyOutputFloor(r, dep(1024), 8192);
    assert.equal(r.maxTokens, 8192, 'a model default below the floor is raised too');
    r = chat(256);
    applyOutputFloor(r, dep(), undefined);
    assert.equal(r.maxTokens, 256);
  });

  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const configWith = (general: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-proxy-cursor-'));
    dirs.push(dir);
    fs.writeFileSync(
      path.join(dir, 'cortex-proxy.yaml'),
      `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      api_base: http://127.0.0.1:9/api/v2\n      api_key: pat\ngeneral_settings:\n${general}\n`,
    );
    return loadConfig({ cwd: dir, env: {} });
  };

  test('is read from the config and validated with a line-numbered error', () => {
    assert.equal(configWith('  min_output_tokens: 8192').settings.minOutputTokens, 8192);
    assert.throws(() => configWith('  min_output_tokens: lots'), (e: unknown) => e instanceof ConfigError && /min_output_tokens/.test(e.message) && /yaml:8:/.test(e.message));
    assert.equal(configWith('  disable_spend_logs: true').settings.minOutputTokens, undefined);
  });
});
