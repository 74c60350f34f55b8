// The Cortex Responses wire (issue 15 item 3, cortex_api: responses): the real CLI in front of the strict emulator's
// /api/v2/cortex/v1/responses (and the AI Gateway's /v1/responses), driven by the real openai and @anthropic-ai/sdk
// clients in every dialect: streamed text, streamed tool calls, a tool round trip whose result reaches Cortex as a
// function_call_output, reasoning effort with tools on a GPT-5 model, non-streamed answers; the emulator refuses what
// Snowflake says the API does not do (non-OpenAI models, previous_response_id, background).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config/load.js';
import { modelEntry, tempDir, writeFiles } from './helpers.js';
import { useProxyRig } from './proxy-rig.js';

const PAT = 'responses-pat-' + 'r'.repeat(40);
const MASTER = 'sk-responses-master-' + 'm'.repeat(32);
const PATH = '/api/v2/cortex/v1/responses';

const model = (name: string, id: string, base: string, extra = '      cortex_api: responses\n') => modelEntry(name, `snowflake/${id}`, base, extra);

const rig = useProxyRig({
  pat: PAT,
  master: MASTER,
  config: (apiBase) =>
    'model_list:\n' +
    model('gpt', 'openai-gpt-4.1', apiBase) +
    model('gpt5', 'openai-gpt-5', apiBase) +
    model('gpt-gw', 'openai-gpt-4.1', `${apiBase}/aigateways/SNOWFLAKE`) +
    model('gpt5-auto', 'openai-gpt-5', apiBase, '') +
    'general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n',
});

function only(path = PATH): Record<string, any> {
  const c = rig.upstream();
  assert.deepEqual(c.map((r) => `${r.path} ${r.outcome}`), [`${path} ok`], JSON.stringify(c.map((r) => r.error)));
  return c[0].body as Record<string, any>;
}

const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

