// Upstream auth: key loading (PKCS#8, encrypted PKCS#8, PKCS#1), the fingerprint Snowflake stores, account
// normalisation (§7.2), JWT minting/caching/renewal on a fake clock, the OAuth token file, and the config rules.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KeyError, jwtAccount, jwtClaims, loadPrivateKey, publicKeyFingerprint, signJwt } from '../src/snowflake/keypair.js';
import { KeyPairTokens, OAuthTokenFile, attachAuth, authHeaders, type AuthHeaders, type AuthLog } from '../src/snowflake/auth.js';
import { NO_PARAMS, resolveAuth } from '../src/config/auth-config.js';
import { ConfigError, loadConfig } from '../src/config/load.js';
import type { KeyPairAuth, UpstreamAuth } from '../src/config/types.js';
import { ProxyError } from '../src/core/errors.js';
import { hasOpenssl, tempDir, writeFiles } from './helpers.js';

const PASS = 'correct horse battery staple';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PKCS8 = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const PKCS8_ENC = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }) as string;
const PKCS1 = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const PKCS1_ENC = privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }) as string;
const PUB_PEM = publicKey.export({ type: 'spki', format: 'pem' }) as string;
/** A line from the middle of the key body: must never show up in a message. */
const KEY_BODY = PKCS8.split('\n')[5];

/** openssl's recipe (Snowflake docs): DER of the public key → SHA-256 → base64, here from the PEM body. */
function fingerprintFromPem(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return 'SHA256:' + createHash('sha256').update(der).digest('base64');
}

const decode = (jwt: string) => jwt.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8')));
const bearer = (h: AuthHeaders) => h.authorization.slice('Bearer '.length);

function captureLog(): AuthLog & { secrets: string[]; lines: string[] } {
  const secrets: string[] = [];
  const lines: string[] = [];
  return { secrets, lines, addSecret: (s) => void (s && secrets.push(s)), info: (m) => void lines.push(m), warn: (m) => void lines.push(m) };
}

describe('private keys and the fingerprint (§7.2)', () => {
  test('PKCS#8, encrypted PKCS#8, PKCS#1 and encrypted PKCS#1 load to the same key', () => {
    const expected = fingerprintFromPem(PUB_PEM);
    for (const [name, pem, pass] of [
      ['pkcs8', PKCS8, undefined],
      ['pkcs8 encrypted', PKCS8_ENC, PASS],
      ['pkcs1', PKCS1, undefined],
      ['pkcs1 encrypted', PKCS1_ENC, PASS],
    ] as const) {
      const key = loadPrivateKey(pem, pass, name);
      assert.equal(key.asymmetricKeyType, 'rsa', name);
      assert.equal(publicKeyFingerprint(key), expected, name);
    }
    // A key pasted into an env var with literal \n sequences.
    assert.equal(publicKeyFingerprint(loadPrivateKey(PKCS8.trim().replace(/\n/g, '\\n'), undefined, 'env')), expected);
  });

  test('the fingerprint is what openssl computes (openssl rsa -pubout -outform DER | openssl dgst -sha256 -binary | base64)', { skip: !hasOpenssl() && 'no openssl' }, () => {
    const dir = tempDir();
    const file = path.join(dir, 'rsa_key.p8');
    fs.writeFileSync(file, PKCS8_ENC, { mode: 0o600 });
    const der = execFileSync('openssl', ['pkey', '-in', file, '-passin', `pass:${PASS}`, '-pubout', '-outform', 'DER']);
    const viaOpenssl = 'SHA256:' + createHash('sha256').update(der).digest('base64');
    assert.equal(publicKeyFingerprint(loadPrivateKey(PKCS8_ENC, PASS, 'rsa_key.p8')), viaOpenssl);
  });

  test('key errors say what to do and never quote the key or the passphrase', () => {
    const cases: Array<[string, string | undefined, RegExp, 'key' | 'passphrase']> = [
      [PKCS8_ENC, undefined, /encrypted, but no passphrase/, 'passphrase'],
      [PKCS8_ENC, 'wrong-passphrase-123', /wrong passphrase/, 'passphrase'],
      [PKCS1_ENC, 'wrong-passphrase-123', /wrong passphrase/, 'passphrase'],
      [PUB_PEM, undefined, /public key, not the private key/, 'key'],
      ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n', undefined, /OpenSSH/, 'key'],
      [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, undefined, /needs an RSA key/, 'key'],
      ['not a key at all', undefined, /not a PEM private key/, 'key'],
      [PKCS8.slice(0, 200) + '\n-----END PRIVATE KEY-----\n', undefined, /cannot parse/, 'key'],
    ];
    for (const [pem, pass, re, about] of cases) {
      assert.throws(
        () => loadPrivateKey(pem, pass, 'rsa_key.p8'),
        (e: unknown) => {
          assert.ok(e instanceof KeyError);
          assert.match(e.message, re);
          assert.equal(e.about, about);
          assert.ok(e.hint.length > 10);
          for (const s of [PASS, 'wrong-passphrase-123', KEY_BODY]) assert.ok(!`${e.message} ${e.hint}`.includes(s));
          return true;
        },
      );
    }
  });
});

