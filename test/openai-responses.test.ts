import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { openaiResponses, decodeResponsesBody } from '../src/dialects/openai-responses/index.js';
import { customToolNames, unwrapCustomToolInput } from '../src/dialects/freeform.js';
import { ProxyError } from '../src/core/errors.js';
import type { ChatRequest, FinalMessage, StreamEvent } from '../src/core/types.js';
import type { ResponseMeta } from '../src/dialects/dialect.js';

const META: ResponseMeta = { id: 'resp_test1', created: 1_700_000_000, model: 'claude-sonnet-4-5' };
const H = { 'user-agent': 'codex_cli_rs/0.171.0' };

const APPLY_PATCH_GRAMMAR = 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF';

function codexBody(): Record<string, unknown> {
  return {
    model: 'claude-sonnet-4-5',
    instructions: 'You are Codex.',
    input: [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions>workspace-write</permissions>' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context>cwd</environment_context>' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'list files' }] },
      { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'think' }], encrypted_content: 'gAAAAopaque' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Listing.' }] },
      { type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
      { type: 'function_call', call_id: 'call_2', name: 'exec_command', arguments: '{"cmd":"pwd"}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'a.txt\nb.txt' },
      { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: '/work' }] },
      { type: 'custom_tool_call', call_id: 'call_3', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch' },
      { type: 'custom_tool_call_output', call_id: 'call_3', output: 'Done!' },
      { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'x' } },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'thanks' }] },
    ],
    tools: [
      {
        type: 'function',
        name: 'exec_command',
        description: 'Run a command',
        strict: false,
        parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] },
      },
      {
        type: 'custom',
        name: 'apply_patch',
        description: 'Edit files',
        format: { type: 'grammar', syntax: 'lark', definition: APPLY_PATCH_GRAMMAR },
      },
      { type: 'namespace', name: 'collaboration', tools: [{ type: 'function', name: 'spawn_agent' }] },
      { type: 'web_search', external_web_access: false },
    ],
    tool_choice: 'auto',
    parallel_tool_calls: true,
    reasoning: { effort: 'medium', summary: 'auto' },
    store: false,
    stream: true,
    include: ['reasoning.encrypted_content'],
    prompt_cache_key: 'conv-123',
    prompt_cache_retention: '24h',
    client_metadata: { session: 'x' },
    text: { verbosity: 'low' },
  };
}

