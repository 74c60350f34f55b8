// LiteLLM configs as people already run them (issue 14): wildcard model_names (`*`, `cortex/*` → snowflake/*),
// router_settings.model_group_alias (Claude Code's dated ids), litellm_params.model as a name, and /v1/models
// listing concrete names (the account's models for a catch-all, from GET /api/v2/cortex/models, cached).
// Config errors through loadConfig; serving through the real CLI with the openai and anthropic SDKs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import type { ConfigError } from '../src/config/load.js';
import { Router } from '../src/cortex/router.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { cleanEnv, configErrorOf, loadYaml, modelEntry, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';

const PAT = 'litellm-pat-' + 'l'.repeat(40);
const BASE = 'https://acme-main.snowflakecomputing.com/api/v2';

const load = (yaml: string, env: Record<string, string> = {}) => loadYaml(yaml, { SNOWFLAKE_PAT: PAT, ...env });
const loadError = (yaml: string): ConfigError => configErrorOf(() => load(yaml));
const entry = (name: string, model: string, extra = '') => modelEntry(name, model, BASE, extra);

describe('config: wildcard model_names and model_group_alias', () => {
  test("LiteLLM's catch-all and prefix wildcards load; a wildcard model needs a wildcard model_name", () => {
    const cfg = load(`model_list:\n${entry('*', 'snowflake/*')}${entry('cortex/*', 'snowflake/*')}${entry('claude-*', 'snowflake/claude-4-sonnet')}`);
    assert.deepEqual(cfg.deployments.map((d) => [d.modelName, d.cortexModel]), [['*', '*'], ['cortex/*', '*'], ['claude-*', 'claude-4-sonnet']]);
    const e = loadError(`model_list:\n${entry('mine', 'snowflake/*')}`);
    assert.equal(e.line, 4);
    assert.match(e.detail, /needs a wildcard model_name/);
    assert.match(e.hint, /model_name: "\*"/);
    assert.match(loadError(`model_list:\n${entry('a/*', 'snowflake/*-*')}`).detail, /more '\*' than model_name/);
    assert.match(loadError(`model_list:\n${entry('*', 'snowflake/a b*')}`).detail, /not a valid Cortex model id pattern/);
  });

  test('model_group_alias: string and {model, hidden} forms; an unknown target fails at its line', () => {
    const cfg = load(
      `model_list:\n${entry('claude-sonnet-4-5', 'snowflake/claude-sonnet-4-5')}${entry('cortex/*', 'snowflake/*')}` +
        'router_settings:\n  model_group_alias:\n    claude-sonnet-4-5-20250929: claude-sonnet-4-5\n' +
        '    gpt-4: { model: cortex/openai-gpt-4.1, hidden: true }\n',
    );
    assert.deepEqual(cfg.routing?.aliases, {
      'claude-sonnet-4-5-20250929': { model: 'claude-sonnet-4-5', hidden: false },
      'gpt-4': { model: 'cortex/openai-gpt-4.1', hidden: true },
    });
    assert.ok(!cfg.warnings.some((w) => /model_group_alias/.test(w)), cfg.warnings.join('\n'));
    const e = loadError(`model_list:\n${entry('a', 'snowflake/claude-4-sonnet')}router_settings:\n  model_group_alias:\n    b: nowhere\n`);
    assert.equal(e.line, 9);
    assert.match(e.detail, /'nowhere' is not a model_name/);
    assert.match(loadError(`model_list:\n${entry('a', 'snowflake/claude-4-sonnet')}router_settings:\n  model_group_alias:\n    b: { hidden: true }\n`).detail, /names no model/);
    assert.match(loadError(`model_list:\n${entry('a', 'snowflake/claude-4-sonnet')}router_settings:\n  model_group_alias: [a]\n`).detail, /must be a mapping/);
  });

  test('fallbacks may name aliases and names a wildcard serves', () => {
    const cfg = load(`model_list:\n${entry('a', 'snowflake/claude-4-sonnet')}${entry('*', 'snowflake/*')}router_settings:\n  model_group_alias: { b: a }\n  fallbacks: [{ b: [openai-gpt-4.1] }]\n`);
    assert.deepEqual(cfg.routing?.fallbacks, { b: ['openai-gpt-4.1'] });
  });
});

describe('router: LiteLLM name resolution', () => {
  const cfg = load(
    `model_list:\n${entry('exact', 'snowflake/claude-4-sonnet')}${entry('*', 'snowflake/*')}${entry('cortex/*', 'snowflake/*')}${entry('claude-*', 'snowflake/claude-3-7-sonnet')}` +
      'router_settings:\n  model_group_alias: { claude-sonnet-4-5-20250929: exact }\n  fallbacks: [{ "*": [exact] }]\n',
  );
  const router = new Router(cfg.deployments, cfg.routing);
  const first = (m: string) => router.candidates(m)[0].deployment;

  test('alias, exact model_name, litellm_params.model, then wildcards most specific first', () => {
    assert.equal(first('claude-sonnet-4-5-20250929').cortexModel, 'claude-4-sonnet');
    assert.equal(first('exact').cortexModel, 'claude-4-sonnet');
    assert.equal(first('snowflake/claude-4-sonnet').modelName, 'exact', 'litellm_params.model reaches its deployment');
    assert.equal(first('cortex/openai-gpt-4.1').cortexModel, 'openai-gpt-4.1');
    assert.equal(first('claude-anything').cortexModel, 'claude-3-7-sonnet', 'claude-* is more specific than *');
    assert.equal(first('llama3.1-70b').cortexModel, 'llama3.1-70b');
    assert.equal(first('snowflake/mistral-large2').cortexModel, 'mistral-large2', 'a snowflake/ prefix on the catch-all is dropped');
    assert.equal(first('cortex/claude-sonnet-4-20250514').cortexModel, 'claude-4-sonnet', "Claude Code's dated ids through a wildcard reach the Cortex id");
    assert.equal(first('cortex-llama3.1-70b').cortexModel, 'llama3.1-70b', 'the quickstart-style cortex- prefix too');
    assert.equal(first('cortex/claude-sonnet-4-5-20250929').cortexModel, 'claude-sonnet-4-5');
    assert.equal(first('brand-new-model').cortexModel, 'brand-new-model', 'an id the catalogue does not know goes to Cortex as asked');
    assert.equal(first('llama3.1-70b'), first('llama3.1-70b'), 'the concrete deployment is kept (cooldown and round robin work)');
    assert.deepEqual(router.candidates('llama3.1-70b').map((c) => c.modelName), ['llama3.1-70b', 'exact'], 'fallbacks of "*" apply');
  });

  test('a name that is no Cortex id is not found, in the usual error', () => {
    for (const bad of ['a/b/c', '../etc', 'x y', '', 'a'.repeat(300)]) {
      assert.throws(() => router.candidates(bad), (e: Error & { kind?: string }) => e.kind === 'not_found' && e.message.length < 600, bad);
    }
  });

  test('invented names cannot grow memory without bound', () => {
    for (let i = 0; i < 5000; i++) router.candidates(`m-${i}`);
    assert.ok((router as unknown as { concrete: Map<string, unknown> }).concrete.size <= 1024);
  });
});

