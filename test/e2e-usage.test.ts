// End to end: traffic through the real CLI in front of the strict emulator, then `cortex-proxy usage` (totals equal
// the usage the clients were told; --snowflake matches Snowflake's CORTEX_REST_API_USAGE_HISTORY by request id),
// and GET /metrics parsed by a strict Prometheus parser. Also the auth of /metrics, /ui and /ui/api/stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { startEmulator } from '../src/emulator/index.js';
import { createApp } from '../src/server/app.js';
import { createLogger } from '../src/server/log.js';
import type { Config } from '../src/config/types.js';
import { DEFAULT_SETTINGS } from '../src/config/types.js';
import { cleanEnv, runCli, startProxy, tempDir, writeFiles } from './helpers.js';
import { parsePrometheus, total } from './prometheus.js';

const PAT = 'usage-pat-' + 'u'.repeat(40);
const MASTER = 'sk-usage-master-' + 'm'.repeat(32);

const config = (apiBase: string, extra = '') => `model_list:
  - model_name: cortex-claude
    litellm_params:
      model: snowflake/claude-sonnet-4-5
      api_base: ${apiBase}
      api_key: os.environ/SNOWFLAKE_PAT
  - model_name: cortex-llama
    litellm_params:
      model: snowflake/llama3.1-70b
      api_base: ${apiBase}
      api_key: os.environ/SNOWFLAKE_PAT
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  usage_log_dir: ./usage
${extra}`;

