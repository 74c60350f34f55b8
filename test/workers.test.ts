// serve --workers: the real CLI with two worker processes (server/cluster.ts) against the emulator, on 127.0.0.1
// port 0 (the primary owns the socket; the ready line tells the port). What is per-process with one worker must
// hold for the whole server: one intact usage-log line per request (the primary is the single writer), /metrics and
// /ui totals whichever worker answers, a virtual key's rpm, budget and max_parallel across workers (through the
// primary; with Redis directly), the failed-key limit, SIGTERM draining a stream on each worker, a killed worker
// replaced and its admissions freed. Each new connection goes to the next worker (round robin), so requests on
// fresh connections reach both; the load test checks that each worker wrote its share (/proc/PID/io).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request, type Agent } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { listLogFiles } from '../src/usage/log.js';
import { cleanEnv, runCli, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';
import { STRONG_KEY, writeAccount } from './setup-helpers.js';
import { DIALECTS, PATHS, agent, bodyFor, readStream, type DialectName } from './reliability-helpers.js';

const PAT = 'workers-pat-' + 'w'.repeat(40);
const MASTER = 'sk-workers-master-' + 'm'.repeat(32);

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true });
});
after(() => emu.close());
beforeEach(() => emu.reset());

function configText(extra = ''): string {
  return (
    `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-sonnet-4-5\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\n      cortex_api: complete\n` +
    `general_settings:\n  usage_log_dir: ./usage\n  database_path: ./team\n${extra}`
  );
}

async function start(args: string[] = ['--workers', '2'], extra = '', env: Record<string, string> = {}): Promise<{ proxy: RunningProxy; dir: string; env: NodeJS.ProcessEnv }> {
  const dir = tempDir();
  writeFiles(dir, { 'cortex-proxy.yaml': configText(extra) });
  const e = cleanEnv({ SNOWFLAKE_PAT: PAT, ...env });
  return { proxy: await startProxy(['--quiet', ...args], { cwd: dir, env: e }), dir, env: e };
}

const records = (dir: string) => {
  const lines = listLogFiles(path.join(dir, 'usage')).flatMap((f) => readFileSync(f.path, 'utf8').split('\n').filter(Boolean));
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>); // throws on a torn or interleaved line
};

const exitOf = (p: RunningProxy) => (p.child.exitCode !== null ? Promise.resolve([p.child.exitCode, null]) : once(p.child, 'exit')) as Promise<[number | null, NodeJS.Signals | null]>;

