// The fault matrix, through the real CLI in front of the emulator, for each client dialect (Chat Completions,
// Anthropic Messages, Responses): what the client sees for every upstream failure class, that retries happen only
// before output and only for transient failures, and that every exchange releases its upstream request (the
// emulator has nothing pending; the proxy's in-flight and busy-connection gauges are back to zero).
// Transport failures (refused, DNS, TLS) are in test/faults-transport.test.ts.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { cleanEnv, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';
import { DIALECTS, call, gauges, waitUntil, type DialectName } from './reliability-helpers.js';

const PAT = 'faults-pat-' + 'p'.repeat(40);
const MASTER = 'sk-faults-master-' + 'k'.repeat(32);
const TEXT = 'The first words arrive, and then the upstream misbehaves in one way or another.';

let emu: Emulator;
let proxy: RunningProxy;

const model = (name: string, cortex: string, api: string, base: string) =>
  `  - model_name: ${name}\n    litellm_params:\n      model: snowflake/${cortex}\n      api_base: ${base}\n      api_key: os.environ/SNOWFLAKE_PAT\n      cortex_api: ${api}\n`;

before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true });
  const dir = tempDir();
  writeFiles(dir, {
    'cortex-proxy.yaml':
      'model_list:\n' +
      model('m', 'claude-sonnet-4-5', 'complete', emu.apiBase) +
      model('m-openai', 'openai-gpt-4.1', 'openai', emu.apiBase) +
      model('m-anthropic', 'claude-4-sonnet', 'anthropic', emu.apiBase) +
      'litellm_settings:\n  num_retries: 1\n  request_timeout: 1\n' +
      'general_settings:\n  master_key: os.environ/CORTEX_PROXY_MASTER_KEY\n  disable_spend_logs: true\n',
  });
  proxy = await startProxy(['--quiet'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT, CORTEX_PROXY_MASTER_KEY: MASTER }) });
});
after(async () => {
  await proxy?.stop();
  await emu?.close();
});
beforeEach(() => emu.reset());
// Every exchange lets go of its upstream request and connection.
afterEach(async () => {
  await waitUntil(async () => {
    if (emu.requests.some((r) => r.outcome === 'pending')) return false;
    const g = await gauges(proxy.url, MASTER);
    return g.inFlight === 0 && g.upstreamBusy === 0 && g.upstreamQueued === 0;
  }, 3000, 'no upstream request pending, no busy upstream connection, nothing in flight');
});

const ask = (d: DialectName, stream: boolean, m = 'm') => call(proxy.url, d, { key: MASTER, model: m, stream, prompt: 'go' });
const statuses = () => emu.requests.map((r) => r.status);

/** An HTTP error before any output, in the dialect's own envelope. */
function assertHttpError(a: Awaited<ReturnType<typeof call>>, status: number, message: RegExp, d: DialectName): void {
  assert.equal(a.status, status, `${d}: status (body ${a.raw.slice(0, 300)})`);
  assert.ok(a.httpError, `${d}: the error is in the ${d} envelope: ${a.raw.slice(0, 300)}`);
  assert.match(a.httpError!, message, d);
}

/** Output, then the dialect's terminal error event (never a clean end). */
function assertStreamError(a: Awaited<ReturnType<typeof call>>, message: RegExp, d: DialectName): void {
  assert.equal(a.status, 200, d);
  assert.ok(a.text.length > 0 && TEXT.startsWith(a.text), `${d}: the output before the failure reached the client (${JSON.stringify(a.text)})`);
  assert.ok(a.streamError, `${d}: a terminal error event: ${a.raw.slice(-400)}`);
  assert.match(a.streamError!, message, d);
  assert.equal(a.clean, false, `${d}: no clean end after the error`);
}

