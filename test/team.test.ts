// The team gateway on one machine (embedded store, in-process limits): key input and generation, the limiter's
// rules, the file store shared by two processes' worth of instances, and virtual keys through the real HTTP app
// against the emulator — each dialect's envelope for 401/403/429/402, Retry-After, rotation and revocation.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Settings } from '../src/config/types.js';
import { createKey, listKeys, revokeKey, rotateKey } from '../src/team/admin.js';
import { MemoryLimiter } from '../src/team/limits.js';
import { FileStore } from '../src/team/file-store.js';
import { generateKey, hashKey, KeyInputError, parseKeyInput, periodEnd, periodKey } from '../src/team/keys.js';
import { StoreConflict } from '../src/team/store.js';
import { tempDir } from './helpers.js';
import { useTeamApps } from './team-app-rig.js';

const MASTER = 'sk-team-master-' + 'm'.repeat(32);

describe('keys', () => {
  test('a key is sk-cp- and 256 random bits; only its sha256 is kept; the hint shows 4 + 4 characters', () => {
    const a = generateKey();
    const b = generateKey();
    assert.match(a.key, /^sk-cp-[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.key, b.key);
    assert.equal(a.hash, hashKey(a.key));
    assert.match(a.hash, /^[0-9a-f]{64}$/);
    assert.equal(a.hint, `${a.key.slice(0, 10)}…${a.key.slice(-4)}`);
  });

  test('policy input is checked with messages that say what to write', () => {
    const now = Date.UTC(2026, 10, 28, 12);
    assert.deepEqual(parseKeyInput({ label: 'alice', models: 'a, b,a', rpm: '60', budget_tokens: 1000, budget_period: 'day', expires: '30d' }, now), {
      label: 'alice',
      models: ['a', 'b'],
      rpm: 60,
      budgetTokens: 1000,
      budgetPeriod: 'day',
      expiresAt: now + 30 * 86_400_000,
    });
    const bad: Array<[unknown, RegExp]> = [
      [{ label: 'has space' }, /label must be/],
      [{ rpm: 0 }, /rpm must be a positive integer/],
      [{ budget_tokens: 10, budget_credits: 1 }, /not both/],
      [{ budget_period: 'week', budget_tokens: 1 }, /'day' or 'month'/],
      [{ budget_period: 'day' }, /needs budget_tokens or budget_credits/],
      [{ expires: '2020-01-01' }, /in the past/],
      [{ expires: 'soon' }, /duration such as 30d/],
      [{ colour: 'red' }, /unknown field 'colour'/],
      [[], /JSON object/],
    ];
    for (const [raw, re] of bad) assert.throws(() => parseKeyInput(raw, now), (e: Error) => e instanceof KeyInputError && re.test(e.message), JSON.stringify(raw));
  });

  test('budget periods are UTC days and months', () => {
    const t = Date.UTC(2026, 11, 31, 23, 59);
    assert.equal(periodKey('day', t), 'd:2026-12-31');
    assert.equal(periodKey('month', t), 'm:2026-12');
    assert.equal(periodEnd('day', t), Date.UTC(2027, 0, 1));
    assert.equal(periodEnd('month', t), Date.UTC(2027, 0, 1));
  });
});

describe('limits (in-process)', () => {
  test('rpm: a sliding minute, with the wait until the oldest admission leaves it', async () => {
    let now = 1_000_000;
    const m = new MemoryLimiter(() => now);
    for (let i = 0; i < 3; i++) assert.deepEqual(await m.admit({ keyId: 'k', reqId: `r${i}`, rpm: 3 }), { ok: true });
    now += 20_000;
    assert.deepEqual(await m.admit({ keyId: 'k', reqId: 'r3', rpm: 3 }), { ok: false, reason: 'rpm', retryAfterMs: 40_000 });
    now += 40_000;
    assert.deepEqual(await m.admit({ keyId: 'k', reqId: 'r4', rpm: 3 }), { ok: true });
  });

  test('tpm counts finished requests; max_parallel counts those in flight', async () => {
    let now = 5_000_000;
    const m = new MemoryLimiter(() => now);
    assert.equal((await m.admit({ keyId: 'k', reqId: 'a', tpm: 100, maxParallel: 2 })).ok, true);
    assert.equal((await m.admit({ keyId: 'k', reqId: 'b', tpm: 100, maxParallel: 2 })).ok, true);
    assert.deepEqual(await m.admit({ keyId: 'k', reqId: 'c', tpm: 100, maxParallel: 2 }), { ok: false, reason: 'parallel', retryAfterMs: 1000 });
    await m.settle('k', 'a', 60);
    await m.settle('k', 'b', 50);
    now += 1000;
    const r = await m.admit({ keyId: 'k', reqId: 'd', tpm: 100 });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'tpm');
    now += 60_000;
    assert.equal((await m.admit({ keyId: 'k', reqId: 'e', tpm: 100 })).ok, true);
  });

  test('budget: worst cases must fit next to the ones in flight, a lone request always runs, a spent budget refuses', async () => {
    const m = new MemoryLimiter();
    const b = (spent: number, cost: number) => ({ limit: 1000, spent, cost });
    assert.equal((await m.admit({ keyId: 'k', reqId: 'a', budget: b(0, 600) })).ok, true);
    assert.deepEqual(await m.admit({ keyId: 'k', reqId: 'b', budget: b(0, 600) }), { ok: false, reason: 'budget_busy', retryAfterMs: 1000 });
    assert.equal((await m.admit({ keyId: 'k', reqId: 'c', budget: b(0, 400) })).ok, true, 'fits next to the first');
    await m.settle('k', 'a', 0);
    await m.settle('k', 'c', 0);
    assert.equal((await m.admit({ keyId: 'k', reqId: 'd', budget: b(900, 600) })).ok, true, 'alone: runs although its worst case does not fit');
    await m.settle('k', 'd', 0);
    assert.deepEqual(await m.admit({ keyId: 'k', reqId: 'e', budget: b(1000, 1) }), { ok: false, reason: 'budget', retryAfterMs: 0 });
  });
});

