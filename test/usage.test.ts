// Usage records, the usage log (format, batching, rotation, failures), aggregation, credit estimates, the
// metrics exposition, live statistics and the status line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import { toRecord, parseRecord, userAgentFamily, type UsageRecord } from '../src/usage/record.js';
import { UsageLog, listLogFiles, defaultUsageDir } from '../src/usage/log.js';
import { aggregate, formatCsv, formatText, parseSince, readRecords } from '../src/usage/report.js';
import { DEFAULT_CREDIT_RATES, estimateCredits, mergeRates } from '../src/usage/rates.js';
import { Metrics } from '../src/usage/metrics.js';
import { LiveStats } from '../src/usage/live.js';
import { createStatusLine, formatStatus } from '../src/usage/status-line.js';
import { loadConfig, ConfigError } from '../src/config/load.js';
import type { Exchange } from '../src/server/context.js';
import { parsePrometheus, total } from './prometheus.js';
import { tempDir, writeFiles } from './helpers.js';

const MASTER = 'sk-master-' + 'k'.repeat(32);

function fakeReq(headers: Record<string, string> = {}): IncomingMessage {
  return { headers: { authorization: `Bearer ${MASTER}`, ...headers } } as unknown as IncomingMessage;
}

function exchange(over: Partial<Exchange> = {}): Exchange {
  return {
    startedAt: performance.now() - 250,
    dialect: 'openai-chat',
    model: 'cortex-claude',
    cortexModel: 'claude-sonnet-4-5',
    wire: 'complete',
    stream: true,
    status: 200,
    usage: { promptTokens: 1200, completionTokens: 300, totalTokens: 1500, cachedTokens: 1024 },
    requestId: 'req-1',
    retries: 1,
    ttftMs: 80.44,
    keyLabel: 'master',
    ...over,
  } as Exchange;
}

function rec(over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    v: 1, ts: '2026-11-28T10:00:00.000Z', dialect: 'openai-chat', client: 'openai-js', key: 'master', model: 'm1',
    cortex_model: 'claude-sonnet-4-5', wire: 'complete', stream: false, status: 200, latency_ms: 100, ttft_ms: 50,
    prompt_tokens: 10, completion_tokens: 5, cached_tokens: 0, cache_write_tokens: 0, retries: 0, fallback: null,
    request_id: 'r', error_kind: null, error: null, client_closed: false, ...over,
  };
}

test('a usage record carries the documented fields, no key and no prompt text', () => {
  const r = toRecord(exchange(), fakeReq({ 'user-agent': 'claude-cli/2.1.197 (external, cli)' }), 'none');
  assert.deepEqual(Object.keys(r), [
    'v', 'ts', 'dialect', 'client', 'key', 'model', 'cortex_model', 'wire', 'stream', 'status', 'latency_ms', 'ttft_ms',
    'prompt_tokens', 'completion_tokens', 'cached_tokens', 'cache_write_tokens', 'retries', 'fallback', 'request_id',
    'trace_id', 'error_kind', 'error', 'client_closed',
  ]);
  assert.equal(r.client, 'claude-code');
  assert.equal(r.key, 'master');
  assert.equal(r.prompt_tokens, 1200);
  assert.equal(r.cached_tokens, 1024);
  assert.equal(r.ttft_ms, 80.4);
  assert.ok(r.latency_ms >= 250 && r.latency_ms < 5000, String(r.latency_ms));
  assert.ok(Math.abs(Date.parse(r.ts) - (Date.now() - 250)) < 2000);
  const line = JSON.stringify(r);
  assert.ok(!line.includes(MASTER) && !line.includes('Bearer'));
  assert.deepEqual(parseRecord(line), r);
  // an error keeps its kind; a failed request without usage has zero tokens
  const e = toRecord(exchange({ usage: undefined, status: 429, error: 'Cortex rate limit', errorKind: 'rate_limit' }), fakeReq(), 'none');
  assert.equal(e.error_kind, 'rate_limit');
  assert.equal(e.prompt_tokens, 0);
});

