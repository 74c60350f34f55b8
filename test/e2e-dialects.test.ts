// End to end across dialects: the real CLI (bin/cortex-proxy.js) in front of the strict emulator, driven by the
// real @anthropic-ai/sdk (Messages), the real openai SDK (Responses, Chat, Azure) and by recorded Cursor-shaped
// bodies posted as Cursor posts them. Each tool round trip checks what Cortex received: valid user/assistant
// alternation and tool results as ONE user message of named tool_results.
import { test, before, after, beforeEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { AzureOpenAI } from 'openai';
import { ChatCompletionStream } from 'openai/lib/ChatCompletionStream';
import { Stream } from 'openai/core/streaming';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';

const PAT = 'test-pat-' + 'd'.repeat(40);
const MASTER = 'sk-test-dialects-' + 'k'.repeat(32);
const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'cursor');
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as Record<string, any>;

// Pinned to inference:complete (cortex_api: complete): these tests read the complete wire's upstream bodies.
// test/e2e-wires.test.ts runs every dialect against every wire.
const config = (apiBase: string, general = '') => `model_list:
  - model_name: cortex-claude-4-sonnet
    litellm_params:
      model: snowflake/claude-4-sonnet
      api_base: ${apiBase}
      api_key: os.environ/SNOWFLAKE_PAT
      cortex_api: complete
  - model_name: cortex-gpt-4.1
    litellm_params:
      model: snowflake/openai-gpt-4.1
      api_base: ${apiBase}
      api_key: os.environ/SNOWFLAKE_PAT
      cortex_api: complete
  - model_name: claude-sonnet-4-6
    litellm_params:
      model: snowflake/claude-sonnet-4-6
      api_base: ${apiBase}
      api_key: os.environ/SNOWFLAKE_PAT
      cortex_api: complete
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
${general}`;

let emu: Emulator;
/** The default proxy: the client's max_tokens is respected. */
let proxy: RunningProxy;
/** Same config plus general_settings.min_output_tokens: 4096. */
let floored: RunningProxy;
let anthropic: Anthropic;
let openai: OpenAI;

before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true });
  const start = async (general: string) => {
    const dir = tempDir();
    writeFiles(dir, { 'cortex-proxy.yaml': config(emu.apiBase, general), '.env': `SNOWFLAKE_PAT=${PAT}\nLITELLM_MASTER_KEY=${MASTER}\n` });
    return startProxy(['--config', 'cortex-proxy.yaml'], { cwd: dir });
  };
  [proxy, floored] = await Promise.all([start(''), start('  min_output_tokens: 4096\n')]);
  anthropic = new Anthropic({ baseURL: proxy.url, apiKey: MASTER, maxRetries: 0 });
  openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: MASTER, maxRetries: 0 });
});
after(async () => {
  await Promise.all([proxy?.stop(), floored?.stop()]);
  await emu?.close();
});
beforeEach(() => emu.reset());

const lastBody = () => emu.requests[emu.requests.length - 1].body as Record<string, any>;

/** What Cortex must always get: an optional system first, then strictly alternating user/assistant, ending in user. */
function assertAlternation(body: Record<string, any>): void {
  const roles: string[] = body.messages.map((m: any) => m.role);
  const rest = roles[0] === 'system' ? roles.slice(1) : roles;
  rest.forEach((r, i) => assert.equal(r, i % 2 === 0 ? 'user' : 'assistant', `roles ${roles.join(',')}`));
  assert.equal(rest[rest.length - 1], 'user');
  assert.ok(!JSON.stringify(body).includes('"role":"tool"'));
}

/** The tool_results Cortex got, per user message: [[name, text], …]. */
function toolResults(body: Record<string, any>): Array<Array<[string, string]>> {
  return body.messages
    .filter((m: any) => m.role === 'user' && Array.isArray(m.content_list) && m.content_list.some((i: any) => i.type === 'tool_results'))
    .map((m: any) =>
      m.content_list
        .filter((i: any) => i.type === 'tool_results')
        .map((i: any) => [i.tool_results.name, i.tool_results.content.map((c: any) => c.text ?? '').join('')]),
    );
}

