// Attack suite, admission (issue 13 item 3): a virtual key limited to some models tries every model route (chat in
// each dialect and Cursor shape, count_tokens, embeddings), a fallback outside its list, the model list, and the
// no-master-key setups where a limited user leaves the key out or sends a made-up one. Each attack sits next to its
// sanity twin (the legitimate use still works). The real HTTP app and the team gateway run against the strict
// emulator on 127.0.0.1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Emulator } from '../src/emulator/index.js';
import type { Settings } from '../src/config/types.js';
import { createKey, revokeKey } from '../src/team/admin.js';
import { useTeamApps, type TeamApp } from './team-app-rig.js';

const MASTER = 'sk-adm-master-' + 'm'.repeat(32);
const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'cursor');

const startApp = useTeamApps();

/** cortex-claude (falls back to cortex-llama), cortex-llama, cortex-embed; cortex-opus is unavailable in the region and falls back to cortex-llama. */
function start(settings: Partial<Settings> = {}): Promise<TeamApp> {
  return startApp({
    master: MASTER,
    models: { 'cortex-claude': 'claude-sonnet-4-5', 'cortex-llama': 'llama3.1-70b', 'cortex-embed': 'snowflake-arctic-embed-l-v2.0', 'cortex-opus': 'claude-opus-4-5' },
    routing: { fallbacks: { 'cortex-opus': ['cortex-llama'] }, cooldownMs: 30_000 },
    settings,
    emulator: { unavailableInRegion: ['claude-opus-4-5'] },
  });
}

