import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicMessages, countTokens } from '../src/dialects/anthropic-messages/index.js';
import { estimateInputTokens, IMAGE_TOKENS } from '../src/core/tokens.js';
import { ProxyError, type ErrorKind } from '../src/core/errors.js';
import type { ChatRequest, FinalMessage, StreamEvent } from '../src/core/types.js';

const H = { 'user-agent': 'claude-cli/2.1.197 (external, cli)', 'anthropic-version': '2023-06-01' };
const meta = { id: 'msg_test123', created: 1_700_000_000, model: 'claude-sonnet-4-5' };
const decode = (body: unknown) => anthropicMessages.decodeRequest(body, H);

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

// A body shaped like Claude Code 2.1.x's: system blocks with cache_control, a beta role:system message,
// a tool round trip, thinking replay, server tools and server-tool history mixed in.
function claudeCodeBody(): Record<string, unknown> {
  return {
    model: 'claude-sonnet-4-5',
    max_tokens: 32000,
    stream: true,
    temperature: 1,
    top_k: 40,
    metadata: { user_id: 'user_abc_account__session_1' },
    context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
    output_config: { effort: 'high' },
    service_tier: 'auto',
    container: null,
    mcp_servers: [],
    thinking: { type: 'enabled', budget_tokens: 8000 },
    system: [
      { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Use the tools available to you.', cache_control: { type: 'ephemeral', ttl: '1h' } },
    ],
    tools: [
      {
        name: 'Read',
        description: 'Reads a file from the local filesystem.',
        input_schema: {
          type: 'object',
          properties: { file_path: { type: 'string' } },
          required: ['file_path'],
          additionalProperties: false,
          $schema: 'http://json-schema.org/draft-07/schema#',
        },
      },
      {
        name: 'Write',
        description: 'Writes a file.',
        input_schema: { type: 'object', properties: { file_path: { type: 'string' }, content: { type: 'string' } } },
        input_examples: [{ file_path: '/tmp/a', content: 'x' }],
        cache_control: { type: 'ephemeral' },
      },
      { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
      { type: 'custom', name: 'Bash', input_schema: { type: 'object', properties: { command: { type: 'string' } } } },
    ],
    tool_choice: { type: 'auto', disable_parallel_tool_use: false },
    messages: [
      { role: 'system', content: 'Extra beta instructions.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: '<system-reminder>ctx</system-reminder>' },
          { type: 'text', text: 'Read /tmp/a.txt', cache_control: { type: 'ephemeral' } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'I should read the file.', signature: 'sig-abc' },
          { type: 'redacted_thinking', data: 'ENCRYPTED' },
          { type: 'text', text: "I'll read it." },
          { type: 'tool_use', id: 'toolu_01', name: 'Read', input: { file_path: '/tmp/a.txt' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_01', content: '     1\thello', cache_control: { type: 'ephemeral' } },
          { type: 'text', text: 'now search' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'x' } },
          { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [{ type: 'web_search_result', encrypted_content: 'E' }] },
          { type: 'text', text: 'Found it.' },
          { type: 'tool_use', id: 'toolu_02', name: 'Bash', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_02',
            is_error: true,
            content: [
              { type: 'text', text: 'exit 1' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            ],
          },
          { type: 'input_text', text: 'what failed?' },
        ],
      },
    ],
  };
}

test('decodes a realistic Claude Code body into the exact canonical request', () => {
  const req = decode(claudeCodeBody());
  const expected: ChatRequest = {
    model: 'claude-sonnet-4-5',
    system: "You are Claude Code, Anthropic's official CLI for Claude.\n\nUse the tools available to you.\n\nExtra beta instructions.",
    messages: [
      {
        role: 'user',
        parts: [
          { type: 'text', text: '<system-reminder>ctx</system-reminder>' },
          { type: 'text', text: 'Read /tmp/a.txt', cache: true },
        ],
      },
      {
        role: 'assistant',
        parts: [
          { type: 'thinking', text: 'I should read the file.', signature: 'sig-abc' },
          { type: 'text', text: "I'll read it." },
          { type: 'tool_call', id: 'toolu_01', name: 'Read', argumentsJson: '{"file_path":"/tmp/a.txt"}' },
        ],
      },
      {
        role: 'user',
        parts: [
          { type: 'tool_result', callId: 'toolu_01', name: 'Read', parts: [{ type: 'text', text: '     1\thello' }] },
          { type: 'text', text: 'now search' },
        ],
      },
      {
        role: 'assistant',
        parts: [
          { type: 'text', text: 'Found it.' },
          { type: 'tool_call', id: 'toolu_02', name: 'Bash', argumentsJson: '{}' },
        ],
      },
      {
        role: 'user',
        parts: [
          {
            type: 'tool_result',
            callId: 'toolu_02',
            name: 'Bash',
            isError: true,
            parts: [
              { type: 'text', text: 'exit 1' },
              { type: 'image', mediaType: 'image/png', base64: PNG },
            ],
          },
          { type: 'text', text: 'what failed?' },
        ],
      },
    ],
    tools: [
      {
        name: 'Read',
        description: 'Reads a file from the local filesystem.',
        jsonSchema: {
          type: 'object',
          properties: { file_path: { type: 'string' } },
          required: ['file_path'],
          additionalProperties: false,
          $schema: 'http://json-schema.org/draft-07/schema#',
        },
      },
      {
        name: 'Write',
        description: 'Writes a file.',
        jsonSchema: { type: 'object', properties: { file_path: { type: 'string' }, content: { type: 'string' } } },
      },
      { name: 'Bash', jsonSchema: { type: 'object', properties: { command: { type: 'string' } } } },
    ],
    toolChoice: { type: 'auto' },
    maxTokens: 32000,
    temperature: 1,
    reasoning: { budgetTokens: 8000, effort: 'high' },
    stream: true,
    includeUsage: true,
    unsupported: ['top_k'],
    client: { dialect: 'anthropic-messages', userAgent: 'claude-cli/2.1.197 (external, cli)' },
  };
  assert.deepStrictEqual(req, expected);
});

test('minimal body: string content, defaults, no max_tokens accepted', () => {
  const req = decode({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  assert.deepStrictEqual(req, {
    model: 'm',
    messages: [{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
    stream: false,
    includeUsage: true,
    unsupported: [],
    client: { dialect: 'anthropic-messages', userAgent: 'claude-cli/2.1.197 (external, cli)' },
  });
});

test('server tools are dropped, and tool_choice with them (LiteLLM #25477)', () => {
  const base = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] };
  const onlyServer = decode({
    ...base,
    tools: [{ type: 'web_search_20250305', name: 'web_search' }, { type: 'bash_20250124', name: 'bash' }],
    tool_choice: { type: 'any' },
  });
  assert.equal(onlyServer.tools, undefined);
  assert.equal(onlyServer.toolChoice, undefined);

  const mixed = [{ type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' }, { name: 'Read', input_schema: { type: 'object' } }];
  assert.equal(decode({ ...base, tools: mixed, tool_choice: { type: 'tool', name: 'str_replace_based_edit_tool' } }).toolChoice, undefined);
  assert.deepStrictEqual(decode({ ...base, tools: mixed, tool_choice: { type: 'tool', name: 'Read' } }).toolChoice, { type: 'tool', name: 'Read' });
  assert.deepStrictEqual(decode({ ...base, tools: mixed, tool_choice: { type: 'any' } }).toolChoice, { type: 'required' });
  assert.deepStrictEqual(decode({ ...base, tools: mixed, tool_choice: { type: 'none' } }).toolChoice, { type: 'none' });
  assert.deepStrictEqual(decode({ ...base, tools: mixed }).tools, [{ name: 'Read', jsonSchema: { type: 'object' } }]);
});

test('thinking variants, stop_sequences, output_config.format, top_p', () => {
  const base = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] };
  assert.equal(decode({ ...base, thinking: { type: 'disabled' } }).reasoning, undefined);
  assert.deepStrictEqual(decode({ ...base, thinking: { type: 'adaptive' } }).reasoning, { effort: 'high' });
  assert.deepStrictEqual(decode({ ...base, thinking: { type: 'adaptive' }, output_config: { effort: 'low' } }).reasoning, { effort: 'low' });
  assert.deepStrictEqual(decode({ ...base, thinking: { type: 'enabled', budget_tokens: 2048 } }).reasoning, { budgetTokens: 2048 });
  const r = decode({
    ...base,
    stop_sequences: ['\n\nHuman:', ''],
    top_p: 0.9,
    output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
  });
  assert.deepStrictEqual(r.stop, ['\n\nHuman:']);
  assert.equal(r.topP, 0.9);
  assert.deepStrictEqual(r.responseFormat, { type: 'json', schema: { type: 'object' } });
});

test('content edge cases: empty text dropped, image url, text document, search_result, unknown block → unsupported', () => {
  const req = decode({
    model: 'm',
    max_tokens: 5,
    messages: [
      { role: 'user', content: '' },
      {
        role: 'user',
        content: [
          { type: 'text', text: '' },
          { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' }, cache_control: { type: 'ephemeral' } },
          { type: 'document', title: 'Notes', source: { type: 'text', media_type: 'text/plain', data: 'doc body' } },
          { type: 'search_result', source: 'https://s', title: 'T', content: [{ type: 'text', text: 'snippet' }] },
          { type: 'future_block_v9', foo: 1 },
        ],
      },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: '' }] },
    ],
  });
  assert.deepStrictEqual(req.messages, [
    {
      role: 'user',
      parts: [
        { type: 'image', mediaType: '', url: 'https://example.com/a.png', cache: true },
        { type: 'text', text: 'Notes\n\ndoc body' },
        { type: 'text', text: 'T\nhttps://s\n\nsnippet' },
      ],
    },
    { role: 'assistant', parts: [{ type: 'thinking', text: 'hmm' }] },
  ]);
  assert.deepStrictEqual(req.unsupported, ['content block type "future_block_v9"']);
});

function assertInvalid(body: unknown, field: string) {
  assert.throws(
    () => decode(body),
    (err: unknown) => {
      assert.ok(err instanceof ProxyError, `expected ProxyError, got ${String(err)}`);
      assert.equal(err.kind, 'invalid_request');
      assert.equal(err.status, 400);
      assert.ok(err.message.includes(field), `message ${JSON.stringify(err.message)} should name ${field}`);
      return true;
    },
  );
}

test('bad inputs → invalid_request naming the field', () => {
  const ok = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] };
  const asst = (content: unknown[]) => ({ role: 'assistant', content });
  assertInvalid(null, 'JSON object');
  assertInvalid([], 'JSON object');
  assertInvalid('str', 'JSON object');
  assertInvalid({ ...ok, model: undefined }, 'model');
  assertInvalid({ ...ok, model: 42 }, 'model');
  assertInvalid({ ...ok, max_tokens: 0 }, 'max_tokens');
  assertInvalid({ ...ok, max_tokens: '100' }, 'max_tokens');
  assertInvalid({ ...ok, messages: undefined }, 'messages');
  assertInvalid({ ...ok, messages: {} }, 'messages');
  assertInvalid({ ...ok, messages: [] }, 'messages');
  assertInvalid({ ...ok, messages: [{ role: 'system', content: 'only system' }] }, 'messages');
  assertInvalid({ ...ok, messages: [null] }, 'messages[0]');
  assertInvalid({ ...ok, messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role');
  assertInvalid({ ...ok, messages: [{ role: 'user', content: 5 }] }, 'messages[0].content');
  assertInvalid({ ...ok, messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }, 'messages[0].content[0].text');
  assertInvalid({ ...ok, messages: [{ role: 'user', content: [{ type: 'text' }, 'raw'] }] }, 'messages[0].content[0].text');
  assertInvalid({ ...ok, messages: [{ role: 'user', content: ['raw'] }] }, 'messages[0].content[0]');
  assertInvalid({ ...ok, messages: [{ role: 'user', content: [{ text: 'no type' }] }] }, 'messages[0].content[0].type');
  assertInvalid(
    { ...ok, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'r' }] }] },
    'messages[0].content[0].tool_use_id',
  );
  assertInvalid({ ...ok, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }] }, 'messages[0].content[0]');
  assertInvalid({ ...ok, messages: [asst([{ type: 'tool_use', name: 'b', input: {} }])] }, 'messages[0].content[0].id');
  assertInvalid({ ...ok, messages: [asst([{ type: 'tool_use', id: 'a', input: {} }])] }, 'messages[0].content[0].name');
  assertInvalid({ ...ok, messages: [asst([{ type: 'tool_use', id: 'a', name: 'b', input: [1] }])] }, 'messages[0].content[0].input');
  assertInvalid({ ...ok, messages: [asst([{ type: 'tool_use', id: 'a', name: 'b', input: 'nope' }])] }, 'messages[0].content[0].input');
  assertInvalid(
    { ...ok, messages: [asst([{ type: 'tool_use', id: 'a', name: 'b' }]), { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', is_error: 'yes' }] }] },
    'messages[1].content[0].is_error',
  );
  assertInvalid(
    { ...ok, messages: [asst([{ type: 'tool_use', id: 'a', name: 'b' }]), { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', content: {} }] }] },
    'messages[1].content[0].content',
  );
  assertInvalid({ ...ok, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', data: PNG } }] }] }, 'messages[0].content[0].source.media_type');
  assertInvalid({ ...ok, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }, 'messages[0].content[0].source.type');
  assertInvalid({ ...ok, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'file:///etc/passwd' } }] }] }, 'messages[0].content[0].source.url');
  assertInvalid({ ...ok, messages: [{ role: 'user', content: [{ type: 'image' }] }] }, 'messages[0].content[0].source');
  assertInvalid(
    { ...ok, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' } }] }] },
    'messages[0].content[0]',
  );
  assertInvalid({ ...ok, messages: [asst([{ type: 'thinking', thinking: 3 }])] }, 'messages[0].content[0].thinking');
  assertInvalid({ ...ok, system: 5 }, 'system');
  assertInvalid({ ...ok, system: [{ type: 'image' }] }, 'system[0]');
  assertInvalid({ ...ok, tools: {} }, 'tools');
  assertInvalid({ ...ok, tools: [null] }, 'tools[0]');
  assertInvalid({ ...ok, tools: [{ input_schema: {} }] }, 'tools[0].name');
  assertInvalid({ ...ok, tools: [{ name: 'a', input_schema: 'x' }] }, 'tools[0].input_schema');
  assertInvalid({ ...ok, tools: [{ name: 'a', description: 1 }] }, 'tools[0].description');
  assertInvalid({ ...ok, tools: [{ name: 'a' }, { name: 'a' }] }, 'tools[1].name');
  assertInvalid({ ...ok, tools: [{ name: 'a' }], tool_choice: { type: 'tool', name: 'zz' } }, 'tool_choice.name');
  assertInvalid({ ...ok, tools: [{ name: 'a' }], tool_choice: { type: 'tool' } }, 'tool_choice.name');
  assertInvalid({ ...ok, tools: [{ name: 'a' }], tool_choice: { type: 'required' } }, 'tool_choice.type');
  assertInvalid({ ...ok, tool_choice: 'auto' }, 'tool_choice');
  assertInvalid({ ...ok, thinking: { type: 'enabled' } }, 'thinking.budget_tokens');
  assertInvalid({ ...ok, thinking: { type: 'on' } }, 'thinking.type');
  assertInvalid({ ...ok, thinking: true }, 'thinking');
  assertInvalid({ ...ok, temperature: '0.5' }, 'temperature');
  assertInvalid({ ...ok, temperature: 5 }, 'temperature');
  assertInvalid({ ...ok, top_p: -1 }, 'top_p');
  assertInvalid({ ...ok, stop_sequences: 'STOP' }, 'stop_sequences');
  assertInvalid({ ...ok, stop_sequences: [1] }, 'stop_sequences');
  assertInvalid({ ...ok, stream: 'yes' }, 'stream');
  assertInvalid({ ...ok, output_config: { format: { type: 'json_schema' } } }, 'output_config.format.schema');
});

test('hostile bodies never crash: every failure is a ProxyError', () => {
  const weird: unknown[] = [
    undefined,
    0,
    { model: 'm', messages: [{ role: 'user', content: [{ type: 'tool_result' }] }] },
    { model: 'm', messages: [{ role: 'user', content: [{ type: 'search_result', content: 'x' }] }] },
    { model: 'm', messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'content', content: 7 } }] }] },
    { model: 'm', messages: [{ role: 'user', content: [{ type: { nested: true } }] }] },
    JSON.parse('{"model":"m","__proto__":{"polluted":1},"messages":[{"role":"user","content":"x","__proto__":{"role":"x"}}]}'),
    { model: 'm', messages: new Array(1000).fill({ role: 'user', content: [{ type: 'text', text: 'a' }] }) },
  ];
  for (const body of weird) {
    try {
      decode(body);
    } catch (err) {
      assert.ok(err instanceof ProxyError, `non-ProxyError for ${JSON.stringify(body)?.slice(0, 80)}: ${String(err)}`);
      assert.equal(err.kind, 'invalid_request');
    }
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('countTokens: documented estimate (bytes/3.5 + fixed costs), validated body', () => {
  const text = 'a'.repeat(700);
  assert.deepStrictEqual(countTokens({ model: 'm', messages: [{ role: 'user', content: text }] }), { input_tokens: 200 + 4 });
  const withSystemAndImage = countTokens({
    model: 'm',
    system: [{ type: 'text', text: 'b'.repeat(35) }],
    messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }, { type: 'text', text }] }],
  });
  assert.equal(withSystemAndImage.input_tokens, Math.ceil(735 / 3.5) + 4 + IMAGE_TOKENS);
  const withTools = countTokens({
    model: 'm',
    messages: [{ role: 'user', content: text }],
    tools: [{ name: 'Read', description: 'd', input_schema: { type: 'object' } }, { type: 'web_search_20250305', name: 'web_search' }],
  });
  const schemaBytes = 'Read'.length + 1 + JSON.stringify({ type: 'object' }).length;
  assert.equal(withTools.input_tokens, Math.ceil((700 + schemaBytes) / 3.5) + 4 + 350);
  assert.throws(() => countTokens({ messages: [] }), (e: unknown) => e instanceof ProxyError && e.kind === 'invalid_request');
  // Never 0 for a real prompt, and the realistic body is in a plausible range.
  const big = countTokens(claudeCodeBody()).input_tokens;
  assert.ok(big > IMAGE_TOKENS && big < 5000, String(big)); // one image + ~1.5 KB of text and schemas
});