describe('cortex_api: responses', () => {
  test('OpenAI chat, streamed: text arrives and the body is a Responses request (input items, max_output_tokens, store false)', async () => {
    rig.emu.script({ text: 'Hello over the Responses API.' });
    const s = await rig.openai.chat.completions.create({ model: 'gpt', stream: true, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }] });
    let text = '';
    for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'Hello over the Responses API.');
    const body = only();
    assert.equal(body.instructions, 'Be brief.');
    assert.deepEqual(body.input, [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }]);
    assert.equal(body.store, false);
    assert.equal(typeof body.max_output_tokens, 'number');
    assert.equal(body.max_tokens, undefined);
  });

  test('tool calls stream back; the tool result goes up as function_call_output tied to its call', async () => {
    rig.emu.script({ toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }, { name: 'get_weather', input: { city: 'Oslo' } }] });
    const r = await rig.openai.chat.completions.create({ model: 'gpt', tools: [weather], messages: [{ role: 'user', content: 'weather in Paris and Oslo?' }] });
    const tc = r.choices[0].message.tool_calls!;
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(tc.map((t) => JSON.parse((t as any).function.arguments).city), ['Paris', 'Oslo']);
    rig.emu.reset();
    rig.emu.script({ text: 'Paris 18°C, Oslo 9°C.' });
    const r2 = await rig.openai.chat.completions.create({
      model: 'gpt',
      tools: [weather],
      messages: [
        { role: 'user', content: 'weather in Paris and Oslo?' },
        { role: 'assistant', content: null, tool_calls: tc },
        { role: 'tool', tool_call_id: tc[0].id, content: '18°C' },
        { role: 'tool', tool_call_id: tc[1].id, content: '9°C' },
      ],
    });
    assert.equal(r2.choices[0].message.content, 'Paris 18°C, Oslo 9°C.');
    const body = only();
    const outs = body.input.filter((i: any) => i.type === 'function_call_output');
    assert.deepEqual(outs.map((o: any) => [o.call_id, o.output]), [[tc[0].id, '18°C'], [tc[1].id, '9°C']]);
    assert.equal(body.input.filter((i: any) => i.type === 'function_call').length, 2);
  });

  test('GPT-5 with reasoning effort and tools together (what /v1/chat/completions refuses), from the Anthropic SDK', async () => {
    rig.emu.script({ toolCalls: [{ name: 'get_weather', input: { city: 'Rome' } }] });
    const m = await rig.anthropic.messages.create({
      model: 'gpt5',
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      messages: [{ role: 'user', content: 'weather in Rome?' }],
    });
    assert.equal(m.stop_reason, 'tool_use');
    const body = only();
    assert.ok(body.reasoning?.effort, JSON.stringify(body.reasoning));
    assert.equal(body.tools[0].name, 'get_weather');
    assert.equal(body.temperature, undefined);
  });

  test('Responses clients and non-streamed answers; through the AI Gateway the same wire goes to <gateway>/v1/responses', async () => {
    const r = await rig.openai.responses.create({ model: 'gpt', input: 'hi' });
    assert.ok(r.output_text.length > 0);
    only();
    rig.emu.reset();
    const c = await rig.openai.chat.completions.create({ model: 'gpt-gw', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(c.choices[0].finish_reason, 'stop');
    only('/api/v2/aigateways/SNOWFLAKE/v1/responses');
  });

  test('a 400 naming an optional field: sent again once without it, and left out from then on; other 400s are not retried', async () => {
    rig.emu.inject({ status: 400, message: 'unknown field "store"' });
    const r = await rig.openai.chat.completions.create({ model: 'gpt5', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.choices[0].finish_reason, 'stop');
    const [first, second] = rig.upstream();
    assert.equal((first.body as any).store, false);
    assert.equal(second.outcome, 'ok');
    assert.equal('store' in (second.body as any), false);
    await rig.proxy.waitForLog("Cortex refused 'store' on /v1/responses; sent again without it");
    rig.emu.reset();
    await rig.openai.chat.completions.create({ model: 'gpt5', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal('store' in only(), false, 'remembered for the endpoint');
    rig.emu.reset();
    rig.emu.inject({ status: 400, message: 'input has no user content' });
    const err = await rig.openai.chat.completions.create({ model: 'gpt5', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.equal(err.status, 400);
    assert.equal(rig.upstream().length, 1, 'a 400 that names no droppable field is the client\'s answer');
  });

  test('cortex_api auto: tools with reasoning on GPT-5 go over /v1/responses; without reasoning over chat; a 404 there is remembered', async () => {
    const ask = (reasoning: boolean) =>
      rig.openai.chat.completions
        .create({ model: 'gpt5-auto', tools: [weather], messages: [{ role: 'user', content: 'weather?' }], ...(reasoning ? { reasoning_effort: 'low' as const } : {}) })
        .withResponse();
    await ask(true);
    assert.equal(only().reasoning.effort, 'low');
    rig.emu.reset();
    await ask(false);
    only('/api/v2/cortex/v1/chat/completions');
    rig.emu.reset();
    rig.emu.inject({ status: 404, message: 'Not found' });
    // Without /v1/responses, chat completions is all there is, and Cortex refuses GPT-5 tools with reasoning there:
    // auto turns reasoning off (as Snowflake's launcher does for OpenCode) and says so, so the agent keeps working.
    const dropped = /reasoning_effort low sent as none: .*refuses function tools with reasoning/;
    const first = await ask(true);
    assert.match(first.response.headers.get('x-cortex-proxy-warning') ?? '', dropped);
    assert.ok(first.data.choices[0].message, 'answered');
    assert.deepEqual(rig.upstream().map((q) => `${q.path} ${q.status}`), [`${PATH} 404`, '/api/v2/cortex/v1/chat/completions 200']);
    assert.equal((rig.upstream()[1].body as Record<string, unknown>).reasoning_effort, 'none');
    await rig.proxy.waitForLog('answered 404 on /v1/responses: cortex_api auto uses /v1/chat/completions');
    rig.emu.reset();
    const again = await ask(true);
    assert.match(again.response.headers.get('x-cortex-proxy-warning') ?? '', dropped);
    assert.deepEqual(rig.upstream().map((q) => q.path), ['/api/v2/cortex/v1/chat/completions'], 'remembered: no second try of /v1/responses');
    rig.emu.reset();
    const plain = await ask(false);
    assert.equal(plain.response.headers.get('x-cortex-proxy-warning'), null);
    only('/api/v2/cortex/v1/chat/completions');
  });

  test('config: responses is refused for a model that is not OpenAI', () => {
    const dir = tempDir();
    writeFiles(dir, { 'cortex-proxy.yaml': `model_list:\n${model('c', 'claude-sonnet-4-5', 'https://myorg-myaccount.snowflakecomputing.com/api/v2')}` });
    assert.throws(() => loadConfig({ cwd: dir, env: { SNOWFLAKE_PAT: PAT } }), /responses serves OpenAI models only/);
  });

  test('the emulator refuses what the Responses API does not do: other families, previous_response_id, background, unknown fields', async () => {
    const post = (body: unknown) =>
      fetch(`${rig.emu.url}${PATH}`, { method: 'POST', headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post({ model: 'claude-sonnet-4-5', input: 'hi' })).status, 400);
    assert.equal((await post({ model: 'openai-gpt-4.1', input: 'hi', previous_response_id: 'resp_1' })).status, 400);
    assert.equal((await post({ model: 'openai-gpt-4.1', input: 'hi', background: true })).status, 400);
    assert.equal((await post({ model: 'openai-gpt-4.1', input: 'hi', max_tokens: 5 })).status, 400);
    assert.equal((await post({ model: 'openai-gpt-4.1', input: 'hi', surprise: 1 })).status, 400);
    assert.equal((await post({ model: 'openai-gpt-4.1', input: [{ type: 'function_call_output', call_id: 'x', output: 'y' }] })).status, 400, 'an output without its call');
    const ok = await post({ model: 'openai-gpt-4.1', input: 'hi', store: false });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as any).object, 'response');
  });
});
