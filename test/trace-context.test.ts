// Trace context on every upstream call (issue 15 item 2, docs/ai-gateway.md): the real CLI in front of the strict
// emulator, driven by the real openai and @anthropic-ai/sdk clients. Each hostile header sits next to the legitimate
// use it must not break: a valid traceparent is continued, a forged or malformed one starts a new trace; a session
// id becomes the conversation id, a hostile one is dropped; a virtual key's label travels as W3C baggage.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { modelEntry } from './helpers.js';
import { useProxyRig } from './proxy-rig.js';
import { parseTraceparent, conversationIdOf } from '../src/cortex/trace.js';

const PAT = 'trace-pat-' + 't'.repeat(40);
const MASTER = 'sk-trace-master-' + 'm'.repeat(32);
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

const rig = useProxyRig({
  pat: PAT,
  master: MASTER,
  config: (apiBase) => {
    const model = (name: string, id: string) => modelEntry(name, `snowflake/${id}`, apiBase);
    return (
      `model_list:\n${model('claude', 'claude-sonnet-4-5')}${model('gpt', 'openai-gpt-4.1')}${model('embed', 'snowflake-arctic-embed-l-v2.0')}` +
      `general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  usage_log_dir: ./usage\n  database_path: ./team\n`
    );
  },
});

const openai = (headers: Record<string, string> = {}, key = MASTER) => new OpenAI({ baseURL: `${rig.proxy.url}/v1`, apiKey: key, maxRetries: 0, defaultHeaders: headers });
const anthropic = (headers: Record<string, string> = {}) => new Anthropic({ baseURL: rig.proxy.url, apiKey: MASTER, maxRetries: 0, defaultHeaders: headers });

async function usageRecords(): Promise<Array<Record<string, unknown>>> {
  const d = path.join(rig.dir, 'usage');
  const out: Array<Record<string, unknown>> = [];
  if (!fs.existsSync(d)) return out;
  for (const f of fs.readdirSync(d)) for (const line of fs.readFileSync(path.join(d, f), 'utf8').split('\n')) if (line.trim()) out.push(JSON.parse(line));
  return out;
}

