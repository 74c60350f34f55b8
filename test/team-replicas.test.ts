// Three real `cortex-proxy serve` replicas on one PostgreSQL database and one Redis, behind a round-robin test
// client: migrations when they start together on an empty database, one rate limit and one budget shared exactly,
// a revoked key refused by every replica within a second, and no acknowledged usage record lost when a replica is
// SIGKILLed mid-traffic. Needs CORTEX_PROXY_TEST_PG_URL and CORTEX_PROXY_TEST_REDIS_URL (test/services.sh; .ci/run
// sets them); skipped with a message when they are unset.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import pg from 'pg';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { MIGRATIONS } from '../src/team/pg-store.js';
import { cleanEnv, modelEntry, runCli, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';

const PG_URL = process.env.CORTEX_PROXY_TEST_PG_URL;
const REDIS_URL = process.env.CORTEX_PROXY_TEST_REDIS_URL;
const skip = !PG_URL || !REDIS_URL ? 'CORTEX_PROXY_TEST_PG_URL / CORTEX_PROXY_TEST_REDIS_URL unset: start them with `source test/services.sh` (.ci/run does)' : false;

const PAT = 'replica-pat-' + 'r'.repeat(32);
const MASTER = 'sk-replica-master-' + 'm'.repeat(32);

const config = (apiBase: string) => `model_list:
${modelEntry('cortex-claude', 'snowflake/claude-sonnet-4-5', apiBase)}general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  database_url: os.environ/DATABASE_URL
  redis_url: os.environ/REDIS_URL
  disable_spend_logs: true
`;

type Dialect = 'openai' | 'anthropic' | 'responses';
const DIALECTS: Dialect[] = ['openai', 'anthropic', 'responses'];

interface Answer {
  status: number;
  retryAfter: string | null;
  tokens: number;
  requestId: string | null;
  error?: { type: string; message: string; code?: string };
}

async function call(url: string, key: string, dialect: Dialect = 'openai', opts: { stream?: boolean; maxTokens?: number } = {}): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  let path = '/v1/chat/completions';
  let body: Record<string, unknown> = { model: 'cortex-claude', max_tokens: opts.maxTokens ?? 40, messages: [{ role: 'user', content: 'hello there' }] };
  if (opts.stream) Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  if (dialect === 'anthropic') {
    path = '/v1/messages';
    headers['anthropic-version'] = '2023-06-01';
    body = { model: 'cortex-claude', max_tokens: opts.maxTokens ?? 40, messages: [{ role: 'user', content: 'hello there' }] };
  } else if (dialect === 'responses') {
    path = '/v1/responses';
    body = { model: 'cortex-claude', max_output_tokens: opts.maxTokens ?? 40, input: 'hello there', store: false };
  }
  const res = await fetch(url + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const out: Answer = { status: res.status, retryAfter: res.headers.get('retry-after'), tokens: 0, requestId: res.headers.get('x-request-id') };
  const text = await res.text(); // a stream: read to its end, so the answer was received completely
  if (opts.stream) {
    if (res.status === 200 && !text.includes('data: [DONE]')) throw new Error('stream ended early');
    for (const m of text.matchAll(/"total_tokens":(\d+)/g)) out.tokens = Number(m[1]);
    return out;
  }
  const j = JSON.parse(text) as Record<string, any>;
  if (res.status === 200) {
    const u = j.usage;
    out.tokens = u.total_tokens ?? u.input_tokens + u.output_tokens + (u.cache_read_input_tokens ?? 0);
  } else out.error = dialect === 'anthropic' ? { type: j.error.type, message: j.error.message } : { type: j.error.type ?? j.error.code, message: j.error.message, code: j.error.code };
  return out;
}

describe('three replicas on PostgreSQL and Redis', { skip, timeout: 110_000 }, () => {
  let emu: Emulator;
  let admin: pg.Client;
  let db: pg.Client;
  let dbName: string;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let replicas: RunningProxy[] = [];
  let rr = 0;
  const next = () => replicas[rr++ % replicas.length];

  const newKey = async (...flags: string[]): Promise<{ key: string; id: string }> => {
    const r = await runCli(['keys', 'create', '--json', ...flags], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { key: string; id: string };
    return { key: j.key, id: j.id };
  };

  before(async () => {
    emu = await startEmulator({ pats: [PAT], quiet: true });
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    dbName = `cp_test_${process.pid}_${Date.now()}`;
    await admin.query(`CREATE DATABASE ${dbName}`);
    const u = new URL(PG_URL!);
    u.pathname = `/${dbName}`;
    env = cleanEnv({ SNOWFLAKE_PAT: PAT, LITELLM_MASTER_KEY: MASTER, DATABASE_URL: u.toString(), REDIS_URL: REDIS_URL! });
    db = new pg.Client({ connectionString: u.toString() });
    await db.connect();
    dir = tempDir();
    writeFiles(dir, { 'cortex-proxy.yaml': config(emu.apiBase) });
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await db?.end();
    await admin?.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin?.end();
    await emu?.close();
  });

  test('three replicas starting at once on an empty database migrate it once, and report ready', async () => {
    replicas = await Promise.all([0, 1, 2].map(() => startProxy(['--config', 'cortex-proxy.yaml', '-q'], { cwd: dir, env })));
    const { rows } = await db.query('SELECT version FROM cp_migrations ORDER BY version');
    assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
    for (const r of replicas) {
      const res = await fetch(`${r.url}/health/ready`, { headers: { authorization: `Bearer ${MASTER}` } });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ready', store: { kind: 'postgres', state: 'ok' }, limits: { kind: 'redis', state: 'ok' }, keys: 0 });
      assert.match(r.stderr(), /limits: shared \(Redis\)/);
      assert.ok(!r.stderr().includes(MASTER));
    }
  });

  test('one rate limit for all replicas: exactly rpm requests pass, then 429 with Retry-After in each dialect', async () => {
    const { key } = await newKey('--label', 'rpm-user', '--rpm', '5');
    const got: Answer[] = [];
    for (let i = 0; i < 8; i++) got.push(await call(next().url, key, DIALECTS[i % 3]));
    assert.deepEqual(got.map((a) => a.status), [200, 200, 200, 200, 200, 429, 429, 429]);
    for (const a of got.slice(5)) {
      assert.ok(Number(a.retryAfter) >= 1 && Number(a.retryAfter) <= 60, `Retry-After ${a.retryAfter}`);
      assert.match(a.error!.type, /rate_limit/);
      assert.match(a.error!.message, /limited to 5 requests per minute/);
    }
  });

  test('one limit on requests in flight for all replicas', async () => {
    const { key } = await newKey('--label', 'parallel-user', '--max-parallel', '2');
    emu.setKnobs({ ttfbMs: 600 });
    try {
      const seen = emu.requests.length;
      const slow = [call(replicas[0].url, key, 'openai', { stream: true }), call(replicas[1].url, key, 'openai', { stream: true })];
      // Both are in flight once the emulator has received them.
      const t0 = Date.now();
      while (emu.requests.length < seen + 2) {
        assert.ok(Date.now() - t0 < 5000, 'the two requests reached the emulator');
        await new Promise((r) => setTimeout(r, 10));
      }
      const third = await call(replicas[2].url, key, 'anthropic');
      assert.equal(third.status, 429);
      assert.match(third.error!.message, /may have 2 requests in flight at once/);
      assert.deepEqual((await Promise.all(slow)).map((a) => a.status), [200, 200]);
    } finally {
      emu.setKnobs({ ttfbMs: 0 });
    }
    assert.equal((await call(replicas[2].url, key, 'anthropic')).status, 200, 'a slot is free again');
  });

  test('one budget for all replicas under concurrent traffic: spent, then refused everywhere, passed by at most one request per replica', async () => {
    const BUDGET = 800;
    const { key, id } = await newKey('--label', 'budget-user', '--budget-tokens', String(BUDGET), '--period', 'day');
    let told = 0;
    let most = 0;
    let ok = 0;
    const worker = async (w: number) => {
      for (let i = 0; ; i++) {
        const a = await call(next().url, key, DIALECTS[(w + i) % 3]);
        if (a.status === 200) {
          told += a.tokens;
          most = Math.max(most, a.tokens);
          ok++;
        } else if (a.status === 429) {
          assert.match(a.error!.message, /budget: its requests now run one at a time/);
          await new Promise((r) => setTimeout(r, 20)); // a client backing off as Retry-After asks
        } else {
          assert.equal(a.status, 402, JSON.stringify(a));
          assert.match(a.error!.message, new RegExp(`has used its day budget \\(\\d+ of ${BUDGET} tokens\\)`));
          assert.ok(Number(a.retryAfter) > 0);
          return;
        }
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5].map(worker));
    const { rows } = await db.query('SELECT tokens FROM cp_spend WHERE key_id = $1 AND period = $2', [id, `d:${new Date().toISOString().slice(0, 10)}`]);
    const spent = Number(rows[0].tokens);
    assert.equal(spent, told, 'the database holds exactly what the clients were told');
    assert.ok(ok > 6, `${ok} requests ran`);
    assert.ok(spent >= BUDGET - most, `spent ${spent}: the budget was used`);
    assert.ok(spent <= BUDGET + replicas.length * most, `spent ${spent} of ${BUDGET}: at most one request (≤ ${most} tokens) over per replica`);
    for (const r of replicas) assert.equal((await call(r.url, key)).status, 402, 'every replica refuses');
    const usage = await db.query("SELECT count(*)::int AS n, sum(prompt_tokens + completion_tokens)::int AS t FROM cp_usage WHERE key_id = $1 AND status = 200", [id]);
    assert.deepEqual(usage.rows[0], { n: ok, t: told });
    // `cortex-proxy usage --by key` reads the replicas' records from the database.
    const rep = await runCli(['usage', '--by', 'key', '--json', '--since', '1h'], { cwd: dir, env });
    assert.equal(rep.code, 0, rep.stderr);
    const group = (JSON.parse(rep.stdout) as { groups: Array<{ key: string; total_tokens: number }> }).groups.find((g) => g.key === 'budget-user');
    assert.ok(group, rep.stdout.slice(0, 500));
    assert.ok(group.total_tokens >= told, 'the budget key’s tokens (its refused requests add none)');
  });

  test('a revoked key is refused by every replica within a second', async () => {
    const { key } = await newKey('--label', 'leaver');
    for (const r of replicas) assert.equal((await call(r.url, key)).status, 200);
    const res = await fetch(`${replicas[0].url}/admin/keys/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'leaver' }),
    });
    assert.equal(res.status, 200);
    const t0 = Date.now();
    const refusedAfter = await Promise.all(
      replicas.map(async (r) => {
        while ((await call(r.url, key)).status !== 401) {
          if (Date.now() - t0 > 3000) return Infinity;
          await new Promise((x) => setTimeout(x, 20));
        }
        return Date.now() - t0;
      }),
    );
    assert.ok(Math.max(...refusedAfter) <= 1000, `refused after ${refusedAfter.join(', ')} ms`);
  });

  test('a replica killed (SIGKILL) mid-traffic loses no usage record of an answer a client received completely', async () => {
    const { key, id } = await newKey('--label', 'crash-user');
    const victim = await startProxy(['--config', 'cortex-proxy.yaml', '-q'], { cwd: dir, env });
    emu.setKnobs({ chunkDelayMs: 15 });
    const completed: string[] = [];
    let broken = 0;
    let killed = false;
    let reached: () => void;
    const enough = new Promise<void>((r) => (reached = r));
    const worker = async (w: number) => {
      while (!killed) {
        try {
          const a = await call(victim.url, key, 'openai', { stream: w % 2 === 0, maxTokens: 60 });
          assert.equal(a.status, 200);
          completed.push(a.requestId!);
          if (completed.length >= 30) reached();
        } catch {
          broken++; // the replica died under this request: not acknowledged
        }
      }
    };
    const workers = [0, 1, 2, 3, 4, 5, 6, 7].map(worker);
    try {
      await enough;
      killed = true;
      victim.child.kill('SIGKILL');
      await once(victim.child, 'exit');
      await Promise.all(workers);
    } finally {
      emu.setKnobs({ chunkDelayMs: 0 });
    }
    const { rows } = await db.query('SELECT request_id FROM cp_usage WHERE key_id = $1', [id]);
    const stored = new Set(rows.map((r) => r.request_id));
    const lost = completed.filter((r) => !stored.has(r));
    assert.deepEqual(lost, [], `${lost.length} of ${completed.length} acknowledged records lost (${broken} requests broken by the kill)`);
    // The surviving replicas keep serving the key.
    assert.equal((await call(replicas[0].url, key)).status, 200);
  });
});
