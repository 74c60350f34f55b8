// `cortex-proxy init` refusals and its key-pair / OAuth methods, end to end against the emulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { cleanEnv, runCli, tempDir } from './helpers.js';
import { jwtPat } from './setup-helpers.js';

const PAT = jwtPat(90);
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true, unavailableInRegion: ['claude-opus-4-5'] });
});
after(() => emu?.close());

test('init refuses what it cannot use, before writing anything', async () => {
  const dir = tempDir();
  const env = cleanEnv({ SNOWFLAKE_PAT: PAT });
  const bad = await runCli(['init', '--yes', '--account', 'my org'], { cwd: dir, env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /contains whitespace/);
  const noPat = await runCli(['init', '--yes', '--account', emu.url], { cwd: dir, env: cleanEnv() });
  assert.equal(noPat.code, 2);
  assert.match(noPat.stderr, /SNOWFLAKE_PAT/);
  const wrong = await runCli(['init', '--yes', '--account', emu.url], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: 'not-the-registered-token-123' }) });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /refused the credential/);
  assert.match(wrong.stderr, /programmatic access token/i);
  assert.match(wrong.stderr, /then run cortex-proxy init again/, 'no proxy runs yet: the next step is init');
  assert.doesNotMatch(wrong.stderr, /restart/);
  const region = await runCli(['init', '--yes', '--account', emu.url, '--models', 'claude-opus-4-5'], { cwd: dir, env });
  assert.equal(region.code, 1);
  assert.match(region.stderr, /not available to this account.*claude-opus-4-5/);
  assert.match(region.stderr, /claude-opus-4-5 → try claude-/);
  const expired = await runCli(['init', '--yes', '--account', emu.url], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: jwtPat(-1) }) });
  assert.equal(expired.code, 1);
  assert.match(expired.stderr, /expired on/);
  const unknownFlag = await runCli(['init', '--yes', '--acount', 'x'], { cwd: dir, env });
  assert.equal(unknownFlag.code, 1);
  assert.match(unknownFlag.stderr, /unknown option '--acount'/);
  assert.deepEqual(readdirSync(dir), [], 'nothing was written');
});

test('init --auth keypair and --auth oauth: checked with the credential the written config yields', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dir = tempDir();
  const keyFile = join(dir, 'rsa_key.p8');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  const token = 'oauth-access-token-' + 'o'.repeat(30);
  const kemu = await startEmulator({
    quiet: true,
    pats: ['unused-pat-1234567890'],
    publicKeys: [{ account: '127', user: 'ME', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string }],
    oauthTokens: [token],
  });
  try {
    const kp = join(dir, 'kp');
    const r = await runCli(['init', '--yes', '--auth', 'keypair', '--account', kemu.url, '--user', 'me', '--private-key', keyFile, '--dir', kp], { cwd: dir, env: cleanEnv() });
    assert.equal(r.code, 0, r.stderr);
    const cfg = parseYaml(readFileSync(join(kp, 'cortex-proxy.yaml'), 'utf8'));
    assert.equal(cfg.model_list[0].litellm_params.auth, 'keypair');
    assert.equal(cfg.model_list[0].litellm_params.private_key_path, keyFile);
    assert.equal(kemu.requests.at(-1)!.headers['x-snowflake-authorization-token-type'], 'KEYPAIR_JWT');
    assert.ok(!readFileSync(join(kp, 'cortex-proxy.yaml'), 'utf8').includes('PRIVATE KEY'));
    const wrongUser = await runCli(['init', '--yes', '--auth', 'keypair', '--account', kemu.url, '--user', 'someone', '--private-key', keyFile, '--dir', join(dir, 'x')], { cwd: dir, env: cleanEnv() });
    assert.equal(wrongUser.code, 1);
    assert.match(wrongUser.stderr, /refused the credential/);

    const oa = join(dir, 'oa');
    const o = await runCli(['init', '--yes', '--auth', 'oauth', '--account', kemu.url, '--dir', oa], { cwd: dir, env: cleanEnv({ SNOWFLAKE_OAUTH_TOKEN: token }) });
    assert.equal(o.code, 0, o.stderr);
    assert.equal(parseEnv(readFileSync(join(oa, '.env'), 'utf8')).SNOWFLAKE_OAUTH_TOKEN, token);
    assert.ok(!o.stdout.includes(token) && !o.stderr.includes(token));
    assert.equal(kemu.requests.at(-1)!.headers['x-snowflake-authorization-token-type'], 'OAUTH');
  } finally {
    await kemu.close();
  }
});