describe('decodeRequest', () => {
  test('Codex body → exact ChatRequest', () => {
    const req = openaiResponses.decodeRequest(codexBody(), H);
    const expected: ChatRequest = {
      model: 'claude-sonnet-4-5',
      system: 'You are Codex.\n\n<permissions>workspace-write</permissions>',
      messages: [
        {
          role: 'user',
          parts: [
            { type: 'text', text: '<environment_context>cwd</environment_context>' },
            { type: 'text', text: 'list files' },
          ],
        },
        {
          role: 'assistant',
          parts: [
            // An OpenAI reasoning item is kept whole (id, summary, encrypted_content) for the Responses wire.
            { type: 'thinking', text: 'think', openai: { id: 'rs_1', encryptedContent: 'gAAAAopaque', summary: ['think'] } },
            { type: 'text', text: 'Listing.' },
            { type: 'tool_call', id: 'call_1', name: 'exec_command', argumentsJson: '{"cmd":"ls"}' },
            { type: 'tool_call', id: 'call_2', name: 'exec_command', argumentsJson: '{"cmd":"pwd"}' },
          ],
        },
        {
          role: 'user',
          parts: [
            { type: 'tool_result', callId: 'call_1', name: 'exec_command', parts: [{ type: 'text', text: 'a.txt\nb.txt' }] },
            { type: 'tool_result', callId: 'call_2', name: 'exec_command', parts: [{ type: 'text', text: '/work' }] },
          ],
        },
        {
          role: 'assistant',
          parts: [
            {
              type: 'tool_call',
              id: 'call_3',
              name: 'apply_patch',
              argumentsJson: JSON.stringify({ input: '*** Begin Patch\n*** End Patch' }),
            },
          ],
        },
        {
          role: 'user',
          parts: [
            { type: 'tool_result', callId: 'call_3', name: 'apply_patch', parts: [{ type: 'text', text: 'Done!' }] },
            { type: 'text', text: 'thanks' },
          ],
        },
      ],
      tools: [
        {
          name: 'exec_command',
          description: 'Run a command',
          jsonSchema: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] },
        },
        {
          name: 'apply_patch',
          description: 'Edit files',
          jsonSchema: {
            type: 'object',
            properties: {
              input: {
                type: 'string',
                description:
                  'The raw input for this tool as plain text (not JSON-encoded). It must match this lark grammar:\n' +
                  APPLY_PATCH_GRAMMAR,
              },
            },
            required: ['input'],
          },
          freeform: true, // the client declared it type:"custom": its calls go back as custom_tool_call
        },
      ],
      toolChoice: { type: 'auto' },
      reasoning: { effort: 'medium', summary: 'auto' },
      stream: true,
      includeUsage: true,
      unsupported: [],
      client: { dialect: 'openai-responses', userAgent: 'codex_cli_rs/0.171.0' },
    };
    assert.deepStrictEqual(req, expected);
    assert.deepStrictEqual([...customToolNames(req)], ['apply_patch']);
  });

  test('string input, sampling params, json_schema format, non-stream defaults', () => {
    const req = decodeResponsesBody(
      {
        model: 'm',
        input: 'hi',
        max_output_tokens: 500,
        temperature: 0.2,
        top_p: 0.9,
        text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true } },
        reasoning: { effort: 'xhigh' },
        metadata: { a: '1' },
        user: 'u',
        service_tier: 'auto',
        truncation: 'auto',
        safety_identifier: 's',
        store: true,
        top_logprobs: 3,
      },
      {},
    );
    assert.deepStrictEqual(req, {
      model: 'm',
      messages: [{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
      maxTokens: 500,
      temperature: 0.2,
      topP: 0.9,
      responseFormat: { type: 'json', schema: { type: 'object' }, name: 'out' },
      reasoning: { effort: 'high' },
      stream: false,
      includeUsage: true,
      unsupported: ['top_logprobs'],
      client: { dialect: 'openai-responses' },
    });
    assert.equal(customToolNames(req).size, 0);
  });

  test('Cursor agent-style body (EasyInputMessage, nested function tool, custom ApplyPatch replayed as function_call)', () => {
    const req = decodeResponsesBody(
      {
        model: 'gpt-5-cortex',
        input: [
          { role: 'system', content: 'You are Cursor.' },
          { role: 'user', content: [{ type: 'input_text', text: 'fix it' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' }] },
          { type: 'function_call', call_id: 'c1', name: 'ApplyPatch', arguments: '*** Begin Patch\n*** End Patch' },
          { type: 'function_call_output', call_id: 'c1', output: 'ok' },
        ],
        tools: [
          { type: 'function', function: { name: 'read_file', description: 'Read', parameters: { type: 'object', properties: { path: { type: 'string' } } } } },
          { type: 'custom', name: 'ApplyPatch', description: 'Patch', format: { type: 'text' } },
        ],
        tool_choice: { type: 'custom', name: 'ApplyPatch' },
        reasoning: { effort: 'low', summary: 'detailed' },
        include: ['reasoning.encrypted_content'],
        store: false,
        previous_response_id: null,
        prompt_cache_retention: 'in_memory',
        stream: true,
        stream_options: { include_usage: true },
        text: { verbosity: 'medium' },
      },
      {},
    );
    assert.equal(req.system, 'You are Cursor.');
    assert.deepStrictEqual(req.messages[0], {
      role: 'user',
      parts: [
        { type: 'text', text: 'fix it' },
        { type: 'image', mediaType: 'image/png', base64: 'iVBORw0KGgo=', detail: 'high' },
      ],
    });
    assert.deepStrictEqual(req.messages[1].parts[0], {
      type: 'tool_call',
      id: 'c1',
      name: 'ApplyPatch',
      argumentsJson: JSON.stringify({ input: '*** Begin Patch\n*** End Patch' }),
    });
    assert.deepStrictEqual(req.tools!.map((t) => t.name), ['read_file', 'ApplyPatch']);
    assert.deepStrictEqual(req.tools![1].jsonSchema, {
      type: 'object',
      properties: { input: { type: 'string', description: 'The raw input for this tool as plain text (not JSON-encoded).' } },
      required: ['input'],
    });
    assert.deepStrictEqual(req.toolChoice, { type: 'tool', name: 'ApplyPatch' });
    assert.deepStrictEqual(req.reasoning, { effort: 'low', summary: 'detailed' });
    assert.ok(customToolNames(req).has('ApplyPatch'));
  });

  test('only hosted tools: tools and an "auto" tool_choice are dropped', () => {
    const req = decodeResponsesBody(
      { model: 'm', input: 'x', tools: [{ type: 'web_search' }, { type: 'file_search', vector_store_ids: [] }], tool_choice: 'auto' },
      {},
    );
    assert.equal(req.tools, undefined);
    assert.equal(req.toolChoice, undefined);
  });

  test('allowed_tools tool_choice filters the tool list; additional_tools items add tools', () => {
    const req = decodeResponsesBody(
      {
        model: 'm',
        input: [
          { type: 'additional_tools', role: 'developer', tools: [{ type: 'function', name: 'late', parameters: { type: 'object' } }] },
          { role: 'user', content: 'x' },
        ],
        tools: [
          { type: 'function', name: 'a' },
          { type: 'function', name: 'b' },
        ],
        tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'b' }, { type: 'function', name: 'late' }] },
      },
      {},
    );
    assert.deepStrictEqual(req.tools!.map((t) => t.name), ['b', 'late']);
    assert.deepStrictEqual(req.toolChoice, { type: 'required' });
  });

  test('our signed reasoning round-trips to a thinking part; OpenAI encrypted reasoning is kept apart from signatures', () => {
    const sig = 'EqQBCkYIBxgCKkD';
    const s = openaiResponses.createStreamEncoder(decodeResponsesBody({ model: 'm', input: 'x' }, {}), META);
    const frames = parseFrames(
      [
        s.event({ type: 'thinking', text: 'Let me think.' }),
        s.event({ type: 'thinking', text: '', signature: sig }),
        s.event({ type: 'tool_call_start', index: 0, id: 'toolu_1', name: 'f' }),
        s.event({ type: 'tool_call_end', index: 0 }),
        s.event({ type: 'finish', reason: 'tool_calls' }),
      ].join(''),
    );
    const reasoning = frames.find((f) => f.type === 'response.output_item.done' && (f.data.item as any).type === 'reasoning')!
      .data.item as Record<string, unknown>;
    assert.deepStrictEqual(reasoning.summary, [{ type: 'summary_text', text: 'Let me think.' }]);
    const { id: _drop, ...replayed } = reasoning; // Codex replays the item without its id
    const req = decodeResponsesBody(
      {
        model: 'm',
        input: [
          { role: 'user', content: 'x' },
          { type: 'reasoning', summary: [], encrypted_content: 'gAAAforeign' },
          replayed,
          { type: 'function_call', call_id: 'toolu_1', name: 'f', arguments: '' },
          { type: 'function_call_output', call_id: 'toolu_1', output: { content: 'boom', success: false } },
        ],
      },
      {},
    );
    assert.deepStrictEqual(req.messages[1], {
      role: 'assistant',
      parts: [
        // Codex-style replay without id: kept for the Responses wire, never as a signature.
        { type: 'thinking', text: '', openai: { encryptedContent: 'gAAAforeign', summary: [] } },
        { type: 'thinking', text: 'Let me think.', signature: sig },
        { type: 'tool_call', id: 'toolu_1', name: 'f', argumentsJson: '{}' },
      ],
    });
    assert.deepStrictEqual(req.messages[2].parts[0], {
      type: 'tool_result',
      callId: 'toolu_1',
      name: 'f',
      parts: [{ type: 'text', text: 'boom' }],
      isError: true,
    });
  });

  test('previous_response_id → 400 with a clear message', () => {
    assert.throws(
      () => decodeResponsesBody({ model: 'm', input: 'x', previous_response_id: 'resp_abc' }, {}),
      (e: unknown) =>
        e instanceof ProxyError &&
        e.kind === 'invalid_request' &&
        e.status === 400 &&
        e.param === 'previous_response_id' &&
        e.message ===
          'previous_response_id is not supported: cortex-proxy keeps no conversation state; send the full input (Codex does this with store=false)',
    );
  });

  const hostile: Array<[string, unknown]> = [
    ['body is an array', []],
    ['body is a string', 'hello'],
    ['model missing', { input: 'x' }],
    ['model is a number', { model: 7, input: 'x' }],
    ['input missing', { model: 'm' }],
    ['input is a number', { model: 'm', input: 42 }],
    ['input empty array', { model: 'm', input: [] }],
    ['only system messages', { model: 'm', input: [{ role: 'developer', content: 'x' }] }],
    ['item is null', { model: 'm', input: [null] }],
    ['item without type or role', { model: 'm', input: [{ content: 'x' }] }],
    ['unknown role', { model: 'm', input: [{ role: 'tool', content: 'x' }] }],
    ['content is a number', { model: 'm', input: [{ role: 'user', content: 5 }] }],
    ['content part not an object', { model: 'm', input: [{ role: 'user', content: ['x'] }] }],
    ['unknown content part', { model: 'm', input: [{ role: 'user', content: [{ type: 'input_video' }] }] }],
    ['text part with object text', { model: 'm', input: [{ role: 'user', content: [{ type: 'input_text', text: { a: 1 } }] }] }],
    ['image by file_id', { model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] }],
    ['image javascript: url', { model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'javascript:alert(1)' }] }] }],
    ['image data: url of non-image', { model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'data:text/html;base64,PGI+' }] }] }],
    ['image in assistant content', { model: 'm', input: [{ role: 'assistant', content: [{ type: 'input_image', image_url: 'https://x/y.png' }] }] }],
    ['input_file', { model: 'm', input: [{ role: 'user', content: [{ type: 'input_file', file_data: 'x' }] }] }],
    ['orphan function_call_output', { model: 'm', input: [{ type: 'function_call_output', call_id: 'nope', output: 'x' }] }],
    ['__proto__ call id', { model: 'm', input: [{ type: 'function_call_output', call_id: '__proto__', output: 'x' }] }],
    ['function_call without call_id', { model: 'm', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }],
    ['function_call arguments number', { model: 'm', input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: 1 }] }],
    ['item_reference', { model: 'm', input: [{ type: 'item_reference', id: 'msg_1' }] }],
    ['unknown item carrying content', { model: 'm', input: [{ type: 'hologram', content: 'x' }, { role: 'user', content: 'y' }] }],
    ['conversation', { model: 'm', input: 'x', conversation: 'conv_1' }],
    ['prompt template', { model: 'm', input: 'x', prompt: { id: 'pmpt_1' } }],
    ['tools not an array', { model: 'm', input: 'x', tools: { type: 'function' } }],
    ['function tool without name', { model: 'm', input: 'x', tools: [{ type: 'function' }] }],
    ['function tool with string parameters', { model: 'm', input: 'x', tools: [{ type: 'function', name: 'f', parameters: 'x' }] }],
    ['custom tool with bad format', { model: 'm', input: 'x', tools: [{ type: 'custom', name: 'c', format: { type: 'regexx' } }] }],
    ['duplicate tool names', { model: 'm', input: 'x', tools: [{ type: 'function', name: 'f' }, { type: 'custom', name: 'f' }] }],
    ['tool_choice unknown tool', { model: 'm', input: 'x', tools: [{ type: 'function', name: 'f' }], tool_choice: { type: 'function', name: 'g' } }],
    ['tool_choice hosted tool', { model: 'm', input: 'x', tool_choice: { type: 'web_search_preview' } }],
    ['tool_choice required with only hosted tools', { model: 'm', input: 'x', tools: [{ type: 'web_search' }], tool_choice: 'required' }],
    ['tool_choice bogus string', { model: 'm', input: 'x', tool_choice: 'sometimes' }],
    ['temperature out of range', { model: 'm', input: 'x', temperature: 5 }],
    ['top_p string', { model: 'm', input: 'x', top_p: '1' }],
    ['max_output_tokens negative', { model: 'm', input: 'x', max_output_tokens: -1 }],
    ['max_output_tokens fraction', { model: 'm', input: 'x', max_output_tokens: 1.5 }],
    ['reasoning effort bogus', { model: 'm', input: 'x', reasoning: { effort: 'toString' } }],
    ['text.format unknown', { model: 'm', input: 'x', text: { format: { type: 'yaml' } } }],
    ['json_schema without schema', { model: 'm', input: 'x', text: { format: { type: 'json_schema', name: 'n' } } }],
    ['stream not boolean', { model: 'm', input: 'x', stream: 'yes' }],
    ['instructions not a string', { model: 'm', input: 'x', instructions: ['a'] }],
  ];
  for (const [name, body] of hostile) {
    test(`hostile: ${name} → invalid_request`, () => {
      assert.throws(
        () => decodeResponsesBody(body, {}),
        (e: unknown) => e instanceof ProxyError && e.kind === 'invalid_request' && e.status === 400,
      );
    });
  }

  test('unknown item without content and known hosted-tool items are skipped', () => {
    const req = decodeResponsesBody(
      {
        model: 'm',
        input: [
          { type: 'future_marker', id: 'x' },
          { type: 'compaction', encrypted_content: 'opaque' },
          { type: 'mcp_list_tools', server_label: 's', tools: [] },
          { role: 'user', content: 'y' },
        ],
      },
      {},
    );
    assert.deepStrictEqual(req.messages, [{ role: 'user', parts: [{ type: 'text', text: 'y' }] }]);
  });
});