test('user-agent families come from a fixed vocabulary', () => {
  assert.equal(userAgentFamily('OpenAI/JS 6.30.1'), 'openai-js');
  assert.equal(userAgentFamily('codex_cli_rs/0.171.0 (Debian 12)'), 'codex');
  assert.equal(userAgentFamily('Anthropic/JS 0.60.0'), 'anthropic-js');
  assert.equal(userAgentFamily('curl/8.5.0'), 'curl');
  assert.equal(userAgentFamily('something-new/1.0'), 'other');
  assert.equal(userAgentFamily(undefined), 'unknown');
});

test('parseRecord skips garbage, newer versions and partial lines', () => {
  assert.equal(parseRecord('not json'), undefined);
  assert.equal(parseRecord('{"v":2,"ts":"x"}'), undefined);
  assert.equal(parseRecord('{"v":1,"ts":"2026-11-28T10:00:00Z","prompt_tok'), undefined);
  assert.equal(parseRecord('{"v":1,"ts":"2026-11-28T10:00:00Z"}')?.prompt_tokens, 0);
});

test('the usage log batches records into a monthly JSONL file, written on flush/close', async () => {
  const dir = path.join(tempDir(), 'usage');
  const log = new UsageLog(dir, { now: () => new Date('2026-11-28T10:00:00Z') });
  log.append(rec({ request_id: 'a' }));
  log.append(rec({ request_id: 'b' }));
  assert.equal(fs.existsSync(dir), false, 'nothing is written on the request path');
  await log.close();
  const files = listLogFiles(dir);
  assert.deepEqual(files.map((f) => path.basename(f.path)), ['usage-2026-11.jsonl']);
  const lines = fs.readFileSync(files[0].path, 'utf8').trim().split('\n');
  assert.deepEqual(lines.map((l) => JSON.parse(l).request_id), ['a', 'b']);
  assert.equal(fs.statSync(files[0].path).mode & 0o777, 0o600);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
});

test('the usage log rolls over by size and by month, and reading spans all files in order', async () => {
  const dir = tempDir();
  let now = new Date('2026-10-31T23:59:00Z');
  const lineBytes = JSON.stringify(rec({ ts: '2026-10-31T23:59:00.000Z', request_id: 'oct-0' })).length + 1;
  const log = new UsageLog(dir, { maxFileBytes: lineBytes * 3, now: () => now });
  for (let i = 0; i < 7; i++) log.append(rec({ ts: `2026-10-31T23:59:0${i}.000Z`, request_id: `oct-${i}` }));
  await log.flush();
  now = new Date('2026-11-01T00:01:00Z');
  log.append(rec({ ts: '2026-11-01T00:01:00.000Z', request_id: 'nov-0' }));
  await log.close();
  const names = listLogFiles(dir).map((f) => path.basename(f.path));
  assert.deepEqual(names, ['usage-2026-10.jsonl', 'usage-2026-10.2.jsonl', 'usage-2026-10.3.jsonl', 'usage-2026-11.jsonl']);
  for (const f of listLogFiles(dir)) assert.ok(fs.statSync(f.path).size <= lineBytes * 3);
  const all = await readRecords(dir, -Infinity);
  assert.deepEqual(all.map((r) => r.request_id), ['oct-0', 'oct-1', 'oct-2', 'oct-3', 'oct-4', 'oct-5', 'oct-6', 'nov-0']);
  // a reopened log continues the last segment of the month
  const again = new UsageLog(dir, { maxFileBytes: lineBytes * 3, now: () => now });
  again.append(rec({ ts: '2026-11-01T00:02:00.000Z', request_id: 'nov-1' }));
  await again.close();
  assert.equal(fs.readFileSync(path.join(dir, 'usage-2026-11.jsonl'), 'utf8').trim().split('\n').length, 2);
  // --since skips older records (and does not open whole months before it)
  const since = await readRecords(dir, Date.parse('2026-11-01T00:00:00Z'));
  assert.deepEqual(since.map((r) => r.request_id), ['nov-0', 'nov-1']);
});