/** One request on its own connection (so round robin spreads them over the workers). */
async function call(url: string, d: DialectName, stream: boolean, headers: Record<string, string> = {}, prompt = 'hi') {
  const res = await request(url + PATHS[d], {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close', ...headers },
    body: JSON.stringify(bodyFor(d, 'm', prompt, stream)),
  });
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

async function get(url: string, p: string, headers: Record<string, string> = {}) {
  const res = await request(url + p, { headers: { connection: 'close', ...headers } });
  return { status: res.statusCode, text: await res.body.text() };
}

const requestsTotal = (metrics: string) =>
  metrics
    .split('\n')
    .filter((l) => l.startsWith('cortex_proxy_requests_total{'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);

/** Bytes a process has written so far (answers on sockets, log lines, IPC messages: /proc/PID/io wchar). */
const written = (pid: number) => Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);

const workerPids = (banner: string) => /pids (\d+), (\d+);/.exec(banner)!.slice(1).map(Number);

test('two workers under concurrent load: every request has one intact usage line; /metrics and /ui count all of them whichever worker answers', { timeout: 60_000 }, async () => {
  const { proxy, dir } = await start();
  const banner = await proxy.waitForLog('with 2 workers');
  assert.match(banner, /listening on http:\/\/127\.0\.0\.1:\d+ with 2 workers \(pids \d+, \d+;/);
  assert.match(proxy.url, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/, 'the ready line has the real port');
  const pids = workerPids(banner);
  const before = pids.map(written);
  const exited = exitOf(proxy);
  // 48 requests on fresh connections, all at once, plus 240 over 16 kept-alive connections (16 at a time): every
  // dialect, streamed and not, and every 8th for an unknown model with a long name (a 404 whose record carries the
  // name, 200 characters). The records reach the primary from both workers in batches; a torn or interleaved write
  // would break JSON.parse below or the count.
  const LONG = 'no-such-model-' + 'z'.repeat(300);
  const expected = { ok: 0, missing: 0 };
  const one = (i: number, extra: { dispatcher?: Agent; headers?: Record<string, string> }) => {
    const d = DIALECTS[i % 3];
    const model = i % 8 === 7 ? LONG : 'm';
    expected[model === 'm' ? 'ok' : 'missing']++;
    return request(proxy.url + PATHS[d], {
      method: 'POST',
      dispatcher: extra.dispatcher,
      headers: { 'content-type': 'application/json', 'user-agent': `workers-test/${i}`, ...extra.headers },
      body: JSON.stringify(bodyFor(d, model, `question ${i} ${'y'.repeat(i % 50)}`, i % 2 === 0)),
    }).then(async (r) => ({ model, status: r.statusCode, text: await r.body.text() }));
  };
  const pool = agent(16);
  let next = 48;
  const [fresh, pooled] = await Promise.all([
    Promise.all(Array.from({ length: 48 }, (_, i) => one(i, { headers: { connection: 'close' } }))),
    Promise.all(Array.from({ length: 16 }, async () => {
      const out: Array<{ model: string; status: number; text: string }> = [];
      while (next < 288) out.push(await one(next++, { dispatcher: pool }));
      return out;
    })).then((xs) => xs.flat()),
  ]);
  await pool.close();
  for (const a of [...fresh, ...pooled]) assert.equal(a.status, a.model === 'm' ? 200 : 404, a.text);
  // Both workers served a share (round robin hands each new connection to the next worker).
  pids.forEach((pid, i) => assert.ok(written(pid) - before[i] > 20_000, `worker ${pid} served requests (wrote ${written(pid) - before[i]} bytes)`));
  // Several scrapes (each on a new connection, so both workers answer some): the same whole-server totals.
  for (let i = 0; i < 4; i++) {
    const m = await get(proxy.url, '/metrics');
    assert.equal(m.status, 200);
    assert.equal(requestsTotal(m.text), 288, m.text);
    assert.match(m.text, /cortex_proxy_in_flight_requests\{[^}]*\} 0/);
    const s = JSON.parse((await get(proxy.url, '/ui/api/stats')).text) as { totals: { requests: number }; usage_log: string };
    assert.equal(s.totals.requests, 288);
    assert.equal(s.usage_log, path.join(dir, 'usage'));
  }
  proxy.child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0);
  const recs = records(dir);
  assert.equal(recs.length, 288, 'exactly one line per request');
  assert.equal(recs.filter((r) => r.status === 200).length, expected.ok);
  const missing = recs.filter((r) => r.status === 404);
  assert.equal(missing.length, expected.missing);
  assert.ok(missing.every((r) => r.model === LONG.slice(0, 200)), 'the long model name, whole up to its 200-character cap');
  assert.equal(new Set(recs.map((r) => r.dialect)).size, 3);
});

