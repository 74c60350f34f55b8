// Exposure: who may spend the credits and what the proxy gives away. The master key is refused at every wrong
// length and value; wrong keys from other machines are rate-limited (always, not only through a tunnel); no secret
// (PAT, key-pair JWT, private key or its passphrase, master key) appears in any log line, answer, /health, /metrics,
// dashboard statistics, usage log or crash report after a representative workload; shared .env and config files
// are warned about; a non-loopback bind needs a master key; no CORS (test/security-browser.test.ts has the rest); response ids are random 128-bit values.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { createApp } from '../src/server/app.js';
import { createLogger, MAX_ROTATING_SECRETS } from '../src/server/log.js';
import { DEFAULT_SETTINGS, type Config } from '../src/config/types.js';
import { installFailedAuthLimit } from '../src/server/tunnel-guard.js';
import { ROOT, cleanEnv, runCli, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';
import { DIALECTS, PATHS, bodyFor, call, envelopeError } from './reliability-helpers.js';

const PAT = 'sec-pat-' + 'P'.repeat(20) + 'x7Q2';
const MASTER = 'sk-sec-master-' + 'M'.repeat(24) + 'z9K4';
const PASS = 'sec passphrase ' + 'w'.repeat(12);
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEY_PEM = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }) as string;
const PLAIN_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const PUB_PEM = publicKey.export({ type: 'spki', format: 'pem' }) as string;

let emu: Emulator;
let proxy: RunningProxy;
let dir: string;

const config = (apiBase: string) => `model_list:
  - model_name: pat-model
    litellm_params:
      model: snowflake/claude-sonnet-4-5
      api_base: ${apiBase}
      api_key: os.environ/SNOWFLAKE_PAT
      cortex_api: complete
  - model_name: jwt-model
    litellm_params:
      model: snowflake/claude-4-sonnet
      api_base: ${apiBase}
      snowflake_account: myorg-myaccount
      snowflake_user: alice
      private_key_path: keys/rsa_key.p8
      private_key_passphrase: os.environ/SNOWFLAKE_PRIVATE_KEY_PASSPHRASE
      cortex_api: complete
litellm_settings:
  num_retries: 0
general_settings:
  master_key: os.environ/CORTEX_PROXY_MASTER_KEY
  usage_log_dir: ./usage
`;

before(async () => {
  emu = await startEmulator({ pats: [PAT], publicKeys: [{ account: 'MYORG-MYACCOUNT', user: 'ALICE', publicKeyPem: PUB_PEM }], quiet: true });
  dir = tempDir();
  fs.mkdirSync(path.join(dir, 'keys'));
  writeFiles(dir, {
    'cortex-proxy.yaml': config(emu.apiBase),
    '.env': `SNOWFLAKE_PAT=pat/${PAT}\nCORTEX_PROXY_MASTER_KEY=${MASTER}\nSNOWFLAKE_PRIVATE_KEY_PASSPHRASE="${PASS}"\n`,
    'keys/rsa_key.p8': KEY_PEM,
  });
  proxy = await startProxy(['--log-level', 'debug'], { cwd: dir });
});
after(async () => {
  await proxy?.stop();
  await emu?.close();
});