test('a usage log that cannot write warns once and never throws', async () => {
  const dir = tempDir();
  const blocker = path.join(dir, 'file');
  fs.writeFileSync(blocker, 'x');
  const warnings: string[] = [];
  const log = new UsageLog(path.join(blocker, 'usage'), { onError: (m) => warnings.push(m) });
  log.append(rec());
  await log.flush();
  log.append(rec());
  await log.close();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /cannot write to .*usage.*dropped/);
});

test('the default usage folder follows the platform and XDG_DATA_HOME, and CORTEX_PROXY_USAGE_DIR wins', () => {
  assert.equal(defaultUsageDir({}, 'linux', '/home/u'), '/home/u/.local/share/cortex-proxy/usage');
  assert.equal(defaultUsageDir({ XDG_DATA_HOME: '/x/data' }, 'linux', '/home/u'), '/x/data/cortex-proxy/usage');
  assert.equal(defaultUsageDir({}, 'darwin', '/Users/u'), '/Users/u/Library/Application Support/cortex-proxy/usage');
  assert.equal(defaultUsageDir({ CORTEX_PROXY_USAGE_DIR: '/srv/usage' }, 'linux', '/home/u'), '/srv/usage');
});

test('credit estimates: published rates, the cache-read discount from 1,024 cached tokens, unknown models', () => {
  const rates = mergeRates(undefined);
  const sonnet = DEFAULT_CREDIT_RATES['claude-sonnet-4-5'];
  assert.deepEqual(sonnet, { input: 1.5, output: 7.5, cachedInput: 0.15 });
  const base = { model: 'x', cortex_model: 'claude-sonnet-4-5', prompt_tokens: 1_000_000, completion_tokens: 100_000, cached_tokens: 0 };
  assert.equal(estimateCredits(base, rates), 1.5 + 0.75);
  // 600k of the prompt read from the cache: 400k at 1.5 + 600k at 0.15 + output
  assert.ok(Math.abs(estimateCredits({ ...base, cached_tokens: 600_000 }, rates)! - (0.6 + 0.09 + 0.75)) < 1e-9);
  // fewer than 1,024 cached tokens: billed at the input rate
  assert.equal(estimateCredits({ ...base, cached_tokens: 1000 }, rates), 1.5 + 0.75);
  assert.equal(estimateCredits({ ...base, cortex_model: 'claude-4-sonnet' }, rates), undefined);
  const own = mergeRates({ 'claude-4-sonnet': { input: 1, output: 2 } });
  assert.equal(estimateCredits({ ...base, cortex_model: 'claude-4-sonnet' }, own), 1 + 0.2);
});

test('aggregation by model, client, day and key; totals; unrated models; text and CSV', () => {
  const records = [
    rec({ model: 'a', client: 'codex', prompt_tokens: 100, completion_tokens: 10 }),
    rec({ model: 'a', client: 'claude-code', ts: '2026-11-29T01:00:00.000Z', prompt_tokens: 50, completion_tokens: 5 }),
    rec({ model: 'b', cortex_model: 'claude-4-sonnet', client: 'codex', prompt_tokens: 7, completion_tokens: 3 }),
    rec({ model: 'b', cortex_model: 'claude-4-sonnet', status: 429, error_kind: 'rate_limit', prompt_tokens: 0, completion_tokens: 0 }),
  ];
  const rates = mergeRates(undefined);
  const byModel = aggregate(records, 'model', rates);
  assert.deepEqual(byModel.groups.map((g) => [g.key, g.requests, g.errors, g.total_tokens]), [['a', 2, 0, 165], ['b', 2, 1, 10]]);
  assert.equal(byModel.totals.requests, 4);
  assert.equal(byModel.totals.prompt_tokens, 157);
  assert.equal(byModel.totals.completion_tokens, 18);
  assert.equal(byModel.totals.unrated, 1);
  assert.deepEqual(byModel.unratedModels, ['claude-4-sonnet']);
  assert.ok(Math.abs(byModel.totals.credits - (150 * 1.5 + 15 * 7.5) / 1e6) < 1e-12);
  assert.deepEqual(aggregate(records, 'client', rates).groups.map((g) => g.key), ['codex', 'claude-code', 'openai-js']);
  assert.deepEqual(aggregate(records, 'day', rates).groups.map((g) => g.key), ['2026-11-28', '2026-11-29']);
  assert.deepEqual(aggregate(records, 'key', rates).groups.map((g) => g.key), ['master']);
  const text = formatText(byModel, 'model', 'since x');
  assert.match(text, /^TOTAL\s+4\s+1\s+157\s+0\s+18\s+175\s+0\.0003\d*\+$/m);
  assert.match(text, /No rate for claude-4-sonnet/);
  const csv = formatCsv(byModel, 'model').trim().split('\n');
  assert.equal(csv[0], 'model,requests,errors,prompt_tokens,cached_tokens,completion_tokens,total_tokens,estimated_credits,unrated_requests');
  assert.equal(csv.at(-1), `TOTAL,4,1,157,0,18,175,${Number(byModel.totals.credits.toFixed(6))},1`);
});