// ---------------------------------------------------------------------------------------------
// Stream encoding

interface Frame {
  event: string;
  type: string;
  data: Record<string, any>;
}

function parseFrames(sse: string): Frame[] {
  assert.ok(sse === '' || sse.endsWith('\n\n'), 'frames end with a blank line');
  return sse
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const lines = block.split('\n');
      assert.equal(lines.length, 2, `frame has exactly event+data lines: ${block}`);
      assert.ok(lines[0].startsWith('event: ') && lines[1].startsWith('data: '));
      const data = JSON.parse(lines[1].slice(6));
      const event = lines[0].slice(7);
      assert.equal(data.type, event, 'event name equals data.type');
      return { event, type: data.type, data };
    });
}

const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** The invariants Codex and the SDK rely on. */
function checkOrder(frames: Frame[]): void {
  assert.equal(frames[0].type, 'response.created');
  assert.equal(frames[1].type, 'response.in_progress');
  assert.ok(TERMINAL.has(frames[frames.length - 1].type), 'ends on a terminal event');
  assert.equal(frames.filter((f) => TERMINAL.has(f.type)).length, 1, 'exactly one terminal event');
  frames.forEach((f, i) => assert.equal(f.data.sequence_number, i, 'sequence numbers increase by one'));
  let open: { id: string; index: number } | undefined;
  let added = 0;
  for (const f of frames.slice(2, -1)) {
    if (f.type === 'response.output_item.added') {
      assert.equal(open, undefined, 'one item live at a time');
      assert.equal(f.data.output_index, added++, 'output_index counts up');
      open = { id: f.data.item.id, index: f.data.output_index };
    } else if (f.type === 'response.output_item.done') {
      assert.ok(open && open.id === f.data.item.id && open.index === f.data.output_index, 'done closes the live item');
      open = undefined;
    } else {
      assert.ok(open, `${f.type} inside an item`);
      assert.equal(f.data.item_id, open.id, `${f.type} belongs to the live item`);
      assert.equal(f.data.output_index, open.index);
    }
  }
  assert.equal(open, undefined, 'every item closed before the terminal event');
}