// ───────────────────────── SSE replay, the way the Anthropic SDK's MessageStream accumulates ─────────────────────────

interface Frame {
  event: string;
  data: any;
}

function parseSse(text: string): Frame[] {
  assert.ok(text.endsWith('\n\n'), 'stream text must end with a blank line');
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((raw) => {
      const lines = raw.split('\n');
      assert.equal(lines.length, 2, `frame must be exactly event+data lines: ${JSON.stringify(raw)}`);
      assert.ok(lines[0].startsWith('event: ') && lines[1].startsWith('data: '), raw);
      const event = lines[0].slice(7);
      const data = JSON.parse(lines[1].slice(6));
      assert.equal(data.type, event, 'event name must equal data.type');
      return { event, data };
    });
}

/** Rebuilds the message, enforcing the invariants the SDK and Claude Code rely on. */
function replay(frames: Frame[]) {
  assert.equal(frames[0].event, 'message_start', 'message_start first');
  const msg = structuredClone(frames[0].data.message);
  assert.deepStrictEqual(msg.content, []);
  let open: number | null = null;
  const json = new Map<number, string>();
  let sawDelta = false;
  let stopped = false;
  for (const [i, { event, data }] of frames.entries()) {
    if (i === 0) continue;
    assert.ok(!stopped, `${event} after message_stop`);
    switch (event) {
      case 'ping':
        break;
      case 'content_block_start':
        assert.equal(open, null, 'previous block must be closed before a new one starts');
        assert.equal(data.index, msg.content.length, 'block indexes are contiguous and increasing');
        msg.content.push(structuredClone(data.content_block));
        open = data.index;
        if (data.content_block.type === 'tool_use') {
          assert.deepStrictEqual(data.content_block.input, {});
          json.set(data.index, '');
        }
        break;
      case 'content_block_delta': {
        assert.equal(data.index, open, 'delta must be inside the start/stop of its index');
        const block = msg.content[data.index];
        const d = data.delta;
        if (d.type === 'text_delta') (assert.equal(block.type, 'text'), (block.text += d.text));
        else if (d.type === 'thinking_delta') (assert.equal(block.type, 'thinking'), (block.thinking += d.thinking));
        else if (d.type === 'signature_delta') (assert.equal(block.type, 'thinking'), (block.signature = d.signature));
        else if (d.type === 'input_json_delta') (assert.equal(block.type, 'tool_use'), json.set(data.index, json.get(data.index)! + d.partial_json));
        else assert.fail(`unknown delta ${d.type}`);
        break;
      }
      case 'content_block_stop': {
        assert.equal(data.index, open, 'stop must close the open block');
        const block = msg.content[data.index];
        if (block.type === 'tool_use') {
          const buf = json.get(data.index)!;
          block.input = buf ? JSON.parse(buf) : {};
        }
        if (block.type === 'text') assert.ok(block.text.length > 0, 'no empty text blocks');
        open = null;
        break;
      }
      case 'message_delta':
        assert.equal(open, null, 'all blocks closed before message_delta');
        assert.ok(!sawDelta, 'one message_delta');
        sawDelta = true;
        msg.stop_reason = data.delta.stop_reason;
        msg.stop_sequence = data.delta.stop_sequence;
        // Newer SDKs copy every non-null usage field; older ones only output_tokens.
        for (const [k, v] of Object.entries(data.usage)) if (v != null) msg.usage[k] = v;
        break;
      case 'message_stop':
        assert.ok(sawDelta, 'message_delta before message_stop');
        assert.equal(i, frames.length - 1, 'message_stop last');
        stopped = true;
        break;
      default:
        assert.fail(`unexpected event ${event}`);
    }
  }
  assert.ok(stopped, 'stream ended with message_stop');
  return msg;
}

