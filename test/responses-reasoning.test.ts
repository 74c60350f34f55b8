// OpenAI reasoning items between turns (issue 15 item 3): the real CLI in front of the strict emulator, driven by the
// real openai SDK's responses.create / responses.stream. GPT-5 over the Responses wire answers with a reasoning item
// (id, summary, encrypted_content asked for with include); the client replays it on the next turn and the emulator
// must receive the identical encrypted_content (it verifies its own seal). A tampered one gets the emulator's 400 as a
// clear client error; an item without encrypted_content is dropped (nothing is stored); a chat-completions client on
// the same model still works and never sees the reasoning as text; a reasoning item never reaches a Claude model as a
// thinking block; the v1 chat endpoint refuses GPT-5 function tools with reasoning (forced cortex_api: openai).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { modelEntry } from './helpers.js';
import { useProxyRig } from './proxy-rig.js';

const PAT = 'reasoning-pat-' + 'r'.repeat(40);
const MASTER = 'sk-reasoning-master-' + 'm'.repeat(32);
const RESPONSES = '/api/v2/cortex/v1/responses';
const CHAT = '/api/v2/cortex/v1/chat/completions';

const model = (name: string, id: string, base: string, extra = '') => modelEntry(name, `snowflake/${id}`, base, extra);

const rig = useProxyRig({
  pat: PAT,
  master: MASTER,
  config: (apiBase) =>
    'model_list:\n' +
    model('gpt5', 'openai-gpt-5', apiBase, '      cortex_api: responses\n') +
    model('gpt5-auto', 'openai-gpt-5', apiBase) +
    model('gpt5-chat', 'openai-gpt-5', apiBase, '      cortex_api: openai\n') +
    model('claude', 'claude-sonnet-4-5', apiBase) +
    'general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n',
});

function lastBody(path = RESPONSES): Record<string, any> {
  const c = rig.upstream().filter((r) => r.path === path);
  assert.ok(c.length > 0, `no request to ${path}: ${JSON.stringify(rig.upstream().map((r) => r.path))}`);
  return c[c.length - 1].body as Record<string, any>;
}

