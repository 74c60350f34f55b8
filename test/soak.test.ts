// Soak: mixed traffic through the real CLI for SOAK_SECONDS (30 s in `npm test`, whose per-file limit is 60 s;
// `SOAK_SECONDS=600 npm run soak` for the 10-minute run): streams and plain answers in every dialect, tool calls,
// clients that leave, upstream faults (429, 500, mid-stream errors, cut and stalled streams, errors dressed as 200),
// bad input, wrong keys and the read-only routes. Every answer is a proper one; afterwards nothing is in flight,
// the open descriptors are back to where they were, and memory did not keep growing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Fault } from '../src/emulator/types.js';
import { wireModels } from './proxy-rig.js';
import { DIALECTS, agent, call, fdCount, gauges, rssOf, useReliabilityRig, waitSettled, waitUntil, type Answer, type DialectName } from './reliability-helpers.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 30);
const WORKERS = 16;
const PAT = 'soak-pat-' + 'p'.repeat(40);
const MASTER = 'sk-soak-master-' + 'k'.repeat(32);

const rig = useReliabilityRig(PAT, MASTER, (apiBase) =>
  `model_list:\n${wireModels({ m: ['claude-sonnet-4-5', 'complete'], 'm-openai': ['openai-gpt-4.1', 'openai'] }, apiBase)}` +
  'litellm_settings:\n  num_retries: 1\n  request_timeout: 2\n' +
  'general_settings:\n  master_key: os.environ/CORTEX_PROXY_MASTER_KEY\n  usage_log_dir: ./usage\n'
);

const FAULTS: Fault[] = [
  { status: 429, retryAfter: 0 },
  { status: 500 },
  { status: 503, message: 'inference timed out' },
  { midStreamError: 'soak failure', afterChunks: 2 },
  { cutAfterChunks: 2 },
  { resetAfterChunks: 2 },
  { stallAfterChunks: 1 },
  { json200Error: { code: '100357', message: 'odd' } },
];

const TOOLS = [{ type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];

/** Every answer is a proper one: a 200 (complete, or ended by the dialect's error event) or an error in the dialect's envelope. */
function proper(d: DialectName, a: Answer, what: string): void {
  if (a.status === 200) {
    assert.ok(a.clean || a.streamError, `${what}: a 200 that neither completed nor ended with an error event: ${a.raw.slice(-200)}`);
    return;
  }
  assert.ok(a.httpError, `${what}: ${a.status} not in the ${d} envelope: ${a.raw.slice(0, 200)}`);
}

async function step(n: number, counts: Map<string, number>, dispatcher: ReturnType<typeof agent>): Promise<void> {
  const kind = n % 20;
  const d = DIALECTS[n % 3];
  const bump = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  if (kind < 8) {
    const a = await call(rig.proxy.url, d, { key: MASTER, model: n % 7 === 0 ? 'm-openai' : 'm', stream: kind < 5, prompt: `soak ${n}`, dispatcher });
    proper(d, a, `request ${n}`);
    bump(a.status === 200 && a.clean ? 'ok' : 'error');
  } else if (kind < 10) {
    // A tool call forced by tool_choice, then the round trip with its result.
    const messages: unknown[] = [{ role: 'user', content: `weather ${n}` }];
    const first = await call(rig.proxy.url, 'chat', { key: MASTER, dispatcher, body: { model: 'm', messages, tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_weather' } } } });
    proper('chat', first, `tool call ${n}`);
    const calls = first.status === 200 ? JSON.parse(first.raw).choices?.[0]?.message?.tool_calls : undefined;
    if (calls?.length) {
      messages.push({ role: 'assistant', content: null, tool_calls: calls }, { role: 'tool', tool_call_id: calls[0].id, content: '18 degrees' });
      const second = await call(rig.proxy.url, 'chat', { key: MASTER, dispatcher, body: { model: 'm', messages, tools: TOOLS, stream: true } });
      proper('chat', second, `tool result ${n}`);
    }
    bump('tools');
  } else if (kind < 12) {
    // A client that leaves part way.
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 1 + (n % 40)).unref();
    await call(rig.proxy.url, d, { key: MASTER, model: 'm', prompt: `leave ${n}`, signal: ac.signal, dispatcher }).catch(() => undefined);
    bump('aborted');
  } else if (kind < 15) {
    rig.emu.inject(FAULTS[n % FAULTS.length]); // taken by whichever request comes next
    const a = await call(rig.proxy.url, d, { key: MASTER, model: 'm', stream: n % 2 === 0, prompt: `fault ${n}`, dispatcher });
    proper(d, a, `fault request ${n}`);
    bump('fault');
  } else if (kind < 17) {
    const a = await call(rig.proxy.url, d, { key: n % 2 ? MASTER : 'sk-wrong', dispatcher, body: n % 2 ? { model: 'm', messages: 42 } : { model: 'm' } });
    assert.ok(a.status === 400 || a.status === 401, `bad input ${n}: ${a.status} ${a.raw.slice(0, 200)}`);
    assert.ok(a.httpError, `bad input ${n}: envelope`);
    bump('refused');
  } else {
    const p = ['/health', '/metrics', '/v1/models', '/ui/api/stats'][n % 4];
    const r = await request(rig.proxy.url + p, { headers: { authorization: `Bearer ${MASTER}` }, dispatcher });
    assert.equal(r.statusCode, 200, p);
    await r.body.dump();
    bump('read');
  }
}

async function traffic(seconds: number, counts: Map<string, number>): Promise<void> {
  const dispatcher = agent(WORKERS);
  const end = Date.now() + seconds * 1000;
  let n = 0;
  try {
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (Date.now() < end) await step(n++, counts, dispatcher);
      }),
    );
  } finally {
    await dispatcher.close();
  }
}