test('general_settings.workers; bad values are refused with a clear message', { timeout: 30_000 }, async () => {
  const { proxy } = await start([], '  workers: 2\n');
  try {
    await proxy.waitForLog('with 2 workers');
    assert.equal((await call(proxy.url, 'chat', false)).status, 200);
  } finally {
    await proxy.stop();
  }
  const dir = tempDir();
  writeFiles(dir, { 'cortex-proxy.yaml': configText() });
  const bad = await runCli(['serve', '--port', '0', '--workers', '0'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--workers must be a whole number from 1 to 256 or auto/);
  writeFiles(dir, { 'cortex-proxy.yaml': configText('  workers: many\n') });
  const badKey = await runCli(['serve', '--port', '0'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
  assert.equal(badKey.code, 2);
  assert.match(badKey.stderr, /general_settings\.workers must be a whole number of processes from 1 to 256, or auto/);
});

async function limitsAcrossWorkers(extra: string) {
  const { proxy, dir, env } = await start(['--workers', '2'], extra, { LITELLM_MASTER_KEY: MASTER });
  try {
    const created = await runCli(['keys', 'create', '--label', `rpm-${Date.now()}`, '--rpm', '3'], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    const auth = { authorization: `Bearer ${key}` };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(proxy.url, 'chat', false, auth)).status); // one connection each: both workers
    assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429], 'rpm 3 holds for the whole server, not per worker');

    // A token budget: spend is in the shared store (every worker reads the same ledger), reservations in one limiter.
    const budget = await runCli(['keys', 'create', '--label', `budget-${Date.now()}`, '--budget-tokens', '50', '--period', 'day'], { cwd: dir, env });
    assert.equal(budget.code, 0, budget.stderr);
    const bkey = { authorization: `Bearer ${budget.stdout.trim()}` };
    const spent: number[] = [];
    emu.script(...[1, 2].map(() => ({ text: 'ok', usage: { prompt_tokens: 10, completion_tokens: 20 } }))); // 30 tokens each
    for (let i = 0; i < 4; i++) spent.push((await call(proxy.url, 'chat', false, bkey)).status);
    assert.deepEqual(spent, [200, 200, 402, 402], 'the day budget is used up for the whole server, whichever worker answers');

    // max_parallel 1: a stream in flight on one worker refuses a second request on the other.
    const par = await runCli(['keys', 'create', '--label', `par-${Date.now()}`, '--max-parallel', '1'], { cwd: dir, env });
    const pkey = { authorization: `Bearer ${par.stdout.trim()}` };
    emu.setKnobs({ chunkChars: 4, chunkDelayMs: 60 });
    emu.script({ text: 'a stream that stays open for a while' });
    const slow = await request(proxy.url + PATHS.chat, { method: 'POST', headers: { 'content-type': 'application/json', ...pkey }, body: JSON.stringify(bodyFor('chat', 'm', 'go', true)) });
    assert.equal(slow.statusCode, 200);
    const refused = [await call(proxy.url, 'chat', false, pkey), await call(proxy.url, 'chat', false, pkey)];
    assert.deepEqual(refused.map((r) => r.status), [429, 429], 'in flight on one worker counts on both');
    assert.match(refused[0].text, /requests in flight at once/);
    assert.equal(readStream('chat', await slow.body.text()).clean, true);
    emu.setKnobs({ chunkChars: 1000, chunkDelayMs: 0 });
    // The slot is free again once the stream ended (whichever worker is asked).
    await proxy.waitForLog(/POST \/v1\/chat\/completions status=200 .*tokens=/);
    let after = 0;
    for (let i = 0; i < 20 && after !== 200; i++) after = (await call(proxy.url, 'chat', false, pkey)).status;
    assert.equal(after, 200);
  } finally {
    await proxy.stop();
  }
}

test('a virtual key’s rpm, max_parallel and budget hold across workers (embedded store: through the primary)', { timeout: 60_000 }, async () => {
  await limitsAcrossWorkers('');
});

test('a virtual key’s rpm, max_parallel and budget hold across workers (Redis)', { timeout: 60_000, skip: !process.env.CORTEX_PROXY_TEST_REDIS_URL && 'CORTEX_PROXY_TEST_REDIS_URL not set' }, async () => {
  await limitsAcrossWorkers(`  redis_url: ${process.env.CORTEX_PROXY_TEST_REDIS_URL}\n`);
});

test('wrong API keys are counted for the whole server: after 10, the address gets 429 from every worker; the right key passes', { timeout: 60_000 }, async () => {
  const { proxy } = await start(['--workers', '2'], `  master_key: ${MASTER}\n  trusted_proxies: [127.0.0.1/32]\n`);
  try {
    const from = (ip: string, key: string) => ({ 'x-forwarded-for': ip, authorization: `Bearer ${key}` });
    for (let k = 0; k < 10; k++) assert.equal((await get(proxy.url, '/v1/models', from('192.0.2.66', `wrong-${k}`))).status, 401);
    await proxy.waitForLog('192.0.2.66 sent 10 wrong API keys');
    // Each further try is on a new connection, so both workers answer some of them.
    for (let k = 0; k < 4; k++) assert.equal((await get(proxy.url, '/v1/models', from('192.0.2.66', `again-${k}`))).status, 429);
    for (let k = 0; k < 2; k++) assert.equal((await get(proxy.url, '/v1/models', from('192.0.2.66', MASTER))).status, 200, 'a right key always passes');
    assert.equal((await get(proxy.url, '/v1/models', from('192.0.2.77', 'wrong'))).status, 401, 'another address is not throttled');
  } finally {
    await proxy.stop();
  }
});

