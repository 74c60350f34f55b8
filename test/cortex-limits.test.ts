// Cortex's documented limits, end to end (docs/cortex-limits.md has each fact with its Snowflake URL): the real CLI in
// front of the strict emulator, driven by the openai and @anthropic-ai/sdk clients, asserting what reaches Cortex
// (the emulator records every request body) and what the client sees.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEnv, modelEntry, runCli } from './helpers.js';
import { useProxyRig, wireModels } from './proxy-rig.js';

const PAT = 'limits-pat-' + 'l'.repeat(40);
const MASTER = 'sk-limits-' + 'm'.repeat(32);

/** model_name → [Cortex model, cortex_api]. */
const MODELS: Record<string, [string, string]> = {
  'claude-complete': ['claude-sonnet-4-5', 'complete'],
  'claude-openai': ['claude-sonnet-4-5', 'openai'],
  'claude-anthropic': ['claude-sonnet-4-5', 'anthropic'],
  'claude-auto': ['claude-sonnet-4-5', 'auto'],
  'gpt5-openai': ['openai-gpt-5', 'openai'],
  'gpt5-complete': ['openai-gpt-5', 'complete'],
  'gpt-auto': ['openai-gpt-4.1', 'auto'],
  'mistral-auto': ['mistral-large2', 'auto'],
  'llama-auto': ['llama3.1-70b', 'auto'],
  'sonnet-46': ['claude-sonnet-4-6', 'auto'],
  'opus-46': ['claude-opus-4-6', 'auto'],
};
const PATHS = {
  complete: '/api/v2/cortex/inference:complete',
  openai: '/api/v2/cortex/v1/chat/completions',
  anthropic: '/api/v2/cortex/v1/messages',
  embed: '/api/v2/cortex/inference:embed',
};

const rig = useProxyRig({
  pat: PAT,
  master: MASTER,
  config: (apiBase) =>
    `model_list:\n${wireModels(MODELS, apiBase)}${modelEntry('embed', 'snowflake/snowflake-arctic-embed-m-v1.5', apiBase)}` +
    'general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n',
});

/** The chat requests Cortex received since the last reset. */
function upstream(): Array<{ path: string; body: Record<string, any> }> {
  return rig.upstream().map((r) => ({ path: r.path, body: r.body as Record<string, any> }));
}
function only(path: string): Record<string, any> {
  const calls = upstream();
  assert.equal(calls.length, 1, calls.map((c) => c.path).join(', '));
  assert.equal(calls[0].path, path);
  return calls[0].body;
}
const ask = [{ role: 'user' as const, content: 'Is 7 prime?' }];

describe("a client's output cap is a cost cap: never raised for thinking", () => {
  test('inference:complete: effort low under max_completion_tokens 256 → max_tokens 256, no thinking, a header and a log line say so', async () => {
    const { data, response } = await rig.openai.chat.completions
      .create({ model: 'claude-complete', messages: ask, max_completion_tokens: 256, reasoning_effort: 'low' })
      .withResponse();
    assert.ok(data.choices[0].message.content);
    const body = only(PATHS.complete);
    assert.equal(body.max_tokens, 256);
    assert.equal('anthropic' in body, false);
    assert.match(response.headers.get('x-cortex-proxy-warning') ?? '', /thinking dropped: max_tokens 256/);
    await rig.proxy.waitForLog(/thinking dropped: max_tokens 256/);
  });

  test('v1 chat (Claude): max_completion_tokens 256 stays 256 and no reasoning object is sent', async () => {
    const { response } = await rig.openai.chat.completions
      .create({ model: 'claude-openai', messages: ask, max_completion_tokens: 256, reasoning_effort: 'low' })
      .withResponse();
    const body = only(PATHS.openai);
    assert.equal(body.max_completion_tokens, 256);
    assert.equal('reasoning' in body, false);
    assert.match(response.headers.get('x-cortex-proxy-warning') ?? '', /thinking dropped/);
  });

  test('v1 messages: thinking budget 1024 under max_tokens 256 → max_tokens 256 without thinking', async () => {
    const { data, response } = await rig.anthropic.messages
      .create({ model: 'claude-anthropic', max_tokens: 256, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: ask })
      .withResponse();
    assert.ok(data.content.some((b) => b.type === 'text'));
    const body = only(PATHS.anthropic);
    assert.equal(body.max_tokens, 256);
    assert.equal('thinking' in body, false);
    assert.match(response.headers.get('x-cortex-proxy-warning') ?? '', /thinking dropped/);
  });

  test('legitimate use: room for thinking → the budget fits under the client cap, no warning', async () => {
    const { data, response } = await rig.openai.chat.completions
      .create({ model: 'claude-complete', messages: ask, max_completion_tokens: 4096, reasoning_effort: 'low' })
      .withResponse();
    assert.ok(data.choices[0].message.content);
    const body = only(PATHS.complete);
    assert.equal(body.max_tokens, 4096);
    assert.deepEqual(body.anthropic, { thinking: { budget_tokens: 1024 } });
    assert.equal(response.headers.get('x-cortex-proxy-warning'), null);
    rig.emu.reset();
    const a = await rig.anthropic.messages.create({ model: 'claude-anthropic', max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 2000 }, messages: ask });
    assert.ok(a.content.some((b) => b.type === 'thinking'), 'the thinking came back');
    const m = only(PATHS.anthropic);
    assert.equal(m.max_tokens, 3000);
    assert.deepEqual(m.thinking, { type: 'enabled', budget_tokens: 2000 });
  });
});

