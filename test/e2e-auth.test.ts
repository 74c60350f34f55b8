// End to end: the real CLI with key-pair and OAuth credentials in front of the strict emulator, which verifies
// RS256 JWTs against the registered public key (iss/sub/fingerprint/exp) and accepts only registered OAuth
// tokens; driven by the real `openai` SDK. Time passes without waiting: the proxy is started with a preloaded
// fake clock (test/fake-clock.mjs) and the emulator shares the same offset.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateKeyPairSync, createHash } from 'node:crypto';
import OpenAI from 'openai';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { ROOT, cleanEnv, runCli, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';

const PASS = 'e2e passphrase ' + 'q'.repeat(12);
const MASTER = 'sk-auth-master-' + 'm'.repeat(32);
const TOKEN_1 = 'oauth-access-token-one-' + 'a'.repeat(24);
const TOKEN_2 = 'oauth-access-token-two-' + 'b'.repeat(24);

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEY_PEM = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }) as string;
const PUB_PEM = publicKey.export({ type: 'spki', format: 'pem' }) as string;
const FINGERPRINT = 'SHA256:' + createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64');

const config = (apiBase: string) => `model_list:
  - model_name: cortex-claude
    litellm_params:
      model: snowflake/claude-4-sonnet
      api_base: ${apiBase}
      snowflake_account: myorg-myaccount
      snowflake_user: alice
      private_key_path: keys/rsa_key.p8
      private_key_passphrase: os.environ/SNOWFLAKE_PRIVATE_KEY_PASSPHRASE
  - model_name: cortex-llama
    litellm_params:
      model: snowflake/llama3.1-70b
      api_base: ${apiBase}
      snowflake_account: myorg-myaccount
      snowflake_user: alice
      private_key_path: keys/rsa_key.p8
      private_key_passphrase: os.environ/SNOWFLAKE_PRIVATE_KEY_PASSPHRASE
  - model_name: cortex-gpt
    litellm_params:
      model: snowflake/openai-gpt-4.1
      api_base: ${apiBase}
      oauth_token_path: session/token
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
`;

let emu: Emulator;
let proxy: RunningProxy;
let client: OpenAI;
let dir: string;
let clockFile: string;
let offsetMs = 0;

/** Moves both clocks (the proxy's via the file its preloaded fake clock reads, the emulator's directly). */
function setClock(ms: number): void {
  offsetMs = ms;
  fs.writeFileSync(clockFile, String(ms));
}

const payload = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
const upstream = () => emu.requests[emu.requests.length - 1];
const bearer = () => upstream().headers.authorization.replace(/^Bearer /, '');

async function ask(model: string): Promise<string> {
  emu.script({ text: 'ok' });
  const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'ping' }] });
  assert.equal(r.choices[0].message.content, 'ok');
  return bearer();
}

before(async () => {
  emu = await startEmulator({
    quiet: true,
    publicKeys: [{ account: 'MYORG-MYACCOUNT', user: 'ALICE', publicKeyPem: PUB_PEM }],
    oauthTokens: [TOKEN_1, TOKEN_2],
    now: () => Date.now() + offsetMs,
  });
  dir = tempDir();
  fs.mkdirSync(path.join(dir, 'keys'));
  fs.mkdirSync(path.join(dir, 'session'));
  writeFiles(dir, {
    'cortex-proxy.yaml': config(emu.apiBase),
    '.env': `SNOWFLAKE_PRIVATE_KEY_PASSPHRASE="${PASS}"\nLITELLM_MASTER_KEY=${MASTER}\n`,
    'keys/rsa_key.p8': KEY_PEM,
    'session/token': TOKEN_1 + '\n',
  });
  clockFile = path.join(dir, 'clock');
  setClock(0);
  const env = cleanEnv({
    NODE_OPTIONS: `--import=${pathToFileURL(path.join(ROOT, 'test', 'fake-clock.mjs')).href}`,
    CORTEX_PROXY_TEST_CLOCK_FILE: clockFile,
  });
  proxy = await startProxy(['--config', 'cortex-proxy.yaml', '--log-level', 'debug'], { cwd: dir, env });
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: MASTER, maxRetries: 0 });
});
after(async () => {
  await proxy?.stop();
  await emu?.close();
});
beforeEach(() => emu.reset());

const seenJwts = new Set<string>();

test('key-pair config: the upstream gets an RS256 JWT the emulator verifies, typed KEYPAIR_JWT, shared by the models using the key', async () => {
  const jwt = await ask('cortex-claude');
  seenJwts.add(jwt);
  assert.equal(upstream().headers['x-snowflake-authorization-token-type'], 'KEYPAIR_JWT');
  assert.equal(upstream().outcome, 'ok');
  const p = payload(jwt);
  assert.equal(p.iss, `MYORG-MYACCOUNT.ALICE.${FINGERPRINT}`);
  assert.equal(p.sub, 'MYORG-MYACCOUNT.ALICE');
  assert.equal(p.exp - p.iat, 59 * 60);
  assert.equal(await ask('cortex-llama'), jwt, 'one token for one key');
  await proxy.waitForLog(`upstream auth: key-pair JWT for MYORG-MYACCOUNT.ALICE (public key ${FINGERPRINT})`);
});