/** Opens a stream on its own connection and reads its first bytes (it is then in flight on one worker). */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const res = await request(url + PATHS.chat, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close', ...headers }, body: JSON.stringify(bodyFor('chat', 'm', 'go', true)) });
  assert.equal(res.statusCode, 200);
  const it = res.body[Symbol.asyncIterator]();
  let raw = Buffer.from(((await it.next()).value as Buffer)).toString('utf8');
  return {
    /** The rest of the stream; resolves with everything read (or what was read when the connection broke). */
    async rest(): Promise<{ raw: string; broken: boolean }> {
      try {
        for (let r = await it.next(); !r.done; r = await it.next()) raw += Buffer.from(r.value as Buffer).toString('utf8');
        return { raw, broken: false };
      } catch {
        return { raw, broken: true };
      }
    },
  };
}

test('SIGTERM to the primary: a stream in flight on each worker finishes, every record is written, exit 0', { timeout: 60_000 }, async () => {
  const { proxy, dir } = await start();
  const exited = exitOf(proxy);
  for (let i = 0; i < 4; i++) assert.equal((await call(proxy.url, DIALECTS[i % 3], false)).status, 200);
  emu.setKnobs({ chunkChars: 4, chunkDelayMs: 60 });
  const TEXT = 'an answer that takes about a second to stream';
  emu.script({ text: TEXT }, { text: TEXT });
  // Two connections one after the other: round robin gives them to the two workers.
  const streams = [await openStream(proxy.url), await openStream(proxy.url)];
  proxy.child.kill('SIGTERM');
  await proxy.waitForLog('SIGTERM: finishing in-flight requests');
  for (const st of streams) {
    const { raw, broken } = await st.rest();
    assert.equal(broken, false);
    const s = readStream('chat', raw);
    assert.equal(s.text, TEXT);
    assert.equal(s.clean, true, 'the stream finished normally');
  }
  const [code] = await exited;
  assert.equal(code, 0, proxy.stderr());
  const recs = records(dir);
  assert.equal(recs.length, 6, 'the four answers and the two drained streams');
  const streamed = recs.filter((r) => r.stream === true);
  assert.equal(streamed.length, 2);
  assert.ok(streamed.every((r) => (r.completion_tokens as number) > 0 && r.client_closed === false));
});

test('workers killed with a stream in flight: its max_parallel slot is freed (embedded store), the replacements serve the key', { timeout: 60_000 }, async () => {
  const { proxy, dir, env } = await start(['--workers', '2'], '', { LITELLM_MASTER_KEY: MASTER });
  try {
    const pids = workerPids(await proxy.waitForLog('with 2 workers'));
    const par = await runCli(['keys', 'create', '--label', `par-${Date.now()}`, '--max-parallel', '1'], { cwd: dir, env });
    assert.equal(par.code, 0, par.stderr);
    const pkey = { authorization: `Bearer ${par.stdout.trim()}` };
    emu.setKnobs({ chunkChars: 4, chunkDelayMs: 60 });
    emu.script({ text: 'a stream long enough to be cut by the crash '.repeat(10) });
    const slow = await openStream(proxy.url, pkey);
    assert.equal((await call(proxy.url, 'chat', false, pkey)).status, 429, 'the slot is taken while the stream is in flight');
    // Whichever worker holds the stream, it dies (the other's death is just one more crash).
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await nthLine(proxy, /worker \d+ \(pid \d+\) is serving/, 2); // both replaced
    const cut = await slow.rest();
    assert.ok(cut.broken || !readStream('chat', cut.raw).clean, 'the stream was cut');
    emu.setKnobs({ chunkChars: 1000, chunkDelayMs: 0 });
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) statuses.push((await call(proxy.url, 'chat', false, pkey)).status); // both replacements
    assert.deepEqual(statuses, [200, 200], 'the dead worker’s admission was freed');
  } finally {
    await proxy.stop();
  }
});

test('a killed worker is replaced and the server keeps answering; its earlier requests stay counted', { timeout: 60_000 }, async () => {
  const { proxy, dir } = await start();
  const exited = exitOf(proxy);
  const pids = workerPids(await proxy.waitForLog('with 2 workers'));
  for (let i = 0; i < 4; i++) assert.equal((await call(proxy.url, 'chat', false)).status, 200);
  assert.equal(requestsTotal((await get(proxy.url, '/metrics')).text), 4);
  process.kill(pids[0], 'SIGKILL');
  await proxy.waitForLog(`(pid ${pids[0]}) stopped unexpectedly (signal SIGKILL); starting a new one`);
  await proxy.waitForLog(/worker \d+ \(pid \d+\) is serving/);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await call(proxy.url, DIALECTS[i % 3], i % 2 === 0)).status);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
  for (let i = 0; i < 2; i++) assert.equal(requestsTotal((await get(proxy.url, '/metrics')).text), 10, 'counters scraped before the crash stay in the sums');
  proxy.child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0);
  assert.equal(records(dir).length, 10);
});