function run(req: ChatRequest, events: StreamEvent[]): { raw: string; frames: Frame[] } {
  const enc = openaiResponses.createStreamEncoder(req, META);
  const raw = events.map((e) => enc.event(e)).join('') + enc.end();
  return { raw, frames: parseFrames(raw) };
}

const usage = { promptTokens: 100, completionTokens: 20, totalTokens: 120, cachedTokens: 40 };

function toolsReq(stream = true): ChatRequest {
  return decodeResponsesBody(
    {
      model: 'claude-sonnet-4-5',
      input: 'go',
      stream,
      tools: [
        { type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } },
        { type: 'custom', name: 'apply_patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: x' } },
      ],
    },
    {},
  );
}

const SCRIPT: StreamEvent[] = [
  { type: 'start', id: 'up_1' },
  { type: 'thinking', text: 'Plan: ' },
  { type: 'thinking', text: 'list.' },
  { type: 'text', text: 'Hello' },
  { type: 'text', text: ', world' },
  { type: 'tool_call_start', index: 0, id: 'call_a', name: 'exec_command' },
  { type: 'tool_call_delta', index: 0, argumentsFragment: '{"cmd":' },
  { type: 'tool_call_delta', index: 0, argumentsFragment: '"ls"}' },
  { type: 'tool_call_end', index: 0 },
  { type: 'tool_call_start', index: 1, id: 'call_b', name: 'apply_patch' },
  { type: 'tool_call_delta', index: 1, argumentsFragment: '{"input":"*** Begin' },
  { type: 'tool_call_delta', index: 1, argumentsFragment: ' Patch\\n"}' },
  { type: 'tool_call_end', index: 1 },
  { type: 'usage', usage },
  { type: 'finish', reason: 'tool_calls' },
];