describe('JWT account and claims (§7.2)', () => {
  test('account normalisation follows the connector', () => {
    const table: Array<[string, string]> = [
      ['myorg-myaccount', 'MYORG-MYACCOUNT'],
      ['MyOrg-MyAccount', 'MYORG-MYACCOUNT'],
      ['xy12345.us-east-2.aws', 'XY12345'],
      ['xy12345', 'XY12345'],
      ['myorg-myaccount.privatelink', 'MYORG-MYACCOUNT'],
      ['xy12345.us-east-2.aws.privatelink', 'XY12345'],
      ['myorg-my_account', 'MYORG-MY_ACCOUNT'],
      ['myacct-xyz.global', 'MYACCT'],
      ['myorg-myaccount.snowflakecomputing.com', 'MYORG-MYACCOUNT'],
      ['https://xy12345.eu-central-1.snowflakecomputing.com/api/v2', 'XY12345'],
    ];
    for (const [raw, want] of table) assert.equal(jwtAccount(raw), want, raw);
  });

  test('a signed JWT: RS256 header, iss ACCOUNT.USER.SHA256:fp, sub ACCOUNT.USER, 59-minute life, valid signature', async () => {
    const fp = publicKeyFingerprint(privateKey);
    const jwt = await signJwt(jwtClaims('MYORG-MYACCOUNT', 'ALICE', fp, 1_700_000_000), privateKey);
    const [header, payload] = decode(jwt);
    assert.deepEqual(header, { alg: 'RS256', typ: 'JWT' });
    assert.deepEqual(payload, { iss: `MYORG-MYACCOUNT.ALICE.${fp}`, sub: 'MYORG-MYACCOUNT.ALICE', iat: 1_700_000_000, exp: 1_700_000_000 + 3540 });
    const dot = jwt.lastIndexOf('.');
    assert.ok(verify('sha256', Buffer.from(jwt.slice(0, dot)), createPublicKey(PUB_PEM), Buffer.from(jwt.slice(dot + 1), 'base64url')));
    // Never more than Snowflake's hour, whatever is asked.
    const [, long] = decode(await signJwt(jwtClaims('A', 'U', fp, 100, 7200), privateKey));
    assert.equal(long.exp - long.iat, 3600);
  });
});

const kpAuth = (key: KeyObject = privateKey): KeyPairAuth => ({
  type: 'keypair',
  account: 'MYORG-MYACCOUNT',
  user: 'ALICE',
  privateKey: key,
  fingerprint: publicKeyFingerprint(key),
});