describe('structured output under cortex_api auto', () => {
  const schema = { type: 'object', properties: { answer: { type: 'string' }, prime: { type: 'boolean' } }, required: ['answer', 'prime'], additionalProperties: false };
  const rf = { type: 'json_schema' as const, json_schema: { name: 'verdict', schema } };

  test('mistral-large2 / llama: json_schema goes over inference:complete, where the schema is honoured', async () => {
    for (const model of ['mistral-auto', 'llama-auto']) {
      rig.emu.reset();
      const r = await rig.openai.chat.completions.create({ model, messages: ask, response_format: rf });
      const body = only(PATHS.complete);
      assert.deepEqual(body.response_format, { type: 'json', schema });
      const out = JSON.parse(r.choices[0].message.content!);
      assert.equal(typeof out.answer, 'string', model);
      assert.equal(typeof out.prime, 'boolean', model);
    }
  });

  test('without response_format they stay on v1 chat; OpenAI and Claude models keep v1 for structured output', async () => {
    await rig.openai.chat.completions.create({ model: 'mistral-auto', messages: ask });
    only(PATHS.openai);
    rig.emu.reset();
    await rig.openai.chat.completions.create({ model: 'gpt-auto', messages: ask, response_format: rf });
    assert.equal(only(PATHS.openai).response_format.type, 'json_schema');
    rig.emu.reset();
    const c = await rig.openai.chat.completions.create({ model: 'claude-auto', messages: ask, response_format: rf });
    assert.ok(only(PATHS.anthropic).output_config, 'Claude: output_config on /v1/messages');
    assert.equal(typeof JSON.parse(c.choices[0].message.content!).prime, 'boolean');
  });
});

describe('reasoning_effort as Snowflake documents it per endpoint', () => {
  test('v1 chat passes minimal and none through for OpenAI models', async () => {
    for (const effort of ['minimal', 'none'] as const) {
      rig.emu.reset();
      const { response } = await rig.openai.chat.completions.create({ model: 'gpt5-openai', messages: ask, reasoning_effort: effort }).withResponse();
      assert.equal(only(PATHS.openai).reasoning_effort, effort);
      assert.equal(response.headers.get('x-cortex-proxy-warning'), null);
    }
  });

  test('inference:complete takes low|medium|high: minimal goes as low, and the client is told', async () => {
    const { response } = await rig.openai.chat.completions.create({ model: 'gpt5-complete', messages: ask, reasoning_effort: 'minimal' }).withResponse();
    assert.deepEqual(only(PATHS.complete).openai, { reasoning: { effort: 'low' } });
    assert.match(response.headers.get('x-cortex-proxy-warning') ?? '', /reasoning_effort minimal sent as low/);
  });
});

describe('model limits', () => {
  test('the gpt-5 family takes 16,384 output tokens on inference:complete (REST rate-limit table), not 8,192', async () => {
    await rig.openai.chat.completions.create({ model: 'gpt5-complete', messages: ask, max_completion_tokens: 16_384 });
    assert.equal(only(PATHS.complete).max_tokens, 16_384);
  });

  test('claude-sonnet-4-6 and claude-opus-4-6 have a 1,000,000-token context; claude-sonnet-4-5 keeps 200,000', async () => {
    const list = await rig.openai.models.list();
    const ctx = new Map(list.data.map((m) => [m.id, (m as unknown as { context_length: number }).context_length]));
    assert.equal(ctx.get('sonnet-46'), 1_000_000);
    assert.equal(ctx.get('opus-46'), 1_000_000);
    assert.equal(ctx.get('claude-auto'), 200_000);
  });
});

describe('embeddings', () => {
  test('up to 1,280 texts go in one inference:embed call; more are split at 1,280', async () => {
    const input = Array.from({ length: 1300 }, (_, i) => `text ${i}`);
    const r = await rig.openai.embeddings.create({ model: 'embed', input, encoding_format: 'float' });
    assert.equal(r.data.length, 1300);
    assert.deepEqual(
      upstream().map((c) => (c.body.text as string[]).length).sort((a, b) => b - a),
      [1280, 20],
    );
    rig.emu.reset();
    await rig.openai.embeddings.create({ model: 'embed', input: input.slice(0, 200), encoding_format: 'float' });
    assert.equal(upstream().length, 1, '200 texts: one call (was 4 at 64 a call)');
  });
});

describe('cached tokens on v1 chat (Claude)', () => {
  test("Cortex's cached_tokens (reads + writes, outside prompt_tokens) is counted once", async () => {
    // The emulator reports as the chart says: prompt 7, cached_tokens 4805 + 300 (of which 300 written), total 5118.
    rig.emu.script({ text: 'Cached.', usage: { prompt_tokens: 7, completion_tokens: 6, cached_tokens: 4805, cache_write_tokens: 300 } });
    const r = await rig.openai.chat.completions.create({ model: 'claude-openai', messages: ask });
    const raw = rig.emu.requests.at(-1)!;
    assert.equal(raw.path, PATHS.openai);
    assert.equal(r.usage?.prompt_tokens, 7 + 4805 + 300, 'reads and writes inside prompt_tokens, once');
    assert.equal(r.usage?.completion_tokens, 6);
    assert.equal(r.usage?.total_tokens, 7 + 4805 + 300 + 6, "equals Cortex's total_tokens");
    assert.equal(r.usage?.prompt_tokens_details?.cached_tokens, 4805, 'cache reads only (OpenAI semantics)');
  });
});

test('the usage view lag is stated as Snowflake does: up to 45 minutes', async () => {
  const help = await runCli(['usage', '--help'], { cwd: rig.dir, env: cleanEnv() });
  const text = help.stdout.replace(/\s+/g, ' '); // commander wraps the help
  assert.match(text, /lags up to 45 minutes/);
  assert.doesNotMatch(text, /2 hours/);
});