test('usage --json totals equal the usage the clients were told; --snowflake matches by request id; /metrics parses', { timeout: 60_000 }, async () => {
  const emu = await startEmulator({ pats: [PAT], quiet: true });
  const dir = tempDir();
  writeFiles(dir, { 'cortex-proxy.yaml': config(emu.apiBase) });
  const env = cleanEnv({ SNOWFLAKE_PAT: PAT, LITELLM_MASTER_KEY: MASTER });
  const proxy = await startProxy(['--config', 'cortex-proxy.yaml'], { cwd: dir, env });
  const told = { prompt: 0, completion: 0, requests: 0 };
  try {
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: MASTER, maxRetries: 0 });
    emu.script({ text: 'A short answer.' }, { text: 'A much longer answer that spends more completion tokens than the first one did.' });
    for (const model of ['cortex-claude', 'cortex-llama']) {
      const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: `hello ${model}, count to three` }] });
      told.prompt += r.usage!.prompt_tokens;
      told.completion += r.usage!.completion_tokens;
      told.requests++;
    }
    const stream = await client.chat.completions.create({
      model: 'cortex-claude',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'stream something please' }],
    });
    for await (const chunk of stream) {
      if (chunk.usage) {
        told.prompt += chunk.usage.prompt_tokens;
        told.completion += chunk.usage.completion_tokens;
      }
    }
    told.requests++;
    const res = await fetch(`${proxy.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': MASTER, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'user-agent': 'claude-cli/2.1.197 (external, cli)' },
      body: JSON.stringify({ model: 'cortex-claude', max_tokens: 200, messages: [{ role: 'user', content: 'and now in the Anthropic dialect' }] }),
    });
    assert.equal(res.status, 200);
    const msg = (await res.json()) as { usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number } };
    told.prompt += msg.usage.input_tokens + (msg.usage.cache_read_input_tokens ?? 0);
    told.completion += msg.usage.output_tokens;
    told.requests++;
    await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }), { status: 404 });
    assert.ok(told.prompt > 0 && told.completion > 0);

    // /metrics: the master key is required; the exposition parses strictly and agrees with the clients.
    const denied = await fetch(`${proxy.url}/metrics`);
    assert.equal(denied.status, 401);
    const deniedText = JSON.stringify(await denied.json());
    assert.match(deniedText, /\/metrics needs the master key/);
    assert.match(deniedText, /virtual keys are not accepted here/, 'no promise that a virtual key works (it gets 403)');
    const m = await fetch(`${proxy.url}/metrics`, { headers: { authorization: `Bearer ${MASTER}` } });
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const fam = parsePrometheus(await m.text());
    assert.equal(total(fam, 'cortex_proxy_requests_total'), told.requests + 1);
    assert.equal(total(fam, 'cortex_proxy_requests_total', { status: '404' }), 1);
    assert.equal(total(fam, 'cortex_proxy_errors_total', { kind: 'not_found' }), 1);
    assert.equal(total(fam, 'cortex_proxy_tokens_total', { type: 'prompt' }), told.prompt);
    assert.equal(total(fam, 'cortex_proxy_tokens_total', { type: 'completion' }), told.completion);
    assert.equal(total(fam, 'cortex_proxy_in_flight_requests'), 0);
    assert.equal(total(fam, 'cortex_proxy_upstream_responses_total', { code: '200' }), told.requests);
    assert.equal(total(fam, 'cortex_proxy_request_duration_seconds', { stream: 'true' }, 'cortex_proxy_request_duration_seconds_count'), 1);
    assert.equal(total(fam, 'cortex_proxy_time_to_first_token_seconds', {}, 'cortex_proxy_time_to_first_token_seconds_count'), told.requests);
  } finally {
    await proxy.stop(); // SIGTERM: the usage log is flushed before the process exits
  }

  const files = fs.readdirSync(path.join(dir, 'usage'));
  assert.deepEqual(files, [`usage-${new Date().toISOString().slice(0, 7)}.jsonl`]);
  const text = fs.readFileSync(path.join(dir, 'usage', files[0]), 'utf8');
  assert.ok(!text.includes(MASTER) && !text.includes(PAT), 'no secret in the usage log');
  assert.ok(!text.includes('count to three') && !text.includes('Be brief'), 'no prompt text in the usage log');

  const out = await runCli(['usage', '--json', '--config', 'cortex-proxy.yaml'], { cwd: dir, env });
  assert.equal(out.code, 0, out.stderr);
  const rep = JSON.parse(out.stdout);
  // The Done-when criterion: the report's totals are exactly what the clients were told.
  assert.equal(rep.totals.requests, 5);
  assert.equal(rep.totals.errors, 1);
  assert.equal(rep.totals.prompt_tokens, told.prompt);
  assert.equal(rep.totals.completion_tokens, told.completion);
  assert.deepEqual(rep.groups.map((g: { key: string }) => g.key).sort(), ['cortex-claude', 'cortex-llama', 'no-such-model']);
  assert.equal(rep.credits_are_estimates, true);
  assert.ok(rep.totals.credits > 0, 'claude-sonnet-4-5 has a published rate');
  assert.deepEqual(rep.unrated_models, ['llama3.1-70b']);

  const byClient = JSON.parse((await runCli(['usage', '--json', '--by', 'client', '--config', 'cortex-proxy.yaml'], { cwd: dir, env })).stdout);
  assert.deepEqual(byClient.groups.map((g: { key: string; requests: number }) => [g.key, g.requests]).sort(), [['claude-code', 1], ['openai-js', 4]]);

  const sf = await runCli(['usage', '--json', '--snowflake', '--config', 'cortex-proxy.yaml'], { cwd: dir, env });
  assert.equal(sf.code, 0, sf.stderr);
  const s = JSON.parse(sf.stdout).snowflake;
  assert.equal(s.rows, 4);
  assert.equal(s.unmatched_local, 0);
  const matched = s.models.reduce((a: number, x: { matched_requests: number }) => a + x.matched_requests, 0);
  assert.equal(matched, 4);
  for (const x of s.models) assert.equal(x.matched_local_tokens, x.matched_snowflake_tokens, x.model);
  assert.deepEqual(s.differences, []);

  const table = await runCli(['usage', '--snowflake', '--config', 'cortex-proxy.yaml'], { cwd: dir, env });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^TOTAL\s+5\s+1\s/m);
  assert.match(table.stdout, /Matched by request id: 4 local requests\./);
  await emu.close();
});

test('/ui and its files are public (CSP, no data); /ui/api/stats and /metrics need the master key unless public_metrics', { timeout: 30_000 }, async () => {
  const emu = await startEmulator({ pats: [PAT], quiet: true });
  const base = (over: Partial<Config['settings']>): Config => ({
    deployments: [{ modelName: 'm', cortexModel: 'claude-sonnet-4-5', apiBase: emu.apiBase, auth: { type: 'pat', token: PAT }, wire: 'complete' }],
    settings: { ...DEFAULT_SETTINGS, masterKey: MASTER, ...over },
    source: 'test',
    demo: false,
    warnings: [],
  });
  for (const publicMetrics of [false, true]) {
    const app = createApp(base({ publicMetrics }), createLogger('silent'));
    await new Promise<void>((ok) => app.server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      const page = await fetch(`${url}/ui`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      const html = await page.text();
      assert.match(html, /<form id="login-form"/);
      for (const f of ['/ui/app.js', '/ui/uPlot.js', '/ui/uPlot.css', '/ui/style.css']) assert.equal((await fetch(url + f)).status, 200, f);
      const stats = await fetch(`${url}/ui/api/stats`);
      assert.equal(stats.status, 401);
      const ok = await fetch(`${url}/ui/api/stats`, { headers: { authorization: `Bearer ${MASTER}` } });
      assert.equal(ok.status, 200);
      const body = (await ok.json()) as { totals: { requests: number }; models: Array<{ name: string }>; demo: boolean };
      assert.equal(body.totals.requests, 0);
      assert.deepEqual(body.models.map((x) => x.name), ['m']);
      assert.ok(!JSON.stringify(body).includes(PAT) && !JSON.stringify(body).includes(MASTER));
      assert.equal((await fetch(`${url}/metrics`)).status, publicMetrics ? 200 : 401);
    } finally {
      await app.close();
    }
  }
  await emu.close();
});