function run(events: StreamEvent[], req: ChatRequest = decode({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })) {
  const enc = anthropicMessages.createStreamEncoder(req, meta);
  const out = events.map((e) => enc.event(e));
  out.push(enc.end());
  return out;
}

const usage = { promptTokens: 1200, completionTokens: 42, totalTokens: 1242, cachedTokens: 1000, cacheWriteTokens: 100 };

test('stream: text + fragmented tool call + late usage → exact SSE frame sequence', () => {
  const req = decode({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'a'.repeat(70) }] });
  const est = estimateInputTokens(req);
  assert.equal(est, 24);
  const chunks = run(
    [
      { type: 'start', id: 'up-1' },
      { type: 'text', text: '' },
      { type: 'text', text: "I'll " },
      { type: 'text', text: 'write it.' },
      { type: 'tool_call_start', index: 0, id: 'toolu_abc', name: 'Write' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '{"file_path":"/tmp/a",' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '"content":"hi \\"x\\""}' },
      { type: 'usage', usage },
      { type: 'finish', reason: 'tool_calls' },
    ],
    req,
  );
  const F = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  assert.deepStrictEqual(chunks, [
    '',
    '',
    F('message_start', {
      message: {
        id: 'msg_test123',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: est,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 1,
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
        },
      },
    }) +
      F('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
      F('content_block_delta', { index: 0, delta: { type: 'text_delta', text: "I'll " } }),
    F('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'write it.' } }),
    F('content_block_stop', { index: 0 }) +
      F('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_abc', name: 'Write', input: {} } }),
    '',
    F('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"file_path":"/tmp/a",' } }),
    F('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '"content":"hi \\"x\\""}' } }),
    '',
    F('content_block_stop', { index: 1 }) +
      F('message_delta', {
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { input_tokens: 100, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000, output_tokens: 42 },
      }) +
      F('message_stop', {}),
    '',
  ]);
  const msg = replay(parseSse(chunks.join('')));
  assert.deepStrictEqual(msg.content, [
    { type: 'text', text: "I'll write it." },
    { type: 'tool_use', id: 'toolu_abc', name: 'Write', input: { file_path: '/tmp/a', content: 'hi "x"' } },
  ]);
  assert.equal(msg.stop_reason, 'tool_use');
  assert.equal(msg.usage.input_tokens, 100);
  assert.equal(msg.usage.cache_read_input_tokens, 1000);
  assert.equal(msg.usage.output_tokens, 42);
});