const toolUses = (body: Record<string, any>) =>
  body.messages.flatMap((m: any) => (m.content_list ?? []).filter((i: any) => i.type === 'tool_use').map((i: any) => [i.tool_use.name, i.tool_use.input]));

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const timeTool: Anthropic.Tool = {
  name: 'get_time',
  description: 'Local time in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

// ─────────────────────────────────────────── Anthropic SDK ───────────────────────────────────────────

describe('Anthropic SDK on /v1/messages', () => {
  test('messages.stream(...) + finalMessage(): text deltas, end_turn, usage', async () => {
    emu.script({ text: 'Hello from Cortex, streamed in pieces.' });
    const stream = anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 1024, messages: [{ role: 'user', content: 'Say hello' }] });
    let deltas = '';
    stream.on('text', (t) => (deltas += t));
    const msg = await stream.finalMessage();
    assert.equal(deltas, 'Hello from Cortex, streamed in pieces.');
    assert.deepEqual(msg.content.map((b) => [b.type, (b as Anthropic.TextBlock).text]), [['text', 'Hello from Cortex, streamed in pieces.']]);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.model, 'claude-sonnet-4-6');
    assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0);
    assert.equal(lastBody().model, 'claude-sonnet-4-6');
  });

  test('a tool_use round trip: two calls streamed, tool_results back as ONE named user message', async () => {
    emu.script({ text: 'Checking both.', toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }, { name: 'get_time', input: { city: 'Tokyo' } }] });
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Paris and time in Tokyo?' }];
    const first = await anthropic.messages
      .stream({ model: 'claude-sonnet-4-6', max_tokens: 1024, system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }], tools: [weatherTool, timeTool], messages })
      .finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    const uses = first.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    assert.deepEqual(uses.map((u) => [u.name, u.input]), [
      ['get_weather', { city: 'Paris' }],
      ['get_time', { city: 'Tokyo' }],
    ]);
    assert.equal((first.content[0] as Anthropic.TextBlock).text, 'Checking both.');

    messages.push({ role: 'assistant', content: first.content });
    messages.push({
      role: 'user',
      content: uses.map((u) => ({ type: 'tool_result' as const, tool_use_id: u.id, content: u.name === 'get_weather' ? '18°C, cloudy' : '21:04' })),
    });
    emu.script({ text: 'Paris: 18°C and cloudy. Tokyo: 21:04.' });
    const second = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 1024, system: 'Be brief.', tools: [weatherTool, timeTool], messages });
    assert.equal(second.stop_reason, 'end_turn');
    assert.equal((second.content[0] as Anthropic.TextBlock).text, 'Paris: 18°C and cloudy. Tokyo: 21:04.');

    const sent = lastBody();
    assertAlternation(sent);
    assert.deepEqual(toolResults(sent), [
      [
        ['get_weather', '18°C, cloudy'],
        ['get_time', '21:04'],
      ],
    ]);
    assert.deepEqual(toolUses(sent), [
      ['get_weather', { city: 'Paris' }],
      ['get_time', { city: 'Tokyo' }],
    ]);
  });

  test('non-streaming messages.create answers a Message', async () => {
    emu.script({ text: 'Four.' });
    const msg = await anthropic.messages.create({ model: 'cortex-claude-4-sonnet', max_tokens: 64, messages: [{ role: 'user', content: '2+2?' }], stop_sequences: ['\n\n'], metadata: { user_id: 'u-1' } });
    assert.equal(msg.type, 'message');
    assert.match(msg.id, /^msg_/);
    assert.deepEqual(msg.content.map((b) => (b as Anthropic.TextBlock).text), ['Four.']);
    assert.equal(msg.stop_reason, 'end_turn');
  });

  test('count_tokens answers an estimate that grows with the prompt', async () => {
    const small = await anthropic.messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] });
    const big = await anthropic.messages.countTokens({ model: 'claude-sonnet-4-6', tools: [weatherTool], messages: [{ role: 'user', content: 'hello '.repeat(500) }] });
    assert.ok(small.input_tokens > 0);
    assert.ok(big.input_tokens > small.input_tokens + 500, `${big.input_tokens} vs ${small.input_tokens}`);
    assert.equal(emu.requests.length, 0, 'count_tokens spends no Cortex call');
  });

  test('errors come in Anthropic\'s envelope: unknown model → not_found_error', async () => {
    await assert.rejects(anthropic.messages.create({ model: 'claude-opus-9', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), (err: any) => {
      assert.ok(err instanceof Anthropic.NotFoundError, String(err));
      const body = (err as any).error;
      assert.equal(body.type, 'error');
      assert.equal(body.error.type, 'not_found_error');
      assert.match(body.error.message, /claude-sonnet-4-6/);
      return true;
    });
  });

  test('a wrong or missing key is an authentication_error, via x-api-key and via Bearer; the right key via x-api-key works', async () => {
    const viaXApiKey = (key: string) => new Anthropic({ baseURL: proxy.url, apiKey: 'unused', defaultHeaders: { 'x-api-key': key, authorization: null }, maxRetries: 0 });
    const params = { model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user' as const, content: 'x' }] };
    const isAuthError = (err: any) => {
      assert.ok(err instanceof Anthropic.AuthenticationError, String(err));
      const body = (err as any).error;
      assert.equal(body.error.type, 'authentication_error');
      assert.ok(!JSON.stringify(body).includes(MASTER));
      return true;
    };
    await assert.rejects(viaXApiKey('sk-wrong').messages.create(params), isAuthError);
    await assert.rejects(new Anthropic({ baseURL: proxy.url, authToken: 'sk-wrong', maxRetries: 0 }).messages.create(params), isAuthError);
    await assert.rejects(
      new Anthropic({ baseURL: proxy.url, apiKey: 'unused', defaultHeaders: { authorization: null }, maxRetries: 0 }).messages.create(params),
      isAuthError,
    );
    assert.equal(emu.requests.length, 0);
    emu.script({ text: 'ok' });
    const msg = await viaXApiKey(MASTER).messages.create(params);
    assert.equal((msg.content[0] as Anthropic.TextBlock).text, 'ok');
  });

  test('the ?beta=true path with anthropic-version and anthropic-beta headers is served', async () => {
    emu.script({ text: 'beta ok' });
    const msg = await new Anthropic({ baseURL: proxy.url, authToken: MASTER, maxRetries: 0 }).beta.messages.create(
      { model: 'claude-sonnet-4-6', max_tokens: 64, betas: ['interleaved-thinking-2025-05-14', 'context-management-2025-06-27'], messages: [{ role: 'user', content: 'x' }] },
      { query: { beta: 'true' } },
    );
    assert.equal((msg.content[0] as Anthropic.TextBlock).text, 'beta ok');
    const line = await proxy.waitForLog(/POST \/v1\/messages status=200 .*model=claude-sonnet-4-6/);
    assert.ok(line);
  });
});