test('the JWT is cached, then renewed across expiry (fake clock: 30 min, then 2 h later)', async () => {
  const first = await ask('cortex-claude');
  seenJwts.add(first);
  setClock(30 * 60_000);
  assert.equal(await ask('cortex-claude'), first, 'still fresh: reused');

  setClock(2 * 3600_000);
  // The old token is now expired for Snowflake (the emulator's clock moved too)…
  const replay = await request(`${emu.apiBase}/cortex/inference:complete`, {
    method: 'POST',
    headers: { authorization: `Bearer ${first}`, 'x-snowflake-authorization-token-type': 'KEYPAIR_JWT', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-4-sonnet', messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(replay.statusCode, 401);
  assert.equal(((await replay.body.json()) as { code: string }).code, '390198');
  // …and the proxy sends a fresh one.
  const renewed = await ask('cortex-claude');
  seenJwts.add(renewed);
  assert.notEqual(renewed, first);
  assert.ok(payload(renewed).iat >= payload(first).iat + 2 * 3600 - 5);
  assert.equal(upstream().outcome, 'ok');
});

test('OAuth from a file: the token is re-read when the file changes between requests', async () => {
  assert.equal(await ask('cortex-gpt'), TOKEN_1);
  assert.equal(upstream().headers['x-snowflake-authorization-token-type'], 'OAUTH');
  assert.equal(await ask('cortex-gpt'), TOKEN_1);
  // Rotated the way SPCS and Kubernetes do it: write elsewhere, rename over.
  fs.writeFileSync(path.join(dir, 'session', 'token.new'), TOKEN_2);
  fs.renameSync(path.join(dir, 'session', 'token.new'), path.join(dir, 'session', 'token'));
  assert.equal(await ask('cortex-gpt'), TOKEN_2);
  assert.equal(upstream().headers['x-snowflake-authorization-token-type'], 'OAUTH');
});

test('no key, JWT, passphrase or OAuth token in any log line, even when Snowflake echoes the token back', { timeout: 15_000 }, async () => {
  const jwt = await ask('cortex-claude');
  seenJwts.add(jwt);
  emu.inject({ status: 401, code: '390144', message: `JWT token is invalid: ${jwt}` });
  await assert.rejects(client.chat.completions.create({ model: 'cortex-claude', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.APIError && e.status === 401);
    assert.ok(!JSON.stringify(e.error).includes(jwt), 'not in the client error either');
    // Advice for the credential in use, not for a PAT.
    assert.match(e.message, new RegExp(`rejected the key-pair JWT for MYORG-MYACCOUNT\\.ALICE.*RSA_PUBLIC_KEY_FP = ${FINGERPRINT.replace(/[+/]/g, '\\$&')}`));
    assert.doesNotMatch(e.message, /SNOWFLAKE_PAT/);
    return true;
  });
  emu.inject({ status: 401, message: `OAuth access token ${TOKEN_2} is invalid` });
  await assert.rejects(client.chat.completions.create({ model: 'cortex-gpt', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.APIError && e.status === 401);
    assert.match(e.message, /rejected the OAuth access token.*re-reads .*session\/token whenever it changes/);
    assert.ok(!e.message.includes(TOKEN_2));
    return true;
  });
  await proxy.waitForLog(/status=401.*model=cortex-gpt/);

  const log = proxy.stderr();
  assert.ok(log.includes('upstream auth: OAuth access token from'), 'the log is there');
  assert.ok(seenJwts.size >= 2);
  for (const secret of [...seenJwts, TOKEN_1, TOKEN_2, PASS, MASTER]) assert.ok(!log.includes(secret), 'a secret reached the log');
  for (const line of KEY_PEM.split('\n').slice(1, -2)) assert.ok(!log.includes(line), 'key material reached the log');
  assert.doesNotMatch(log, /eyJhbGciOiJSUzI1NiIs/, 'nothing JWT-shaped');
});

test('wrong passphrase: start-up fails with the line, a hint, and no secret', async () => {
  const bad = tempDir();
  fs.mkdirSync(path.join(bad, 'keys'));
  writeFiles(bad, {
    'cortex-proxy.yaml': config('http://127.0.0.1:9/api/v2'),
    '.env': `SNOWFLAKE_PRIVATE_KEY_PASSPHRASE=not-the-passphrase-42\nLITELLM_MASTER_KEY=${MASTER}\n`,
    'keys/rsa_key.p8': KEY_PEM,
  });
  const r = await runCli(['serve', '--port', '0'], { cwd: bad });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cortex-proxy\.yaml:9:\d+: cannot decrypt the private key in keys\/rsa_key\.p8: wrong passphrase/);
  assert.match(r.stderr, /hint: check private_key_passphrase/);
  assert.ok(!r.stderr.includes('not-the-passphrase-42'));
  for (const line of KEY_PEM.split('\n').slice(1, -2)) assert.ok(!r.stderr.includes(line));
  assert.equal(r.stdout, '');
});