/** Resolves with the n-th stderr line matching `re` (waits for it). */
function nthLine(p: RunningProxy, re: RegExp, n: number): Promise<string> {
  const find = () => p.stderr().split('\n').filter((l) => re.test(l))[n - 1];
  return new Promise((resolve, reject) => {
    const check = () => {
      const line = find();
      if (line === undefined) return false;
      p.child.stderr!.off('data', check);
      resolve(line);
      return true;
    };
    if (check()) return;
    p.child.stderr!.on('data', check);
    p.child.once('exit', () => (find() === undefined ? reject(new Error(`exited before ${re}:\n${p.stderr()}`)) : undefined));
  });
}

test('a crash loop stops the server with a clear message', { timeout: 60_000 }, async () => {
  const { proxy } = await start();
  const exited = exitOf(proxy);
  const banner = await proxy.waitForLog('with 2 workers');
  let pid = Number(/pids (\d+),/.exec(banner)![1]);
  for (let i = 1; i <= 5; i++) {
    process.kill(pid, 'SIGKILL');
    if (i === 5) break;
    const line = await nthLine(proxy, /worker \d+ \(pid \d+\) is serving/, i); // its replacement
    pid = Number(/\(pid (\d+)\)/.exec(line)![1]);
  }
  const [code] = await exited;
  assert.equal(code, 1);
  assert.match(proxy.stderr(), /workers crashed 5 times within 60 s .*stopping the server/);
});

test('serve --tunnel --workers 2: one tunnel process (the primary’s); its host and its failed-key limit hold on every worker', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  writeAccount(dir, { apiBase: emu.apiBase, pat: PAT });
  const bin = tempDir('fake-bin-');
  const record = path.join(bin, 'record.jsonl');
  writeFileSync(
    path.join(bin, 'cloudflared'),
    `#!${process.execPath}
require('fs').appendFileSync(${JSON.stringify(record)}, JSON.stringify({ argv: process.argv.slice(2), pid: process.pid }) + '\\n');
process.stderr.write('2026-11-28T00:00:00Z INF |  https://quiet-river-1234.trycloudflare.com  |\\n');
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`,
  );
  chmodSync(path.join(bin, 'cloudflared'), 0o755);
  const p = await startProxy(['--tunnel', '--workers', '2'], { cwd: dir, env: cleanEnv({ PATH: bin }) });
  try {
    await p.waitForLog('Public URL: https://quiet-river-1234.trycloudflare.com');
    const runs = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; pid: number });
    assert.equal(runs.length, 1, 'one tunnel for the server');
    assert.deepEqual(runs[0].argv, ['tunnel', '--url', `http://127.0.0.1:${new URL(p.url).port}`]);
    const models = (headers: Record<string, string>) => get(p.url, '/v1/models', headers).then((r) => r.status);
    for (let i = 0; i < 4; i++) assert.equal(await models({ host: 'quiet-river-1234.trycloudflare.com', authorization: `Bearer ${STRONG_KEY}`, 'cf-connecting-ip': '192.0.2.50' }), 200, 'the tunnel host, on each worker');
    for (let i = 0; i < 10; i++) assert.equal(await models({ authorization: 'Bearer sk-wrong', 'cf-connecting-ip': '203.0.113.7' }), 401);
    for (let i = 0; i < 4; i++) assert.equal(await models({ authorization: 'Bearer sk-wrong', 'cf-connecting-ip': '203.0.113.7' }), 429);
    assert.equal(await models({ authorization: `Bearer ${STRONG_KEY}`, 'cf-connecting-ip': '203.0.113.7' }), 200);
  } finally {
    await p.stop();
  }
  const pid = (JSON.parse(readFileSync(record, 'utf8').trim()) as { pid: number }).pid;
  assert.throws(() => process.kill(pid, 0), 'the tunnel stopped with the server');
});