test('stream: usage before content makes message_start exact; finish.usage honoured', () => {
  const chunks = run([
    { type: 'start', id: 'x' },
    { type: 'usage', usage: { promptTokens: 57, completionTokens: 1, totalTokens: 58 } },
    { type: 'text', text: 'Hello' },
    { type: 'usage', usage: { promptTokens: 57, completionTokens: 2, totalTokens: 59 } },
    { type: 'finish', reason: 'stop', usage: { promptTokens: 57, completionTokens: 3, totalTokens: 60 } },
  ]);
  assert.equal(chunks[0], '');
  assert.ok(chunks[1].startsWith('event: message_start\n'));
  const frames = parseSse(chunks.join(''));
  assert.equal(frames[0].data.message.usage.input_tokens, 57);
  const msg = replay(frames);
  assert.deepStrictEqual(msg.content, [{ type: 'text', text: 'Hello' }]);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.deepStrictEqual(frames.at(-2)!.data.usage, { input_tokens: 57, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 3 });
});

test('stream: tool calls only → no empty text block; "stop" with tool calls still ends tool_use (#34692)', () => {
  const frames = parseSse(
    run([
      { type: 'text', text: '' },
      { type: 'tool_call_start', index: 0, id: 'toolu_1', name: 'Read' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '{"file_path":"a"}' },
      { type: 'tool_call_end', index: 0 },
      { type: 'tool_call_start', index: 1, id: 'toolu_2', name: 'Read' },
      { type: 'tool_call_delta', index: 1, argumentsFragment: '{"file_path"' },
      { type: 'tool_call_delta', index: 1, argumentsFragment: ':"b"}' },
      { type: 'finish', reason: 'stop' },
    ]).join(''),
  );
  const msg = replay(frames);
  assert.deepStrictEqual(msg.content, [
    { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: 'a' } },
    { type: 'tool_use', id: 'toolu_2', name: 'Read', input: { file_path: 'b' } },
  ]);
  assert.equal(msg.stop_reason, 'tool_use');
  // No usage from upstream: estimates, never zeros.
  assert.ok(frames[0].data.message.usage.input_tokens > 0);
  assert.ok(msg.usage.output_tokens > 0);
});