/** The proxy's open descriptors, not counting upstream connections kept alive for reuse (they close when idle). */
async function ownDescriptors(): Promise<number> {
  const g = await gauges(rig.proxy.url, MASTER);
  return fdCount(rig.proxy.child.pid!) - g.upstreamIdle - 1; // - 1: the connection of this very /metrics request
}

const settled = () => waitSettled(rig.emu, rig.proxy.url, MASTER, 10_000);

test(`soak: ${SECONDS} s of mixed traffic; descriptors back to baseline, memory flat, nothing in flight`, { timeout: (SECONDS + 45) * 1000 }, async (t) => {
  const pid = rig.proxy.child.pid!;
  // Warm-up: the same mix, so lazily created pools, caches and JIT code are in the baseline.
  const counts = new Map<string, number>();
  await traffic(Math.min(5, Math.max(2, SECONDS / 10)), counts);
  await settled();
  const fd0 = await ownDescriptors();
  const rss0 = rssOf(pid);

  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(rssOf(pid)), 500);
  counts.clear();
  const t0 = Date.now();
  try {
    await traffic(SECONDS, counts);
  } finally {
    clearInterval(sampler);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  t.diagnostic(`${total} exchanges in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  assert.ok((counts.get('ok') ?? 0) > 100 && (counts.get('fault') ?? 0) > 10 && (counts.get('aborted') ?? 0) > 10, 'the mix ran');

  await settled();
  await waitUntil(async () => (await ownDescriptors()) <= fd0 + 2, 10_000, `descriptors back to the baseline of ${fd0}`);
  const fd1 = await ownDescriptors();

  // Memory: V8 grows its heap to a plateau early on; a leak keeps setting new highs. So the last quarter of the
  // run must stay under the highest point of the first three quarters (plus noise), and the end near the baseline.
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const earlierPeak = Math.max(...samples.slice(0, -quarter));
  const late = median(samples.slice(-quarter));
  const rss1 = rssOf(pid);
  const mb = (b: number) => (b / 1048576).toFixed(1);
  t.diagnostic(`RSS every 5 s: ${samples.filter((_, i) => i % 10 === 0).map(mb).join(' ')} MB`);
  t.diagnostic(`descriptors ${fd0} → ${fd1}; RSS baseline ${mb(rss0)} MB, peak before the last quarter ${mb(earlierPeak)}, last quarter ${mb(late)}, end ${mb(rss1)} MB`);
  assert.ok(late < earlierPeak + 8 * 1048576, `RSS kept growing: the last quarter (${mb(late)} MB) is above the earlier peak (${mb(earlierPeak)} MB)`);
  // The end bounds the plateau, not leaks (the check above catches those): V8 keeps the heap it grew to under this
  // mix (40-50 MB on Node 20, seen 112-135 MB from an 86 MB start) until a major GC that an idle process may not run.
  assert.ok(rss1 - rss0 < 64 * 1048576, `RSS ${mb(rss0)} → ${mb(rss1)} MB`);

  const errors = rig.proxy.stderr().split('\n').filter((l) => / ERROR /.test(l) || /Unhandled|uncaught|crashed/i.test(l));
  assert.deepEqual(errors.map((l) => l.slice(0, 400)), []);
  assert.equal(rig.proxy.child.exitCode, null, 'still running');
  const health = await request(`${rig.proxy.url}/health`);
  assert.equal(health.statusCode, 200);
  await health.body.dump();
});
