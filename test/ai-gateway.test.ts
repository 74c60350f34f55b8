// The Cortex AI Gateway as upstream (issue 15 item 1, docs/ai-gateway.md): the real CLI in front of the strict
// emulator's gateway paths, driven by the real openai and @anthropic-ai/sdk clients. Claude goes over the gateway's
// /v1/messages and every other model over its /v1/chat/completions, in every client dialect, streamed and not;
// embeddings stay on the account path; the gateway's budget, quota and allowlist refusals reach the client named,
// once, with no retry and no fallback around the gateway. Config forms: a gateway api_base (any host), cortex_gateway
// in litellm_params and general_settings, SNOWFLAKE_AI_GATEWAY in zero-config mode; key pairs are refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { gatewayNotes } from '../src/cortex/gateway.js';
import { cleanEnv, loadYaml, modelEntry, startProxy, tempDir } from './helpers.js';
import { useProxyRig } from './proxy-rig.js';

const PAT = 'gateway-pat-' + 'g'.repeat(40);
const MASTER = 'sk-gateway-master-' + 'm'.repeat(32);
const GW = '/api/v2/aigateways/SNOWFLAKE';

const model = (name: string, id: string, base: string, extra = '') => modelEntry(name, `snowflake/${id}`, base, extra);

const rig = useProxyRig({
  pat: PAT,
  master: MASTER,
  config: (apiBase) => {
    const gw = `${apiBase}/aigateways/SNOWFLAKE`;
    return (
      'model_list:\n' +
      model('claude', 'claude-sonnet-4-5', gw) +
      model('gpt', 'openai-gpt-4.1', gw) +
      model('llama', 'llama3.1-70b', `${gw}/v1/chat/completions`) + // the endpoint as copied from a curl example
      model('embed', 'snowflake-arctic-embed-l-v2.0', gw) +
      model('claude-direct', 'claude-sonnet-4-5', apiBase) + // the account path: a fallback must never reach it
      'router_settings:\n  fallbacks: [{"claude": ["claude-direct"]}, {"gpt": ["claude-direct"]}]\n' +
      'general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n'
    );
  },
});

function onlyCall(path: string) {
  const c = rig.upstream();
  assert.deepEqual(c.map((r) => r.path), [path]);
  assert.equal(c[0].headers.authorization, `Bearer ${PAT}`, 'Authorization: Bearer (the gateway refuses x-api-key)');
  assert.equal(c[0].headers['x-api-key'], undefined);
  assert.match(c[0].headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  return c[0];
}

describe('routing over the gateway paths', () => {
  test('the start-up log says what goes through the gateway and what stays on the account path', async () => {
    await rig.proxy.waitForLog(`Cortex AI Gateway ${rig.emu.apiBase}${GW.slice('/api/v2'.length)}: chat for claude, gpt, llama, embed`);
    await rig.proxy.waitForLog("embeddings and the model list use the account's /api/v2/cortex");
  });

  test('Claude over the gateway /v1/messages: Anthropic SDK streamed and not, OpenAI SDK and Responses', async () => {
    const m = await rig.anthropic.messages.create({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(m.type, 'message');
    onlyCall(`${GW}/v1/messages`);
    rig.emu.reset();
    const s = rig.anthropic.messages.stream({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    assert.ok((await s.finalText()).length > 0);
    onlyCall(`${GW}/v1/messages`);
    rig.emu.reset();
    const c = await rig.openai.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const chunk of c) text += chunk.choices[0]?.delta?.content ?? '';
    assert.ok(text.length > 0);
    onlyCall(`${GW}/v1/messages`);
    rig.emu.reset();
    const r = await rig.openai.responses.create({ model: 'claude', input: 'hi' });
    assert.ok(r.output_text.length > 0);
    onlyCall(`${GW}/v1/messages`);
  });

  test('other models over the gateway /v1/chat/completions, in every dialect; structured output on Llama stays there', async () => {
    const c = await rig.openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(c.choices[0].finish_reason, 'stop');
    onlyCall(`${GW}/v1/chat/completions`);
    rig.emu.reset();
    const m = await rig.anthropic.messages.create({ model: 'gpt', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream: false });
    assert.equal(m.stop_reason, 'end_turn');
    onlyCall(`${GW}/v1/chat/completions`);
    rig.emu.reset();
    const stream = await rig.openai.responses.create({ model: 'gpt', input: 'hi', stream: true });
    let done = false;
    for await (const e of stream) if (e.type === 'response.completed') done = true;
    assert.ok(done);
    onlyCall(`${GW}/v1/chat/completions`);
    rig.emu.reset();
    // cortex_api auto would use inference:complete for this (docs/cortex-limits.md); through the gateway it must not.
    await rig.openai.chat.completions.create({
      model: 'llama',
      messages: [{ role: 'user', content: 'hi' }],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'string' } } } } },
    });
    onlyCall(`${GW}/v1/chat/completions`);
  });

  test('embeddings go to the account path (the gateway documents none), with the trace headers', async () => {
    const e = await rig.openai.embeddings.create({ model: 'embed', input: 'hello' });
    assert.ok(e.data[0].embedding.length > 0);
    onlyCall('/api/v2/cortex/inference:embed');
  });
});