// ─────────────────────────────────────────── openai SDK: Responses ───────────────────────────────────────────

describe('openai SDK responses.create on /v1/responses', () => {
  const tools: OpenAI.Responses.Tool[] = [
    { type: 'function', name: 'get_weather', description: 'Weather for a city', strict: false, parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  ];

  test('stream: typed events in order, a function call, then a function_call_output round trip (non-stream)', async () => {
    emu.script({ text: 'Let me check.', toolCalls: [{ name: 'get_weather', input: { city: 'Oslo' } }] });
    const input: OpenAI.Responses.ResponseInputItem[] = [{ role: 'user', content: 'Weather in Oslo?' }];
    const stream = await openai.responses.create({ model: 'cortex-gpt-4.1', instructions: 'Be brief.', input, tools, stream: true, store: false, include: ['reasoning.encrypted_content'], prompt_cache_key: 'k1' });
    const types: string[] = [];
    let completed: OpenAI.Responses.Response | undefined;
    let args = '';
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === 'response.function_call_arguments.delta') args += e.delta;
      if (e.type === 'response.completed') completed = e.response;
    }
    assert.equal(types[0], 'response.created');
    assert.equal(types[1], 'response.in_progress');
    assert.equal(types[types.length - 1], 'response.completed');
    assert.ok(types.indexOf('response.output_item.added') < types.indexOf('response.output_text.delta'));
    assert.ok(types.includes('response.function_call_arguments.done'));
    assert.deepEqual(JSON.parse(args), { city: 'Oslo' });
    assert.ok(completed!.usage!.input_tokens > 0);
    const call = completed!.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === 'function_call')!;
    assert.equal(call.name, 'get_weather');

    input.push(...(completed!.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: call.call_id, output: '-3°C, snow' });
    emu.script({ text: 'Oslo: -3°C with snow.' });
    const second = await openai.responses.create({ model: 'cortex-gpt-4.1', instructions: 'Be brief.', input, tools, store: false });
    assert.equal(second.status, 'completed');
    assert.equal(second.output_text, 'Oslo: -3°C with snow.');
    const sent = lastBody();
    assertAlternation(sent);
    assert.deepEqual(toolResults(sent), [[['get_weather', '-3°C, snow']]]);
    assert.equal(sent.messages[0].role, 'system');
  });

  test('non-stream text answer', async () => {
    emu.script({ text: 'Plain answer.' });
    const r = await openai.responses.create({ model: 'cortex-claude-4-sonnet', input: 'hi', reasoning: { effort: 'low' }, metadata: { a: 'b' } });
    assert.equal(r.object, 'response');
    assert.equal(r.output_text, 'Plain answer.');
  });

  test('previous_response_id is a clear 400 (no state is kept)', async () => {
    await assert.rejects(openai.responses.create({ model: 'cortex-gpt-4.1', input: 'continue', previous_response_id: 'resp_abc' }), (err: any) => {
      assert.equal(err.status, 400);
      assert.match(err.message, /previous_response_id/);
      assert.match(err.message, /full input/);
      return true;
    });
    assert.equal(emu.requests.length, 0);
  });
});