test('--since accepts durations, dates and all; rejects anything else', () => {
  const now = Date.parse('2026-11-28T12:00:00Z');
  assert.equal(parseSince('24h', now), now - 86_400_000);
  assert.equal(parseSince('30m', now), now - 1_800_000);
  assert.equal(parseSince('7d', now), now - 7 * 86_400_000);
  assert.equal(parseSince('2026-11-01', now), Date.parse('2026-11-01'));
  assert.equal(parseSince('all', now), -Infinity);
  assert.throws(() => parseSince('yesterday', now), /--since must be/);
});

test('config: usage_log_dir (relative to the file), usage_log_max_mb, public_metrics, credit_rates; bad rates fail with the line', () => {
  const dir = tempDir();
  const model = 'model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      api_base: https://a-b.snowflakecomputing.com/api/v2\n      api_key: os.environ/SNOWFLAKE_PAT\n';
  writeFiles(dir, {
    'c.yaml': model + 'general_settings:\n  usage_log_dir: ./usage\n  usage_log_max_mb: 5\n  public_metrics: true\n  credit_rates:\n    claude-4-sonnet: { input: 1.5, output: 7.5, cached_input: 0.15 }\n',
    'bad.yaml': model + 'general_settings:\n  credit_rates:\n    claude-4-sonnet: { input: 1.5 }\n',
  });
  const env = { SNOWFLAKE_PAT: 'p'.repeat(40) };
  const c = loadConfig({ configPath: 'c.yaml', cwd: dir, env: { ...env } });
  assert.equal(c.settings.usageLogDir, path.join(dir, 'usage'));
  assert.equal(c.settings.usageLogMaxBytes, 5 * 1024 * 1024);
  assert.equal(c.settings.publicMetrics, true);
  assert.deepEqual(c.settings.creditRates, { 'claude-4-sonnet': { input: 1.5, output: 7.5, cachedInput: 0.15 } });
  assert.equal(c.warnings.filter((w) => /unknown key/.test(w)).length, 0);
  assert.throws(
    () => loadConfig({ configPath: 'bad.yaml', cwd: dir, env: { ...env } }),
    (e: unknown) => e instanceof ConfigError && /bad\.yaml:9:.*credit_rates\.claude-4-sonnet needs both input and output/.test(e.message),
  );
});