for (const d of DIALECTS) {
  test(`${d}: 429 with Retry-After is retried after the wait; still 429 → 429 with Retry-After in the ${d} envelope`, { timeout: 15_000 }, async () => {
    emu.inject({ status: 429, retryAfter: 1 }, { status: 429, retryAfter: 1 });
    const t0 = Date.now();
    const a = await ask(d, d !== 'messages');
    assertHttpError(a, 429, /rate limit/i, d);
    assert.equal(a.headers['retry-after'], '1');
    assert.deepEqual(statuses(), [429, 429], 'one retry (num_retries: 1)');
    const gap = emu.requests[1].startedAt - emu.requests[0].endedAt!;
    assert.ok(gap >= 900, `the retry waited for Retry-After (waited ${gap} ms)`);
    assert.ok(Date.now() - t0 < 5000);
  });

  test(`${d}: a Retry-After longer than the proxy would wait is passed to the client at once, not retried early`, { timeout: 15_000 }, async () => {
    emu.inject({ status: 429, retryAfter: 120 });
    const t0 = Date.now();
    const a = await ask(d, true);
    assertHttpError(a, 429, /rate limit/i, d);
    assert.equal(a.headers['retry-after'], '120');
    assert.deepEqual(statuses(), [429]);
    assert.ok(Date.now() - t0 < 2000, `answered in ${Date.now() - t0} ms`);
  });

  test(`${d}: 429 without Retry-After is retried with backoff, then 429`, { timeout: 15_000 }, async () => {
    emu.inject({ status: 429 }, { status: 429 });
    const a = await ask(d, d === 'chat');
    assertHttpError(a, 429, /rate limit/i, d);
    assert.deepEqual(statuses(), [429, 429]);
    const gap = emu.requests[1].startedAt - emu.requests[0].endedAt!;
    assert.ok(gap >= 200, `backoff before the retry (${gap} ms)`);
  });

  test(`${d}: 500, 502 and 504 are retried; a retry that succeeds is invisible, a last failure is a 502 naming the status`, { timeout: 20_000 }, async () => {
    for (const status of [500, 502, 504]) {
      emu.reset();
      emu.inject({ status });
      emu.script({ text: 'recovered' });
      const ok = await ask(d, true);
      assert.equal(ok.status, 200, `${d} ${status}: ${ok.raw.slice(0, 200)}`);
      assert.equal(ok.text, 'recovered');
      assert.equal(ok.clean, true);
      assert.deepEqual(statuses(), [status, 200]);

      emu.reset();
      emu.inject({ status }, { status });
      const a = await ask(d, status !== 502);
      assertHttpError(a, 502, new RegExp(`HTTP ${status}`), d);
      assert.deepEqual(statuses(), [status, status]);
    }
  });

  test(`${d}: 503 "inference timed out" is retried, then a 504 that says Cortex timed out`, { timeout: 15_000 }, async () => {
    emu.inject({ status: 503, message: 'inference timed out' }, { status: 503, message: 'inference timed out' });
    const a = await ask(d, true);
    assertHttpError(a, 504, /timed out/i, d);
    assert.deepEqual(statuses(), [503, 503]);
  });

  test(`${d}: a 400 from Cortex is not retried`, { timeout: 15_000 }, async () => {
    emu.inject({ status: 400, message: 'bad things in the request' });
    const a = await ask(d, true);
    assertHttpError(a, 400, /bad things/, d);
    assert.deepEqual(statuses(), [400]);
  });

  test(`${d}: no first byte within request_timeout → 504 naming request_timeout, not retried, upstream request released`, { timeout: 15_000 }, async () => {
    emu.inject({ hangBeforeHeaders: true });
    const t0 = Date.now();
    const a = await ask(d, true);
    assertHttpError(a, 504, /request_timeout/, d);
    assert.ok(Date.now() - t0 < 3000, `bounded by request_timeout (${Date.now() - t0} ms)`);
    assert.equal(emu.requests.length, 1);
    await emu.waitForAbort();
  });

  test(`${d}: a stream that stalls after output ends with a terminal error event; without streaming a 504`, { timeout: 15_000 }, async () => {
    emu.setKnobs({ chunkChars: 8 });
    emu.inject({ stallAfterChunks: 2 });
    emu.script({ text: TEXT });
    const t0 = Date.now();
    assertStreamError(await ask(d, true), /request_timeout|sent nothing/, d);
    assert.ok(Date.now() - t0 < 3000);
    emu.inject({ stallAfterChunks: 2 });
    emu.script({ text: TEXT });
    assertHttpError(await ask(d, false), 504, /request_timeout|sent nothing/, d);
    assert.equal(emu.requests.length, 2, 'never retried after output');
  });

  test(`${d}: a TCP reset mid-stream ends with a terminal error event; without streaming a 502`, { timeout: 15_000 }, async () => {
    emu.setKnobs({ chunkChars: 8, chunkDelayMs: 5 });
    emu.inject({ resetAfterChunks: 3 });
    emu.script({ text: TEXT });
    assertStreamError(await ask(d, true), /broke off/, d);
    emu.inject({ resetAfterChunks: 3 });
    emu.script({ text: TEXT });
    assertHttpError(await ask(d, false), 502, /broke off/, d);
    assert.equal(emu.requests.length, 2, 'never retried after output');
  });

  test(`${d}: a clean close mid-stream (no final chunk) is an error, not a short answer`, { timeout: 15_000 }, async () => {
    emu.setKnobs({ chunkChars: 8, chunkDelayMs: 5 });
    emu.inject({ cutAfterChunks: 3 });
    emu.script({ text: TEXT });
    const a = await ask(d, true);
    assert.equal(a.status, 200);
    assert.ok(a.streamError, `${d}: terminal error event: ${a.raw.slice(-300)}`);
    assert.equal(a.clean, false);
  });

  test(`${d}: a mid-stream {"error":…} ends with a terminal error event carrying its message; without streaming a 502`, { timeout: 15_000 }, async () => {
    emu.setKnobs({ chunkChars: 8 });
    emu.inject({ midStreamError: 'model crashed', afterChunks: 2 });
    emu.script({ text: TEXT });
    assertStreamError(await ask(d, true), /model crashed/, d);
    emu.inject({ midStreamError: 'model crashed', afterChunks: 2 });
    emu.script({ text: TEXT });
    const a = await ask(d, false);
    assert.ok(a.status >= 500 && a.status < 600, `${d}: ${a.status}`);
    assert.match(a.httpError ?? '', /model crashed/);
    assert.equal(emu.requests.length, 2, 'never retried after output');
  });

  test(`${d}: a 200 whose JSON body is an error: 390112 → 401 with the fix; another code → 502`, { timeout: 15_000 }, async () => {
    emu.inject({ json200Error: { code: '390112', message: 'Your session has expired. Please login again.' } });
    assertHttpError(await ask(d, true), 401, /expired/i, d);
    emu.inject({ json200Error: { code: '100357', message: 'something odd happened' } });
    assertHttpError(await ask(d, false), 502, /200 with an error body|something odd/, d);
    assert.equal(emu.requests.length, 2);
  });

  test(`${d}: an upstream that sends only keep-alive comments is cut at request_timeout (comments are not content)`, { timeout: 15_000 }, async () => {
    emu.setKnobs({ chunkChars: 8 });
    // After output: a terminal error event once request_timeout passes without an event.
    emu.inject({ heartbeatAfterChunks: 2, everyMs: 100 });
    emu.script({ text: TEXT });
    let t0 = Date.now();
    assertStreamError(await ask(d, true), /request_timeout|sent nothing/, d);
    assert.ok(Date.now() - t0 < 4000, `bounded (${Date.now() - t0} ms)`);
    // Before output: an HTTP 504.
    emu.inject({ heartbeatAfterChunks: 0, everyMs: 100 });
    t0 = Date.now();
    assertHttpError(await ask(d, true), 504, /request_timeout|sent nothing/, d);
    assert.ok(Date.now() - t0 < 4000, `bounded (${Date.now() - t0} ms)`);
    await waitUntil(() => emu.requests.filter((r) => r.outcome === 'aborted').length === 2, 2000, 'both upstream requests to be closed by the proxy');
  });
}