describe('embedded store', () => {
  test('two instances on one folder (CLI and server) see each other’s keys and spend; labels of active keys are unique', async () => {
    const dir = tempDir();
    const a = new FileStore(path.join(dir, 'team'));
    const b = new FileStore(path.join(dir, 'team'));
    const { info, key } = await createKey(a, { label: 'alice', budget_tokens: 500, budget_period: 'day' });
    await assert.rejects(createKey(b, { label: 'alice' }), StoreConflict);
    const seen = await b.keysSince(0);
    assert.equal(seen.keys.length, 1);
    assert.equal((await b.keysSince(seen.version)).keys.length, 0, 'unchanged file: nothing new');
    const ts = new Date().toISOString();
    const row = { v: 1, ts, dialect: 'openai-chat', client: 'curl', key: 'alice', model: 'm', cortex_model: 'c', wire: 'openai', stream: false, status: 200, latency_ms: 1, ttft_ms: 1, prompt_tokens: 10, completion_tokens: 5, cached_tokens: 0, cache_write_tokens: 0, retries: 0, fallback: null, request_id: 'r', error_kind: null, error: null, client_closed: false, key_id: info.id, credits: 0.5, replica: 'x' };
    await a.record([row, { ...row, key_id: null }]);
    await b.record([row]);
    assert.deepEqual(await a.spend([[info.id, periodKey('day')], [info.id, periodKey('month')], ['other', periodKey('day')]]), [
      { tokens: 30, credits: 1 },
      { tokens: 30, credits: 1 },
      { tokens: 0, credits: 0 },
    ]);
    await revokeKey(b, 'alice');
    const after = await a.keysSince(seen.version);
    assert.equal(after.keys[0].revokedAt !== undefined, true);
    await createKey(a, { label: 'alice' }); // the label is free again once the old key is revoked
    assert.equal(fs.statSync(path.join(dir, 'team', 'keys.json')).mode & 0o777, 0o600);
    assert.ok(!fs.readFileSync(path.join(dir, 'team', 'keys.json'), 'utf8').includes(key), 'no plain key on disk');
    await a.close();
    await b.close();
  });
});

// ───────────────────────────── through the HTTP app ─────────────────────────────

const startApp = useTeamApps();
const start = (settings: Partial<Settings> = {}) => startApp({ master: MASTER, models: { 'cortex-claude': 'claude-sonnet-4-5', 'cortex-llama': 'llama3.1-70b' }, settings });