describe('traceparent', () => {
  test('no traceparent: a new trace, its id in the upstream traceparent, the log line and the usage record', async () => {
    await openai().chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hello' }] });
    const [call] = rig.upstream();
    const m = TRACEPARENT_RE.exec(call.headers.traceparent);
    assert.ok(m, `a W3C traceparent upstream, got ${call.headers.traceparent}`);
    assert.notEqual(m[1], '0'.repeat(32));
    assert.equal(call.headers['x-snowflake-application'], 'cortex-proxy/0.1.0');
    const line = await rig.proxy.waitForLog(`trace_id=${m[1]}`);
    assert.match(line, /POST \/v1\/chat\/completions status=200/);
    // The usage log is batched: poll the file until the record is there (bounded; no sleep as synchronisation).
    let rec: Record<string, unknown> | undefined;
    for (let i = 0; i < 200 && !rec; i++) {
      rec = (await usageRecords()).find((r) => r.trace_id === m[1]);
      if (!rec) await new Promise((r) => setImmediate(r));
      if (!rec && i > 20) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(rec, 'the usage record carries the trace id');
    assert.equal(rec.model, 'gpt');
  });

  test("a client's valid traceparent is continued: same trace id and flags, a new span id of the proxy's own", async () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await anthropic({ traceparent: tp }).messages.create({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    const [call] = rig.upstream();
    assert.equal(call.path, '/api/v2/cortex/v1/messages');
    const m = TRACEPARENT_RE.exec(call.headers.traceparent)!;
    assert.equal(m[1], '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.notEqual(m[2], '00f067aa0ba902b7', 'the proxy is a participant: its own parent id');
    assert.ok(call.headers.traceparent.endsWith('-01'));
  });

  test('attack: malformed, all-zero, upper-case, version ff, over-long and injected traceparents start a new trace', async () => {
    const hostile = [
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' + 'x'.repeat(4000),
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\tx-evil: 1",
      'not a traceparent',
    ];
    for (const tp of hostile) {
      rig.emu.reset();
      await openai({ traceparent: tp }).chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hello' }] });
      const [call] = rig.upstream();
      const m = TRACEPARENT_RE.exec(call.headers.traceparent);
      assert.ok(m, `still a valid traceparent upstream for ${JSON.stringify(tp.slice(0, 80))}`);
      assert.notEqual(m[1], '4bf92f3577b34da6a3ce929d0e0e4736', `not continued: ${JSON.stringify(tp.slice(0, 80))}`);
      assert.equal(call.headers['x-evil'], undefined);
    }
  });

  test('a later version continues the trace from its first four fields (W3C forward compatibility), sent as version 00', () => {
    assert.deepEqual(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-ever'), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', flags: '01' });
    assert.equal(parseTraceparent(['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b7-01']), undefined);
  });
});

describe('conversation id', () => {
  test("Claude Code's x-claude-code-session-id becomes x-snowflake-ai-gateway-conversation-id", async () => {
    const sid = 'c5a1e2f4-3b6d-4e8f-9a0b-1c2d3e4f5a6b';
    await anthropic({ 'x-claude-code-session-id': sid, 'user-agent': 'claude-cli/2.0.0 (external, cli)' }).messages.create({
      model: 'claude',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const [call] = rig.upstream();
    assert.equal(call.headers['x-snowflake-ai-gateway-conversation-id'], sid);
    assert.equal(call.headers['snow-agent-name'], 'claude-code');
  });

  test("Codex's session-id, and a client's own gateway conversation id (which wins)", async () => {
    await openai({ 'session-id': '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', 'user-agent': 'codex_cli_rs/0.50.0' }).chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(rig.upstream()[0].headers['x-snowflake-ai-gateway-conversation-id'], '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b');
    assert.equal(rig.upstream()[0].headers['snow-agent-name'], 'codex');
    rig.emu.reset();
    await openai({ 'x-snowflake-ai-gateway-conversation-id': 'team-thread-42', 'x-claude-code-session-id': 'other' }).chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(rig.upstream()[0].headers['x-snowflake-ai-gateway-conversation-id'], 'team-thread-42');
  });

  test('attack: a hostile session id (spaces, quotes, over-long, non-ASCII) is not forwarded, and the request still succeeds', async () => {
    for (const bad of ['a b', 'x"; drop', 'z'.repeat(129), 'sess\u00e9', '../../etc/passwd?x=1']) {
      rig.emu.reset();
      const r = await openai({ 'x-claude-code-session-id': encodeURI(bad) === bad ? bad : bad.replace(/[^\x20-\x7e]/g, '?') }).chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] });
      assert.equal(r.choices[0].finish_reason, 'stop');
      assert.equal(rig.upstream()[0].headers['x-snowflake-ai-gateway-conversation-id'], undefined, `dropped: ${bad.slice(0, 40)}`);
    }
    // A hostile first-ranked header is not replaced by a lower-ranked one.
    assert.equal(conversationIdOf({ 'x-snowflake-ai-gateway-conversation-id': 'bad value', 'x-claude-code-session-id': 'good' }), undefined);
  });
});

describe('embeddings and virtual keys', () => {
  test('embeddings carry the trace headers too', async () => {
    await openai({ 'x-claude-code-session-id': 'embed-conv-1' }).embeddings.create({ model: 'embed', input: 'hello' });
    const [call] = rig.upstream();
    assert.equal(call.path, '/api/v2/cortex/inference:embed');
    assert.match(call.headers.traceparent, TRACEPARENT_RE);
    assert.equal(call.headers['x-snowflake-ai-gateway-conversation-id'], 'embed-conv-1');
  });

  test("a virtual key's label travels as W3C baggage (cortex_proxy.key); the master key sends none", async () => {
    const created = await fetch(`${rig.proxy.url}/admin/keys/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'alice@example.com' }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { key } = (await created.json()) as { key: string };
    rig.emu.reset();
    await openai({}, key).chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(rig.upstream()[0].headers.baggage, 'cortex_proxy.key=alice%40example.com');
    rig.emu.reset();
    await openai({ baggage: 'cortex_proxy.key=mallory' }).chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(rig.upstream()[0].headers.baggage, undefined, "a client's own baggage is never forwarded");
  });
});
