// LiteLLM's per-deployment call settings, honoured (issue 14 item 2): timeout / stream_timeout against a stalled
// Cortex (a timeout error in ~2 s, not a 200 after the stall), max_retries / num_retries, rpm / tpm (429 with
// Retry-After), extra_headers reaching Cortex (never the credential headers). Config errors through loadConfig;
// serving through the real CLI with the openai SDK against the emulator.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { request } from 'undici';
import type { ConfigError } from '../src/config/load.js';
import { startEmulator } from '../src/emulator/index.js';
import { cleanEnv, configErrorOf, loadYaml, modelEntry, startProxy, tempDir, writeFiles } from './helpers.js';
import { useProxyRig } from './proxy-rig.js';

const PAT = 'limits-pat-' + 'm'.repeat(40);
const BASE = 'https://acme-main.snowflakecomputing.com/api/v2';

const load = (yaml: string, env: Record<string, string> = {}) => loadYaml(yaml, { SNOWFLAKE_PAT: PAT, ...env });
const loadError = (yaml: string): ConfigError => configErrorOf(() => load(yaml));
const entry = (name: string, extra = '', top = '') =>
  `  - model_name: ${name}\n${top}    litellm_params:\n      model: snowflake/claude-4-sonnet\n      api_base: ${BASE}\n      api_key: os.environ/SNOWFLAKE_PAT\n${extra}`;

describe('config: timeouts, retries, limits and headers', () => {
  test('litellm_params and router_settings keys are read, with no "not implemented" warning', () => {
    const cfg = load(
      `model_list:\n${entry('a', '      timeout: 2\n      stream_timeout: 0.5\n      max_retries: 1\n      rpm: 10\n      extra_headers:\n        X-Snowflake-Role: CORTEX_APP\n        X-Snowflake-Warehouse: os.environ/WH\n')}` +
        `${entry('b', '      num_retries: 0\n', '    tpm: 5000\n')}` +
        'router_settings:\n  timeout: 30\n  stream_timeout: 20\n  num_retries: 4\n',
      { WH: 'SMALL_WH' },
    );
    const [a, b] = cfg.deployments;
    assert.deepEqual([a.timeoutMs, a.streamTimeoutMs, a.maxRetries, a.limits], [2000, 500, 1, { rpm: 10, id: 'model_list[0]' }]);
    assert.deepEqual(a.extraHeaders, { 'x-snowflake-role': 'CORTEX_APP', 'x-snowflake-warehouse': 'SMALL_WH' });
    assert.deepEqual([b.maxRetries, b.limits], [0, { tpm: 5000, id: 'model_list[1]' }]);
    assert.deepEqual([cfg.settings.routerTimeoutMs, cfg.settings.streamTimeoutMs, cfg.settings.numRetries], [30_000, 20_000, 4]);
    assert.deepEqual(cfg.warnings.filter((w) => /timeout|retries|rpm|tpm|headers/.test(w)), []);
  });

  test('the credential and HTTP-layer headers cannot be set; bad values fail at their line', () => {
    for (const h of ['Authorization', 'X-Snowflake-Authorization-Token-Type', 'Host', 'content-length']) {
      const e = loadError(`model_list:\n${entry('a', `      extra_headers:\n        ${h}: x\n`)}`);
      assert.equal(e.line, 8, h);
      assert.match(e.detail, /cannot be set from the config/);
    }
    assert.match(loadError(`model_list:\n${entry('a', '      extra_headers:\n        Authorization: Bearer x\n')}`).hint, /api_key/);
    assert.match(loadError(`model_list:\n${entry('a', '      headers:\n        "bad header": x\n')}`).detail, /not a valid header name/);
    assert.match(loadError(`model_list:\n${entry('a', '      extra_headers: [a]\n')}`).detail, /must be a mapping/);
    assert.match(loadError(`model_list:\n${entry('a', '      timeout: -1\n')}`).detail, /timeout must be a positive number of seconds/);
    assert.match(loadError(`model_list:\n${entry('a', '      rpm: 1.5\n')}`).detail, /rpm must be a positive integer/);
    const secret = 'sekrit-' + 'v'.repeat(20);
    const e = loadError(`model_list:\n${entry('a', '      extra_headers:\n        X-Gateway: os.environ/GW\n')}`);
    assert.match(e.detail, /GW is not set/);
    try {
      load(`model_list:\n${entry('a', '      extra_headers:\n        X-Gateway: "a\\nb"\n')}`, { GW: secret });
      assert.fail('expected an error');
    } catch (err) {
      assert.match((err as Error).message, /line break/);
    }
  });
});

const retryAfter = (h: unknown) => (h instanceof Headers ? h.get('retry-after') : (h as Record<string, string> | undefined)?.['retry-after']);

