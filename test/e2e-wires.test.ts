// End to end, every client dialect × every upstream wire: the real CLI (one proxy process for the whole matrix)
// in front of the strict emulator, driven by the real SDKs — openai (Chat Completions and Responses) and
// @anthropic-ai/sdk (Messages). Each cell: streamed text, two streamed tool calls, and a tool round trip whose
// result must reach Cortex in that wire's own form. Plus cortex_api auto: the endpoint it picks per family.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import type Anthropic from '@anthropic-ai/sdk';
import { useProxyRig, wireModels } from './proxy-rig.js';

const PAT = 'wires-pat-' + 'w'.repeat(40);
const MASTER = 'sk-wires-' + 'm'.repeat(32);

/** model_name → [Cortex model, cortex_api]. The anthropic wire serves Claude only. */
const MODELS: Record<string, [string, string]> = {
  'claude-complete': ['claude-sonnet-4-5', 'complete'],
  'claude-openai': ['claude-sonnet-4-5', 'openai'],
  'claude-anthropic': ['claude-sonnet-4-5', 'anthropic'],
  'gpt-complete': ['openai-gpt-4.1', 'complete'],
  'gpt-openai': ['openai-gpt-4.1', 'openai'],
  'claude-auto': ['claude-sonnet-4-5', 'auto'],
  'gpt-auto': ['openai-gpt-4.1', 'auto'],
};
const PATHS: Record<string, string> = {
  complete: '/api/v2/cortex/inference:complete',
  openai: '/api/v2/cortex/v1/chat/completions',
  anthropic: '/api/v2/cortex/v1/messages',
};

const rig = useProxyRig({
  pat: PAT,
  master: MASTER,
  config: (apiBase) => `model_list:\n${wireModels(MODELS, apiBase)}general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n`,
});

const TEXT = 'Streaming through every wire, one piece at a time.';
const CALLS = [
  { name: 'get_weather', input: { city: 'Paris' } },
  { name: 'get_time', input: { city: 'Tokyo', format: '24h' } },
];
const schema = { type: 'object', properties: { city: { type: 'string' }, format: { type: 'string' } }, required: ['city'] };
const RESULT = 'Paris: 18°C and cloudy';
const FINAL = 'It is 18°C and cloudy in Paris.';

/** The upstream request of the last exchange, after checking it went to the wire's endpoint. */
function upstream(wire: string): Record<string, any> {
  const chat = rig.upstream();
  assert.equal(chat.length, 1, `one upstream call (${chat.map((r) => `${r.path} ${r.status}`).join(', ')})`);
  assert.equal(chat[0].path, PATHS[wire]);
  assert.equal(chat[0].headers.authorization, `Bearer ${PAT}`);
  if (wire === 'anthropic') assert.equal(chat[0].headers['anthropic-version'], '2023-06-01');
  return chat[0].body as Record<string, any>;
}

/** The tool result as the wire carried it to Cortex. */
function resultSent(wire: string, body: Record<string, any>): string {
  const msgs = body.messages as any[];
  if (wire === 'complete') {
    const item = msgs.flatMap((m) => m.content_list ?? []).find((i: any) => i.type === 'tool_results');
    assert.equal(item.tool_results.name, 'get_weather');
    return item.tool_results.content[0].text;
  }
  if (wire === 'openai') return msgs.find((m) => m.role === 'tool').content;
  const block = msgs.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).find((b: any) => b.type === 'tool_result');
  return block.content[0].text;
}

interface Dialect {
  text(model: string): Promise<{ text: string; done: string }>;
  tools(model: string): Promise<{ calls: Array<{ name: string; args: unknown }>; done: string }>;
  roundTrip(model: string): Promise<string>;
}