// ─────────────────────────────────────────── Cursor on /chat/completions ───────────────────────────────────────────

/** Posts a body the way Cursor does and reads the answer with the real SDK's Chat Completions stream parser. */
async function postAsCursor(body: unknown, url = `${proxy.url}/v1/chat/completions`, headers: Record<string, string> = { authorization: `Bearer ${MASTER}` }) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'Cursor/1.7.0', ...headers }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.clone().text().catch(() => ''));
  assert.match(res.headers.get('content-type')!, /text\/event-stream/);
  const [mine, sdk] = res.body!.tee();
  const raw = await new Response(mine).text();
  // The SDK's own SSE parser, then its Chat Completions accumulator (the one behind chat.completions.stream()).
  const chunks = Stream.fromSSEResponse<OpenAI.Chat.ChatCompletionChunk>(new Response(sdk), new AbortController());
  const final = await ChatCompletionStream.fromReadableStream(chunks.toReadableStream()).finalChatCompletion();
  return { raw, final };
}

function assertChatSse(raw: string): void {
  assert.ok(raw.endsWith('data: [DONE]\n\n'));
  assert.ok(!/^event:/m.test(raw), 'no event: lines on a chat stream');
  const chunks = raw.split('\n\n').filter((f) => f.startsWith('data: {')).map((f) => JSON.parse(f.slice(6)));
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  const usage = chunks[chunks.length - 1];
  assert.deepEqual(usage.choices, [], 'include_usage: a final usage chunk with empty choices');
  assert.ok(usage.usage.prompt_tokens > 0);
}

const PATCH = '*** Begin Patch\n*** Update File: main.py\n@@\n def main():\n-    pass\n+    hello()\n+\n+def hello():\n+    print("hello, \\"world\\"")\n*** End Patch\n';