describe('serving: timeouts, retries, limits, headers', () => {
  const rig = useProxyRig({
    pat: PAT,
    env: { WH: 'SMALL_WH' },
    config: (apiBase) => {
      const e = (name: string, id: string, extra = '') => modelEntry(name, `snowflake/${id}`, apiBase, extra);
      return (
        'model_list:\n' +
        e('slow', 'claude-4-sonnet', '      timeout: 2\n') +
        e('no-retry', 'openai-gpt-4.1', '      max_retries: 0\n') +
        e('retrying', 'openai-gpt-4.1', '      max_retries: 3\n') +
        e('limited', 'llama3.1-70b', '      rpm: 2\n') +
        e('token-limited', 'mistral-large2', '      tpm: 30\n') +
        e('embed-limited', 'snowflake-arctic-embed-m-v1.5', '      rpm: 1\n') +
        e('headed', 'claude-4-sonnet', '      extra_headers:\n        X-Snowflake-Role: CORTEX_APP\n        X-Snowflake-Warehouse: os.environ/WH\n') +
        'litellm_settings:\n  num_retries: 2\n'
      );
    },
  });

  const ask = (model: string) => rig.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

  test('timeout: 2 against a stalled Cortex → a timeout error in about 2 s (non-streaming and streaming)', async () => {
    for (const stream of [false, true]) {
      rig.emu.inject({ hangBeforeHeaders: true });
      const t0 = performance.now();
      const r = await fetch(`${rig.proxy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'slow', stream, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const ms = performance.now() - t0;
      const body = (await r.json()) as { error: { message: string } };
      assert.equal(r.status, 504, `stream=${stream}: ${JSON.stringify(body)}`);
      assert.ok(ms >= 1900 && ms < 6000, `stream=${stream}: answered after ${Math.round(ms)} ms`);
      assert.match(body.error.message, /2 s \(litellm_params\.timeout of 'slow'\)/);
      await rig.emu.waitForAbort();
    }
  });

  test('timeout: 2 against a Cortex that would answer 200 after 12 s → 504 in about 2 s, the slow call aborted', async () => {
    rig.emu.setKnobs({ ttfbMs: 12_000 });
    const t0 = performance.now();
    await assert.rejects(ask('slow'), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 504 && /did not answer within 2 s|sent nothing for 2 s/.test(e.message));
    const ms = performance.now() - t0;
    assert.ok(ms >= 1900 && ms < 6000, `answered after ${Math.round(ms)} ms`);
    await rig.emu.waitForAbort(); // the proxy hung up on Cortex: no tokens for nobody
  });

  test('max_retries per deployment over the global num_retries', async () => {
    rig.emu.inject({ status: 429, retryAfter: 0 });
    await assert.rejects(ask('no-retry'), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 429);
    assert.equal(rig.emu.requests.length, 1, 'max_retries: 0 → no retry although num_retries is 2');
    rig.emu.reset();
    rig.emu.inject({ status: 503, retryAfter: 0 }, { status: 503, retryAfter: 0 }, { status: 503, retryAfter: 0 });
    rig.emu.script({ text: 'fourth time lucky' });
    assert.equal((await ask('retrying')).choices[0].message.content, 'fourth time lucky');
    assert.equal(rig.emu.requests.length, 4, 'max_retries: 3 → three retries');
  });

  test('rpm: over the limit → 429 with Retry-After, without calling Cortex', async () => {
    await ask('limited');
    await ask('limited');
    const r = await fetch(`${rig.proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'limited', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(r.status, 429);
    const wait = Number(r.headers.get('retry-after'));
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /rpm\/tpm/);
    assert.equal(rig.emu.requests.length, 2);
    // Another model is not affected.
    assert.ok((await ask('headed')).choices[0].message.content);
  });

  test('rpm holds for embeddings too', async () => {
    await rig.openai.embeddings.create({ model: 'embed-limited', input: 'a' });
    await assert.rejects(rig.openai.embeddings.create({ model: 'embed-limited', input: 'b' }), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 429);
    assert.equal(rig.emu.requests.length, 1);
  });

  test('tpm: the tokens of finished exchanges count', async () => {
    rig.emu.script({ text: 'a', usage: { prompt_tokens: 25, completion_tokens: 10 } });
    await ask('token-limited');
    await assert.rejects(ask('token-limited'), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 429 && Number(retryAfter(e.headers)) >= 1);
    assert.equal(rig.emu.requests.length, 1);
  });

  test('extra_headers reach Cortex; the credential is still the configured one', async () => {
    await ask('headed');
    const h = rig.emu.requests.at(-1)!.headers;
    assert.equal(h['x-snowflake-role'], 'CORTEX_APP');
    assert.equal(h['x-snowflake-warehouse'], 'SMALL_WH');
    assert.equal(h.authorization, `Bearer ${PAT}`);
    assert.equal(h['x-snowflake-authorization-token-type'], 'PROGRAMMATIC_ACCESS_TOKEN');
  });
});

test("serve --workers 2: a deployment's rpm holds for the whole server, whichever worker a connection reaches", async () => {
  const emu = await startEmulator({ pats: [PAT], quiet: true });
  const dir = tempDir();
  writeFiles(dir, {
    'cortex-proxy.yaml':
      `model_list:\n  - model_name: limited\n    litellm_params:\n      model: snowflake/llama3.1-70b\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\n      rpm: 3\n` +
      'general_settings:\n  usage_log_dir: ./usage\n  database_path: ./team\n',
  });
  const proxy = await startProxy(['--quiet', '--workers', '2'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      // A new connection each time: the primary hands connections to the workers in turn.
      const r = await request(`${proxy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ model: 'limited', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await r.body.text();
      statuses.push(r.statusCode);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.equal(emu.requests.length, 3);
  } finally {
    await proxy.stop();
    await emu.close();
  }
});