const weatherTool = { type: 'function' as const, name: 'get_weather', strict: false, parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
const THOUGHT = 'The user wants the weather.\n\nI should call get_weather for Paris.';
/** How OpenAI splits that summary: one part per paragraph. */
const PARTS = [{ type: 'summary_text', text: 'The user wants the weather.' }, { type: 'summary_text', text: 'I should call get_weather for Paris.' }];

function turn1Params() {
  return {
    model: 'gpt5',
    input: [{ role: 'user' as const, content: 'Weather in Paris?' }],
    tools: [weatherTool],
    reasoning: { effort: 'low' as const, summary: 'auto' as const },
    include: ['reasoning.encrypted_content' as const],
    store: false,
  };
}

/** Turn 2's input: turn 1's output items replayed, plus the tool result. */
function turn2Input(output: any[], tweak: (item: any) => any = (x) => x): any[] {
  const call = output.find((o) => o.type === 'function_call');
  return [
    { role: 'user', content: 'Weather in Paris?' },
    ...output.map((o) => (o.type === 'reasoning' ? tweak({ ...o }) : o)),
    { type: 'function_call_output', call_id: call.call_id, output: '18°C, sunny' },
  ];
}

describe('OpenAI reasoning items between turns (Responses wire)', () => {
  test('two-turn tool conversation, JSON then streamed: turn 2 carries turn 1 reasoning item back, byte for byte', async () => {
    rig.emu.script({ thinking: THOUGHT, toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] });
    const r1 = await rig.openai.responses.create(turn1Params());
    const sent1 = lastBody();
    assert.deepEqual(sent1.include, ['reasoning.encrypted_content'], 'the wire asks for the encrypted reasoning');
    assert.equal(sent1.store, false, 'stateless');
    assert.deepEqual(sent1.reasoning, { effort: 'low', summary: 'auto' });

    const reasoning = r1.output.find((o) => o.type === 'reasoning') as any;
    assert.ok(reasoning, JSON.stringify(r1.output));
    assert.match(reasoning.id, /^rs_[0-9a-f]{48}$/, 'the item keeps the id Cortex gave it');
    assert.equal(typeof reasoning.encrypted_content, 'string');
    assert.ok(reasoning.encrypted_content.length > 20);
    assert.deepEqual(reasoning.summary, PARTS, 'every summary part, as Cortex gave them');
    assert.ok(r1.output.findIndex((o) => o.type === 'reasoning') < r1.output.findIndex((o) => o.type === 'function_call'), 'reasoning first');
    assert.ok(!r1.output_text.includes(THOUGHT), 'reasoning is not answer text');

    rig.emu.reset();
    rig.emu.script({ text: 'Paris: 18°C and sunny.' });
    const stream = rig.openai.responses.stream({ ...turn1Params(), input: turn2Input(r1.output) });
    let text = '';
    for await (const ev of stream) if (ev.type === 'response.output_text.delta') text += ev.delta;
    assert.equal(text, 'Paris: 18°C and sunny.');
    const sent2 = lastBody();
    const back = sent2.input.filter((i: any) => i.type === 'reasoning');
    assert.deepEqual(back, [{ type: 'reasoning', id: reasoning.id, summary: PARTS, encrypted_content: reasoning.encrypted_content }]);
    const kinds = sent2.input.map((i: any) => i.type);
    assert.deepEqual(kinds, ['message', 'reasoning', 'function_call', 'function_call_output'], 'the reasoning item stays before its function call');
    assert.equal(rig.upstream()[0].outcome, 'ok');
  });

  test('streamed turn 1: the reasoning item streams with OpenAI\'s events; a Codex-style replay without id still reaches Cortex intact', async () => {
    rig.emu.script({ thinking: THOUGHT, toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] });
    const stream = rig.openai.responses.stream(turn1Params());
    const types: string[] = [];
    let summary = '';
    let added: any;
    let done: any;
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.reasoning_summary_text.delta') summary += ev.delta;
      if (ev.type === 'response.output_item.added' && ev.item.type === 'reasoning') added = ev.item;
      if (ev.type === 'response.output_item.done' && ev.item.type === 'reasoning') done = ev.item;
    }
    const final = await stream.finalResponse();
    assert.equal(summary, THOUGHT);
    assert.ok(added && done);
    assert.equal(added.id, done.id);
    assert.equal(added.encrypted_content, undefined, 'sealed only when the item is done');
    assert.equal(typeof done.encrypted_content, 'string');
    const order = ['response.output_item.added', 'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta', 'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.output_item.done'];
    const seen = order.map((t) => types.indexOf(t));
    assert.deepEqual([...seen].sort((a, b) => a - b), seen, `reasoning events in order: ${types.join(' ')}`);
    assert.ok(seen.every((i) => i >= 0));
    const fromFinal = final.output.find((o) => o.type === 'reasoning') as any;
    assert.equal(fromFinal.encrypted_content, done.encrypted_content);
    assert.deepEqual(done.summary, PARTS, 'the done item keeps the summary parts');

    rig.emu.reset();
    rig.emu.script({ text: 'Sunny.' });
    const r2 = await rig.openai.responses.create({ ...turn1Params(), input: turn2Input(final.output, ({ id: _id, ...rest }) => rest) });
    assert.equal(r2.output_text, 'Sunny.');
    const back = lastBody().input.find((i: any) => i.type === 'reasoning');
    assert.equal(back.encrypted_content, done.encrypted_content);
    assert.equal('id' in back, false, 'no id invented');
  });

  test('a tampered encrypted_content gets the emulator\'s 400 as a clear client error; the intact one still works', async () => {
    rig.emu.script({ thinking: THOUGHT, toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] });
    const r1 = await rig.openai.responses.create(turn1Params());
    rig.emu.reset();
    const tampered = turn2Input(r1.output, (it) => ({ ...it, encrypted_content: it.encrypted_content.slice(0, -2) + (it.encrypted_content.endsWith('AA') ? 'BB' : 'AA') }));
    await assert.rejects(rig.openai.responses.create({ ...turn1Params(), input: tampered }), (e: any) => {
      assert.equal(e.status, 400);
      assert.match(e.message, /encrypted content for item \S+ could not be verified/);
      return true;
    });
    assert.equal(rig.upstream()[0].status, 400);
    rig.emu.reset();
    rig.emu.script({ text: 'ok' });
    const r2 = await rig.openai.responses.create({ ...turn1Params(), input: turn2Input(r1.output) });
    assert.equal(r2.output_text, 'ok');
  });

  test('a reasoning item without encrypted_content (store:false keeps nothing) is left out; the emulator would refuse it', async () => {
    rig.emu.script({ text: 'fine' });
    const input = [
      { role: 'user', content: 'hi' },
      { type: 'reasoning', id: 'rs_' + 'a'.repeat(48), summary: [] },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'again' },
    ] as any[];
    const r = await rig.openai.responses.create({ model: 'gpt5', input, store: false });
    assert.equal(r.output_text, 'fine');
    assert.equal(lastBody().input.some((i: any) => i.type === 'reasoning'), false);
    // What Cortex/OpenAI says to a bare reasoning reference (the emulator, directly).
    const res = await fetch(`${rig.emu.url}${RESPONSES}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai-gpt-5', input, store: false }),
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as any).message, /Items are not persisted when `store` is set to false/);
  });

  test('the emulator: encrypted_content only when include asks; foreign ids refused', async () => {
    const post = async (body: unknown) => {
      const res = await fetch(`${rig.emu.url}${RESPONSES}`, { method: 'POST', headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const plain = await post({ model: 'openai-gpt-5', input: 'hi' });
    assert.equal(plain.status, 200);
    const item = plain.body.output.find((o: any) => o.type === 'reasoning');
    assert.ok(item, 'a reasoning model answers with a reasoning item');
    assert.equal('encrypted_content' in item, false);
    assert.deepEqual(item.summary, [], 'no summary unless reasoning.summary asks');
    const none = await post({ model: 'openai-gpt-5', input: 'hi', reasoning: { effort: 'none' }, include: ['reasoning.encrypted_content'] });
    assert.equal(none.body.output.some((o: any) => o.type === 'reasoning'), false, 'effort none: no reasoning');
    const gpt41 = await post({ model: 'openai-gpt-4.1', input: 'hi', include: ['reasoning.encrypted_content'] });
    assert.equal(gpt41.body.output.some((o: any) => o.type === 'reasoning'), false, 'not a reasoning model');
    const sealed = await post({ model: 'openai-gpt-5', input: 'hi', include: ['reasoning.encrypted_content'] });
    const rs = sealed.body.output.find((o: any) => o.type === 'reasoning');
    assert.equal(typeof rs.encrypted_content, 'string');
    const replay = (it: unknown) => post({ model: 'openai-gpt-5', input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }, it, { role: 'user', content: [{ type: 'input_text', text: 'more' }] }] });
    assert.equal((await replay(rs)).status, 200);
    assert.equal((await replay({ ...rs, id: 'rs_' + 'b'.repeat(48) })).status, 400, 'content sealed for another id');
    assert.equal((await replay({ ...rs, id: 'msg_1' })).status, 400, 'not a reasoning id');
    assert.equal((await replay({ ...rs, encrypted_content: 'gAAAAforeign' })).status, 400, 'not issued here');
    assert.equal((await post({ model: 'openai-gpt-5', input: 'hi', include: ['everything'] })).status, 400);
  });
});

describe('other dialects and wires keep reasoning items in their place', () => {
  test('a chat-completions client on the same model (auto → Responses for tools+reasoning) works; reasoning is not text', async () => {
    rig.emu.script({ thinking: THOUGHT, toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] });
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: weatherTool.parameters } }];
    const r1 = await rig.openai.chat.completions.create({ model: 'gpt5-auto', tools, reasoning_effort: 'low', messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    assert.equal(lastBody().include?.[0], 'reasoning.encrypted_content');
    const call = r1.choices[0].message.tool_calls?.[0] as any;
    assert.equal(call.function.name, 'get_weather');
    assert.ok(!JSON.stringify(r1).includes('gAAAAB'), 'encrypted reasoning never reaches a chat client');
    assert.ok(!(r1.choices[0].message.content ?? '').includes(THOUGHT));
    rig.emu.reset();
    rig.emu.script({ text: 'Paris: 18°C.' });
    const r2 = await rig.openai.chat.completions.create({
      model: 'gpt5-auto',
      tools,
      reasoning_effort: 'low',
      stream: true,
      messages: [{ role: 'user', content: 'Weather in Paris?' }, r1.choices[0].message as any, { role: 'tool', tool_call_id: call.id, content: '18°C' }],
    });
    let text = '';
    for await (const c of r2) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'Paris: 18°C.');
    assert.equal(lastBody().input.some((i: any) => i.type === 'reasoning'), false);
  });

  test('an Anthropic client on GPT-5 (Claude Code style) carries the reasoning item in its thinking block back, JSON and streamed; never to Claude', async () => {
    const tools = [{ name: 'get_weather', input_schema: weatherTool.parameters as any }];
    const ask = { model: 'gpt5', max_tokens: 8000, thinking: { type: 'enabled' as const, budget_tokens: 2048 }, tools };
    rig.emu.script({ thinking: THOUGHT, toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] });
    const m1 = await rig.anthropic.messages.create({ ...ask, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    const enc = (lastBody().include ?? []).includes('reasoning.encrypted_content');
    assert.ok(enc, 'asked for the encrypted reasoning');
    const thinking = m1.content.find((b) => b.type === 'thinking') as any;
    assert.ok(thinking, JSON.stringify(m1.content));
    assert.match(thinking.signature, /^cortex-proxy\.openai-reasoning\.v1:/, 'our own blob, never passed off as an Anthropic signature');
    const use = m1.content.find((b) => b.type === 'tool_use') as any;
    const turn2 = (model: string) => ({
      ...ask,
      model,
      messages: [
        { role: 'user' as const, content: 'Weather in Paris?' },
        { role: 'assistant' as const, content: m1.content as any },
        { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: use.id, content: '18°C' }] },
      ],
    });
    const issued = JSON.parse(Buffer.from(thinking.signature.split(':')[1], 'base64').toString()).e as string;
    rig.emu.reset();
    rig.emu.script({ text: 'Paris: 18°C.' });
    const stream = rig.anthropic.messages.stream(turn2('gpt5'));
    const m2 = await stream.finalMessage();
    assert.equal((m2.content.find((b) => b.type === 'text') as any).text, 'Paris: 18°C.');
    const back = lastBody().input.filter((i: any) => i.type === 'reasoning');
    assert.equal(back.length, 1);
    assert.equal(back[0].encrypted_content, issued, 'the identical encrypted_content reached Cortex');

    // A corrupted blob is neither a reasoning item nor a signature: left out, and the turn still works.
    rig.emu.reset();
    rig.emu.script({ text: 'still fine' });
    const broken = turn2('gpt5');
    broken.messages[1] = { role: 'assistant', content: m1.content.map((b: any) => (b.type === 'thinking' ? { ...b, signature: 'cortex-proxy.openai-reasoning.v1:not-base64-json' } : b)) };
    await rig.anthropic.messages.create(broken);
    assert.equal(lastBody().input.some((i: any) => i.type === 'reasoning'), false);

    // Streamed turn 1: the block is sealed with a signature_delta carrying the blob.
    rig.emu.reset();
    rig.emu.script({ thinking: THOUGHT, toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] });
    const s1 = await rig.anthropic.messages.stream({ ...ask, messages: [{ role: 'user', content: 'Weather in Paris?' }] }).finalMessage();
    const streamed = s1.content.find((b) => b.type === 'thinking') as any;
    assert.match(streamed.signature, /^cortex-proxy\.openai-reasoning\.v1:/);

    // The same replay to a Claude model: no thinking block, no signature, no OpenAI content.
    rig.emu.reset();
    rig.emu.script({ text: 'Claude here.' });
    await rig.anthropic.messages.create(turn2('claude'));
    const [req] = rig.upstream();
    assert.equal(req.outcome, 'ok', JSON.stringify(req.error));
    const sent = JSON.stringify(req.body);
    assert.ok(!sent.includes('openai-reasoning') && !sent.includes(issued.slice(0, 24)), 'nothing of the OpenAI item reaches Claude');
    assert.ok(!/"signature"/.test(sent));
  });

  test('an OpenAI reasoning item sent to a Claude model is dropped, never a thinking block with a bogus signature', async () => {
    rig.emu.script({ thinking: THOUGHT, toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] });
    const r1 = await rig.openai.responses.create(turn1Params());
    rig.emu.reset();
    rig.emu.script({ text: 'Claude here.' });
    const r2 = await rig.openai.responses.create({ model: 'claude', input: turn2Input(r1.output), tools: [weatherTool] });
    assert.equal(r2.output_text, 'Claude here.');
    const [req] = rig.upstream();
    assert.equal(req.outcome, 'ok');
    const sent = JSON.stringify(req.body);
    const enc = (r1.output.find((o) => o.type === 'reasoning') as any).encrypted_content as string;
    assert.ok(!sent.includes(enc.slice(0, 24)), 'the encrypted reasoning is not sent to Claude');
    assert.ok(!/"signature"/.test(sent), 'no thinking block invented');
  });

  test('forced cortex_api: openai on GPT-5 with tools and reasoning: Cortex\'s refusal comes back as a clear 400; without reasoning it works', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: weatherTool.parameters } }];
    await assert.rejects(
      rig.openai.chat.completions.create({ model: 'gpt5-chat', tools, reasoning_effort: 'medium', messages: [{ role: 'user', content: 'weather?' }] }),
      (e: any) => {
        assert.equal(e.status, 400);
        assert.match(e.message, /Function tools with reasoning_effort are not supported for openai-gpt-5 in \/v1\/chat\/completions/);
        return true;
      },
    );
    assert.deepEqual(rig.upstream().map((r) => `${r.path} ${r.status}`), [`${CHAT} 400`], 'a client error: not retried, not fallen back');
    rig.emu.reset();
    rig.emu.script({ text: 'no reasoning, fine' });
    const ok = await rig.openai.chat.completions.create({ model: 'gpt5-chat', tools, reasoning_effort: 'none', messages: [{ role: 'user', content: 'weather?' }] });
    assert.equal(ok.choices[0].message.content, 'no reasoning, fine');
  });
});

describe('graceful degradation (last: the proxy remembers a refused field for the rest of this file)', () => {
  test('a 400 naming reasoning.summary: sent again once without the summary, the effort and include kept', async () => {
    rig.emu.inject({ status: 400, message: 'unknown field "reasoning.summary"' });
    rig.emu.script({ text: 'no summary, still reasoning' });
    const r = await rig.openai.responses.create({ ...turn1Params(), tools: undefined });
    assert.equal(r.output_text, 'no summary, still reasoning');
    const bodies = rig.upstream().map((q) => q.body as Record<string, any>);
    assert.deepEqual(bodies.map((b) => b.reasoning), [{ effort: 'low', summary: 'auto' }, { effort: 'low' }]);
    assert.deepEqual(bodies[1].include, ['reasoning.encrypted_content']);
  });
});