/** The emulator's own stream for a scripted reply on one wire, as raw SSE frames. */
async function framesOf(path: string, body: object): Promise<string[]> {
  emu.setKnobs({ chunkChars: 8 });
  emu.script({ text: TEXT });
  const r = await request(`${emu.apiBase}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const text = await r.body.text();
  emu.reset();
  return text.split(/(?<=\n\n)/).filter((f) => f.trim());
}

const WIRES = [
  { name: 'complete', model: 'm', path: '/cortex/inference:complete', body: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'go' }] } },
  { name: 'openai', model: 'm-openai', path: '/cortex/v1/chat/completions', body: { model: 'openai-gpt-4.1', messages: [{ role: 'user', content: 'go' }] } },
  { name: 'anthropic', model: 'm-anthropic', path: '/cortex/v1/messages', body: { model: 'claude-4-sonnet', max_tokens: 100, messages: [{ role: 'user', content: 'go' }] } },
];

for (const w of WIRES) {
  test(`${w.name} wire: truncated JSON in an SSE event → a terminal error event after output, an HTTP 502 before it (every dialect)`, { timeout: 20_000 }, async () => {
    const frames = await framesOf(w.path, w.body);
    // The first frame with text in it, and the one after it cut in half.
    const firstText = frames.findIndex((f) => f.includes('"The') || f.includes('The fi'));
    assert.ok(firstText >= 0, `a text frame among ${frames.length}: ${frames.slice(0, 3).join('')}`);
    const cut = (f: string) => f.slice(0, Math.floor(f.indexOf('{') + (f.length - f.indexOf('{')) / 2)) + '\n\n';
    const after = frames.slice(0, firstText + 1).join('') + cut(frames[firstText + 1]);
    const beforeOutput = frames.slice(0, firstText).join('') + cut(frames[firstText]);
    for (const d of DIALECTS) {
      emu.inject({ raw: { headers: { 'content-type': 'text/event-stream' }, body: after } });
      const a = await call(proxy.url, d, { key: MASTER, model: w.model, prompt: 'go' });
      assert.equal(a.status, 200, `${w.name}/${d}: ${a.raw.slice(0, 300)}`);
      assert.ok(a.text.length > 0, `${w.name}/${d}: output first`);
      assert.ok(a.streamError, `${w.name}/${d}: terminal error: ${a.raw.slice(-300)}`);
      assert.equal(a.clean, false);
      emu.inject({ raw: { headers: { 'content-type': 'text/event-stream' }, body: beforeOutput } });
      const b = await call(proxy.url, d, { key: MASTER, model: w.model, prompt: 'go' });
      assert.equal(b.status, 502, `${w.name}/${d}: ${b.raw.slice(0, 300)}`);
      assert.ok(b.httpError, `${w.name}/${d}: envelope`);
    }
  });

  test(`${w.name} wire: a mid-stream error and a TCP reset after output end the chat stream with an error event`, { timeout: 15_000 }, async () => {
    emu.setKnobs({ chunkChars: 8, chunkDelayMs: 5 });
    emu.inject({ midStreamError: 'model crashed', afterChunks: 5 }); // past the opening frames (message_start, …)
    emu.script({ text: TEXT });
    const a = await call(proxy.url, 'chat', { key: MASTER, model: w.model, prompt: 'go' });
    assert.equal(a.status, 200, a.raw.slice(0, 300));
    assert.match(a.streamError ?? '', /model crashed/);
    emu.inject({ resetAfterChunks: 6 });
    emu.script({ text: TEXT });
    const b = await call(proxy.url, 'chat', { key: MASTER, model: w.model, prompt: 'go' });
    assert.equal(b.status, 200, b.raw.slice(0, 300));
    assert.ok(b.text.length > 0);
    assert.match(b.streamError ?? '', /broke off/);
    assert.equal(emu.requests.length, 2, 'never retried after output');
  });
}