describe('Cursor-shaped bodies on /chat/completions answer Chat Completions SSE', () => {
  test('(a) standard Chat with mixed nested/flat tools and tool_calls: [] → a tool call the SDK accepts', async () => {
    emu.script({ text: 'Searching.', toolCalls: [{ name: 'grep_search', input: { query: 'def ', include_pattern: '*.py' } }] });
    const { raw, final } = await postAsCursor(fixture('chat-mixed-tools.json'));
    assertChatSse(raw);
    const choice = final.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, 'Searching.');
    const call = choice.message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'grep_search');
    assert.deepEqual(JSON.parse(call.function.arguments), { query: 'def ', include_pattern: '*.py' });

    const sent = lastBody();
    assertAlternation(sent);
    assert.deepEqual(sent.tools.map((t: any) => t.tool_spec.name), ['read_file', 'run_terminal_cmd', 'grep_search']);
    assert.deepEqual(toolResults(sent), [[['read_file', 'def main():\n    pass\n']]]);
  });

  test('(b) agent mode: a Responses-shaped body → ApplyPatch comes back as a function tool_call carrying the raw patch; the replay works', async () => {
    const body = fixture('agent-responses.json');
    emu.script({ toolCalls: [{ name: 'ApplyPatch', input: { input: PATCH } }] });
    const { raw, final } = await postAsCursor(body);
    assertChatSse(raw);
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    const call = final.choices[0].message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'ApplyPatch');
    assert.equal(call.function.arguments, PATCH, 'the raw patch, not {"input": …}');

    const sent = lastBody();
    assertAlternation(sent);
    assert.equal(sent.model, 'openai-gpt-4.1');
    assert.deepEqual(sent.tools.map((t: any) => t.tool_spec.name), ['read_file', 'run_terminal_cmd', 'ApplyPatch'], 'hosted web_search_preview dropped');
    assert.deepEqual(sent.tools[2].tool_spec.input_schema.required, ['input']);
    assert.deepEqual(toolResults(sent), [[['read_file', 'def main():\n    pass\n\nif __name__ == "__main__":\n    main()\n']]]);
    assert.match(sent.messages[0].content, /You operate in Cursor/);

    // Cursor replays the call in function form with the raw patch as its arguments, plus the tool output.
    body.input.push(
      { type: 'function_call', call_id: call.id, name: 'ApplyPatch', arguments: call.function.arguments },
      { type: 'function_call_output', call_id: call.id, output: 'Success. Updated main.py' },
    );
    emu.script({ text: 'Added hello() to main.py.' });
    const next = await postAsCursor(body);
    assert.equal(next.final.choices[0].message.content, 'Added hello() to main.py.');
    assert.equal(next.final.choices[0].finish_reason, 'stop');
    const replay = lastBody();
    assertAlternation(replay);
    assert.deepEqual(toolUses(replay).find(([n]: [string]) => n === 'ApplyPatch'), ['ApplyPatch', { input: PATCH }]);
    assert.deepEqual(toolResults(replay).at(-1), [['ApplyPatch', 'Success. Updated main.py']]);
  });

  test('(c) Anthropic-style blocks in messages → a tool call the SDK accepts; Cortex gets named results and the image', async () => {
    emu.script({ text: 'Running the tests.', toolCalls: [{ name: 'run_terminal_cmd', input: { command: 'npm test', is_background: false } }] });
    const { raw, final } = await postAsCursor(fixture('anthropic-blocks.json'));
    assertChatSse(raw);
    const call = final.choices[0].message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    assert.equal(call.function.name, 'run_terminal_cmd');
    assert.deepEqual(JSON.parse(call.function.arguments), { command: 'npm test', is_background: false });

    const sent = lastBody();
    assertAlternation(sent);
    assert.match(sent.messages[0].content, /powered by Claude[\s\S]*Workspace rules/);
    assert.deepEqual(toolResults(sent), [[['read_file', '// TODO: handle errors\nexport const app = () => 1;\n']], [['grep_search', 'rg: exited with status 2']]]);
    assert.deepEqual(toolUses(sent), [
      ['read_file', { target_file: 'src/app.ts' }],
      ['grep_search', { query: 'TODO' }],
    ]);
    const last = sent.messages[sent.messages.length - 1];
    assert.ok(last.content_list.some((i: any) => i.type === 'image'), 'the image block reached Cortex');
    assert.deepEqual(sent.tools.map((t: any) => t.tool_spec.name), ['read_file', 'grep_search', 'run_terminal_cmd']);
    assert.deepEqual(sent.tools[0].tool_spec.input_schema.required, ['target_file']);
  });

  test('Azure-style path: the real AzureOpenAI client, api-key header, the deployment decides the model', async () => {
    emu.script({ text: 'Served by the deployment.' });
    const azure = new AzureOpenAI({ endpoint: proxy.url, apiKey: MASTER, apiVersion: '2024-10-21', deployment: 'cortex-claude-4-sonnet', maxRetries: 0 });
    const final = await azure.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } }).finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Served by the deployment.');
    assert.equal(final.model, 'cortex-claude-4-sonnet');
    assert.equal(lastBody().model, 'claude-4-sonnet');
    const bad = new AzureOpenAI({ endpoint: proxy.url, apiKey: 'sk-wrong', apiVersion: '2024-10-21', deployment: 'cortex-claude-4-sonnet', maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }), (e: any) => e.status === 401);
    const unknown = new AzureOpenAI({ endpoint: proxy.url, apiKey: MASTER, apiVersion: '2024-10-21', deployment: 'no-such-deployment', maxRetries: 0 });
    await assert.rejects(unknown.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }), (e: any) => e.status === 404 && /cortex-claude-4-sonnet/.test(e.message));
  });
});

