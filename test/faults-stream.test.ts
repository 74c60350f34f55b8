// The fault matrix, part 2: upstream failures once the answer is under way, through the real CLI in front of the
// emulator, for each client dialect and each Cortex wire: stalls, TCP resets, clean closes, {"error":…} in the
// stream, errors dressed as a 200, truncated JSON, keep-alives forever. After output the client gets the dialect's
// terminal error event (never a clean end), before it an HTTP error; nothing is retried once output exists, and
// every upstream request is released (test/fault-rig.ts checks after each test). Part 1: test/faults.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { DIALECTS, call, waitUntil, type DialectName } from './reliability-helpers.js';
import type { Deployment } from '../src/config/types.js';
import { MASTER, PAT, TEXT, WIRE_MODELS, assertHttpError, assertStreamError, useFaultRig } from './fault-rig.js';

const rig = useFaultRig();
const ask = (d: DialectName, stream: boolean, m = 'm') => call(rig.proxy.url, d, { key: MASTER, model: m, stream, prompt: 'go' });

for (const d of DIALECTS) {
  test(`${d}: a stream that stalls after output ends with a terminal error event; without streaming a 504`, { timeout: 15_000 }, async () => {
    rig.emu.setKnobs({ chunkChars: 8 });
    rig.emu.inject({ stallAfterChunks: 2 });
    rig.emu.script({ text: TEXT });
    const t0 = Date.now();
    assertStreamError(await ask(d, true), /request_timeout|sent nothing/, d);
    assert.ok(Date.now() - t0 < 3000);
    rig.emu.inject({ stallAfterChunks: 2 });
    rig.emu.script({ text: TEXT });
    assertHttpError(await ask(d, false), 504, /request_timeout|sent nothing/, d);
    assert.equal(rig.emu.requests.length, 2, 'never retried after output');
  });

  test(`${d}: a TCP reset mid-stream ends with a terminal error event; without streaming a 502`, { timeout: 15_000 }, async () => {
    rig.emu.setKnobs({ chunkChars: 8, chunkDelayMs: 5 });
    rig.emu.inject({ resetAfterChunks: 3 });
    rig.emu.script({ text: TEXT });
    assertStreamError(await ask(d, true), /broke off/, d);
    rig.emu.inject({ resetAfterChunks: 3 });
    rig.emu.script({ text: TEXT });
    assertHttpError(await ask(d, false), 502, /broke off/, d);
    assert.equal(rig.emu.requests.length, 2, 'never retried after output');
  });

  test(`${d}: a clean close mid-stream (no final chunk) is an error, not a short answer`, { timeout: 15_000 }, async () => {
    rig.emu.setKnobs({ chunkChars: 8, chunkDelayMs: 5 });
    rig.emu.inject({ cutAfterChunks: 3 });
    rig.emu.script({ text: TEXT });
    const a = await ask(d, true);
    assert.equal(a.status, 200);
    assert.ok(a.streamError, `${d}: terminal error event: ${a.raw.slice(-300)}`);
    assert.equal(a.clean, false);
  });

  test(`${d}: a mid-stream {"error":…} ends with a terminal error event carrying its message; without streaming a 502`, { timeout: 15_000 }, async () => {
    rig.emu.setKnobs({ chunkChars: 8 });
    rig.emu.inject({ midStreamError: 'model crashed', afterChunks: 2 });
    rig.emu.script({ text: TEXT });
    assertStreamError(await ask(d, true), /model crashed/, d);
    rig.emu.inject({ midStreamError: 'model crashed', afterChunks: 2 });
    rig.emu.script({ text: TEXT });
    const a = await ask(d, false);
    assert.ok(a.status >= 500 && a.status < 600, `${d}: ${a.status}`);
    assert.match(a.httpError ?? '', /model crashed/);
    assert.equal(rig.emu.requests.length, 2, 'never retried after output');
  });

  test(`${d}: a 200 whose JSON body is an error: 390112 → 401 with the fix; another code → 502`, { timeout: 15_000 }, async () => {
    rig.emu.inject({ json200Error: { code: '390112', message: 'Your session has expired. Please login again.' } });
    assertHttpError(await ask(d, true), 401, /expired/i, d);
    rig.emu.inject({ json200Error: { code: '100357', message: 'something odd happened' } });
    assertHttpError(await ask(d, false), 502, /200 with an error body|something odd/, d);
    assert.equal(rig.emu.requests.length, 2);
  });

  test(`${d}: an upstream that sends only keep-alive comments is cut at request_timeout (comments are not content)`, { timeout: 15_000 }, async () => {
    rig.emu.setKnobs({ chunkChars: 8 });
    // After output: a terminal error event once request_timeout passes without an event.
    rig.emu.inject({ heartbeatAfterChunks: 2, everyMs: 100 });
    rig.emu.script({ text: TEXT });
    let t0 = Date.now();
    assertStreamError(await ask(d, true), /request_timeout|sent nothing/, d);
    assert.ok(Date.now() - t0 < 4000, `bounded (${Date.now() - t0} ms)`);
    // Before output: an HTTP 504.
    rig.emu.inject({ heartbeatAfterChunks: 0, everyMs: 100 });
    t0 = Date.now();
    assertHttpError(await ask(d, true), 504, /request_timeout|sent nothing/, d);
    assert.ok(Date.now() - t0 < 4000, `bounded (${Date.now() - t0} ms)`);
    await waitUntil(() => rig.emu.requests.filter((r) => r.outcome === 'aborted').length === 2, 2000, 'both upstream requests to be closed by the proxy');
  });
}