describe('gateway refusals: named, once, no retry, no fallback around the gateway', () => {
  test('402 budget → 402 naming the budget; the fallback on the account path is not tried', async () => {
    rig.emu.inject({ status: 402, message: 'budget exceeded' });
    const err = await rig.anthropic.messages.create({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.equal(err.status, 402);
    assert.match(err.message, /AI Gateway refused the request: the budget/);
    assert.deepEqual(rig.upstream().map((r) => r.path), [`${GW}/v1/messages`]);
  });

  test('429 quota block → 429 naming the quota, not retried (a plain 429 is retried as before)', async () => {
    rig.emu.inject({ status: 429, message: 'Request blocked: usage quota exceeded for user' });
    const err = await rig.openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.equal(err.status, 429);
    assert.match(err.message, /quota is used up/);
    assert.equal(rig.upstream().length, 1, 'no retry, no fallback');
    rig.emu.reset();
    rig.emu.inject({ status: 429, message: 'too many requests', retryAfter: 0 });
    const ok = await rig.openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(ok.choices[0].finish_reason, 'stop');
    assert.deepEqual(rig.upstream().map((r) => r.path), [`${GW}/v1/chat/completions`, `${GW}/v1/chat/completions`], 'throttling retried on the gateway');
  });

  test('403 model not allowed → 403 naming the allowlist; any other 403 names USAGE on the gateway; never inference:complete', async () => {
    rig.emu.inject({ status: 403, message: 'Model openai-gpt-4.1 is not allowed by the AI Gateway specification' });
    const err = await rig.openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.equal(err.status, 403);
    assert.match(err.message, /does not allow the model 'openai-gpt-4.1'/);
    assert.equal(rig.upstream().length, 1);
    rig.emu.reset();
    rig.emu.inject({ status: 403, message: 'Not Authorized' });
    const err2 = await rig.anthropic.messages.create({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.equal(err2.status, 403);
    assert.match(err2.message, /USAGE on AI GATEWAY SNOWFLAKE/);
    assert.deepEqual(rig.upstream().map((r) => r.path), [`${GW}/v1/messages`], 'no cortex_api auto move to inference:complete, no fallback');
  });

  test('a sanity twin: a 5xx from the gateway still falls back as configured', async () => {
    rig.emu.inject({ status: 500, message: 'boom' });
    rig.emu.inject({ status: 500, message: 'boom' });
    rig.emu.inject({ status: 500, message: 'boom' });
    const m = await rig.anthropic.messages.create({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(m.type, 'message');
    assert.equal(rig.upstream().at(-1)!.path, '/api/v2/cortex/v1/messages');
  });
});

describe('the emulator gateway', () => {
  test('Claude on the gateway chat endpoint is a 503 (snowflake-cli docs/ai-gateway.md); no model list; no x-api-key', async () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${PAT}` }) =>
      fetch(`${rig.emu.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const claude = await post(`${GW}/v1/chat/completions`, { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(claude.status, 503);
    const gpt = await post(`${GW}/v1/chat/completions`, { model: 'openai-gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(gpt.status, 200);
    const models = await fetch(`${rig.emu.url}${GW}/v1/models`, { headers: { authorization: `Bearer ${PAT}` } });
    assert.equal(models.status, 400);
    const apiKey = await post(`${GW}/v1/messages`, { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': PAT, 'anthropic-version': '2023-06-01' });
    assert.equal(apiKey.status, 401);
    const embed = await post(`${GW}/inference:embed`, { model: 'snowflake-arctic-embed-l-v2.0', text: ['x'] });
    assert.equal(embed.status, 404);
  });
});

describe('config forms', () => {
  const ACCOUNT = 'https://myorg-myaccount.snowflakecomputing.com/api/v2';
  const load = (yaml: string, env: Record<string, string> = {}, files: Record<string, string> = {}) => loadYaml(yaml, { SNOWFLAKE_PAT: PAT, ...env }, files);
  const one = (base: string, extra = '') => `model_list:\n${model('m', 'openai-gpt-4.1', base, extra)}`;

  test('a gateway api_base on any host (private connectivity), with or without /v1…, keeps the account path beside it', () => {
    for (const [base, account, gateway] of [
      [`${ACCOUNT}/aigateways/SNOWFLAKE`, ACCOUNT, `${ACCOUNT}/aigateways/SNOWFLAKE`],
      [`${ACCOUNT}/aigateways/SNOWFLAKE/v1/`, ACCOUNT, `${ACCOUNT}/aigateways/SNOWFLAKE`],
      [`${ACCOUNT}/aigateways/SNOWFLAKE/v1/responses`, ACCOUNT, `${ACCOUNT}/aigateways/SNOWFLAKE`],
      ['https://myorg-myaccount.privatelink.snowflakecomputing.com/api/v2/aigateways/snowflake/v1/messages', 'https://myorg-myaccount.privatelink.snowflakecomputing.com/api/v2', 'https://myorg-myaccount.privatelink.snowflakecomputing.com/api/v2/aigateways/snowflake'],
      ['https://MYORG_MYACCOUNT.snowflakecomputing.com/api/v2/aigateways/SNOWFLAKE', ACCOUNT, `${ACCOUNT}/aigateways/SNOWFLAKE`],
    ]) {
      const c = load(one(base));
      assert.equal(c.deployments[0].apiBase, account, base);
      assert.equal(c.deployments[0].gateway, gateway, base);
      assert.deepEqual(c.warnings, [], base);
    }
    assert.equal(load(one(ACCOUNT)).deployments[0].gateway, undefined);
  });

  test("LiteLLM's openai/ and anthropic/ routes pointed at the gateway (<gateway>/v1 and <gateway>) go through it", () => {
    const c = load(
      `model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/openai-gpt-4.1\n      api_base: ${ACCOUNT}/aigateways/SNOWFLAKE/v1\n      api_key: os.environ/SNOWFLAKE_PAT\n` +
        `  - model_name: c\n    litellm_params:\n      model: anthropic/claude-sonnet-4-5\n      api_base: ${ACCOUNT}/aigateways/SNOWFLAKE\n      api_key: os.environ/SNOWFLAKE_PAT\n`,
    );
    assert.deepEqual(c.deployments.map((d) => [d.cortexModel, d.apiBase, d.gateway]), [
      ['openai-gpt-4.1', ACCOUNT, `${ACCOUNT}/aigateways/SNOWFLAKE`],
      ['claude-sonnet-4-5', ACCOUNT, `${ACCOUNT}/aigateways/SNOWFLAKE`],
    ]);
  });

  test('cortex_gateway: true in general_settings for every model, false in litellm_params keeps one on the account path', () => {
    const c = load(
      `model_list:\n${model('a', 'openai-gpt-4.1', ACCOUNT)}${model('b', 'claude-sonnet-4-5', ACCOUNT, '      cortex_gateway: false\n')}${model('c', 'claude-sonnet-4-5', ACCOUNT.replace('myaccount', 'other'), '      cortex_gateway: true\n')}general_settings:\n  cortex_gateway: true\n`,
    );
    assert.deepEqual(c.deployments.map((d) => d.gateway), [`${ACCOUNT}/aigateways/SNOWFLAKE`, undefined, 'https://myorg-other.snowflakecomputing.com/api/v2/aigateways/SNOWFLAKE']);
    assert.throws(() => load(one(`${ACCOUNT}/aigateways/SNOWFLAKE`, '      cortex_gateway: false\n')), /cortex_gateway is false but api_base is the Cortex AI Gateway/);
    assert.throws(() => load(one(ACCOUNT, '      cortex_gateway: maybe\n')), /must be true or false/);
  });

  test("the start-up note names each model's gateway path, and the account path for a wire the gateway does not serve", () => {
    const gw = `${ACCOUNT}/aigateways/SNOWFLAKE`;
    const c = load(`model_list:\n${model('c', 'claude-sonnet-4-5', gw)}${model('g', 'openai-gpt-5', gw, '      cortex_api: responses\n')}${model('o', 'openai-gpt-4.1', gw)}${model('l', 'llama3.1-70b', gw, '      cortex_api: complete\n')}`);
    assert.deepEqual(gatewayNotes(c), [
      `Cortex AI Gateway ${gw}: chat for c, g, o goes through it (c on /v1/messages; g on /v1/responses; o on /v1/chat/completions)`,
      "Cortex AI Gateway: embeddings, inference:complete (cortex_api: complete: l) and the model list use the account's /api/v2/cortex (the gateway serves neither); those calls skip the gateway's allowlist, traces and budgets",
    ]);
  });

  test('attack on the credential: a key pair with the gateway is refused at start with a clear message', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const yaml = `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/openai-gpt-4.1\n      api_base: ${ACCOUNT}/aigateways/SNOWFLAKE\n      snowflake_user: alice\n      private_key_path: rsa_key.p8\n`;
    const err = (() => {
      try {
        load(yaml, {}, { 'rsa_key.p8': pem });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, /does not take key-pair JWTs/);
    assert.ok(!err.message.includes('PRIVATE KEY'));
    // The sanity twin: the same key pair on the account path loads.
    assert.equal(load(yaml.replace('/aigateways/SNOWFLAKE', ''), {}, { 'rsa_key.p8': pem }).deployments[0].auth.type, 'keypair');
  });

  test('zero-config: SNOWFLAKE_AI_GATEWAY=1, the endpoint itself, or 0; nonsense is refused', () => {
    const env = (v: Record<string, string>) => loadConfig({ cwd: tempDir(), env: { SNOWFLAKE_ACCOUNT: 'myorg-myaccount', SNOWFLAKE_PAT: PAT, ...v } });
    assert.equal(env({ SNOWFLAKE_AI_GATEWAY: '1' }).deployments[0].gateway, `${ACCOUNT}/aigateways/SNOWFLAKE`);
    assert.equal(env({ SNOWFLAKE_AI_GATEWAY: 'https://gw.privatelink.snowflakecomputing.com/api/v2/aigateways/SNOWFLAKE' }).deployments[0].gateway, 'https://gw.privatelink.snowflakecomputing.com/api/v2/aigateways/SNOWFLAKE');
    assert.equal(env({ SNOWFLAKE_AI_GATEWAY: '0' }).deployments[0].gateway, undefined);
    assert.equal(env({}).deployments[0].gateway, undefined);
    assert.throws(() => env({ SNOWFLAKE_AI_GATEWAY: 'https://evil.example/x' }), /SNOWFLAKE_AI_GATEWAY must be 1, 0, or the gateway endpoint/);
  });

  test('zero-config through the real CLI: SNOWFLAKE_AI_GATEWAY=1 sends Claude to the gateway', async () => {
    const p = await startProxy([], { cwd: tempDir(), env: cleanEnv({ SNOWFLAKE_ACCOUNT: rig.emu.apiBase, SNOWFLAKE_PAT: PAT, SNOWFLAKE_AI_GATEWAY: '1', SNOWFLAKE_MODELS: 'claude-sonnet-4-5' }) });
    try {
      const a = new Anthropic({ baseURL: p.url, apiKey: 'unused', maxRetries: 0 });
      await a.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });
      onlyCall(`${GW}/v1/messages`);
    } finally {
      await p.stop();
    }
  });
});