test('stream: thinking with signature, then more thinking, then text', () => {
  const frames = parseSse(
    run([
      { type: 'thinking', text: 'Let me ' },
      { type: 'thinking', text: 'think.' },
      { type: 'thinking', text: '', signature: 'EqQBCgIYAh' },
      { type: 'thinking', text: 'Second thought.', signature: 'sig2' },
      { type: 'text', text: 'Answer.' },
      { type: 'finish', reason: 'stop' },
    ]).join(''),
  );
  assert.deepStrictEqual(frames[1].data.content_block, { type: 'thinking', thinking: '', signature: '' });
  const msg = replay(frames);
  assert.deepStrictEqual(msg.content, [
    { type: 'thinking', thinking: 'Let me think.', signature: 'EqQBCgIYAh' },
    { type: 'thinking', thinking: 'Second thought.', signature: 'sig2' },
    { type: 'text', text: 'Answer.' },
  ]);
});

test('stream: truncated tool call ends max_tokens; content_filter ends refusal', () => {
  const a = replay(
    parseSse(
      run([
        { type: 'tool_call_start', index: 0, id: 'toolu_1', name: 'Write' },
        { type: 'tool_call_delta', index: 0, argumentsFragment: '{}' },
        { type: 'finish', reason: 'length' },
      ]).join(''),
    ),
  );
  assert.equal(a.stop_reason, 'max_tokens');
  const b = replay(parseSse(run([{ type: 'text', text: 'filtered' }, { type: 'finish', reason: 'content_filter' }]).join('')));
  assert.equal(b.stop_reason, 'refusal');
});