/**
 * The emulator's own stream for a scripted reply on one wire, as raw SSE frames: the request is the wire's own encoding
 * of its probe (src/cortex/wires.ts), streamed. A string says why not: the emulator has no endpoint for the wire.
 */
async function framesOf(w: (typeof WIRE_MODELS)[number]): Promise<string[] | string> {
  const d = { modelName: w.model, cortexModel: w.cortexModel, wire: w.wire.name, apiBase: rig.emu.apiBase, auth: { type: 'pat', token: PAT } } as Deployment;
  const encoded = w.wire.encodeRequest({ ...w.wire.probe(d), maxTokens: 1000, stream: true }, d);
  rig.emu.setKnobs({ chunkChars: 8 });
  rig.emu.script({ text: TEXT });
  const r = await request(`${rig.emu.apiBase}${encoded.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json', ...encoded.headers },
    body: JSON.stringify({ ...encoded.body, stream: true }),
  });
  const text = await r.body.text();
  rig.emu.reset();
  if (r.statusCode === 404) return `the emulator has no ${encoded.path} endpoint (src/emulator/server.ts): add it to cover the ${w.wire.name} wire`;
  assert.equal(r.statusCode, 200, `${w.wire.name}: the emulator's stream: ${text.slice(0, 300)}`);
  return text.split(/(?<=\n\n)/).filter((f) => f.trim());
}

// Every registered wire (test/fault-rig.ts WIRE_MODELS), so a new wire is covered without an edit here.
for (const wm of WIRE_MODELS) {
  const w = { name: wm.wire.name, model: wm.model };
  test(`${w.name} wire: truncated JSON in an SSE event → a terminal error event after output, an HTTP 502 before it (every dialect)`, { timeout: 20_000 }, async (t) => {
    const frames = await framesOf(wm);
    if (typeof frames === 'string') return t.skip(frames);
    // The first frame with text in it, and the one after it cut in half.
    const firstText = frames.findIndex((f) => f.includes('"The') || f.includes('The fi'));
    assert.ok(firstText >= 0, `a text frame among ${frames.length}: ${frames.slice(0, 3).join('')}`);
    const cut = (f: string) => f.slice(0, Math.floor(f.indexOf('{') + (f.length - f.indexOf('{')) / 2)) + '\n\n';
    const after = frames.slice(0, firstText + 1).join('') + cut(frames[firstText + 1]);
    const beforeOutput = frames.slice(0, firstText).join('') + cut(frames[firstText]);
    for (const d of DIALECTS) {
      rig.emu.inject({ raw: { headers: { 'content-type': 'text/event-stream' }, body: after } });
      const a = await call(rig.proxy.url, d, { key: MASTER, model: w.model, prompt: 'go' });
      assert.equal(a.status, 200, `${w.name}/${d}: ${a.raw.slice(0, 300)}`);
      assert.ok(a.text.length > 0, `${w.name}/${d}: output first`);
      assert.ok(a.streamError, `${w.name}/${d}: terminal error: ${a.raw.slice(-300)}`);
      assert.equal(a.clean, false);
      rig.emu.inject({ raw: { headers: { 'content-type': 'text/event-stream' }, body: beforeOutput } });
      const b = await call(rig.proxy.url, d, { key: MASTER, model: w.model, prompt: 'go' });
      assert.equal(b.status, 502, `${w.name}/${d}: ${b.raw.slice(0, 300)}`);
      assert.ok(b.httpError, `${w.name}/${d}: envelope`);
    }
  });

  test(`${w.name} wire: a mid-stream error and a TCP reset after output end the chat stream with an error event`, { timeout: 15_000 }, async (t) => {
    const missing = await framesOf(wm);
    if (typeof missing === 'string') return t.skip(missing);
    rig.emu.setKnobs({ chunkChars: 8, chunkDelayMs: 5 });
    rig.emu.inject({ midStreamError: 'model crashed', afterChunks: 5 }); // past the opening frames (message_start, …)
    rig.emu.script({ text: TEXT });
    const a = await call(rig.proxy.url, 'chat', { key: MASTER, model: w.model, prompt: 'go' });
    assert.equal(a.status, 200, a.raw.slice(0, 300));
    assert.match(a.streamError ?? '', /model crashed/);
    rig.emu.inject({ resetAfterChunks: 6 });
    rig.emu.script({ text: TEXT });
    const b = await call(rig.proxy.url, 'chat', { key: MASTER, model: w.model, prompt: 'go' });
    assert.equal(b.status, 200, b.raw.slice(0, 300));
    assert.ok(b.text.length > 0);
    assert.match(b.streamError ?? '', /broke off/);
    assert.equal(rig.emu.requests.length, 2, 'never retried after output');
  });
}