const fixture = (name: string, model: string) => ({ ...JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')), model, stream: false });

/** Every model route with a body for a model; `anthropic` routes answer errors in Anthropic's envelope. */
function modelRoutes(chat: string, embed: string): Array<{ name: string; path: string; body: unknown; anthropic?: boolean; headers?: Record<string, string> }> {
  const messages = [{ role: 'user', content: 'hello' }];
  return [
    { name: 'chat', path: '/v1/chat/completions', body: { model: chat, max_tokens: 30, messages } },
    { name: 'chat without /v1 (Cursor)', path: '/chat/completions', body: { model: chat, max_tokens: 30, messages } },
    { name: 'Cursor Responses-shaped chat', path: '/v1/chat/completions', body: fixture('agent-responses.json', chat), headers: { 'user-agent': 'Cursor/1.7' } },
    { name: 'Cursor Anthropic-blocks chat', path: '/v1/chat/completions', body: fixture('anthropic-blocks.json', chat), headers: { 'user-agent': 'Cursor/1.7' } },
    { name: 'Cursor Azure-style deployment', path: `/openai/deployments/${chat}/chat/completions?api-version=2024-10-21`, body: { max_tokens: 30, messages } },
    { name: 'messages', path: '/v1/messages', body: { model: chat, max_tokens: 30, messages }, anthropic: true },
    { name: 'count_tokens', path: '/v1/messages/count_tokens', body: { model: chat, messages }, anthropic: true },
    { name: 'responses', path: '/v1/responses', body: { model: chat, max_output_tokens: 30, input: 'hello', store: false } },
    { name: 'responses without /v1', path: '/responses', body: { model: chat, max_output_tokens: 30, input: 'hello', store: false } },
    { name: 'embeddings', path: '/v1/embeddings', body: { model: embed, input: 'hello' } },
    { name: 'embeddings without /v1', path: '/embeddings', body: { model: embed, input: ['a', 'b'] } },
  ];
}

async function post(url: string, p: string, body: unknown, key: string | undefined, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...extra };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(url + p, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, any> };
}

function errorMessage(anthropic: boolean | undefined, body: Record<string, any>): string {
  if (anthropic) {
    assert.equal(body.type, 'error', 'Anthropic envelope');
    assert.equal(body.error.type, 'permission_error');
  } else assert.equal(typeof body.error?.message, 'string', 'OpenAI envelope');
  return body.error.message;
}

const chatCalls = (emu: Emulator) => emu.requests.filter((q) => !q.path.includes('inference:embed')).length;

describe('a key limited to some models, on every model route', () => {
  test('attack: a key for cortex-llama asks for cortex-claude / cortex-embed on each route → 403 in the route’s envelope; Cortex is never called', async () => {
    const r = await start();
    const { key } = await createKey(r.team.store, { label: 'llama-only', models: ['cortex-llama'] });
    for (const route of modelRoutes('cortex-claude', 'cortex-embed')) {
      r.emu.reset();
      const x = await post(r.url, route.path, route.body, key, route.headers);
      assert.equal(x.status, 403, `${route.name}: ${JSON.stringify(x.body).slice(0, 200)}`);
      assert.match(errorMessage(route.anthropic, x.body), /the key 'llama-only' may not use the model 'cortex-(claude|embed)'; it may use: cortex-llama/, route.name);
      assert.equal(r.emu.requests.length, 0, `${route.name}: no upstream call`);
    }
  });

  test('twin: the same routes with the models the key may use → 200', async () => {
    const r = await start();
    const { key } = await createKey(r.team.store, { label: 'both', models: ['cortex-claude', 'cortex-embed'] });
    for (const route of modelRoutes('cortex-claude', 'cortex-embed')) {
      const x = await post(r.url, route.path, route.body, key, route.headers);
      assert.equal(x.status, 200, `${route.name}: ${JSON.stringify(x.body).slice(0, 300)}`);
    }
  });

  test('attack: embeddings obey the key’s rpm and budget (they used to skip admission); count_tokens spends nothing', async () => {
    const r = await start();
    const { key } = await createKey(r.team.store, { label: 'embedder', rpm: 2 });
    const count = modelRoutes('cortex-llama', 'cortex-embed').find((q) => q.name === 'count_tokens')!;
    for (let i = 0; i < 3; i++) assert.equal((await post(r.url, count.path, count.body, key)).status, 200, 'count_tokens is free');
    assert.equal((await post(r.url, '/v1/embeddings', { model: 'cortex-embed', input: 'a' }, key)).status, 200);
    assert.equal((await post(r.url, '/v1/embeddings', { model: 'cortex-embed', input: 'b' }, key)).status, 200);
    const third = await post(r.url, '/v1/embeddings', { model: 'cortex-embed', input: 'c' }, key);
    assert.equal(third.status, 429);
    assert.match(third.body.error.message, /limited to 2 requests per minute/);
    assert.ok(Number(third.retryAfter) >= 1);
    assert.equal((await post(r.url, '/v1/chat/completions', { model: 'cortex-llama', messages: [{ role: 'user', content: 'hi' }] }, key)).status, 429, 'one limit for every route');
    assert.equal((await post(r.url, '/v1/embeddings', { model: 'cortex-embed', input: 'd' }, MASTER)).status, 200, 'twin: the master key is not limited');

    const { key: budgeted } = await createKey(r.team.store, { label: 'tiny', budget_tokens: 5, budget_period: 'day' });
    const big = await post(r.url, '/v1/embeddings', { model: 'cortex-embed', input: 'word '.repeat(40) }, budgeted);
    assert.equal(big.status, 200, 'a lone request runs even when its estimate does not fit');
    const over = await post(r.url, '/v1/embeddings', { model: 'cortex-embed', input: 'again' }, budgeted);
    assert.equal(over.status, 402, 'the budget spent on embeddings refuses the next one');
    assert.equal(over.body.error.code, 'budget_exceeded');
  });
});

describe('fallbacks only to models the key may use', () => {
  test('attack: cortex-opus is unavailable and falls back to cortex-llama; a key for cortex-opus only does not reach cortex-llama', async () => {
    const r = await start();
    const { key } = await createKey(r.team.store, { label: 'opus-only', models: ['cortex-opus'] });
    r.emu.reset();
    const x = await post(r.url, '/v1/chat/completions', { model: 'cortex-opus', max_tokens: 30, messages: [{ role: 'user', content: 'hi' }] }, key);
    assert.equal(x.status, 400, JSON.stringify(x.body));
    assert.match(x.body.error.message, /not available|region/i);
    assert.deepEqual(
      r.emu.requests.map((q) => (q.body as { model?: string }).model),
      ['claude-opus-4-5'],
      'only the allowed deployment was called',
    );
  });

  test('twin: a key for both models gets the fallback’s answer', async () => {
    const r = await start();
    const { key } = await createKey(r.team.store, { label: 'opus-and-llama', models: ['cortex-opus', 'cortex-llama'] });
    r.emu.reset();
    const x = await post(r.url, '/v1/chat/completions', { model: 'cortex-opus', max_tokens: 30, messages: [{ role: 'user', content: 'hi' }] }, key);
    assert.equal(x.status, 200, JSON.stringify(x.body));
    assert.deepEqual(
      r.emu.requests.map((q) => (q.body as { model?: string }).model),
      ['claude-opus-4-5', 'llama3.1-70b'],
    );
  });
});

describe('the model list shows what the key may use', () => {
  test('attack: a limited key reads /v1/models and /v1/model/info → only its models; twin: the master key and an unlimited key see all', async () => {
    const r = await start();
    const { key: limited } = await createKey(r.team.store, { label: 'lim', models: ['cortex-llama'] });
    const { key: open } = await createKey(r.team.store, { label: 'open' });
    const ids = async (p: string, key: string) => {
      const res = await fetch(r.url + p, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200);
      const b = (await res.json()) as { data: Array<{ id?: string; model_name?: string }> };
      return b.data.map((m) => m.id ?? m.model_name);
    };
    const all = ['cortex-claude', 'cortex-llama', 'cortex-embed', 'cortex-opus'];
    assert.deepEqual(await ids('/v1/models', limited), ['cortex-llama']);
    assert.deepEqual(await ids('/models', limited), ['cortex-llama']);
    assert.deepEqual(await ids('/v1/model/info', limited), ['cortex-llama']);
    assert.deepEqual(await ids('/v1/models', open), all);
    assert.deepEqual(await ids('/v1/models', MASTER), all);
    assert.deepEqual(await ids('/v1/model/info', MASTER), all);
  });
});

describe('virtual keys are enforced without a master key', () => {
  test('attack: with virtual keys and no master key, leaving the key out or sending a made-up one → 401; a limited key keeps its limits', async () => {
    const r = await start({ masterKey: undefined });
    const { key } = await createKey(r.team.store, { label: 'nomaster', models: ['cortex-llama'], rpm: 2 });
    await r.team.refresh();
    const body = { model: 'cortex-claude', max_tokens: 30, messages: [{ role: 'user', content: 'hi' }] };
    r.emu.reset();
    for (const k of [undefined, 'sk-cp-' + 'z'.repeat(43), 'anything']) {
      const x = await post(r.url, '/v1/chat/completions', body, k);
      assert.equal(x.status, 401, String(k));
      assert.match(x.body.error.message, /this proxy uses virtual keys/);
      const m = await post(r.url, '/v1/messages', body, k);
      assert.equal(m.status, 401);
      assert.equal(m.body.error.type, 'authentication_error');
      assert.equal((await post(r.url, '/v1/embeddings', { model: 'cortex-embed', input: 'a' }, k)).status, 401);
      assert.equal((await fetch(`${r.url}/v1/models`, k ? { headers: { authorization: `Bearer ${k}` } } : {})).status, 401);
    }
    assert.equal(chatCalls(r.emu), 0, 'nothing reached Cortex');
    const refused = await post(r.url, '/v1/chat/completions', body, key);
    assert.equal(refused.status, 403, 'the key’s model list holds without a master key');
    // twin: the key's own model works until its rpm
    const ok = { ...body, model: 'cortex-llama' };
    assert.equal((await post(r.url, '/v1/chat/completions', ok, key)).status, 200);
    assert.equal((await post(r.url, '/v1/chat/completions', ok, key)).status, 200);
    assert.equal((await post(r.url, '/v1/chat/completions', ok, key)).status, 429);
    // the public routes stay public
    assert.equal((await fetch(`${r.url}/health`)).status, 200);
  });

  test('twin: local use (no master key, no virtual keys) needs no key; revoking the last key returns to that', async () => {
    const r = await start({ masterKey: undefined });
    const body = { model: 'cortex-claude', max_tokens: 30, messages: [{ role: 'user', content: 'hi' }] };
    assert.equal((await post(r.url, '/v1/chat/completions', body, undefined)).status, 200);
    assert.equal((await post(r.url, '/v1/chat/completions', body, 'whatever-the-client-sends')).status, 200);
    const { info } = await createKey(r.team.store, { label: 'temp' });
    await r.team.refresh();
    assert.equal((await post(r.url, '/v1/chat/completions', body, undefined)).status, 401, 'a key exists: enforced');
    await revokeKey(r.team.store, info.id);
    await r.team.refresh();
    assert.equal((await post(r.url, '/v1/chat/completions', body, undefined)).status, 200, 'no unrevoked key left: local mode again');
  });
});