describe('createStreamEncoder', () => {
  test('event sequence → exact frame types and payloads', () => {
    const { frames, raw } = run(toolsReq(), SCRIPT);
    checkOrder(frames);
    assert.ok(raw.startsWith('event: response.created\ndata: {"type":"response.created","sequence_number":0,'));
    assert.deepStrictEqual(
      frames.map((f) => f.type),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.reasoning_summary_part.added',
        'response.reasoning_summary_text.delta',
        'response.reasoning_summary_text.delta',
        'response.reasoning_summary_text.done',
        'response.reasoning_summary_part.done',
        'response.output_item.done',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'response.output_item.added',
        'response.custom_tool_call_input.delta',
        'response.custom_tool_call_input.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    const created = frames[0].data.response;
    assert.equal(created.id, 'resp_test1');
    assert.equal(created.object, 'response');
    assert.equal(created.status, 'in_progress');
    assert.equal(created.created_at, META.created);
    assert.equal(created.model, 'claude-sonnet-4-5');
    assert.deepStrictEqual(created.output, []);
    assert.equal(created.usage, null);
    const msgAdded = frames[9].data;
    assert.match(msgAdded.item.id, /^msg_/);
    assert.deepStrictEqual(msgAdded.item, { id: msgAdded.item.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] });
    assert.equal(frames[13].data.text, 'Hello, world');
    const fcAdded = frames[16].data.item;
    assert.deepStrictEqual(
      { ...fcAdded, id: undefined },
      { id: undefined, type: 'function_call', status: 'in_progress', call_id: 'call_a', name: 'exec_command', arguments: '' },
    );
    assert.equal(frames[19].data.arguments, '{"cmd":"ls"}');
    assert.equal(frames[22].data.delta, '*** Begin Patch\n');
    assert.equal(frames[23].data.input, '*** Begin Patch\n');
    assert.equal(frames[24].data.item.type, 'custom_tool_call');
    const done = frames[25].data.response;
    assert.equal(done.status, 'completed');
    assert.deepStrictEqual(
      done.output.map((o: any) => o.type),
      ['reasoning', 'message', 'function_call', 'custom_tool_call'],
    );
    assert.deepStrictEqual(done.usage, {
      input_tokens: 100,
      input_tokens_details: { cached_tokens: 40, cache_write_tokens: 0 },
      output_tokens: 20,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 120,
    });
    assert.equal(done.error, null);
  });

  test('text after a tool call started and interleaved parallel calls are queued, never interleaved', () => {
    const { frames } = run(toolsReq(), [
      { type: 'tool_call_start', index: 0, id: 'c0', name: 'exec_command' },
      { type: 'tool_call_start', index: 1, id: 'c1', name: 'exec_command' },
      { type: 'tool_call_delta', index: 1, argumentsFragment: '{"cmd":"b"}' },
      { type: 'text', text: 'late text' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '{"cmd":"a"}' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
    checkOrder(frames);
    const out = frames[frames.length - 1].data.response.output;
    assert.deepStrictEqual(
      out.map((o: any) => [o.type, o.call_id ?? null, o.arguments ?? o.content?.[0]?.text]),
      [
        ['function_call', 'c0', '{"cmd":"a"}'],
        ['function_call', 'c1', '{"cmd":"b"}'],
        ['message', null, 'late text'],
      ],
    );
  });

  test('finish=length → response.incomplete with max_output_tokens; open items incomplete', () => {
    const { frames } = run(toolsReq(), [
      { type: 'text', text: 'trunc' },
      { type: 'finish', reason: 'length', usage },
    ]);
    checkOrder(frames);
    const last = frames[frames.length - 1];
    assert.equal(last.type, 'response.incomplete');
    assert.equal(last.data.response.status, 'incomplete');
    assert.deepStrictEqual(last.data.response.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(last.data.response.output[0].status, 'incomplete');
  });

  test('error → response.failed last; later events and end() add nothing', () => {
    const req = toolsReq();
    const enc = openaiResponses.createStreamEncoder(req, META);
    let raw = enc.event({ type: 'text', text: 'partial' });
    raw += enc.event({ type: 'error', error: new ProxyError('rate_limit', 'Cortex is rate limiting', { retryAfter: 3 }) });
    assert.equal(enc.event({ type: 'text', text: 'after' }), '');
    assert.equal(enc.event({ type: 'finish', reason: 'stop' }), '');
    assert.equal(enc.end(), '');
    const frames = parseFrames(raw);
    assert.equal(frames[0].type, 'response.created');
    const last = frames[frames.length - 1];
    assert.equal(last.type, 'response.failed');
    assert.equal(last.data.response.status, 'failed');
    assert.deepStrictEqual(last.data.response.error, {
      code: 'rate_limit_exceeded',
      message: 'Cortex is rate limiting Please try again in 3s.',
    });
  });

  test('error as the very first event still starts with response.created', () => {
    const { frames } = run(toolsReq(), [{ type: 'error', error: new ProxyError('upstream', 'Snowflake said 500') }]);
    assert.deepStrictEqual(frames.map((f) => f.type), ['response.created', 'response.in_progress', 'response.failed']);
    assert.deepStrictEqual(frames[2].data.response.error, { code: 'server_error', message: 'Snowflake said 500' });
  });

  test('end() without finish or error closes with response.failed', () => {
    const enc = openaiResponses.createStreamEncoder(toolsReq(), META);
    const raw = enc.event({ type: 'text', text: 'cut' }) + enc.end();
    const frames = parseFrames(raw);
    assert.equal(frames[frames.length - 1].type, 'response.failed');
    assert.equal(enc.end(), '');
  });

  test('empty answer: created, in_progress, completed', () => {
    const { frames } = run(toolsReq(), [{ type: 'start', id: 'x' }, { type: 'finish', reason: 'stop' }]);
    checkOrder(frames);
    assert.deepStrictEqual(frames.map((f) => f.type), ['response.created', 'response.in_progress', 'response.completed']);
  });
});

describe('encodeResponse / encodeError', () => {
  test('non-stream response object', () => {
    const req = toolsReq(false);
    const msg: FinalMessage = {
      id: 'x',
      created: 1,
      text: 'Hi there',
      thinking: [],
      toolCalls: [
        { id: 'call_1', name: 'exec_command', argumentsJson: '{"cmd":"ls"}' },
        { id: 'call_2', name: 'apply_patch', argumentsJson: '{"input":"*** Begin Patch"}' },
      ],
      finishReason: 'tool_calls',
      usage: { promptTokens: 5, completionTokens: 7, totalTokens: 12 },
    };
    const r = openaiResponses.encodeResponse(msg, req, META) as any;
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal(r.id, META.id);
    assert.deepStrictEqual(r.output[0].content, [{ type: 'output_text', text: 'Hi there', annotations: [] }]);
    assert.deepStrictEqual({ ...r.output[1], id: 0 }, { id: 0, type: 'function_call', status: 'completed', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' });
    assert.deepStrictEqual({ ...r.output[2], id: 0 }, { id: 0, type: 'custom_tool_call', status: 'completed', call_id: 'call_2', name: 'apply_patch', input: '*** Begin Patch' });
    assert.equal(r.usage.total_tokens, 12);
  });

  test('encodeError: OpenAI envelope', () => {
    assert.deepStrictEqual(openaiResponses.encodeError(new ProxyError('invalid_request', 'bad', { param: 'input' })), {
      error: { message: 'bad', type: 'invalid_request_error', param: 'input', code: null },
    });
    assert.deepStrictEqual(openaiResponses.encodeError(new ProxyError('auth', 'no key')), {
      error: { message: 'no key', type: 'authentication_error', param: null, code: null },
    });
    assert.deepStrictEqual(openaiResponses.encodeError(new ProxyError('rate_limit', 'slow', { code: '429' })), {
      error: { message: 'slow', type: 'rate_limit_error', param: null, code: '429' },
    });
  });

  test('unwrapCustomToolInput', () => {
    assert.equal(unwrapCustomToolInput('{"input":"a\\nb"}'), 'a\nb');
    assert.equal(unwrapCustomToolInput('"raw"'), 'raw');
    assert.equal(unwrapCustomToolInput('*** Begin Patch'), '*** Begin Patch');
    assert.equal(unwrapCustomToolInput('{"other":1}'), '{"other":1}');
  });
});

// ---------------------------------------------------------------------------------------------
// The real openai SDK against this codec, served from a local node:http server

describe('openai SDK accepts the output', () => {
  let server: http.Server;
  let client: OpenAI;
  let script: StreamEvent[] = SCRIPT;
  let lastReq: ChatRequest | undefined;

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        try {
          assert.equal(req.url, '/v1/responses');
          const chat = openaiResponses.decodeRequest(JSON.parse(body), req.headers);
          lastReq = chat;
          if (chat.stream) {
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            const enc = openaiResponses.createStreamEncoder(chat, META);
            for (const e of script) res.write(enc.event(e));
            res.end(enc.end());
          } else {
            const msg: FinalMessage = {
              id: 'x',
              created: META.created,
              text: 'Hello, world',
              thinking: [{ text: 'hmm', signature: 'sig' }],
              toolCalls: [{ id: 'call_b', name: 'apply_patch', argumentsJson: '{"input":"*** Begin Patch\\n"}' }],
              finishReason: 'tool_calls',
              usage,
            };
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify(openaiResponses.encodeResponse(msg, chat, META)));
          }
        } catch (err) {
          const pe = err instanceof ProxyError ? err : new ProxyError('internal', String(err));
          res.writeHead(pe.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(openaiResponses.encodeError(pe)));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    client = new OpenAI({ apiKey: 'test-key', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const params = {
    model: 'claude-sonnet-4-5',
    instructions: 'be brief',
    input: [{ role: 'user' as const, content: 'go' }],
    tools: [
      { type: 'function' as const, name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } } }, strict: false },
      { type: 'custom' as const, name: 'apply_patch', format: { type: 'grammar' as const, syntax: 'lark' as const, definition: 'start: x' } },
    ],
    reasoning: { effort: 'low' as const, summary: 'auto' as const },
    store: false,
    include: ['reasoning.encrypted_content' as const],
  };

  test('responses.create({stream:true}) iterates every event', async () => {
    script = SCRIPT;
    const stream = await client.responses.create({ ...params, stream: true });
    const types: string[] = [];
    let text = '';
    let completed: any;
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') completed = ev.response;
    }
    assert.ok(customToolNames(lastReq!).has('apply_patch'), 'SDK body decoded with the custom tool remembered');
    assert.equal(types[0], 'response.created');
    assert.equal(types[types.length - 1], 'response.completed');
    assert.equal(text, 'Hello, world');
    assert.equal(completed.usage.input_tokens, 100);
    assert.equal(completed.usage.output_tokens, 20);
    assert.equal(completed.usage.input_tokens_details.cached_tokens, 40);
  });

  test('responses.stream(...).finalResponse() accumulates text, function call, custom call, usage', async () => {
    script = SCRIPT;
    const runner = client.responses.stream(params);
    const deltas: string[] = [];
    runner.on('response.output_text.delta', (e) => deltas.push(e.snapshot));
    const final = await runner.finalResponse();
    assert.equal(final.status, 'completed');
    assert.equal(final.output_text, 'Hello, world');
    assert.deepStrictEqual(deltas, ['Hello', 'Hello, world']);
    const fc = final.output.find((o) => o.type === 'function_call');
    assert.ok(fc && fc.type === 'function_call');
    assert.equal(fc.call_id, 'call_a');
    assert.equal(fc.name, 'exec_command');
    assert.equal(fc.arguments, '{"cmd":"ls"}');
    const cc = final.output.find((o) => o.type === 'custom_tool_call');
    assert.ok(cc && cc.type === 'custom_tool_call');
    assert.equal(cc.call_id, 'call_b');
    assert.equal(cc.input, '*** Begin Patch\n');
    const rs = final.output.find((o) => o.type === 'reasoning');
    assert.ok(rs && rs.type === 'reasoning');
    assert.deepStrictEqual(rs.summary, [{ type: 'summary_text', text: 'Plan: list.' }]);
    assert.equal(final.usage?.total_tokens, 120);
  });

  test('responses.stream with finish=length ends on response.incomplete', async () => {
    script = [{ type: 'text', text: 'cut off' }, { type: 'finish', reason: 'length', usage }];
    const final = await client.responses.stream(params).finalResponse();
    assert.equal(final.status, 'incomplete');
    assert.equal(final.incomplete_details?.reason, 'max_output_tokens');
    assert.equal(final.output_text, 'cut off');
  });

  test('mid-stream error arrives as response.failed with the error', async () => {
    script = [{ type: 'text', text: 'x' }, { type: 'error', error: new ProxyError('timeout', 'Cortex timed out') }];
    const stream = await client.responses.create({ ...params, stream: true });
    let failed: any;
    for await (const ev of stream) if (ev.type === 'response.failed') failed = ev.response;
    assert.equal(failed.status, 'failed');
    assert.deepStrictEqual(failed.error, { code: 'server_error', message: 'Cortex timed out' });
  });

  test('non-stream responses.create parses encodeResponse output (output_text computed by the SDK)', async () => {
    const r = await client.responses.create({ ...params, stream: false });
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal(r.output_text, 'Hello, world');
    const cc = r.output.find((o) => o.type === 'custom_tool_call');
    assert.ok(cc && cc.type === 'custom_tool_call');
    assert.equal(cc.input, '*** Begin Patch\n');
    assert.equal(r.usage?.input_tokens, 100);
  });

  test('a rejected request reaches the SDK as a 400 APIError with the message', async () => {
    await assert.rejects(
      client.responses.create({ ...params, previous_response_id: 'resp_old' }),
      (e: unknown) =>
        e instanceof OpenAI.APIError && e.status === 400 && /previous_response_id is not supported/.test(e.message),
    );
  });
});