type Dialect = 'openai' | 'anthropic' | 'responses';
async function call(url: string, key: string | undefined, dialect: Dialect, model = 'cortex-claude', headerStyle: 'bearer' | 'x-api-key' | 'api-key' = 'bearer') {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers[headerStyle === 'bearer' ? 'authorization' : headerStyle] = headerStyle === 'bearer' ? `Bearer ${key}` : key;
  let p = '/v1/chat/completions';
  let body: unknown = { model, max_tokens: 40, messages: [{ role: 'user', content: 'hello' }] };
  if (dialect === 'anthropic') {
    p = '/v1/messages';
    headers['anthropic-version'] = '2023-06-01';
  } else if (dialect === 'responses') {
    p = '/v1/responses';
    body = { model, max_output_tokens: 40, input: 'hello', store: false };
  }
  const res = await fetch(url + p, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, any> };
}

/** The error's type and message in each dialect's envelope. */
function errorOf(dialect: Dialect, body: Record<string, any>): { type: string; message: string } {
  if (dialect === 'anthropic') {
    assert.equal(body.type, 'error');
    return { type: body.error.type, message: body.error.message };
  }
  return { type: body.error.type ?? body.error.code, message: body.error.message };
}

describe('virtual keys through the app', () => {
  test('a key works like the master key (Bearer, x-api-key, api-key) in every dialect; its label reaches the usage record', async () => {
    const r = await start();
    const { key } = await createKey(r.team.store, { label: 'alice' });
    const labels: string[] = [];
    r.app.context.onExchange.push((x) => void labels.push(x.keyLabel ?? '-'));
    for (const d of ['openai', 'anthropic', 'responses'] as Dialect[]) assert.equal((await call(r.url, key, d)).status, 200, d);
    assert.equal((await call(r.url, key, 'openai', 'cortex-claude', 'x-api-key')).status, 200);
    assert.equal((await call(r.url, key, 'openai', 'cortex-claude', 'api-key')).status, 200);
    assert.equal((await call(r.url, MASTER, 'openai')).status, 200);
    assert.deepEqual(labels, ['alice', 'alice', 'alice', 'alice', 'alice', 'master']);
    const list = await listKeys(r.team.store);
    assert.ok(list[0].spent_tokens! > 0, 'spend counted');
  });

  test('wrong, revoked, expired and rotated keys: 401 in each envelope; admin routes refuse virtual keys (403)', async () => {
    const r = await start();
    const { key } = await createKey(r.team.store, { label: 'bob' });
    for (const d of ['openai', 'anthropic', 'responses'] as Dialect[]) {
      const w = await call(r.url, 'sk-cp-' + 'x'.repeat(43), d);
      assert.equal(w.status, 401, d);
      assert.match(errorOf(d, w.body).type, /authentication_error|invalid_api_key/);
      assert.match(errorOf(d, w.body).message, /missing or wrong API key/);
    }
    const admin = await fetch(`${r.url}/admin/keys`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(admin.status, 403);
    assert.equal((await fetch(`${r.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).status, 403);

    const rotated = await rotateKey(r.team.store, 'bob', 60_000);
    await r.team.refresh();
    assert.equal((await call(r.url, key, 'openai')).status, 200, 'the old key works during the grace period');
    assert.equal((await call(r.url, rotated.key, 'openai')).status, 200);
    const again = await rotateKey(r.team.store, 'bob'); // no grace: both earlier keys stop at once
    await r.team.refresh();
    const old = await call(r.url, rotated.key, 'anthropic');
    assert.equal(old.status, 401);
    assert.match(errorOf('anthropic', old.body).message, /wrong API key|rotated/);
    await revokeKey(r.team.store, again.info.id);
    await r.team.refresh();
    const revoked = await call(r.url, again.key, 'responses');
    assert.equal(revoked.status, 401);
    assert.match(errorOf('responses', revoked.body).message, /revoked/);
  });

  test('allowed models: 403 naming what the key may use, in each envelope', async () => {
    const r = await start();
    const { key } = await createKey(r.team.store, { label: 'carol', models: ['cortex-llama'] });
    assert.equal((await call(r.url, key, 'openai', 'cortex-llama')).status, 200);
    assert.equal((await call(r.url, key, 'openai', 'llama3.1-70b')).status, 200, 'its Cortex id is the same model (one naming rule)');
    assert.equal((await call(r.url, key, 'openai', 'claude-sonnet-4-5')).status, 403, "an alias of a model it may not use is still refused");
    for (const d of ['openai', 'anthropic', 'responses'] as Dialect[]) {
      const x = await call(r.url, key, d, 'cortex-claude');
      assert.equal(x.status, 403, d);
      assert.match(errorOf(d, x.body).message, /may not use the model 'cortex-claude'; it may use: cortex-llama/);
    }
  });

  test('rpm: 429 with Retry-After in each envelope; the master key is not limited', async () => {
    const r = await start();
    const { key } = await createKey(r.team.store, { label: 'dave', rpm: 2 });
    assert.equal((await call(r.url, key, 'openai')).status, 200);
    assert.equal((await call(r.url, key, 'openai')).status, 200);
    for (const d of ['openai', 'anthropic', 'responses'] as Dialect[]) {
      const x = await call(r.url, key, d);
      assert.equal(x.status, 429, d);
      assert.ok(Number(x.retryAfter) >= 1 && Number(x.retryAfter) <= 60, `Retry-After ${x.retryAfter}`);
      assert.match(errorOf(d, x.body).type, /rate_limit/);
      assert.match(errorOf(d, x.body).message, /limited to 2 requests per minute/);
    }
    assert.equal((await call(r.url, MASTER, 'openai')).status, 200);
  });

  test('a token budget: requests run until it is spent, then 402 budget_exceeded until the period ends', async () => {
    const r = await start();
    const { key } = await createKey(r.team.store, { label: 'erin', budget_tokens: 150, budget_period: 'day' });
    let told = 0;
    let ok = 0;
    for (let i = 0; i < 20; i++) {
      const x = await call(r.url, key, 'openai');
      if (x.status !== 200) {
        assert.equal(x.status, 402);
        assert.equal(x.body.error.code, 'budget_exceeded');
        assert.match(x.body.error.message, /has used its day budget \(\d+ of 150 tokens\); it resets at \d{4}-/);
        assert.ok(Number(x.retryAfter) > 0 && Number(x.retryAfter) <= 86_400);
        break;
      }
      ok++;
      told += x.body.usage.total_tokens;
    }
    assert.ok(ok >= 2, `${ok} requests ran`);
    assert.ok(told >= 150, 'the budget was used up before refusals');
    const [k] = await listKeys(r.team.store);
    assert.equal(k.spent_tokens, told, 'spend = what the clients were told');
    assert.ok(told - 150 < told / ok + 1, 'passed by less than one request');
    const a = await call(r.url, key, 'anthropic');
    assert.equal(a.status, 402);
    assert.equal(errorOf('anthropic', a.body).type.length > 0, true);
  });

  test('/health/ready reports the store and the limits; the admin API creates, lists, rotates and revokes', async () => {
    const r = await start();
    const open = await fetch(`${r.url}/health/ready`);
    assert.equal(open.status, 200);
    assert.deepEqual(await open.json(), { status: 'ready' }, 'public readiness says ready, nothing more');
    const ready = await fetch(`${r.url}/health/ready`, { headers: { authorization: `Bearer ${MASTER}` } });
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', store: { kind: 'file', state: 'ok' }, limits: { kind: 'memory', state: 'ok' }, keys: 0 });
    const post = (p: string, body: unknown) =>
      fetch(r.url + p, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await post('/admin/keys/create', { label: 'frank', rpm: 10, expires: '7d' });
    assert.equal(created.status, 201);
    const c = (await created.json()) as Record<string, any>;
    assert.match(c.key, /^sk-cp-/);
    assert.equal(c.rpm, 10);
    assert.equal((await call(r.url, c.key, 'openai')).status, 200, 'usable at once on this server');
    assert.equal((await post('/admin/keys/create', { label: 'frank' })).status, 409);
    assert.equal((await post('/admin/keys/create', { rpm: -1, label: 'x' })).status, 400);
    const listed = (await (await fetch(`${r.url}/admin/keys`, { headers: { authorization: `Bearer ${MASTER}` } })).json()) as { keys: Array<Record<string, unknown>> };
    assert.equal(listed.keys.length, 1);
    assert.ok(!JSON.stringify(listed).includes(c.key) && !JSON.stringify(listed).includes('hash'), 'never the key or its hash');
    const rot = (await (await post('/admin/keys/rotate', { id: 'frank' })).json()) as Record<string, any>;
    assert.equal((await call(r.url, c.key, 'openai')).status, 401);
    assert.equal((await call(r.url, rot.key, 'openai')).status, 200);
    assert.equal((await post('/admin/keys/revoke', { id: c.id })).status, 200);
    assert.equal((await call(r.url, rot.key, 'openai')).status, 401);
    assert.equal((await post('/admin/keys/revoke', { id: 'nobody' })).status, 404);
  });
});