// ─────────────────────────────────────────── one conversation, two dialects ───────────────────────────────────────────

describe('a conversation continues across dialects after a tool round trip', () => {
  test('tool call via /v1/messages, history replayed via /v1/chat/completions', async () => {
    emu.script({ toolCalls: [{ name: 'get_weather', input: { city: 'Lima' } }] });
    const first = await anthropic.messages.create({ model: 'cortex-claude-4-sonnet', max_tokens: 512, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Lima?' }] });
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
    assert.equal(first.stop_reason, 'tool_use');

    emu.script({ text: 'Lima: 22°C and clear.' });
    const second = await openai.chat.completions.create({
      model: 'cortex-claude-4-sonnet',
      tools: [{ type: 'function', function: { name: weatherTool.name, description: weatherTool.description, parameters: weatherTool.input_schema as Record<string, unknown> } }],
      messages: [
        { role: 'user', content: 'Weather in Lima?' },
        { role: 'assistant', content: null, tool_calls: [{ id: use.id, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input) } }] },
        { role: 'tool', tool_call_id: use.id, content: '22°C, clear' },
      ],
    });
    assert.equal(second.choices[0].message.content, 'Lima: 22°C and clear.');
    const sent = lastBody();
    assertAlternation(sent);
    assert.deepEqual(toolUses(sent), [['get_weather', { city: 'Lima' }]]);
    assert.deepEqual(toolResults(sent), [[['get_weather', '22°C, clear']]]);
  });

  test('tool call via /v1/chat/completions, history replayed via /v1/messages', async () => {
    emu.script({ text: 'One moment.', toolCalls: [{ name: 'get_time', input: { city: 'Nairobi' } }] });
    const first = await openai.chat.completions
      .stream({
        model: 'cortex-gpt-4.1',
        tools: [{ type: 'function', function: { name: timeTool.name, parameters: timeTool.input_schema as Record<string, unknown> } }],
        messages: [{ role: 'user', content: 'Time in Nairobi?' }],
      })
      .finalChatCompletion();
    const call = first.choices[0].message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;

    emu.script({ text: 'It is 09:15 in Nairobi.' });
    const second = await anthropic.messages
      .stream({
        model: 'cortex-gpt-4.1',
        max_tokens: 512,
        tools: [timeTool],
        messages: [
          { role: 'user', content: 'Time in Nairobi?' },
          { role: 'assistant', content: [{ type: 'text', text: first.choices[0].message.content! }, { type: 'tool_use', id: call.id, name: call.function.name, input: JSON.parse(call.function.arguments) }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: [{ type: 'text', text: '09:15' }] }] },
        ],
      })
      .finalMessage();
    assert.equal((second.content[0] as Anthropic.TextBlock).text, 'It is 09:15 in Nairobi.');
    const sent = lastBody();
    assertAlternation(sent);
    assert.equal(sent.model, 'openai-gpt-4.1');
    assert.deepEqual(toolUses(sent), [['get_time', { city: 'Nairobi' }]]);
    assert.deepEqual(toolResults(sent), [[['get_time', '09:15']]]);
  });

  test('tool call via /v1/responses, continued by Cursor with Anthropic blocks on /chat/completions', async () => {
    emu.script({ toolCalls: [{ name: 'get_weather', input: { city: 'Quito' } }] });
    const first = await openai.responses.create({
      model: 'cortex-claude-4-sonnet',
      input: 'Weather in Quito?',
      tools: [{ type: 'function', name: 'get_weather', strict: false, parameters: weatherTool.input_schema as Record<string, unknown> }],
    });
    const call = first.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === 'function_call')!;

    emu.script({ text: 'Quito: 14°C, drizzle.' });
    const { final } = await postAsCursor({
      model: 'cortex-claude-4-sonnet',
      stream: true,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Quito?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: call.call_id, name: call.name, input: JSON.parse(call.arguments) }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.call_id, content: '14°C, drizzle' }] },
      ],
    });
    assert.equal(final.choices[0].message.content, 'Quito: 14°C, drizzle.');
    const sent = lastBody();
    assertAlternation(sent);
    assert.deepEqual(toolResults(sent), [[['get_weather', '14°C, drizzle']]]);
  });
});