const DIALECTS: Record<string, Dialect> = {
  'OpenAI Chat Completions (openai SDK)': {
    async text(model) {
      const stream = await rig.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Say it' }], stream: true, stream_options: { include_usage: true } });
      let text = '';
      let done = '';
      for await (const c of stream) {
        text += c.choices[0]?.delta?.content ?? '';
        done = c.choices[0]?.finish_reason ?? done;
      }
      return { text, done };
    },
    async tools(model) {
      const tools: OpenAI.Chat.ChatCompletionTool[] = CALLS.map((c) => ({ type: 'function', function: { name: c.name, parameters: schema } }));
      const final = await rig.openai.chat.completions.stream({ model, messages: [{ role: 'user', content: 'Both' }], tools }).finalChatCompletion();
      const calls = (final.choices[0].message.tool_calls ?? []).map((t: any) => ({ name: t.function.name, args: JSON.parse(t.function.arguments) }));
      return { calls, done: final.choices[0].finish_reason };
    },
    async roundTrip(model) {
      const r = await rig.openai.chat.completions.create({
        model,
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: RESULT },
        ],
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: schema } }],
      });
      return r.choices[0].message.content ?? '';
    },
  },
  'Anthropic Messages (@anthropic-ai/sdk)': {
    async text(model) {
      const msg = await rig.anthropic.messages.stream({ model, max_tokens: 1024, messages: [{ role: 'user', content: 'Say it' }] }).finalMessage();
      return { text: msg.content.map((b) => (b.type === 'text' ? b.text : '')).join(''), done: msg.stop_reason ?? '' };
    },
    async tools(model) {
      const tools: Anthropic.Tool[] = CALLS.map((c) => ({ name: c.name, input_schema: schema as Anthropic.Tool.InputSchema }));
      const msg = await rig.anthropic.messages.stream({ model, max_tokens: 1024, messages: [{ role: 'user', content: 'Both' }], tools }).finalMessage();
      const calls = msg.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use').map((b) => ({ name: b.name, args: b.input }));
      return { calls, done: msg.stop_reason ?? '' };
    },
    async roundTrip(model) {
      const msg = await rig.anthropic.messages.create({
        model,
        max_tokens: 1024,
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: RESULT }] },
        ],
        tools: [{ name: 'get_weather', input_schema: schema as Anthropic.Tool.InputSchema }],
      });
      return msg.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    },
  },
  'OpenAI Responses (openai SDK)': {
    async text(model) {
      const stream = await rig.openai.responses.create({ model, input: 'Say it', stream: true });
      let text = '';
      let done = '';
      for await (const e of stream) {
        if (e.type === 'response.output_text.delta') text += e.delta;
        if (e.type === 'response.completed') done = e.response.status ?? '';
      }
      return { text, done };
    },
    async tools(model) {
      const tools: OpenAI.Responses.FunctionTool[] = CALLS.map((c) => ({ type: 'function', name: c.name, parameters: schema, strict: false }));
      const final = await rig.openai.responses.stream({ model, input: 'Both', tools }).finalResponse();
      const calls = final.output.flatMap((o) => (o.type === 'function_call' ? [{ name: o.name, args: JSON.parse(o.arguments) }] : []));
      return { calls, done: final.status ?? '' };
    },
    async roundTrip(model) {
      const r = await rig.openai.responses.create({
        model,
        input: [
          { role: 'user', content: 'Weather in Paris?' },
          { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call_output', call_id: 'call_1', output: RESULT },
        ],
        tools: [{ type: 'function', name: 'get_weather', parameters: schema, strict: false }],
      });
      return r.output_text;
    },
  },
};

const DONE_TEXT: Record<string, string[]> = { stop: ['stop', 'end_turn', 'completed'] };
const DONE_TOOLS = ['tool_calls', 'tool_use', 'completed'];

for (const [dialectName, d] of Object.entries(DIALECTS)) {
  describe(dialectName, () => {
    for (const [model, [, api]] of Object.entries(MODELS)) {
      if (api === 'auto') continue;
      describe(`${model} (cortex_api: ${api})`, () => {
        test('streamed text', async () => {
          rig.emu.script({ text: TEXT });
          const r = await d.text(model);
          assert.equal(r.text, TEXT);
          assert.ok(DONE_TEXT.stop.includes(r.done), r.done);
          upstream(api);
        });

        test('two streamed tool calls with intact arguments', async () => {
          rig.emu.script({ toolCalls: CALLS });
          const r = await d.tools(model);
          assert.deepEqual(r.calls, CALLS.map((c) => ({ name: c.name, args: c.input })));
          assert.ok(DONE_TOOLS.includes(r.done), r.done);
          const body = upstream(api);
          assert.equal((body.tools as unknown[]).length, 2);
        });

        test('a tool round trip: the result reaches Cortex in the wire\'s form and the answer comes back', async () => {
          rig.emu.script({ text: FINAL });
          assert.equal(await d.roundTrip(model), FINAL);
          assert.equal(resultSent(api, upstream(api)), RESULT);
        });
      });
    }
  });
}

describe('cortex_api auto', () => {
  test('Claude → /v1/messages, other models → /v1/chat/completions', async () => {
    rig.emu.script({ text: 'a' });
    await DIALECTS['OpenAI Chat Completions (openai SDK)'].text('claude-auto');
    upstream('anthropic');
    rig.emu.reset();
    rig.emu.script({ text: 'b' });
    await DIALECTS['Anthropic Messages (@anthropic-ai/sdk)'].text('gpt-auto');
    upstream('openai');
  });
});