test('stream: empty answer still yields a complete, valid message', () => {
  const msg = replay(parseSse(run([{ type: 'start', id: 'x' }, { type: 'finish', reason: 'stop' }]).join('')));
  assert.deepStrictEqual(msg.content, []);
  assert.equal(msg.stop_reason, 'end_turn');
});

test('stream: fragments before their start are held; events after finish are ignored', () => {
  const chunks = run([
    { type: 'tool_call_delta', index: 0, argumentsFragment: '{"a":' },
    { type: 'tool_call_start', index: 0, id: 'toolu_1', name: 'T' },
    { type: 'tool_call_delta', index: 0, argumentsFragment: '1}' },
    { type: 'finish', reason: 'tool_calls' },
    { type: 'text', text: 'late' },
    { type: 'finish', reason: 'stop' },
  ]);
  assert.equal(chunks[0], '');
  assert.equal(chunks.at(-2), '');
  assert.equal(chunks.at(-3), '');
  const msg = replay(parseSse(chunks.join('')));
  assert.deepStrictEqual(msg.content, [{ type: 'tool_use', id: 'toolu_1', name: 'T', input: { a: 1 } }]);
});

test('stream: errors → Anthropic error event; interleaved tool args fail loudly instead of corrupting JSON', () => {
  const before = run([{ type: 'error', error: new ProxyError('rate_limit', 'slow down') }, { type: 'text', text: 'x' }]);
  assert.deepStrictEqual(before, [
    'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}\n\n',
    '',
    '',
  ]);
  const mid = run([
    { type: 'text', text: 'partial' },
    { type: 'error', error: new ProxyError('unavailable', 'Cortex is overloaded') },
  ]).join('');
  const frames = parseSse(mid);
  assert.deepStrictEqual(
    frames.map((f) => f.event),
    ['message_start', 'content_block_start', 'content_block_delta', 'error'],
  );
  assert.deepStrictEqual(frames.at(-1)!.data.error, { type: 'overloaded_error', message: 'Cortex is overloaded' });

  const inter = parseSse(
    run([
      { type: 'tool_call_start', index: 0, id: 'a', name: 'T' },
      { type: 'tool_call_start', index: 1, id: 'b', name: 'T' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '{}' },
    ]).join(''),
  );
  assert.equal(inter.at(-1)!.event, 'error');
  assert.equal(inter.at(-1)!.data.error.type, 'api_error');
});