// ─────────────────────────────────────────── max_tokens and truncated tool calls ───────────────────────────────────────────

describe('max_tokens: a truncated tool call is never runnable; min_output_tokens lifts a too-low client value', () => {
  const longWrite = { name: 'write_file', input: { path: 'notes.md', content: 'All work and no play. '.repeat(120) } };
  const writeTool: OpenAI.Chat.ChatCompletionTool = {
    type: 'function',
    function: { name: 'write_file', parameters: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path', 'content'] } },
  };
  const ask = (client: OpenAI) =>
    client.chat.completions.create({ model: 'cortex-claude-4-sonnet', max_tokens: 40, tools: [writeTool], stream: true, messages: [{ role: 'user', content: 'Write the notes file.' }] });

  async function collect(stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk>) {
    let args = '';
    let finish: string | null = null;
    for await (const c of stream) {
      for (const t of c.choices[0]?.delta?.tool_calls ?? []) args += t.function?.arguments ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    return { args, finish };
  }

  test('without a floor the client max_tokens is respected and the cut call ends with finish_reason "length"', async () => {
    emu.script({ toolCalls: [longWrite] });
    const { args, finish } = await collect(await ask(openai));
    assert.equal(finish, 'length');
    assert.throws(() => JSON.parse(args), 'the partial arguments are not a complete call');
    assert.equal(lastBody().max_tokens, 40);
    assert.equal(emu.requests[0].reply!.truncated, true);

    emu.script({ toolCalls: [longWrite] });
    const json = await openai.chat.completions.create({ model: 'cortex-claude-4-sonnet', max_tokens: 40, tools: [writeTool], messages: [{ role: 'user', content: 'Write the notes file.' }] });
    assert.equal(json.choices[0].finish_reason, 'length');
  });

  test('a Cursor ApplyPatch cut by max_tokens also ends with "length"', async () => {
    emu.script({ toolCalls: [{ name: 'ApplyPatch', input: { input: PATCH.repeat(20) } }] });
    const { final } = await postAsCursor({ ...fixture('agent-responses.json'), max_output_tokens: 50 });
    assert.equal(final.choices[0].finish_reason, 'length');
    const args = (final.choices[0].message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall).function.arguments;
    assert.ok(args.length < PATCH.length * 20 && PATCH.repeat(20).startsWith(args), 'a prefix of the patch, flagged as cut');
  });

  test('with general_settings.min_output_tokens the same request gets the whole call', async () => {
    const client = new OpenAI({ baseURL: `${floored.url}/v1`, apiKey: MASTER, maxRetries: 0 });
    emu.script({ toolCalls: [longWrite] });
    const { args, finish } = await collect(await ask(client));
    assert.equal(finish, 'tool_calls');
    assert.deepEqual(JSON.parse(args), longWrite.input);
    assert.equal(lastBody().max_tokens, 4096);
  });
});