describe('key-pair token cache (fake clock)', () => {
  test('minted once, cached, renewed in the background at 54 min, awaited after expiry', async () => {
    let now = Date.UTC(2025, 0, 1);
    const t0 = now;
    const src = new KeyPairTokens(kpAuth(), { now: () => now });
    const log = captureLog();
    src.attach(log);

    const first = src.headers();
    assert.ok(first instanceof Promise, 'the first call mints');
    const h1 = await first;
    assert.equal(h1['x-snowflake-authorization-token-type'], 'KEYPAIR_JWT');
    assert.deepEqual(log.secrets, [bearer(h1)], 'the minted JWT is registered with the logger');
    assert.equal(decode(bearer(h1))[1].iat, t0 / 1000);

    now = t0 + 30 * 60_000;
    assert.equal(src.headers(), h1, 'cached: synchronous, same headers');
    now = t0 + 53 * 60_000;
    assert.equal(src.headers(), h1);
    assert.equal(src.minted, 1);

    now = t0 + 55 * 60_000;
    assert.equal(src.headers(), h1, 'still valid: answered at once while a renewal starts');
    assert.equal(src.headers(), h1);
    const renewed = await src.renew(); // joins the renewal in flight
    assert.equal(src.minted, 2, 'one renewal for both calls');
    const h2 = src.headers() as AuthHeaders;
    assert.notEqual(bearer(h2), bearer(h1));
    assert.equal(h2, renewed.headers);
    assert.equal(decode(bearer(h2))[1].iat, (t0 + 55 * 60_000) / 1000);
    assert.deepEqual(log.secrets, [bearer(h1), bearer(h2)]);

    // Asleep for two hours: the token expired, the caller waits for a fresh one.
    now = t0 + 175 * 60_000;
    const late = src.headers();
    assert.ok(late instanceof Promise, 'an expired token is never handed out');
    const h3 = await late;
    assert.equal(decode(bearer(h3))[1].iat, now / 1000);
    assert.ok(decode(bearer(h3))[1].exp > now / 1000);
    assert.equal(src.minted, 3);
  });

  test('a token is not handed out in its last minute', async () => {
    let now = Date.UTC(2025, 0, 1);
    const t0 = now;
    const src = new KeyPairTokens(kpAuth(), { now: () => now });
    await src.headers();
    now = t0 + (59 * 60 - 30) * 1000;
    assert.ok(src.headers() instanceof Promise);
  });

  test('concurrent callers share one mint', async () => {
    const src = new KeyPairTokens(kpAuth());
    const all = await Promise.all(Array.from({ length: 20 }, () => src.headers()));
    assert.equal(src.minted, 1);
    assert.ok(all.every((h) => h === all[0]));
  });

  test('authHeaders: deployments sharing a key share one token; static tokens carry their own type', async () => {
    const a = kpAuth();
    const b = kpAuth();
    const ha = await authHeaders(a);
    const hb = await authHeaders(b);
    assert.equal(ha, hb);
    assert.deepEqual(authHeaders({ type: 'pat', token: 'p-123' }), { authorization: 'Bearer p-123', 'x-snowflake-authorization-token-type': 'PROGRAMMATIC_ACCESS_TOKEN' });
    assert.deepEqual(authHeaders({ type: 'oauth', token: 'o-123' }), { authorization: 'Bearer o-123', 'x-snowflake-authorization-token-type': 'OAUTH' });
    assert.deepEqual(authHeaders({ type: 'jwt', token: 'a.b.c' }), { authorization: 'Bearer a.b.c', 'x-snowflake-authorization-token-type': 'KEYPAIR_JWT' });
    const pat: UpstreamAuth = { type: 'pat', token: 'p-123' };
    assert.equal(authHeaders(pat), authHeaders(pat), 'cached per credential');
    const log = captureLog();
    attachAuth(pat, log);
    assert.deepEqual(log.secrets, ['p-123']);
  });
});

describe('OAuth token file', () => {
  test('read once, re-read only when it changes (atomic replace or in-place rewrite), secrets registered', () => {
    const dir = tempDir();
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 'oauth-token-one\n');
    let now = 1_000_000;
    const src = new OAuthTokenFile(file, { now: () => now });
    const log = captureLog();
    src.attach(log);
    const h1 = src.headers();
    assert.deepEqual(h1, { authorization: 'Bearer oauth-token-one', 'x-snowflake-authorization-token-type': 'OAUTH' });
    for (let i = 0; i < 50; i++) assert.equal(src.headers(), h1);
    assert.equal(src.reads, 1, 'unchanged file: stat only, no reads');

    // Atomic replace (write elsewhere, rename over): a new inode.
    fs.writeFileSync(path.join(dir, 'token.tmp'), 'oauth-token-two');
    fs.renameSync(path.join(dir, 'token.tmp'), file);
    assert.equal(src.headers().authorization, 'Bearer oauth-token-two');

    // In-place rewrite with the same size: the mtime tells.
    fs.writeFileSync(file, 'oauth-token-333');
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(file, t, t);
    assert.equal(src.headers().authorization, 'Bearer oauth-token-333');
    assert.equal(src.reads, 3);
    assert.deepEqual(log.secrets, ['oauth-token-one', 'oauth-token-two', 'oauth-token-333']);

    // Even when stat cannot tell, it is read again after 30 s.
    now += 31_000;
    src.headers();
    assert.equal(src.reads, 4);

    // Empty (caught mid-write) or deleted: keep the last good token, warn once.
    fs.writeFileSync(file, '');
    assert.equal(src.headers().authorization, 'Bearer oauth-token-333');
    fs.rmSync(file);
    assert.equal(src.headers().authorization, 'Bearer oauth-token-333');
    assert.equal(log.lines.filter((l) => /still using the last token/.test(l)).length, 2);
    fs.writeFileSync(file, 'oauth-token-four');
    assert.equal(src.headers().authorization, 'Bearer oauth-token-four');
  });

  test('a token file that never existed is a 503 naming the file', () => {
    const src = new OAuthTokenFile(path.join(tempDir(), 'missing'));
    assert.throws(() => src.headers(), (e: unknown) => e instanceof ProxyError && e.status === 503 && /missing/.test(e.message));
  });
});