test('the master key: every wrong key (each length, one character off, prefix, suffix, other headers) is a 401; the right one passes', { timeout: 30_000 }, async () => {
  const wrong = new Set<string>();
  for (let n = 1; n <= MASTER.length + 8; n++) wrong.add('k'.repeat(n));
  for (let i = 0; i < MASTER.length; i++) wrong.add(MASTER.slice(0, i) + (MASTER[i] === 'a' ? 'b' : 'a') + MASTER.slice(i + 1));
  for (let i = 1; i < MASTER.length; i++) wrong.add(MASTER.slice(0, i));
  wrong.add(MASTER + 'x');
  wrong.add(MASTER.toUpperCase());
  wrong.add(PAT);
  wrong.delete(MASTER);
  for (const key of wrong) {
    const r = await request(`${proxy.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(r.statusCode, 401, `key of length ${key.length}`);
    await r.body.dump();
  }
  for (const headers of [{ 'x-api-key': MASTER.slice(0, -1) }, { 'api-key': MASTER + ' ' + MASTER }, { authorization: MASTER }, { authorization: `Basic ${MASTER}` }]) {
    const r = await request(`${proxy.url}/v1/models`, { headers });
    assert.equal(r.statusCode, 401, JSON.stringify(headers).slice(0, 40));
    await r.body.dump();
  }
  for (const headers of [{ authorization: `Bearer ${MASTER}` }, { 'x-api-key': MASTER }, { 'api-key': MASTER }]) {
    const r = await request(`${proxy.url}/v1/models`, { headers });
    assert.equal(r.statusCode, 200);
    await r.body.dump();
  }
  // Loopback clients are never locked out by their own wrong keys (all the above came from 127.0.0.1).
  const source = fs.readFileSync(path.join(ROOT, 'src/team/auth.ts'), 'utf8');
  assert.match(source, /hash\('sha256', s, 'buffer'\)[\s\S]*const digest = sha256\(key\)[\s\S]*timingSafeEqual\(digest, master\)/, 'the comparison is over fixed-length digests, in constant time');
});

test('wrong keys from another machine: 429 in the route envelope after 10 until they age out, but the right key still passes; loopback exempt', { timeout: 15_000 }, async () => {
  const cfg: Config = {
    deployments: [{ modelName: 'm', cortexModel: 'claude-sonnet-4-5', apiBase: emu.apiBase, auth: { type: 'pat', token: PAT }, wire: 'complete' }],
    settings: { ...DEFAULT_SETTINGS, masterKey: MASTER, disableSpendLogs: true },
    source: 'test',
    demo: false,
    warnings: [],
  };
  for (const remote of [true, false]) {
    const app = createApp(cfg, createLogger('silent'));
    // As if every connection came from another machine (the tests can only use loopback).
    installFailedAuthLimit(app, createLogger('silent'), undefined, remote ? () => false : undefined);
    await new Promise<void>((ok) => app.server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      for (let k = 0; k < 10; k++) {
        const r = await request(`${url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': `wrong-${k}` }, body: '{}' });
        assert.equal(r.statusCode, 401);
        await r.body.dump();
      }
      const wrong = await request(`${url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'wrong-again' }, body: '{}' });
      const text = await wrong.body.text();
      if (remote) {
        assert.equal(wrong.statusCode, 429, text);
        assert.ok(Number(wrong.headers['retry-after']) > 0);
        assert.match(envelopeError('messages', JSON.parse(text))!.message, /too many requests with a wrong API key/);
      } else {
        assert.equal(wrong.statusCode, 401, `loopback is not throttled: ${text.slice(0, 200)}`);
      }
      // The right key from the same (throttled) address is never refused.
      const right = await request(`${url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': MASTER, 'content-type': 'application/json' }, body: JSON.stringify(bodyFor('messages', 'm', 'hi', false)) });
      assert.equal(right.statusCode, 200, (await right.body.text()).slice(0, 200));
    } finally {
      await app.close();
    }
  }
});

test('a crash is reported through the redacting logger: the report names the bug, never the secrets it held', { timeout: 20_000 }, async () => {
  const d = tempDir();
  writeFiles(d, { 'cortex-proxy.yaml': config(emu.apiBase), '.env': `SNOWFLAKE_PAT=${PAT}\nCORTEX_PROXY_MASTER_KEY=${MASTER}\nSNOWFLAKE_PRIVATE_KEY_PASSPHRASE="${PASS}"\n` });
  fs.mkdirSync(path.join(d, 'keys'));
  fs.writeFileSync(path.join(d, 'keys', 'rsa_key.p8'), KEY_PEM, { mode: 0o600 });
  const p = await startProxy(['--quiet'], {
    cwd: d,
    env: cleanEnv({ NODE_OPTIONS: `--import=${pathToFileURL(path.join(ROOT, 'test', 'crash-trap.mjs')).href}`, CORTEX_PROXY_TEST_CRASH_AFTER_MS: '300' }),
  });
  const [code] = (await once(p.child, 'exit')) as [number | null];
  assert.equal(code, 1);
  const err = p.stderr();
  assert.match(err, /cortex-proxy crashed \(uncaught exception; please report it\): Error: simulated bug while holding \*\*\* and \*\*\*/);
  assert.ok(!err.includes(PAT) && !err.includes(MASTER), 'no secret in the crash report');
});

test('.env and a config holding a secret, readable by others, are warned about with the chmod that fixes them', { timeout: 20_000 }, async () => {
  const d = tempDir();
  fs.writeFileSync(path.join(d, '.env'), `SNOWFLAKE_PAT=${PAT}\n`, { mode: 0o644 });
  fs.chmodSync(path.join(d, '.env'), 0o644);
  fs.writeFileSync(
    path.join(d, 'cortex-proxy.yaml'),
    `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-sonnet-4-5\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\ngeneral_settings:\n  master_key: ${MASTER}\n  disable_spend_logs: true\n`,
  );
  fs.chmodSync(path.join(d, 'cortex-proxy.yaml'), 0o644);
  const p = await startProxy(['--quiet'], { cwd: d });
  try {
    const log = p.stderr();
    assert.match(log, /\.env is readable by other users; it holds secrets — run: chmod 600 .*\.env/);
    assert.match(log, /cortex-proxy\.yaml holds a secret and is readable by other users — run: chmod 600 cortex-proxy\.yaml/);
    assert.ok(!log.includes(MASTER) && !log.includes(PAT));
  } finally {
    await p.stop();
  }
  fs.chmodSync(path.join(d, '.env'), 0o600);
  fs.chmodSync(path.join(d, 'cortex-proxy.yaml'), 0o600);
  const q = await startProxy(['--quiet'], { cwd: d });
  try {
    assert.doesNotMatch(q.stderr(), /readable by other users/);
  } finally {
    await q.stop();
  }
});

test('listening beyond loopback needs a master key', { timeout: 15_000 }, async () => {
  const d = tempDir();
  writeFiles(d, { 'cortex-proxy.yaml': `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-sonnet-4-5\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\n` });
  for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
    const r = await runCli(['serve', '--host', host, '--port', '0'], { cwd: d, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
    assert.equal(r.code, 2, host);
    assert.match(r.stderr, new RegExp(`refusing to listen on ${host.replace(/\./g, '\\.')} without a master key`));
    assert.equal(r.stdout, '', `${host}: it never listened`);
  }
});

test('CORS is off by default: a foreign origin gets 403 and no Access-Control-* header, OPTIONS preflights included', { timeout: 15_000 }, async () => {
  const origin = { origin: 'https://evil.example' };
  const answers = [
    await request(`${proxy.url}/v1/models`, { headers: { ...origin, authorization: `Bearer ${MASTER}` } }),
    await request(`${proxy.url}/health`, { headers: origin }),
    await request(`${proxy.url}${PATHS.chat}`, { method: 'POST', headers: { ...origin, authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify(bodyFor('chat', 'pat-model', 'hi', false)) }),
    ...(await Promise.all(
      Object.values(PATHS).map((p) => request(proxy.url + p, { method: 'OPTIONS', headers: { ...origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } })),
    )),
  ];
  for (const r of answers) {
    await r.body.dump();
    assert.equal(r.statusCode, 403);
    assert.deepEqual(Object.keys(r.headers).filter((h) => h.startsWith('access-control-')), []);
  }
});

test('response ids are random 128-bit values: distinct, and no counter shape', { timeout: 30_000 }, async () => {
  const ids: string[] = [];
  for (let k = 0; k < 60; k++) {
    const d = DIALECTS[k % 3];
    const r = await request(proxy.url + PATHS[d], { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify(bodyFor(d, 'pat-model', 'id', false)) });
    const id = ((await r.body.json()) as { id: string }).id;
    ids.push(id);
  }
  const tails = ids.map((id) => id.replace(/^(chatcmpl-|msg_|resp_)/, ''));
  for (const t of tails) assert.match(t, /^[A-Za-z0-9_-]{22}$/, `${t}: 16 random bytes in base64url`);
  assert.equal(new Set(tails).size, tails.length);
  // Consecutive ids share no more of a prefix than chance allows (a counter or a timestamp would).
  for (let k = 1; k < tails.length; k++) {
    let same = 0;
    while (same < 22 && tails[k][same] === tails[k - 1][same]) same++;
    assert.ok(same < 6, `${tails[k - 1]} / ${tails[k]}`);
  }
});

test('the logger keeps every static secret and only the most recent rotating ones (one JWT per 54 min must not grow it forever)', () => {
  const lines: string[] = [];
  const log = createLogger('info', (l) => lines.push(l));
  log.addSecret(MASTER);
  const tokens = Array.from({ length: MAX_ROTATING_SECRETS + 10 }, (_, i) => `jwt-token-${i}-${'x'.repeat(20)}`);
  for (const t of tokens) log.addSecret(t, true);
  log.info(`${MASTER} ${tokens[tokens.length - 1]} ${tokens[MAX_ROTATING_SECRETS - 1]} ${tokens[5]}`);
  assert.match(lines[0], /\*\*\* \*\*\* \*\*\* jwt-token-5-/, 'the master key and the latest tokens are redacted; one 68 renewals old (long expired) is forgotten');
});

/** Everything a representative workload makes the proxy say, to clients and to its operator. */
async function workload(): Promise<string[]> {
  const seen: string[] = [];
  const keep = (a: { raw: string; headers: unknown; status: number }) => seen.push(`${a.status} ${JSON.stringify(a.headers)} ${a.raw}`);
  for (const d of DIALECTS) {
    for (const model of ['pat-model', 'jwt-model']) {
      for (const stream of [true, false]) keep(await call(proxy.url, d, { key: MASTER, model, stream, prompt: `secrets test ${d}` }));
    }
  }
  const jwt = emu.requests.map((r) => r.headers.authorization?.replace(/^Bearer /, '')).find((t) => t && t.split('.').length === 3)!;
  // Snowflake errors that quote the credential, before and during the answer.
  emu.inject({ status: 401, code: '390303', message: `Invalid OAuth access token ${PAT} pat/${PAT}` });
  keep(await call(proxy.url, 'chat', { key: MASTER, model: 'pat-model' }));
  emu.inject({ status: 401, message: `JWT token is invalid: ${jwt}` });
  keep(await call(proxy.url, 'messages', { key: MASTER, model: 'jwt-model' }));
  emu.inject({ json200Error: { code: '390112', message: `Your session has expired: Bearer ${PAT}` } });
  keep(await call(proxy.url, 'responses', { key: MASTER, model: 'pat-model' }));
  emu.inject({ midStreamError: `upstream failure for token ${jwt}`, afterChunks: 2 });
  keep(await call(proxy.url, 'chat', { key: MASTER, model: 'jwt-model' }));
  emu.inject({ status: 500, message: `internal: ${PAT}` });
  keep(await call(proxy.url, 'chat', { key: MASTER, model: 'pat-model', stream: false }));
  // Clients that send a Snowflake credential as their API key, or nothing, or ask for a model that does not exist.
  for (const key of [PAT, jwt, `pat/${PAT}`, '']) keep(await call(proxy.url, 'chat', { key, model: 'pat-model' }));
  keep(await call(proxy.url, 'messages', { key: MASTER, model: 'no-such-model' }));
  // Every read-only surface.
  for (const p of ['/health', '/metrics', '/ui/api/stats', '/v1/models', '/v1/model/info', '/ui', '/ui/app.js', '/health/ready']) {
    const r = await request(proxy.url + p, { headers: { authorization: `Bearer ${MASTER}` } });
    seen.push(`${p} ${r.statusCode} ${JSON.stringify(r.headers)} ${await r.body.text()}`);
  }
  const count = await request(proxy.url + '/v1/messages/count_tokens', { method: 'POST', headers: { 'x-api-key': MASTER, 'content-type': 'application/json' }, body: JSON.stringify(bodyFor('messages', 'jwt-model', 'count', false)) });
  seen.push(await count.body.text());
  return seen;
}

// Last: it stops the shared proxy (to flush the usage log).
test('no secret in any answer, log line, /health, /metrics, dashboard statistics or usage log after a representative workload', { timeout: 45_000 }, async () => {
  const answers = await workload();
  const jwts = [...new Set(emu.requests.map((r) => r.headers.authorization?.replace(/^Bearer /, '')).filter((t): t is string => !!t && t.split('.').length === 3))];
  assert.ok(jwts.length >= 1, 'the key-pair model did use a JWT');
  await proxy.stop(); // flushes the usage log
  const usage = fs.readdirSync(path.join(dir, 'usage')).map((f) => fs.readFileSync(path.join(dir, 'usage', f), 'utf8'));
  assert.ok(usage.join('').length > 0, 'the usage log was written');
  const outputs: Array<[string, string]> = [
    ['proxy stderr', proxy.stderr()],
    ['answers', answers.join('\n')],
    ['usage log', usage.join('\n')],
  ];
  const keyLines = PLAIN_PEM.split('\n').filter((l) => l.length > 40).concat(KEY_PEM.split('\n').filter((l) => l.length > 40));
  const secrets: Array<[string, string]> = [
    ['PAT', PAT],
    ['master key', MASTER],
    ['passphrase', PASS],
    ...jwts.map((j, i): [string, string] => [`JWT ${i}`, j]),
    ...jwts.map((j, i): [string, string] => [`JWT ${i} signature`, j.split('.')[2]]),
    ...keyLines.map((l, i): [string, string] => [`private key line ${i}`, l]),
  ];
  for (const [where, text] of outputs) for (const [what, s] of secrets) assert.ok(!text.includes(s), `${what} appears in the ${where}`);
  assert.match(proxy.stderr(), /\*\*\*|\[redacted\]/, 'the secrets Snowflake quoted were redacted, not dropped silently');
});
