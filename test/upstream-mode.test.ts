// Non-streaming clients get a stream:false upstream call where the answer fits the silence limit
// (cortex/upstream-mode.ts, docs/upstream-modes.md), decoded by the wire's decodeJson into the same canonical answer:
// for every wire and client dialect, the same scripted reply through a stream:false call (small max_tokens) and
// through a streamed, aggregated call (max_tokens too large to finish within request_timeout — 120 s here — at the
// assumed rate of 128,000 tokens an hour)
// gives the client the same JSON, ids aside. Streaming clients always stream upstream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { WIRES } from '../src/cortex/wires.js';
import { deploymentInfo } from '../src/cortex/models.js';
import { useProxyRig, wireModels } from './proxy-rig.js';

const PAT = 'mode-pat-' + 'm'.repeat(40);
/** model_name → [Cortex model, cortex_api]: claude-<wire> and gpt-<wire> for every registered wire that serves the
 * family, so a new wire is in the matrix without an edit here. */
const MODELS: Record<string, [string, string]> = Object.fromEntries(
  Object.values(WIRES).flatMap((w) =>
    Object.entries({ claude: 'claude-sonnet-4-5', gpt: 'openai-gpt-4.1' })
      .filter(([, id]) => !w.serves || w.serves.test(deploymentInfo({ cortexModel: id } as never)))
      .map(([family, id]) => [`${family}-${w.name}`, [id, w.name]]),
  ),
);

const rig = useProxyRig({
  pat: PAT,
  args: ['--quiet'],
  config: (apiBase) => `model_list:\n${wireModels(MODELS, apiBase)}litellm_settings:\n  request_timeout: 120\ngeneral_settings:\n  disable_spend_logs: true\n`,
});

type Dialect = 'chat' | 'messages' | 'responses';
const PATH: Record<Dialect, string> = { chat: '/v1/chat/completions', messages: '/v1/messages', responses: '/v1/responses' };
const tool = { name: 'get_weather', description: 'weather', schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

function body(d: Dialect, model: string, maxTokens: number, stream = false): Record<string, unknown> {
  const prompt = 'What is the weather in Paris?';
  if (d === 'chat') return { model, max_tokens: maxTokens, stream, messages: [{ role: 'user', content: prompt }], tools: [{ type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.schema } }] };
  if (d === 'messages') return { model, max_tokens: maxTokens, stream, messages: [{ role: 'user', content: prompt }], tools: [{ name: tool.name, description: tool.description, input_schema: tool.schema }] };
  return { model, max_output_tokens: maxTokens, stream, store: false, input: prompt, tools: [{ type: 'function', name: tool.name, description: tool.description, parameters: tool.schema }] };
}

async function call(d: Dialect, model: string, maxTokens: number) {
  const res = await request(rig.proxy.url + PATH[d], { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body(d, model, maxTokens)) });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, text);
  const upstream = rig.emu.requests.at(-1)!.body as Record<string, unknown>;
  return { answer: JSON.parse(text) as Record<string, unknown>, upstream };
}

/** The answer without what differs per call (ids, timestamps). */
function normal(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (k, x) => (k === 'id' || k === 'call_id' || k === 'created' || k === 'created_at' || k === 'completed_at' ? '<id>' : k === 'max_output_tokens' ? undefined : x)).replace(/(chatcmpl|msg|resp|call|toolu|tooluse|fc|rs)_[A-Za-z0-9_-]+/g, '<id>'),
  );
}

const REPLY = { text: 'Let me look that up.', toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }], usage: { prompt_tokens: 120, completion_tokens: 30 } };

for (const model of Object.keys(MODELS)) {
  for (const d of ['chat', 'messages', 'responses'] as Dialect[]) {
    test(`${model}, ${d}: stream:false upstream gives the same answer as a streamed, aggregated call`, async () => {
      rig.emu.script(REPLY);
      const json = await call(d, model, 1000);
      assert.equal(json.upstream.stream, false, 'a small answer: one JSON body');
      assert.equal('stream_options' in json.upstream, false);
      rig.emu.script(REPLY);
      const streamed = await call(d, model, 30_000);
      assert.equal(streamed.upstream.stream, true, 'max_tokens too large to finish within request_timeout: streamed');
      assert.deepEqual(normal(json.answer), normal(streamed.answer));
      const s = JSON.stringify(json.answer);
      assert.ok(s.includes('Let me look that up.') && s.includes('get_weather') && s.includes('Paris'), s);
    });
  }
}

test('a streaming client streams upstream, whatever its max_tokens', async () => {
  rig.emu.script({ text: 'streamed' });
  const res = await request(rig.proxy.url + PATH.chat, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body('chat', 'claude-complete', 100, true)) });
  assert.equal(res.statusCode, 200);
  assert.match(await res.body.text(), /data: \[DONE\]/);
  assert.equal((rig.emu.requests.at(-1)!.body as { stream: boolean }).stream, true);
});

test('a stream:false call that fails is the same client error as before (and an error dressed as 200 too)', async () => {
  rig.emu.inject({ status: 400, message: 'max_tokens is too large for this model' });
  const bad = await request(rig.proxy.url + PATH.chat, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body('chat', 'gpt-openai', 1000)) });
  assert.equal(bad.statusCode, 400);
  assert.match(await bad.body.text(), /max_tokens is too large/);
  rig.emu.inject({ json200Error: { code: '390112', message: 'Your session has expired. Please login again.' } });
  const expired = await request(rig.proxy.url + PATH.messages, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body('messages', 'claude-complete', 1000)) });
  const text = await expired.body.text();
  assert.ok(expired.statusCode >= 400, text);
  assert.match(text, /"type":"error"/);
  assert.equal((rig.emu.requests.at(-1)!.body as { stream: boolean }).stream, false);
});