test('metrics: a strict Prometheus parse, bounded model labels, histograms, in-flight gauge back to zero', () => {
  const m = new Metrics(['cortex-claude'], ['claude-sonnet-4-5'], '0.1.0');
  const x = exchange();
  m.start(x);
  assert.equal(m.inFlightCount(), 1);
  m.finish(x, fakeReq(), 250);
  const evil = exchange({ model: 'attacker "name"\n{}', status: 404, error: 'model not configured', errorKind: 'not_found', usage: undefined, retries: 0, ttftMs: undefined });
  m.finish(evil, fakeReq(), 3);
  m.upstream('claude-sonnet-4-5', 429);
  m.upstream('claude-sonnet-4-5', 200);
  m.upstream('unknown', 0);
  const fam = parsePrometheus(m.render());
  assert.equal(m.inFlightCount(), 0);
  assert.equal(total(fam, 'cortex_proxy_requests_total'), 2);
  assert.equal(total(fam, 'cortex_proxy_requests_total', { model: 'other', status: '404' }), 1);
  assert.equal(total(fam, 'cortex_proxy_errors_total', { kind: 'not_found' }), 1);
  assert.equal(total(fam, 'cortex_proxy_tokens_total', { type: 'prompt' }), 1200);
  assert.equal(total(fam, 'cortex_proxy_tokens_total', { type: 'completion' }), 300);
  assert.equal(total(fam, 'cortex_proxy_tokens_total', { type: 'cached' }), 1024);
  assert.equal(total(fam, 'cortex_proxy_retries_total'), 1);
  assert.equal(total(fam, 'cortex_proxy_upstream_responses_total', { code: '429' }), 1);
  assert.equal(total(fam, 'cortex_proxy_upstream_responses_total', { cortex_model: 'other', code: 'none' }), 1);
  assert.equal(total(fam, 'cortex_proxy_in_flight_requests'), 0);
  assert.equal(total(fam, 'cortex_proxy_request_duration_seconds', { model: 'cortex-claude' }, 'cortex_proxy_request_duration_seconds_count'), 1);
  assert.equal(total(fam, 'cortex_proxy_request_duration_seconds', { model: 'cortex-claude', le: '0.25' }, 'cortex_proxy_request_duration_seconds_bucket'), 1);
  assert.equal(total(fam, 'cortex_proxy_request_duration_seconds', { model: 'cortex-claude', le: '0.1' }, 'cortex_proxy_request_duration_seconds_bucket'), 0);
  assert.equal(total(fam, 'cortex_proxy_time_to_first_token_seconds', {}, 'cortex_proxy_time_to_first_token_seconds_count'), 1);
  const models = new Set([...fam.values()].flatMap((f) => f.samples.map((s) => s.labels.model)).filter(Boolean));
  assert.deepEqual([...models].sort(), ['cortex-claude', 'other']);
});

test('live statistics: totals, per-minute series, percentiles, groups, recent and errors', () => {
  let now = Date.parse('2026-11-28T10:30:30Z');
  const live = new LiveStats(mergeRates(undefined), new Set(['m1']), () => now);
  for (let i = 0; i < 10; i++) live.add(rec({ ts: new Date(now - 60_000).toISOString(), latency_ms: (i + 1) * 100, request_id: `r${i}` }));
  live.add(rec({ ts: new Date(now).toISOString(), model: 'zzz', status: 500, error_kind: 'upstream', error: 'broke', prompt_tokens: 0, completion_tokens: 0 }));
  const s = live.snapshot();
  assert.equal(s.totals.requests, 11);
  assert.equal(s.totals.errors, 1);
  assert.equal(s.totals.total_tokens, 150);
  assert.equal(s.per_minute.t.length, 60);
  assert.equal(s.per_minute.requests.at(-1), 1);
  assert.equal(s.per_minute.requests.at(-2), 10);
  assert.equal(s.per_minute.prompt_tokens.at(-2), 100);
  assert.equal(s.per_minute.latency_p50.at(-2), 500);
  assert.equal(s.latency_ms.p90, 900);
  assert.deepEqual(s.by_model.map((g) => g.key), ['m1', 'other']);
  assert.equal(s.recent[0].error_kind, 'upstream');
  assert.equal(s.recent.length, 11);
  assert.equal(s.errors.length, 1);
  now += 61 * 60_000; // an hour later the old minutes have left the window
  assert.equal(live.snapshot().per_minute.requests.reduce((a, b) => a + b, 0), 0);
});

test('the status line draws on a TTY only, keeps log lines above it, and clears itself on stop', () => {
  const writes: string[] = [];
  const tty = { isTTY: true, columns: 200, write: (s: string) => void writes.push(s) };
  const totals = { requests: 3, errors: 1, prompt_tokens: 12_000, completion_tokens: 400, cached_tokens: 0, total_tokens: 12_400, credits: 0.02, unrated: 0 };
  const line = createStatusLine(tty, { enabled: true });
  line.attach({ totals: () => totals, inFlight: () => 2 });
  assert.equal(writes.at(-1), '\r\x1b[2K' + formatStatus(totals, 2));
  assert.match(writes.at(-1)!, /3 requests · 12\.4k tokens \(12\.0k prompt, 400 completion\) · 1 error · 2 in flight · ~0\.0200 credits/);
  line.write('a log line\n');
  assert.deepEqual(writes.slice(-2), ['\r\x1b[2Ka log line\n', formatStatus(totals, 2)]);
  line.stop();
  assert.equal(writes.at(-1), '\r\x1b[2K');

  const piped: string[] = [];
  const quiet = createStatusLine({ isTTY: false, write: (s: string) => void piped.push(s) }, { enabled: true });
  quiet.attach({ totals: () => totals, inFlight: () => 0 });
  quiet.write('x\n');
  quiet.stop();
  assert.deepEqual(piped, ['x\n']);
});