test('encodeResponse: non-stream message with thinking, text, parsed tool input and Anthropic usage', () => {
  const req = decode({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  const final: FinalMessage = {
    id: 'up',
    created: 1,
    text: 'Done.',
    thinking: [{ text: 'hmm', signature: 's1' }, { text: 'no sig' }],
    toolCalls: [
      { id: 'toolu_1', name: 'Read', argumentsJson: '{"file_path":"x"}' },
      { id: 'toolu_2', name: 'Bash', argumentsJson: '' },
      { id: 'toolu_3', name: 'Bash', argumentsJson: '{"command":"ls' },
    ],
    finishReason: 'tool_calls',
    usage,
  };
  assert.deepStrictEqual(anthropicMessages.encodeResponse(final, req, meta), {
    id: 'msg_test123',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content: [
      { type: 'thinking', thinking: 'hmm', signature: 's1' },
      { type: 'thinking', thinking: 'no sig', signature: '' },
      { type: 'text', text: 'Done.' },
      { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: 'x' } },
      { type: 'tool_use', id: 'toolu_2', name: 'Bash', input: {} },
      { type: 'tool_use', id: 'toolu_3', name: 'Bash', input: {} },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: {
      input_tokens: 100,
      cache_creation_input_tokens: 100,
      cache_read_input_tokens: 1000,
      output_tokens: 42,
      cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 0 },
    },
  });
  const noUsage = anthropicMessages.encodeResponse(
    { ...final, toolCalls: [], thinking: [], finishReason: 'stop', usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 } },
    req,
    meta,
  ) as any;
  assert.deepStrictEqual(noUsage.content, [{ type: 'text', text: 'Done.' }]);
  assert.equal(noUsage.stop_reason, 'end_turn');
  assert.equal(noUsage.usage.input_tokens, estimateInputTokens(req));
  assert.equal(noUsage.usage.output_tokens, 2);
});

test('encodeError: Anthropic envelope and error types for every kind', () => {
  const expected: Record<ErrorKind, string> = {
    invalid_request: 'invalid_request_error',
    unprocessable: 'invalid_request_error',
    auth: 'authentication_error',
    budget: 'billing_error',
    permission: 'permission_error',
    not_found: 'not_found_error',
    too_large: 'request_too_large',
    rate_limit: 'rate_limit_error',
    internal: 'api_error',
    upstream: 'api_error',
    unavailable: 'overloaded_error',
    timeout: 'api_error',
  };
  for (const [kind, type] of Object.entries(expected)) {
    assert.deepStrictEqual(anthropicMessages.encodeError(new ProxyError(kind as ErrorKind, `m-${kind}`)), {
      type: 'error',
      error: { type, message: `m-${kind}` },
    });
  }
  assert.deepStrictEqual(
    anthropicMessages.encodeError(new ProxyError('upstream', 'boom', { requestId: 'sf-req-1' })),
    { type: 'error', error: { type: 'api_error', message: 'boom' }, request_id: 'sf-req-1' },
  );
});
