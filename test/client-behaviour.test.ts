// What clients do to the proxy, through the real CLI in front of the emulator: leaving at every stage (before
// Cortex answers, mid-stream, during a retry's backoff) releases the upstream request within 100 ms; a client that
// stops reading slows the upstream read instead of growing the proxy's memory (a 50 MB answer); 1,000 concurrent
// streams across the dialects all complete with their own content.
import { test, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { wireModels } from './proxy-rig.js';
import { DIALECTS, PATHS, agent, bodyFor, call, gauges, readStream, rssOf, useReliabilityRig, waitSettled, waitUntil } from './reliability-helpers.js';

const PAT = 'client-pat-' + 'p'.repeat(40);
const MASTER = 'sk-client-master-' + 'k'.repeat(32);
const RELEASE_MS = 100;

const rig = useReliabilityRig(PAT, MASTER, (apiBase) =>
  `model_list:\n${wireModels({ m: ['claude-sonnet-4-5', 'complete'] }, apiBase)}` +
  'litellm_settings:\n  num_retries: 2\n  request_timeout: 30\n' +
  'general_settings:\n  master_key: os.environ/CORTEX_PROXY_MASTER_KEY\n  disable_spend_logs: true\n'
);
afterEach(() => waitSettled(rig.emu, rig.proxy.url, MASTER, 5000));

const headers = { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' };
const send = (d: (typeof DIALECTS)[number], signal: AbortSignal, prompt = 'hi') =>
  request(rig.proxy.url + PATHS[d], { method: 'POST', headers, body: JSON.stringify(bodyFor(d, 'm', prompt, true)), signal });

/** Aborts the client's request and asserts the emulator sees its upstream request released within RELEASE_MS. */
async function assertReleasedOnAbort(t: TestContext, ac: AbortController): Promise<void> {
  const aborted = rig.emu.waitForAbort();
  const t0 = performance.now();
  ac.abort();
  await aborted;
  const ms = performance.now() - t0;
  t.diagnostic(`released in ${ms.toFixed(1)} ms`);
  assert.ok(ms <= RELEASE_MS, `released after ${ms.toFixed(1)} ms`);
}

for (const d of DIALECTS) {
  test(`${d}: a client that leaves before Cortex answers releases the upstream request within ${RELEASE_MS} ms`, { timeout: 15_000 }, async (t) => {
    rig.emu.inject({ hangBeforeHeaders: true });
    const ac = new AbortController();
    const pending = send(d, ac.signal).catch((e: Error) => e);
    await waitUntil(() => rig.emu.requests.length === 1, 5000, 'the request to reach Cortex');
    await assertReleasedOnAbort(t, ac);
    assert.ok((await pending) instanceof Error);
  });

  test(`${d}: a client that leaves mid-stream releases the upstream request within ${RELEASE_MS} ms`, { timeout: 15_000 }, async (t) => {
    rig.emu.setKnobs({ chunkChars: 4, chunkDelayMs: 30 });
    rig.emu.script({ text: 'a long answer that streams slowly enough for the client to leave part way through it' });
    const ac = new AbortController();
    const res = await send(d, ac.signal);
    assert.equal(res.statusCode, 200);
    const it = res.body[Symbol.asyncIterator]();
    await it.next(); // output has started
    await assertReleasedOnAbort(t, ac);
    await it.return?.().catch(() => undefined);
  });
}

test(`a client that leaves during a retry's backoff ends the exchange within ${RELEASE_MS} ms and no retry is sent`, { timeout: 15_000 }, async () => {
  rig.emu.inject({ status: 429, retryAfter: 5 });
  for (const d of DIALECTS) {
    rig.emu.reset();
    rig.emu.inject({ status: 429, retryAfter: 5 });
    const ac = new AbortController();
    const pending = send(d, ac.signal).catch((e: Error) => e);
    await waitUntil(() => rig.emu.requests[0]?.outcome === 'rejected', 5000, 'the first attempt to be refused with 429');
    const before = rig.proxy.stderr().split('\n').length;
    const t0 = performance.now();
    ac.abort();
    // The request log line is written when the exchange ends (its finally): the backoff wait was cut short.
    await new Promise<void>((resolve, reject) => {
      const look = () => rig.proxy.stderr().split('\n').slice(before - 1).some((l) => /client_closed=true/.test(l));
      const onData = () => look() && (rig.proxy.child.stderr!.off('data', onData), resolve());
      if (look()) return resolve();
      rig.proxy.child.stderr!.on('data', onData);
      setTimeout(() => reject(new Error('no request log line with client_closed=true')), 3000).unref();
    });
    const ms = performance.now() - t0;
    assert.ok(ms <= RELEASE_MS, `${d}: exchange ended ${ms.toFixed(1)} ms after the client left`);
    assert.ok((await pending) instanceof Error);
    assert.equal(rig.emu.requests.length, 1, `${d}: no retry after the client left`);
    assert.equal((await gauges(rig.proxy.url, MASTER)).inFlight, 0);
  }
});

/** Bytes a process has read from files and sockets (Linux /proc/PID/io rchar). */
const bytesRead = (pid: number) => Number(/rchar:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);

test('a client that stops reading slows the upstream read: a 50 MB answer never piles up in the proxy', { timeout: 50_000 }, async (t) => {
  // The emulator's own frame for this wire, repeated with 1,000-character texts up to 50 MB.
  rig.emu.script({ text: 'x' });
  const probe = await request(`${rig.emu.apiBase}/cortex/inference:complete`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], stream: true }),
  });
  const sample = (await probe.body.text()).split('\n\n').find((f) => f.includes('"x"'))!;
  rig.emu.reset();
  const piece = 'abcdefghij'.repeat(100);
  const frame = sample.replace(/"x"/g, JSON.stringify(piece)) + '\n\n';
  const frames = Math.ceil((50 * 1024 * 1024) / frame.length);
  rig.emu.inject({ raw: { headers: { 'content-type': 'text/event-stream' }, body: frame.repeat(frames) } });

  const pid = rig.proxy.child.pid!;
  const rss0 = rssOf(pid);
  const read0 = bytesRead(pid);
  const dispatcher = agent(1);
  const res = await request(rig.proxy.url + PATHS.chat, { method: 'POST', headers, body: JSON.stringify(bodyFor('chat', 'm', 'big', true)), dispatcher });
  assert.equal(res.statusCode, 200);
  // The client reads nothing: wait until the proxy stops reading from Cortex (its read count is still for 300 ms).
  let peak = rss0;
  let last = -1;
  let still = 0;
  await waitUntil(() => {
    peak = Math.max(peak, rssOf(pid));
    const now = bytesRead(pid);
    still = now === last ? still + 1 : 0;
    last = now;
    return still >= 15;
  }, 20_000, 'the proxy to stop reading while its client does not');
  const readWhilePaused = last - read0;
  assert.ok(readWhilePaused < 25 * 1024 * 1024, `the proxy read ${(readWhilePaused / 1048576).toFixed(1)} MB of 50 MB while its client read nothing`);
  assert.ok(peak - rss0 < 48 * 1024 * 1024, `proxy RSS grew ${((peak - rss0) / 1048576).toFixed(1)} MB`);

  // The client reads again: everything arrives, in order, and memory stays bounded on the way.
  let text = '';
  let rest = '';
  let chunks = 0;
  for await (const chunk of res.body) {
    rest += chunk.toString('utf8');
    const cut = rest.lastIndexOf('\n\n');
    if (cut >= 0) {
      text += readStream('chat', rest.slice(0, cut + 2)).text;
      rest = rest.slice(cut + 2);
    }
    if (++chunks % 200 === 0) peak = Math.max(peak, rssOf(pid));
  }
  const tail = readStream('chat', rest);
  text += tail.text;
  assert.equal(text.length, frames * piece.length, 'all 50 MB of text arrived');
  assert.ok(peak - rss0 < 64 * 1024 * 1024, `proxy RSS grew ${((peak - rss0) / 1048576).toFixed(1)} MB while streaming 50 MB`);
  t.diagnostic(`read while paused ${(readWhilePaused / 1048576).toFixed(1)} MB; RSS +${((peak - rss0) / 1048576).toFixed(1)} MB at most`);
  await dispatcher.close();
});

test('1,000 concurrent streams across the dialects all complete with their own content', { timeout: 50_000 }, async (t) => {
  const dispatcher = agent(1000);
  try {
    const t0 = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => call(rig.proxy.url, DIALECTS[i % 3], { key: MASTER, model: 'm', prompt: `question number ${i} please`, dispatcher })),
    );
    const ms = Date.now() - t0;
    answers.forEach((a, i) => {
      assert.equal(a.status, 200, `stream ${i}: ${a.raw.slice(0, 200)}`);
      assert.equal(a.clean, true, `stream ${i} ended cleanly`);
      assert.match(a.text, new RegExp(`You asked: "question number ${i} please"`), `stream ${i} got its own answer`);
    });
    assert.equal(rig.emu.requests.filter((r) => r.outcome === 'ok').length, 1000);
    t.diagnostic(`1,000 concurrent streams in ${ms} ms`);
  } finally {
    await dispatcher.close();
  }
});