// ───────────────────────────── config ─────────────────────────────

const MODEL = (params: string, extra = '') => `model_list:
  - model_name: cortex-claude
    litellm_params:
      model: snowflake/claude-4-sonnet
      api_base: https://myorg-myaccount.snowflakecomputing.com/api/v2
${params
  .split('\n')
  .filter(Boolean)
  .map((l) => '      ' + l)
  .join('\n')}
${extra}`;

function load(files: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir();
  writeFiles(dir, files);
  return loadConfig({ cwd: dir, env });
}

function loadError(files: Record<string, string>, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    load(files, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    for (const s of [PASS, 'wrong-passphrase-123', KEY_BODY]) assert.ok(!e.message.includes(s), 'no secret in the message');
    return e;
  }
  assert.fail('expected a ConfigError');
}

describe('config: key pair', () => {
  test('private_key_path (relative to the config) + passphrase from .env; user and account upper-cased', () => {
    const cfg = load({
      'cortex-proxy.yaml': MODEL('snowflake_user: alice\nprivate_key_path: rsa_key.p8\nprivate_key_passphrase: os.environ/SNOWFLAKE_PRIVATE_KEY_PASSPHRASE'),
      'rsa_key.p8': PKCS8_ENC,
      '.env': `SNOWFLAKE_PRIVATE_KEY_PASSPHRASE="${PASS}"\n`,
    });
    const a = cfg.deployments[0].auth as KeyPairAuth;
    assert.equal(a.type, 'keypair');
    assert.equal(a.user, 'ALICE');
    assert.equal(a.account, 'MYORG-MYACCOUNT', 'from the api_base host');
    assert.equal(a.fingerprint, fingerprintFromPem(PUB_PEM));
    assert.deepEqual(cfg.warnings, []);
  });

  test('account: jwt_account > snowflake_account > SNOWFLAKE_ACCOUNT > api_base host; snowflake_account also makes the api_base', () => {
    const key = { 'rsa_key.p8': PKCS1 };
    const acct = (params: string, env: NodeJS.ProcessEnv = {}) =>
      (load({ 'cortex-proxy.yaml': MODEL(`snowflake_user: bob\nprivate_key_path: rsa_key.p8\n${params}`), ...key }, env).deployments[0].auth as KeyPairAuth).account;
    assert.equal(acct('snowflake_account: xy12345.us-east-2.aws'), 'XY12345');
    assert.equal(acct('', { SNOWFLAKE_ACCOUNT: 'myorg-my_account' }), 'MYORG-MY_ACCOUNT');
    assert.equal(acct('snowflake_account: xy12345.us-east-2.aws\njwt_account: myorg-other'), 'MYORG-OTHER');
    assert.equal(acct('', { SNOWFLAKE_JWT_ACCOUNT: 'ab12345' }), 'AB12345');

    const noBase = `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      snowflake_account_id: myorg-acct2\n      snowflake_user: bob\n      private_key_path: rsa_key.p8\n`;
    const d = load({ 'cortex-proxy.yaml': noBase, ...key }).deployments[0];
    assert.equal(d.apiBase, 'https://myorg-acct2.snowflakecomputing.com/api/v2');
    assert.equal((d.auth as KeyPairAuth).account, 'MYORG-ACCT2');
  });

  test('inline private_key and the env fallbacks (SNOWFLAKE_USER, SNOWFLAKE_PRIVATE_KEY_PASSPHRASE)', () => {
    const cfg = load(
      { 'cortex-proxy.yaml': MODEL('private_key: os.environ/SNOWFLAKE_PRIVATE_KEY') },
      { SNOWFLAKE_PRIVATE_KEY: PKCS8_ENC, SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: PASS, SNOWFLAKE_USER: 'carol' },
    );
    assert.equal((cfg.deployments[0].auth as KeyPairAuth).user, 'CAROL');
    assert.deepEqual(cfg.warnings, []);
  });

  test('wrong passphrase: start-up error at the passphrase line, with a hint, without the secret', () => {
    const e = loadError({
      'cortex-proxy.yaml': MODEL('snowflake_user: alice\nprivate_key_path: rsa_key.p8\nprivate_key_passphrase: os.environ/PP'),
      'rsa_key.p8': PKCS8_ENC,
      '.env': 'PP=wrong-passphrase-123\n',
    });
    assert.equal(e.line, 8);
    assert.match(e.message, /cortex-proxy\.yaml:8:\d+: cannot decrypt the private key in rsa_key\.p8: wrong passphrase/);
    assert.match(e.hint, /SNOWFLAKE_PRIVATE_KEY_PASSPHRASE/);
  });

  test('other key problems point at their line', () => {
    const at = (params: string, files: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}) => loadError({ 'cortex-proxy.yaml': MODEL(params), ...files }, env);
    let e = at('snowflake_user: a\nprivate_key_path: nowhere.p8');
    assert.deepEqual([e.line, /cannot read the private key file nowhere\.p8 \(ENOENT\)/.test(e.detail)], [7, true]);
    assert.match(e.hint, /relative paths are resolved against the config file's folder/);
    e = at('snowflake_user: a\nprivate_key_path: rsa_key.p8', { 'rsa_key.p8': PKCS8_ENC });
    assert.deepEqual([e.line, /encrypted, but no passphrase/.test(e.detail)], [7, true]);
    e = at('snowflake_user: a\nprivate_key_path: rsa_key.pub', { 'rsa_key.pub': PUB_PEM });
    assert.match(e.detail, /public key/);
    e = at('private_key_path: rsa_key.p8', { 'rsa_key.p8': PKCS8 });
    assert.match(e.detail, /no snowflake_user/);
    assert.match(e.hint, /SNOWFLAKE_USER/);
    e = at('auth: oauth\napi_key: os.environ/X\nprivate_key_path: k', {}, { X: 'pat-xxxxxxxxxxxx' });
    assert.match(e.detail, /no token is configured/);
    e = at('api_key: os.environ/X\nprivate_key_path: rsa_key.p8', { 'rsa_key.p8': PKCS8 }, { X: 'pat-xxxxxxxxxxxx' });
    assert.equal(e.line, 7);
    assert.match(e.detail, /credentials of two kinds/);
    assert.match(e.hint, /auth: pat or keypair/);
    e = at('auth: kerberos');
    assert.deepEqual([e.line, /must be pat, keypair or oauth/.test(e.detail)], [6, true]);
    e = loadError({
      'cortex-proxy.yaml': `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-4-sonnet\n      api_base: http://127.0.0.1:9/api/v2\n      snowflake_user: a\n      private_key_path: rsa_key.p8\n`,
      'rsa_key.p8': PKCS8,
    });
    assert.match(e.detail, /account for the JWT is unknown/);
  });

  test('auth: keypair wins over an api_key, with a warning', () => {
    const cfg = load({ 'cortex-proxy.yaml': MODEL('auth: keypair\napi_key: os.environ/X\nsnowflake_user: a\nprivate_key_path: rsa_key.p8'), 'rsa_key.p8': PKCS8 }, { X: 'pat-xxxxxxxxxxxx' });
    assert.equal(cfg.deployments[0].auth.type, 'keypair');
    assert.match(cfg.warnings.join('\n'), /api_key at line 7 is ignored: model 'cortex-claude' uses auth: keypair/);
  });
});