test('SQL API client: 202 then polling, every partition, 422 "no warehouse" and 403 explained; rows matched by request id', { timeout: 20_000 }, async () => {
  const { createServer } = await import('node:http');
  const { runStatement, parseRows, compare } = await import('../src/usage/snowflake.js');
  const seen: string[] = [];
  let mode: 'ok' | 'nowh' | 'forbidden' = 'ok';
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization === 'Bearer the-pat' ? 'auth' : 'NOAUTH'} ${req.headers['x-snowflake-authorization-token-type']}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (mode === 'nowh') return send(422, { code: '000606', message: 'No active warehouse selected in the current session.' });
    if (mode === 'forbidden') return send(403, { message: 'Not Authorized' });
    if (req.method === 'POST') return send(202, { code: '333334', statementHandle: 'h1', statementStatusUrl: '/api/v2/statements/h1' });
    if (req.url === '/api/v2/statements/h1')
      return send(200, {
        resultSetMetaData: { partitionInfo: [{ rowCount: 1 }, { rowCount: 1 }], rowType: ['START_TIME', 'REQUEST_ID', 'MODEL_NAME', 'TOKENS', 'TOKENS_GRANULAR'].map((name) => ({ name })) },
        data: [['1795892366.500000000', 'r1', 'claude-sonnet-4-5', '15', '{"input":10,"output":5}']],
        statementHandle: 'h1',
      });
    if (req.url === '/api/v2/statements/h1?partition=1') return send(200, { data: [['1795892367.000000000', 'r2', 'claude-sonnet-4-5', '20', '{"input":12,"output":8,"cache_read_input":0}']] });
    send(404, { message: 'no' });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const apiBase = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v2`;
  const d = { modelName: 'm', cortexModel: 'claude-sonnet-4-5', apiBase, auth: { type: 'pat' as const, token: 'the-pat' }, wire: 'complete' as const };
  try {
    const result = await runStatement(d, 'SELECT …', { warehouse: 'WH' });
    const rows = parseRows(result);
    assert.deepEqual(rows.map((r) => [r.requestId, r.tokens, r.input, r.output]), [['r1', 15, 10, 5], ['r2', 20, 12, 8]]);
    assert.equal(rows[0].start, 1795892366500);
    assert.match(seen[0], /^POST \/api\/v2\/statements\?requestId=[0-9a-f-]{36} auth PROGRAMMATIC_ACCESS_TOKEN$/);
    assert.deepEqual(seen.slice(1).map((s) => s.split(' ')[1]), ['/api/v2/statements/h1', '/api/v2/statements/h1?partition=1']);
    const c = compare([rec({ request_id: 'r1', prompt_tokens: 10, completion_tokens: 5 }), rec({ request_id: 'r3' })], rows);
    assert.equal(c.unmatched_local, 1);
    assert.deepEqual(c.models.map((m) => [m.model, m.snowflake_requests, m.snowflake_tokens, m.local_requests, m.matched_requests, m.matched_local_tokens, m.matched_snowflake_tokens]), [['claude-sonnet-4-5', 2, 35, 2, 1, 15, 15]]);
    mode = 'nowh';
    await assert.rejects(runStatement(d, 'SELECT …'), /No active warehouse.*--warehouse/);
    mode = 'forbidden';
    await assert.rejects(runStatement(d, 'SELECT …'), (e: Error) => /403.*IMPORTED PRIVILEGES/.test(e.message) && !e.message.includes('the-pat'));
  } finally {
    server.close();
  }
});
