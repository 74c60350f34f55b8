// The emulator's key-pair JWT verification and OAuth tokens (§7.2, §7.3, §6 codes): the rules real Snowflake
// applies, checked with tokens minted independently in the test (and with the proxy's minting code).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { jwtClaims, publicKeyFingerprint, signJwt } from '../src/snowflake/keypair.js';

const alice = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ALICE_PUB = alice.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const fp = (k: KeyObject) => 'SHA256:' + createHash('sha256').update(k.export({ type: 'spki', format: 'der' })).digest('base64');
const OAUTH = 'ver:1-hint:1234-registered-oauth-token';
const PAT = 'registered-pat-secret-value';

let emu: Emulator;
let nowMs = Date.now();

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
function jwt(claims: Record<string, unknown>, key: KeyObject = alice.privateKey, header: object = { alg: 'RS256', typ: 'JWT' }): string {
  const unsigned = `${b64(header)}.${b64(claims)}`;
  return `${unsigned}.${sign('sha256', Buffer.from(unsigned), key).toString('base64url')}`;
}
const claims = (over: Record<string, unknown> = {}) => {
  const iat = Math.floor(nowMs / 1000);
  return { iss: `MYORG-MYACCOUNT.ALICE.${fp(alice.publicKey)}`, sub: 'MYORG-MYACCOUNT.ALICE', iat, exp: iat + 3540, ...over };
};

async function call(token: string, type?: string): Promise<{ status: number; code?: string; message?: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  if (type) headers['x-snowflake-authorization-token-type'] = type;
  const r = await request(`${emu.apiBase}/cortex/inference:complete`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'claude-4-sonnet', messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await r.body.text();
  const j = r.statusCode === 200 ? {} : JSON.parse(text);
  return { status: r.statusCode, code: j.code, message: j.message };
}

before(async () => {
  emu = await startEmulator({
    quiet: true,
    pats: [PAT],
    publicKeys: [{ account: 'myorg-myaccount', user: 'alice', publicKeyPem: ALICE_PUB }],
    oauthTokens: [OAUTH],
    now: () => nowMs,
  });
});
after(() => emu.close());

describe('key-pair JWTs (§7.2)', () => {
  it('a JWT signed by the registered key with the right iss/sub → 200, with or without the type header', async () => {
    assert.equal((await call(jwt(claims()), 'KEYPAIR_JWT')).status, 200);
    assert.equal((await call(jwt(claims()))).status, 200);
    // The proxy's own minting code produces acceptable tokens.
    const minted = await signJwt(jwtClaims('MYORG-MYACCOUNT', 'ALICE', publicKeyFingerprint(alice.privateKey), Math.floor(nowMs / 1000)), alice.privateKey);
    assert.equal((await call(minted, 'KEYPAIR_JWT')).status, 200);
  });

  it('a public key registered as the bare base64 body (as ALTER USER takes it) works too', async () => {
    const body = ALICE_PUB.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    const e2 = await startEmulator({ quiet: true, publicKeys: [{ account: 'MYORG-MYACCOUNT', user: 'ALICE', publicKeyPem: body }], now: () => nowMs });
    try {
      const r = await request(`${e2.apiBase}/cortex/inference:complete`, {
        method: 'POST',
        headers: { authorization: `Bearer ${jwt(claims())}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-4-sonnet', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(r.statusCode, 200);
      await r.body.dump();
    } finally {
      await e2.close();
    }
  });

  it('invalid → 401 390144: wrong fingerprint, wrong signer, sub ≠ iss prefix, unknown user, no fingerprint, life over an hour', async () => {
    const cases: Array<[string, string]> = [
      ['fingerprint of another key', jwt(claims({ iss: `MYORG-MYACCOUNT.ALICE.${fp(other.publicKey)}` }))],
      ['signed by another key', jwt(claims(), other.privateKey)],
      ['sub mismatch', jwt(claims({ sub: 'MYORG-MYACCOUNT.BOB' }))],
      ['unknown user', jwt(claims({ iss: `MYORG-MYACCOUNT.BOB.${fp(alice.publicKey)}`, sub: 'MYORG-MYACCOUNT.BOB' }))],
      ['wrong account', jwt(claims({ iss: `OTHER.ALICE.${fp(alice.publicKey)}`, sub: 'OTHER.ALICE' }))],
      ['no fingerprint (langchain-snowflake)', jwt(claims({ iss: 'MYORG-MYACCOUNT.ALICE' }))],
      ['exp - iat > 3600', jwt(claims({ exp: Math.floor(nowMs / 1000) + 3700 }))],
      ['tampered payload', (() => {
        const t = jwt(claims()).split('.');
        t[1] = b64(claims({ sub: 'MYORG-MYACCOUNT.ALICE', extra: 1 }));
        return t.join('.');
      })()],
    ];
    for (const [name, token] of cases) {
      const r = await call(token, 'KEYPAIR_JWT');
      assert.deepEqual([r.status, r.code], [401, '390144'], name);
      assert.match(r.message!, /^JWT token is invalid\. \[/, name);
    }
  });

  it('expired → 401 390198, judged by the emulator clock', async () => {
    const token = jwt(claims());
    assert.equal((await call(token)).status, 200);
    const saved = nowMs;
    nowMs += 3600_000;
    try {
      const r = await call(token, 'KEYPAIR_JWT');
      assert.deepEqual([r.status, r.code], [401, '390198']);
      assert.equal((await call(jwt(claims()), 'KEYPAIR_JWT')).status, 200, 'a token minted at the new time is fine');
    } finally {
      nowMs = saved;
    }
  });

  it('with keys registered but no PATs the emulator is not in demo mode', async () => {
    const e2 = await startEmulator({ quiet: true, publicKeys: [{ account: 'A', user: 'U', publicKeyPem: ALICE_PUB }] });
    try {
      const r = await request(`${e2.apiBase}/cortex/inference:complete`, {
        method: 'POST',
        headers: { authorization: 'Bearer anything-at-all', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-4-sonnet', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(r.statusCode, 401);
      await r.body.dump();
    } finally {
      await e2.close();
    }
  });
});

describe('OAuth tokens (§7.3)', () => {
  it('a registered token → 200 typed OAUTH or undeclared; an unknown one → 401; a PAT declared OAUTH → 401', async () => {
    assert.equal((await call(OAUTH, 'OAUTH')).status, 200);
    assert.equal((await call(OAUTH)).status, 200);
    assert.equal((await call('ver:1-hint:unknown-token', 'OAUTH')).status, 401);
    assert.equal((await call(PAT, 'OAUTH')).status, 401);
    assert.equal((await call(OAUTH, 'KEYPAIR_JWT')).code, '390144', 'an OAuth token declared as a key-pair JWT');
    assert.equal((await call(PAT, 'PROGRAMMATIC_ACCESS_TOKEN')).status, 200, 'PATs still work alongside');
  });
});
