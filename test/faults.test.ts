// The fault matrix, part 1: upstream failures before any output, through the real CLI in front of the emulator,
// for each client dialect (Chat Completions, Anthropic Messages, Responses): the HTTP error the client gets in its
// own envelope, retries only for transient failures (429 honouring Retry-After, 5xx) and never longer than the
// client should wait, and every upstream request released (test/fault-rig.ts checks after each test).
// Part 2 (failures once output has started, per wire too): test/faults-stream.test.ts. Transport failures (refused,
// DNS, TLS): test/faults-transport.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, call, type DialectName } from './reliability-helpers.js';
import { MASTER, assertHttpError, useFaultRig } from './fault-rig.js';

const rig = useFaultRig();
const ask = (d: DialectName, stream: boolean, m = 'm') => call(rig.proxy.url, d, { key: MASTER, model: m, stream, prompt: 'go' });
const statuses = () => rig.emu.requests.map((r) => r.status);

for (const d of DIALECTS) {
  test(`${d}: 429 with Retry-After is retried after the wait; still 429 → 429 with Retry-After in the ${d} envelope`, { timeout: 15_000 }, async () => {
    rig.emu.inject({ status: 429, retryAfter: 1 }, { status: 429, retryAfter: 1 });
    const t0 = Date.now();
    const a = await ask(d, d !== 'messages');
    assertHttpError(a, 429, /rate limit/i, d);
    assert.equal(a.headers['retry-after'], '1');
    assert.deepEqual(statuses(), [429, 429], 'one retry (num_retries: 1)');
    const gap = rig.emu.requests[1].startedAt - rig.emu.requests[0].endedAt!;
    assert.ok(gap >= 900, `the retry waited for Retry-After (waited ${gap} ms)`);
    assert.ok(Date.now() - t0 < 5000);
  });

  test(`${d}: a Retry-After longer than the proxy would wait is passed to the client at once, not retried early`, { timeout: 15_000 }, async () => {
    rig.emu.inject({ status: 429, retryAfter: 120 });
    const t0 = Date.now();
    const a = await ask(d, true);
    assertHttpError(a, 429, /rate limit/i, d);
    assert.equal(a.headers['retry-after'], '120');
    assert.deepEqual(statuses(), [429]);
    assert.ok(Date.now() - t0 < 2000, `answered in ${Date.now() - t0} ms`);
  });

  test(`${d}: 429 without Retry-After is retried with backoff, then 429`, { timeout: 15_000 }, async () => {
    rig.emu.inject({ status: 429 }, { status: 429 });
    const a = await ask(d, d === 'chat');
    assertHttpError(a, 429, /rate limit/i, d);
    assert.deepEqual(statuses(), [429, 429]);
    const gap = rig.emu.requests[1].startedAt - rig.emu.requests[0].endedAt!;
    assert.ok(gap >= 200, `backoff before the retry (${gap} ms)`);
  });

  test(`${d}: 500, 502 and 504 are retried; a retry that succeeds is invisible, a last failure is a 502 naming the status`, { timeout: 20_000 }, async () => {
    for (const status of [500, 502, 504]) {
      rig.emu.reset();
      rig.emu.inject({ status });
      rig.emu.script({ text: 'recovered' });
      const ok = await ask(d, true);
      assert.equal(ok.status, 200, `${d} ${status}: ${ok.raw.slice(0, 200)}`);
      assert.equal(ok.text, 'recovered');
      assert.equal(ok.clean, true);
      assert.deepEqual(statuses(), [status, 200]);

      rig.emu.reset();
      rig.emu.inject({ status }, { status });
      const a = await ask(d, status !== 502);
      assertHttpError(a, 502, new RegExp(`HTTP ${status}`), d);
      assert.deepEqual(statuses(), [status, status]);
    }
  });

  test(`${d}: 503 "inference timed out" is retried, then a 504 that says Cortex timed out`, { timeout: 15_000 }, async () => {
    rig.emu.inject({ status: 503, message: 'inference timed out' }, { status: 503, message: 'inference timed out' });
    const a = await ask(d, true);
    assertHttpError(a, 504, /timed out/i, d);
    assert.deepEqual(statuses(), [503, 503]);
  });

  test(`${d}: a 400 from Cortex is not retried`, { timeout: 15_000 }, async () => {
    rig.emu.inject({ status: 400, message: 'bad things in the request' });
    const a = await ask(d, true);
    assertHttpError(a, 400, /bad things/, d);
    assert.deepEqual(statuses(), [400]);
  });

  test(`${d}: no first byte within request_timeout → 504 naming request_timeout, not retried, upstream request released`, { timeout: 15_000 }, async () => {
    rig.emu.inject({ hangBeforeHeaders: true });
    const t0 = Date.now();
    const a = await ask(d, true);
    assertHttpError(a, 504, /request_timeout/, d);
    assert.ok(Date.now() - t0 < 3000, `bounded by request_timeout (${Date.now() - t0} ms)`);
    assert.equal(rig.emu.requests.length, 1);
    await rig.emu.waitForAbort();
  });
}