describe('serving a LiteLLM catch-all config', () => {
  let emu: Emulator;
  let proxy: RunningProxy;
  let openai: OpenAI;
  let anthropic: Anthropic;
  const ACCOUNT_MODELS = ['claude-sonnet-4-5', 'claude-4-sonnet', 'openai-gpt-4.1', 'llama3.1-70b'];

  before(async () => {
    emu = await startEmulator({ pats: [PAT], quiet: true, models: ACCOUNT_MODELS });
    const dir = tempDir();
    const e = (name: string, model: string) =>
      `  - model_name: ${JSON.stringify(name)}\n    litellm_params:\n      model: ${model}\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\n`;
    writeFiles(dir, {
      'litellm_config.yaml':
        `model_list:\n${e('*', 'snowflake/*')}${e('cortex/*', 'snowflake/*')}${e('fast', 'snowflake/llama3.1-70b')}` +
        'router_settings:\n  model_group_alias:\n    claude-sonnet-4-5-20250929: claude-sonnet-4-5\n    secret-name: { model: fast, hidden: true }\n',
    });
    proxy = await startProxy([], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
    openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'x', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await proxy?.stop();
    await emu?.close();
  });

  test("Claude Code's dated id reaches the aliased model over /v1/messages", async () => {
    emu.script({ text: 'dated ok' });
    const r = await anthropic.messages.create({ model: 'claude-sonnet-4-5-20250929', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.content[0].type === 'text' && r.content[0].text, 'dated ok');
    assert.equal(r.model, 'claude-sonnet-4-5-20250929');
    const last = emu.requests.at(-1)!;
    assert.equal((last.body as { model: string }).model, 'claude-sonnet-4-5');
  });

  test("Claude Code's dated id without an alias reaches the Cortex id through the catch-all", async () => {
    emu.script({ text: 'undated' });
    const r = await anthropic.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.content[0].type === 'text' && r.content[0].text, 'undated');
    assert.equal((emu.requests.at(-1)!.body as { model: string }).model, 'claude-4-sonnet');
  });

  test('the catch-all and the prefix wildcard pass the matched part to Cortex', async () => {
    emu.script({ text: 'catch-all' }, { text: 'prefixed' });
    const a = await openai.chat.completions.create({ model: 'openai-gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(a.choices[0].message.content, 'catch-all');
    const b = await openai.chat.completions.create({ model: 'cortex/llama3.1-70b', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const c of b) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'prefixed');
    assert.deepEqual(emu.requests.slice(-2).map((r) => (r.body as { model: string }).model), ['openai-gpt-4.1', 'llama3.1-70b']);
  });

  test("a model the account lacks gets Cortex's answer as a client error, not a 500", async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'mistral-large2', messages: [{ role: 'user', content: 'hi' }] }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status !== undefined && e.status >= 400 && e.status < 500,
    );
  });

  test('/v1/models lists concrete names: configured, visible aliases, and the account models through each wildcard (cached)', async () => {
    const before = emu.requests.filter((r) => r.path.endsWith('/cortex/models')).length;
    const ids = (await openai.models.list()).data.map((m) => m.id);
    const again = (await openai.models.list()).data.map((m) => m.id);
    assert.deepEqual(again, ids);
    assert.equal(emu.requests.filter((r) => r.path.endsWith('/cortex/models')).length - before, 1, 'one account lookup for two listings');
    assert.ok(!ids.some((id) => id.includes('*')), ids.join(', '));
    assert.ok(!ids.includes('secret-name'), 'a hidden alias is not listed');
    for (const id of ['fast', 'claude-sonnet-4-5-20250929', ...ACCOUNT_MODELS, ...ACCOUNT_MODELS.map((m) => `cortex/${m}`)]) assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
    assert.ok(!ids.includes('mistral-large2'), 'only what the account offers');
    const info = (await (await fetch(`${proxy.url}/v1/model/info`)).json()) as { data: Array<{ model_name: string; litellm_params: { model: string } }> };
    assert.ok(info.data.some((d) => d.model_name === 'cortex/openai-gpt-4.1' && d.litellm_params.model === 'snowflake/openai-gpt-4.1'));
    // The hidden alias still serves.
    emu.script({ text: 'hidden ok' });
    const r = await openai.chat.completions.create({ model: 'secret-name', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.choices[0].message.content, 'hidden ok');
  });
});