describe('config: PAT, pre-minted JWT, OAuth', () => {
  test('an RS256 JWT in api_key (LiteLLM style) is sent as KEYPAIR_JWT; a pat/ prefix always means PAT', async () => {
    const jwt = await signJwt(jwtClaims('A', 'U', 'SHA256:x', Math.floor(Date.now() / 1000)), privateKey);
    const cfg = load({ 'cortex-proxy.yaml': MODEL('api_key: os.environ/SNOWFLAKE_JWT') }, { SNOWFLAKE_JWT: jwt });
    assert.deepEqual(cfg.deployments[0].auth, { type: 'jwt', token: jwt });
    const cfg2 = load({ 'cortex-proxy.yaml': MODEL('api_key: os.environ/K') }, { K: `pat/${jwt}` });
    assert.deepEqual(cfg2.deployments[0].auth, { type: 'pat', token: jwt });
  });

  test('oauth_token and oauth_token_path', () => {
    const cfg = load({ 'cortex-proxy.yaml': MODEL('oauth_token: os.environ/T') }, { T: 'ver:1-hint:abc-token' });
    assert.deepEqual(cfg.deployments[0].auth, { type: 'oauth', token: 'ver:1-hint:abc-token' });
    const dir = tempDir();
    writeFiles(dir, { 'cortex-proxy.yaml': MODEL('oauth_token_path: tok/session'), 'dummy': '' });
    fs.mkdirSync(path.join(dir, 'tok'));
    fs.writeFileSync(path.join(dir, 'tok', 'session'), 'tok-123\n');
    const c2 = loadConfig({ cwd: dir, env: {} });
    assert.deepEqual(c2.deployments[0].auth, { type: 'oauth', tokenPath: path.join(dir, 'tok', 'session') });
    const e = loadError({ 'cortex-proxy.yaml': MODEL('oauth_token_path: missing') });
    assert.deepEqual([e.line, /cannot read the OAuth token file missing \(ENOENT\)/.test(e.detail)], [6, true]);
    const e2 = loadError({ 'cortex-proxy.yaml': MODEL('oauth_token_path: empty'), empty: '\n' });
    assert.match(e2.detail, /is empty/);
  });

  test('zero-config: SNOWFLAKE_PAT, or a key pair, or OAuth; PAT first when several are set', () => {
    const dir = tempDir();
    writeFiles(dir, { 'rsa_key.p8': PKCS8_ENC, token: 'file-token-1' });
    const env = (extra: NodeJS.ProcessEnv) => loadConfig({ cwd: dir, env: { SNOWFLAKE_ACCOUNT: 'myorg-myaccount', ...extra } });
    const kp = env({ SNOWFLAKE_USER: 'dave', SNOWFLAKE_PRIVATE_KEY_PATH: path.join(dir, 'rsa_key.p8'), SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: PASS });
    assert.equal(kp.source, 'environment');
    const a = kp.deployments[0].auth as KeyPairAuth;
    assert.deepEqual([a.type, a.account, a.user], ['keypair', 'MYORG-MYACCOUNT', 'DAVE']);
    assert.ok(kp.deployments.every((d) => d.auth === a), 'one credential for every model');
    assert.deepEqual(env({ SNOWFLAKE_OAUTH_TOKEN: 'tok-abc' }).deployments[0].auth, { type: 'oauth', token: 'tok-abc' });
    assert.deepEqual(env({ SNOWFLAKE_OAUTH_TOKEN_PATH: path.join(dir, 'token') }).deployments[0].auth, { type: 'oauth', tokenPath: path.join(dir, 'token') });
    assert.equal(env({ SNOWFLAKE_PAT: 'pat/p-123456789', SNOWFLAKE_PRIVATE_KEY_PATH: 'x' }).deployments[0].auth.type, 'pat');
    assert.equal(env({ SNOWFLAKE_AUTH: 'keypair', SNOWFLAKE_PAT: 'pat/p-123456789', SNOWFLAKE_USER: 'd', SNOWFLAKE_PRIVATE_KEY_PATH: path.join(dir, 'rsa_key.p8'), SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: PASS }).deployments[0].auth.type, 'keypair');

    assert.throws(
      () => env({ SNOWFLAKE_USER: 'dave', SNOWFLAKE_PRIVATE_KEY_PATH: path.join(dir, 'rsa_key.p8'), SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: 'wrong-passphrase-123' }),
      (e: unknown) => e instanceof ConfigError && /wrong passphrase/.test(e.message) && !e.message.includes('wrong-passphrase-123'),
    );
    assert.throws(
      () => loadConfig({ cwd: dir, env: { SNOWFLAKE_PRIVATE_KEY_PATH: 'k.p8' } }),
      (e: unknown) => e instanceof ConfigError && /SNOWFLAKE_PRIVATE_KEY_PATH is set but SNOWFLAKE_ACCOUNT is not/.test(e.message),
    );
  });

  test('the SPCS token file is used when nothing else is configured', () => {
    const dir = tempDir();
    const spcs = path.join(dir, 'session-token');
    fs.writeFileSync(spcs, 'spcs-token');
    const ctx = { label: 'the environment', where: '', env: {}, fileDir: dir, cwd: dir, apiBase: 'https://a.snowflakecomputing.com/api/v2' };
    assert.deepEqual(resolveAuth(NO_PARAMS, { ...ctx, spcsTokenPath: spcs }), { type: 'oauth', tokenPath: spcs });
    assert.throws(() => resolveAuth(NO_PARAMS, { ...ctx, spcsTokenPath: path.join(dir, 'absent') }), /has no api_key/);
  });
});
