// LiteLLM config files as they are written (issue 14 items 3 and 4): include: (relative to the config, merged like
// LiteLLM), credential_list + litellm_credential_name, openai/ and anthropic/ deployments at Cortex v1 URLs,
// LiteLLM's Snowflake api_base forms (…/inference:complete means that endpoint), PyYAML's reading (duplicate keys,
// 1_000, multi-document files), ${VAR} in .env, and warnings shown once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { cleanEnv, configErrorOf, modelEntry, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';

const PAT = 'files-pat-' + 'f'.repeat(40);
const BASE = 'https://acme-main.snowflakecomputing.com/api/v2';

function loadDir(files: Record<string, string>, env: Record<string, string> = {}, main = 'cortex-proxy.yaml') {
  const dir = tempDir();
  for (const name of Object.keys(files)) fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  writeFiles(dir, files);
  return loadConfig({ cwd: dir, configPath: main, env: { SNOWFLAKE_PAT: PAT, ...env } });
}
const loadDirError = (files: Record<string, string>, env: Record<string, string> = {}): ConfigError => configErrorOf(() => loadDir(files, env));
const entry = (name: string, model: string, base = BASE, extra = '') => modelEntry(name, model, base, extra);

describe('include:', () => {
  test('lists are extended, other keys replaced (with a warning), paths relative to the config', () => {
    const cfg = loadDir({
      'conf/main.yaml': `include:\n  - models/extra.yaml\nmodel_list:\n${entry('a', 'snowflake/claude-4-sonnet')}litellm_settings:\n  num_retries: 5\n`,
      'conf/models/extra.yaml': `model_list:\n${entry('b', 'snowflake/openai-gpt-4.1')}litellm_settings:\n  drop_params: false\n`,
    }, {}, 'conf/main.yaml');
    assert.deepEqual(cfg.deployments.map((d) => d.modelName), ['a', 'b']);
    assert.equal(cfg.settings.dropParams, false);
    assert.equal(cfg.settings.numRetries, 2, 'the included litellm_settings replaced the config’s (LiteLLM merge)');
    assert.ok(cfg.warnings.some((w) => /litellm_settings at .*extra\.yaml line 7 from .*extra\.yaml replaces the config's litellm_settings/.test(w)), cfg.warnings.join('\n'));
  });

  test('a single file name works; errors in an included file name that file and line', () => {
    const cfg = loadDir({ 'cortex-proxy.yaml': 'include: more.yaml\n', 'more.yaml': `model_list:\n${entry('a', 'snowflake/claude-4-sonnet')}` });
    assert.equal(cfg.deployments[0].modelName, 'a');
    const e = loadDirError({ 'cortex-proxy.yaml': 'include: [more.yaml]\n', 'more.yaml': `model_list:\n${entry('a', 'snowflake/claude-4-sonnet')}      cortex_api: bogus\n` });
    assert.match(e.file ?? '', /more\.yaml$/);
    assert.equal(e.line, 7);
    const missing = loadDirError({ 'cortex-proxy.yaml': `include: [nope.yaml]\nmodel_list:\n${entry('a', 'snowflake/claude-4-sonnet')}` });
    assert.match(missing.detail, /nope\.yaml does not exist/);
    assert.equal(missing.line, 1);
    assert.match(loadDirError({ 'cortex-proxy.yaml': `include: [cortex-proxy.yaml]\nmodel_list:\n${entry('a', 'snowflake/claude-4-sonnet')}` }).detail, /already part of the config/);
    assert.match(loadDirError({ 'cortex-proxy.yaml': 'include: {a: b}\n' }).detail, /file name or a list/);
  });
});

describe('credential_list and litellm_credential_name', () => {
  const creds = `credential_list:\n  - credential_name: main\n    credential_values:\n      api_base: ${BASE}\n      api_key: os.environ/SNOWFLAKE_PAT\n    credential_info:\n      description: prod\n`;
  test("a deployment takes the credential's api_base and api_key; its own values win", () => {
    const cfg = loadDir({
      'cortex-proxy.yaml':
        creds +
        'model_list:\n  - model_name: a\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      litellm_credential_name: main\n' +
        '  - model_name: b\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      litellm_credential_name: main\n      api_base: https://other-acct.snowflakecomputing.com/api/v2\n',
    });
    assert.deepEqual(cfg.deployments.map((d) => d.apiBase), [BASE, 'https://other-acct.snowflakecomputing.com/api/v2']);
    assert.deepEqual(cfg.deployments[0].auth, { type: 'pat', token: PAT });
    assert.deepEqual(cfg.warnings.filter((w) => /credential/.test(w)), []);
  });
  test('an unknown credential name fails at its line, naming the defined ones', () => {
    const e = loadDirError({ 'cortex-proxy.yaml': creds + 'model_list:\n  - model_name: a\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      litellm_credential_name: mian\n' });
    assert.equal(e.line, 12);
    assert.match(e.detail, /no credential named 'mian'/);
    assert.match(e.hint, /main/);
  });
});

describe('api_base forms and openai/ / anthropic/ deployments', () => {
  test('the endpoint a full api_base names is the wire; openai/ and anthropic/ need a Cortex v1 URL', () => {
    const cfg = loadDir({
      'cortex-proxy.yaml':
        'model_list:\n' +
        entry('c', 'snowflake/mistral-large2', `${BASE}/cortex/inference:complete`) +
        entry('o', 'snowflake/openai-gpt-4.1', `${BASE}/cortex/v1/chat/completions`) +
        entry('m', 'snowflake/claude-4-sonnet', `${BASE}/cortex/v1/messages`) +
        entry('r', 'snowflake/openai-gpt-5', `${BASE}/cortex/v1/responses/`) +
        entry('v', 'snowflake/claude-4-sonnet', `${BASE}/cortex/v1`) +
        entry('oa', 'openai/openai-gpt-4.1', `${BASE}/cortex/v1`) +
        entry('an', 'anthropic/claude-sonnet-4-5', `${BASE}/cortex`) +
        entry('pinned', 'snowflake/claude-4-sonnet', `${BASE}/cortex/inference:complete`, '      cortex_api: anthropic\n'),
    });
    assert.deepEqual(cfg.deployments.map((d) => [d.modelName, d.cortexModel, d.wire, d.apiBase]), [
      ['c', 'mistral-large2', 'complete', BASE],
      ['o', 'openai-gpt-4.1', 'openai', BASE],
      ['m', 'claude-4-sonnet', 'anthropic', BASE],
      ['r', 'openai-gpt-5', 'responses', BASE],
      ['v', 'claude-4-sonnet', 'auto', BASE],
      ['oa', 'openai-gpt-4.1', 'openai', BASE],
      ['an', 'claude-sonnet-4-5', 'anthropic', BASE],
      ['pinned', 'claude-4-sonnet', 'anthropic', BASE],
    ]);
    assert.ok(cfg.warnings.some((w) => /cortex_api at line \d+ \(anthropic\) overrides the endpoint api_base names \(complete\)/.test(w)), cfg.warnings.join('\n'));
    const notCortex = loadDirError({ 'cortex-proxy.yaml': `model_list:\n${entry('x', 'openai/gpt-4o', 'https://api.openai.com/v1')}` });
    assert.match(notCortex.detail, /not a Cortex v1 URL/);
    assert.equal(notCortex.line, 5);
    assert.match(loadDirError({ 'cortex-proxy.yaml': `model_list:\n${entry('x', 'openai/openai-gpt-4.1', '')}` }).detail, /need an api_base that is a Cortex v1 URL/);
    assert.match(loadDirError({ 'cortex-proxy.yaml': `model_list:\n${entry('x', 'anthropic/openai-gpt-4.1', `${BASE}/cortex/v1`)}` }).detail, /serves Claude models only/);
    assert.match(loadDirError({ 'cortex-proxy.yaml': `model_list:\n${entry('x', 'snowflake/claude-4-sonnet', `${BASE}/cortex/v1/responses`)}` }).detail, /\/v1\/responses serves OpenAI models only/);
    assert.match(loadDirError({ 'cortex-proxy.yaml': `model_list:\n${entry('x', 'azure/gpt-4o')}` }).detail, /only snowflake\/ models/);
  });
});

describe('serving include + credentials + endpoint forms', () => {
  let emu: Emulator;
  let proxy: RunningProxy;
  before(async () => {
    emu = await startEmulator({ pats: [PAT], quiet: true });
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'parts'));
    writeFiles(dir, {
      'litellm_config.yaml':
        `include:\n  - parts/models.yaml\ncredential_list:\n  - credential_name: emu\n    credential_values:\n      api_key: os.environ/SNOWFLAKE_PAT\n      api_base: ${emu.apiBase}\n` +
        `model_list:\n  - model_name: by-credential\n    litellm_params:\n      model: snowflake/llama3.1-70b\n      litellm_credential_name: emu\n`,
      'parts/models.yaml':
        'model_list:\n' +
        entry('complete-form', 'snowflake/claude-4-sonnet', `${emu.apiBase}/cortex/inference:complete`) +
        entry('openai-form', 'openai/openai-gpt-4.1', `${emu.apiBase}/cortex/v1`) +
        entry('anthropic-form', 'anthropic/claude-sonnet-4-5', `${emu.apiBase}/cortex`),
    });
    proxy = await startProxy([], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
  });
  after(async () => {
    await proxy?.stop();
    await emu?.close();
  });

  test('each deployment reaches the endpoint it names, with the credential it names', async () => {
    const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'x', maxRetries: 0 });
    for (const model of ['by-credential', 'complete-form', 'openai-form']) {
      emu.script({ text: `hi from ${model}` });
      const r = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(r.choices[0].message.content, `hi from ${model}`);
    }
    emu.script({ text: 'hi from anthropic-form' });
    const m = await anthropic.messages.create({ model: 'anthropic-form', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(m.content[0].type === 'text' && m.content[0].text, 'hi from anthropic-form');
    assert.deepEqual(
      emu.requests.map((r) => `${(r.body as { model: string }).model} ${r.path.replace('/api/v2/cortex/', '')}`),
      ['llama3.1-70b v1/chat/completions', 'claude-4-sonnet inference:complete', 'openai-gpt-4.1 v1/chat/completions', 'claude-sonnet-4-5 v1/messages'],
    );
    for (const r of emu.requests) assert.equal(r.headers.authorization, `Bearer ${PAT}`);
  });
});

describe('reading YAML like PyYAML, .env like python-dotenv, warnings once', () => {
  const one = `model_list:\n${entry('a', 'snowflake/claude-4-sonnet')}`;

  test('duplicate keys: the last wins, with a warning naming both lines', () => {
    const cfg = loadDir({ 'cortex-proxy.yaml': `${one}litellm_settings:\n  num_retries: 1\n  num_retries: 3\n` });
    assert.equal(cfg.settings.numRetries, 3);
    assert.deepEqual(cfg.warnings, ["duplicate key 'litellm_settings.num_retries' at line 8: the later one at line 9 wins (as in PyYAML)"]);
  });

  test('YAML 1.1 scalars as PyYAML reads them: 1_000, on/off; y stays a string', () => {
    const cfg = loadDir({ 'cortex-proxy.yaml': `model_list:\n${entry('y', 'snowflake/claude-4-sonnet', BASE, '      rpm: 1_000\n')}litellm_settings:\n  drop_params: off\n` });
    assert.equal(cfg.deployments[0].limits?.rpm, 1000);
    assert.equal(cfg.deployments[0].modelName, 'y', 'PyYAML keeps y as a string');
    assert.equal(cfg.settings.dropParams, false);
  });

  test('a multi-document file gets one plain message, without the YAML library’s advice', () => {
    const e = loadDirError({ 'cortex-proxy.yaml': `${one}---\nmodel_list: []\n` });
    assert.match(e.detail, /holds more than one YAML document/);
    assert.equal(e.line, 7);
    assert.doesNotMatch(e.message, /parseAllDocuments|YAML\./);
    assert.doesNotThrow(() => loadDir({ 'cortex-proxy.yaml': `---\n${one}` }), 'a leading --- is one document');
  });

  test('${VAR} in .env is expanded (environment first, then earlier lines; defaults; single quotes literal)', () => {
    const env: Record<string, string> = { FROM_ENV: 'env-part' };
    const dir = tempDir();
    writeFiles(dir, {
      '.env': `PAT_HEAD=${PAT.slice(0, 10)}\nMY_PAT="\${PAT_HEAD}${PAT.slice(10)}"\nB=\${FROM_ENV}-x\nC='\${FROM_ENV}'\nD=\${NOPE:-fallback}\n`,
      'cortex-proxy.yaml': `model_list:\n  - model_name: a\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      api_base: ${BASE}\n      api_key: os.environ/MY_PAT\n`,
    });
    const cfg = loadConfig({ cwd: dir, env });
    assert.deepEqual(cfg.deployments[0].auth, { type: 'pat', token: PAT });
    assert.deepEqual([env.B, env.C, env.D], ['env-part-x', '${FROM_ENV}', 'fallback']);
  });

  test('a LiteLLM key we do not implement is named once, with every line it is on', () => {
    const cfg = loadDir({
      'cortex-proxy.yaml': `model_list:\n${entry('a', 'snowflake/claude-4-sonnet', BASE, '      weight: 1\n')}${entry('b', 'snowflake/claude-4-sonnet', BASE, '      weight: 2\n')}`,
    });
    assert.deepEqual(cfg.warnings, ["LiteLLM key 'model_list[].litellm_params.weight' (at lines 7, 13) is not implemented by cortex-proxy — ignored"]);
  });
});

describe('doctor shows every warning', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ pats: [PAT], quiet: true });
  });
  after(() => emu?.close());

  test('each config warning is its own line of doctor --json', async () => {
    const { runCli } = await import('./helpers.js');
    const { freePort } = await import('./setup-helpers.js');
    const dir = tempDir();
    writeFiles(dir, {
      'cortex-proxy.yaml': `model_list:\n${entry('a', 'snowflake/claude-4-sonnet', emu.apiBase, '      weight: 1\n')}litellm_settings:\n  num_retries: 1\n  num_retries: 2\n  callbacks: [x]\n`,
    });
    const r = await runCli(['doctor', '--json', '--port', String(await freePort())], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
    const checks = (JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; detail: string }> }).checks;
    const warnings = checks.filter((c) => c.id === 'config-warning').map((c) => c.detail);
    assert.equal(warnings.length, 3, warnings.join('\n'));
    assert.ok(warnings.some((w) => /weight/.test(w)) && warnings.some((w) => /duplicate key/.test(w)) && warnings.some((w) => /callbacks/.test(w)));
    assert.match(checks.find((c) => c.id === 'config')!.detail, /3 warnings below/);
  });
});

test('the pre-minted JWT notice is logged once, however many deployments use the token', async () => {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: 'ACME.ME.SHA256:abc', sub: 'ACME.ME', exp: Math.floor(Date.now() / 1000) + 3600 })}.c2ln`;
  const dir = tempDir();
  writeFiles(dir, { 'cortex-proxy.yaml': 'model_list:\n' + entry('a', 'snowflake/claude-4-sonnet', BASE).replace('SNOWFLAKE_PAT', 'SNOWFLAKE_JWT') + entry('b', 'snowflake/openai-gpt-4.1', BASE).replace('SNOWFLAKE_PAT', 'SNOWFLAKE_JWT') });
  const proxy = await startProxy([], { cwd: dir, env: cleanEnv({ SNOWFLAKE_JWT: jwt }) });
  try {
    await proxy.waitForLog('listening on');
    assert.equal(proxy.stderr().split('\n').filter((l) => /pre-minted key-pair JWT/.test(l)).length, 1, proxy.stderr());
    assert.ok(!proxy.stderr().includes(jwt));
  } finally {
    await proxy.stop();
  }
});
