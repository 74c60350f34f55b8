// `cortex-proxy doctor` and `cortex-proxy models` against the emulator: all ✓ for a good setup, and each failure
// class of the quickstart's troubleshooting table reported with its fix when the emulator is told to fail that way.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { cleanEnv, runCli, startProxy, tempDir } from './helpers.js';
import { freePort, jwtPat, rs256Jwt, STRONG_KEY, writeAccount } from './setup-helpers.js';
import { runChecks, type Check } from '../src/cli/doctor.js';
import { loadContext } from '../src/cli/config-context.js';

const PAT = jwtPat(60);
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ pats: [PAT, rs256Jwt()], quiet: true });
});
after(() => emu?.close());
beforeEach(() => emu.reset());

// The CLI runs doctor as a child process in a few tests below; the failure classes run its checks in this process
// (runChecks is what `doctor --json` prints), which keeps the file fast on a busy machine.
for (const k of Object.keys(process.env)) if (/^(SNOWFLAKE_|LITELLM_|CORTEX_PROXY_)/.test(k)) delete process.env[k];

async function doctor(dir: string, extra: string[] = [], env = cleanEnv()) {
  const port = await freePort();
  let report: { ok: boolean; checks: Check[] };
  let r: { code: number | null; stdout: string; stderr: string };
  if (extra.includes('--cli')) {
    r = await runCli(['doctor', '--json', '--port', String(port), ...extra.filter((a) => a !== '--cli')], { cwd: dir, env });
    try {
      report = JSON.parse(r.stdout);
    } catch {
      throw new Error(`doctor printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
  } else {
    const wh = extra.indexOf('--warehouse');
    const checks = (await runChecks(loadContext(join(dir, 'cortex-proxy.yaml'), dir), port, wh === -1 ? undefined : extra[wh + 1])) as Check[];
    const failed = checks.filter((c) => c.status === 'fail').length;
    report = { ok: failed === 0, checks };
    r = { code: failed === 0 ? 0 : 1, stdout: JSON.stringify(report), stderr: '' };
  }
  const get = (id: string) => report.checks.filter((c) => c.id === id);
  const one = (id: string) => {
    const list = get(id);
    assert.equal(list.length >= 1, true, `no check ${id}`);
    return list[0];
  };
  for (const out of [r.stdout, r.stderr]) {
    assert.ok(!out.includes(PAT), 'doctor never prints the PAT');
    assert.ok(!out.includes(STRONG_KEY), 'doctor never prints the master key');
  }
  return { code: r.code, report, get, one, port };
}

function account(opts: Partial<Parameters<typeof writeAccount>[1]> = {}) {
  const dir = tempDir();
  writeAccount(dir, { apiBase: emu.apiBase, pat: PAT, ...opts });
  return dir;
}

test('a good setup: every check passes, exit 0; the text form has one ✓ line per check', async () => {
  const dir = account();
  const d = await doctor(dir, ['--cli']);
  assert.equal(d.code, 0, JSON.stringify(d.report.checks.filter((c) => c.status === 'fail')));
  assert.equal(d.report.ok, true);
  for (const id of ['config', 'env', 'pat', 'token', 'host', 'credential', 'sql', 'port', 'master-key', 'env-mode']) assert.equal(d.one(id).status, 'ok', `${id}: ${d.one(id).detail}`);
  assert.match(d.one('token').detail, /programmatic access token, expires \d{4}-\d\d-\d\d/);
  assert.match(d.one('pat').detail, /pat\/<token>/);
  assert.match(d.one('sql').detail, /region AWS_US_WEST_2.*cross-region inference DISABLED/);
  const models = d.get('model');
  assert.ok(models.length >= 2);
  assert.ok(models.every((m) => m.status === 'ok'), JSON.stringify(models));
  assert.ok(emu.requests.some((q) => q.path === '/api/v2/statements'));
  assert.ok(emu.requests.filter((q) => q.body && (q.body as any).max_tokens === 1).length >= 2, '1-token requests');

  const text = await runCli(['doctor', '--port', String(d.port)], { cwd: dir, env: cleanEnv() });
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^✓ config/m);
  assert.match(text.stdout, /^✓ credential +accepted/m);
  assert.match(text.stdout, /All checks passed/);
  assert.doesNotMatch(text.stdout, /\x1b\[/, 'no colour when not a terminal');
});

test('401 from Cortex (expired PAT): the credential check fails with the PAT fix; models are skipped', async () => {
  emu.setAccount({ credentialFailure: 'expired-pat' });
  const d = await doctor(account());
  assert.equal(d.code, 1);
  const c = d.one('credential');
  assert.equal(c.status, 'fail');
  assert.match(c.detail, /expired, revoked or mistyped/);
  assert.match(c.fix!, /new programmatic access token/);
  assert.ok(d.get('model').every((m) => m.status === 'skip'));
});

test('a PAT whose own expiry date has passed is caught before any call', async () => {
  const dir = tempDir();
  writeAccount(dir, { apiBase: emu.apiBase, pat: jwtPat(-2) });
  const d = await doctor(dir);
  assert.equal(d.code, 1);
  assert.equal(d.one('token').status, 'fail');
  assert.match(d.one('token').detail, /expired on/);
});

test('403 (role lacks SNOWFLAKE.CORTEX_USER): the fix is the GRANT, and the SQL API still names the role', async () => {
  emu.setAccount({ credentialFailure: 'no-cortex-role', role: 'ANALYST' });
  const d = await doctor(account());
  assert.equal(d.code, 1);
  assert.equal(d.one('credential').status, 'fail');
  assert.match(d.one('credential').fix!, /GRANT DATABASE ROLE SNOWFLAKE\.CORTEX_USER/);
  assert.match(d.one('sql').detail, /role ANALYST.*grant SNOWFLAKE\.CORTEX_USER to role ANALYST/);
});

test('network policy (401 or 403): explained as a network policy, not as a bad token', async () => {
  for (const status of [403, 401] as const) {
    emu.setAccount({ credentialFailure: 'network-policy', networkPolicyStatus: status });
    const d = await doctor(account());
    assert.equal(d.code, 1);
    assert.match(d.one('credential').detail, /network policy/);
    assert.match(d.one('credential').fix!, /network policy/);
  }
});

test('SNOWFLAKE_PAT not in the environment (the quickstart\'s "Missing Snowflake JWT key"): named, with where to put it', async () => {
  const dir = account();
  writeFileSync(join(dir, '.env'), `CORTEX_PROXY_MASTER_KEY=${STRONG_KEY}\n`, { mode: 0o600 });
  const d = await doctor(dir);
  assert.equal(d.code, 1);
  assert.equal(d.one('env').status, 'fail');
  assert.match(d.one('env').detail, /not set: SNOWFLAKE_PAT/);
  assert.match(d.one('env').fix!, /SNOWFLAKE_PAT=… to .*\.env/);
});

test('token type: a bare PAT is fine (no pat/ needed); a key-pair JWT given as the PAT is not', async () => {
  const bare = await doctor(account({ patPrefix: false }));
  assert.equal(bare.one('pat').status, 'ok');
  assert.match(bare.one('pat').detail, /bare token/);
  assert.equal(bare.code, 0);
  const dir = tempDir();
  writeAccount(dir, { apiBase: emu.apiBase, pat: rs256Jwt() });
  const jwt = await doctor(dir);
  assert.equal(jwt.code, 1);
  assert.equal(jwt.one('token').status, 'fail');
  assert.match(jwt.one('token').detail, /key-pair JWT/);
});

test('a model unavailable in the region: cross-region explained and the nearest available model suggested', async () => {
  emu.setAccount({ unavailableInRegion: ['claude-opus-4-5'] });
  const d = await doctor(account({ models: ['claude-sonnet-4-5', 'claude-opus-4-5'] }));
  assert.equal(d.code, 1);
  const bad = d.get('model').filter((m) => m.status === 'fail');
  assert.ok(bad.length >= 1);
  assert.ok(bad.every((m) => m.title.includes('claude-opus-4-5')));
  assert.match(bad[0].detail, /not available in your region AWS_US_WEST_2 and cross-region inference is DISABLED/);
  assert.match(bad[0].fix!, /ALTER ACCOUNT SET CORTEX_ENABLED_CROSS_REGION = 'ANY_REGION'/);
  assert.match(bad[0].fix!, /use claude-[a-z0-9.-]+ instead/);
  assert.ok(d.get('model').some((m) => m.title.includes('claude-sonnet-4-5') && m.status === 'ok'));

  emu.setAccount({ crossRegion: 'AWS_EU' });
  const wide = await doctor(account({ models: ['claude-opus-4-5'] }));
  assert.match(wide.get('model').find((m) => m.status === 'fail')!.detail, /nor through cross-region inference \(AWS_EU\)/);
});

test('the SQL API being off limits is a skip, not a failure', async () => {
  emu.setAccount({ sql: 'forbidden' });
  const d = await doctor(account());
  assert.equal(d.one('sql').status, 'skip');
  assert.equal(d.code, 0);
  emu.setAccount({ sql: 'no-warehouse' });
  const wh = await doctor(account());
  assert.equal(wh.one('sql').status, 'skip');
  const withWh = await doctor(account(), ['--warehouse', 'COMPUTE_WH']);
  assert.equal(withWh.one('sql').status, 'ok');
});

test('the account host does not answer: named with a fix; the credential check is skipped', async () => {
  const dir = tempDir();
  writeAccount(dir, { apiBase: `http://127.0.0.1:${await freePort()}/api/v2`, pat: PAT });
  const d = await doctor(dir);
  assert.equal(d.code, 1);
  assert.equal(d.one('host').status, 'fail');
  assert.match(d.one('host').detail, /refused/);
  assert.equal(d.one('credential').status, 'skip');
});

test('proxy port: free, already served by cortex-proxy, or taken by another program ("Cursor Verify fails")', async () => {
  const dir = account();
  const p = await startProxy([], { cwd: dir, env: cleanEnv() });
  try {
    const port = new URL(p.url).port;
    const r = await runCli(['doctor', '--json', '--port', port], { cwd: dir, env: cleanEnv() });
    const port1 = (JSON.parse(r.stdout).checks as Check[]).find((c) => c.id === 'port')!;
    assert.equal(port1.status, 'ok');
    assert.match(port1.detail, /already served by cortex-proxy/);
  } finally {
    await p.stop();
  }
  const other = createServer((_req, res) => res.end('hello'));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  try {
    const port = String((other.address() as any).port);
    const r = await runCli(['doctor', '--json', '--port', port], { cwd: dir, env: cleanEnv() });
    const c = (JSON.parse(r.stdout).checks as Check[]).find((x) => x.id === 'port')!;
    assert.equal(c.status, 'fail');
    assert.match(c.detail, /taken by another program/);
    assert.match(c.fix!, /lsof -i :\d+/);
    assert.equal(r.code, 1);
  } finally {
    other.close();
  }
});

test('a weak master key and a world-readable .env fail with their fixes; no master key is a warning', async () => {
  const weak = await doctor(account({ masterKey: 'sk-test-master-' + 'y'.repeat(32), envMode: 0o644 }));
  assert.equal(weak.code, 1);
  assert.equal(weak.one('master-key').status, 'fail');
  assert.match(weak.one('master-key').fix!, /randomBytes/);
  assert.equal(weak.one('env-mode').status, 'fail');
  assert.match(weak.one('env-mode').fix!, /^chmod 600 /);
  const none = await doctor(account({ masterKey: null }));
  assert.equal(none.one('master-key').status, 'warn');
  assert.equal(none.code, 0);
});

test('no account at all: doctor says to run init', async () => {
  const d = await doctor(tempDir(), ['--cli']);
  assert.equal(d.code, 1);
  assert.equal(d.one('config').status, 'fail');
  assert.match(d.one('config').fix!, /cortex-proxy init/);
});

test('the config line counts models in words: "1 model", "2 models"', async () => {
  assert.match((await doctor(account({ models: ['claude-sonnet-4-5'] }))).one('config').detail, /: 1 model$/);
  assert.match((await doctor(account({ models: ['claude-sonnet-4-5', 'openai-gpt-5'] }))).one('config').detail, /: 2 models$/);
});

test('an AI Gateway api_base: doctor says what goes through the gateway and probes each model on its gateway path', async () => {
  emu.setAccount({ aiGateway: 'derived' }); // SHOW AI GATEWAYS names the account's public host, not the emulator
  const d = await doctor(account({ apiBase: `${emu.apiBase}/aigateways/SNOWFLAKE` }));
  assert.equal(d.code, 0, JSON.stringify(d.report.checks.filter((c) => c.status === 'fail')));
  const notes = d.get('gateway').map((c) => c.detail).join('\n');
  assert.match(notes, /chat for claude-sonnet-4-5, openai-gpt-4\.1 goes through it/);
  assert.match(notes, /embeddings .*use the account's \/api\/v2\/cortex/);
  const probes = emu.requests.filter((q) => /\/v1\/|inference:complete/.test(q.path)).map((q) => q.path).sort();
  assert.deepEqual(probes, ['/api/v2/aigateways/SNOWFLAKE/v1/chat/completions', '/api/v2/aigateways/SNOWFLAKE/v1/messages']);
  assert.ok(emu.requests.some((q) => q.path === '/api/v2/cortex/models'), 'the model list from the account path');
  // SHOW AI GATEWAYS names another endpoint (the emulator's default: the account's public host): a warning with the fix.
  assert.equal(d.one('gateway-sql').status, 'warn');
  assert.match(d.one('gateway-sql').detail, /SHOW AI GATEWAYS says the endpoint is https:\/\/myorg-myaccount\.snowflakecomputing\.com\/api\/v2\/aigateways\/SNOWFLAKE/);
});

test('doctor and the AI Gateway over SQL: the endpoint SHOW AI GATEWAYS returns, the AI quota, a gateway the config does not use', async () => {
  const gw = `${emu.apiBase}/aigateways/SNOWFLAKE`;
  emu.setAccount({ aiGateway: gw });
  let d = await doctor(account({ apiBase: gw }));
  assert.equal(d.code, 0, JSON.stringify(d.report.checks.filter((c) => c.status !== 'ok')));
  assert.equal(d.one('gateway-sql').status, 'ok');
  assert.match(d.one('gateway-sql').detail, /as SHOW AI GATEWAYS returns it\) serves claude-sonnet-4-5, openai-gpt-4\.1/);
  assert.equal(d.one('gateway-quota').status, 'ok');
  assert.match(d.one('gateway-quota').detail, /MY_BUDGET_SUMMARY\(\): .*ACTIVE/);
  emu.setAccount({ quotaBlocked: true });
  d = await doctor(account({ apiBase: gw }));
  assert.equal(d.one('gateway-quota').status, 'warn');
  assert.match(d.one('gateway-quota').fix ?? '', /quota is used up/);
  // A config on the account path is told the gateway exists; an account without one says so.
  emu.setAccount({ quotaBlocked: false });
  d = await doctor(account());
  assert.equal(d.one('gateway-sql').status, 'ok');
  assert.match(d.one('gateway-sql').detail, /has a Cortex AI Gateway at .*; the config does not use it/);
  assert.match(d.one('gateway-sql').fix ?? '', /cortex_gateway: true/);
  emu.setAccount({ aiGateway: 'none' });
  d = await doctor(account({ apiBase: gw }));
  assert.equal(d.one('gateway-sql').status, 'fail');
  assert.match(d.one('gateway-sql').detail, /SHOW AI GATEWAYS lists none/);
});
