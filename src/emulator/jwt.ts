// Key-pair JWT verification for the emulator (reference/cortex-api.md §7.2), written independently of the
// proxy's minting code (src/snowflake/keypair.ts) so that the two check each other.
// Registered keys: { account, user, publicKeyPem } as ALTER USER … SET RSA_PUBLIC_KEY would register them.
// Rules: RS256 signature by a registered key; iss = ACCOUNT.USER.SHA256:<fingerprint of that key>;
// sub = ACCOUNT.USER; account and user compared upper-case. (exp/iat are checked by auth.ts before this.)
import { createHash, createPublicKey, randomUUID, verify, type KeyObject } from 'node:crypto';
import { CortexError } from './errors.js';

export interface RegisteredPublicKey {
  /** Account as it appears in the JWT (e.g. MYORG-MYACCOUNT or a locator); compared upper-case. */
  account: string;
  /** Login name; compared upper-case. */
  user: string;
  /** SPKI PEM ("-----BEGIN PUBLIC KEY-----"), or the bare base64 body as ALTER USER takes it. */
  publicKeyPem: string;
}

const invalid = (detail: string) => new CortexError(401, `JWT token is invalid. [${randomUUID()}]`, '390144', detail);

interface Known {
  qualified: string;
  fingerprint: string;
  key: KeyObject;
}

/** Builds AuthPolicy.verifyJwt for a set of registered public keys. Throws on a malformed key (a test bug). */
export function keyPairVerifier(keys: readonly RegisteredPublicKey[]) {
  const known: Known[] = keys.map((k) => {
    const pem = k.publicKeyPem.includes('-----BEGIN')
      ? k.publicKeyPem
      : `-----BEGIN PUBLIC KEY-----\n${k.publicKeyPem.replace(/\s+/g, '')}\n-----END PUBLIC KEY-----\n`;
    const key = createPublicKey(pem);
    const der = key.export({ type: 'spki', format: 'der' });
    return {
      qualified: `${k.account.trim().toUpperCase()}.${k.user.trim().toUpperCase()}`,
      fingerprint: 'SHA256:' + createHash('sha256').update(der).digest('base64'),
      key,
    };
  });
  return (token: string, _header: Record<string, unknown>, payload: Record<string, unknown>): CortexError | undefined => {
    const { iss, sub } = payload;
    if (typeof iss !== 'string' || typeof sub !== 'string') return invalid('iss/sub missing');
    const at = iss.lastIndexOf('.SHA256:');
    if (at < 0) return invalid('iss lacks the .SHA256:<public key fingerprint> suffix');
    const qualified = iss.slice(0, at);
    const fingerprint = iss.slice(at + 1);
    if (sub !== qualified) return invalid(`sub ${sub} ≠ ${qualified} (the iss without the fingerprint)`);
    const forUser = known.filter((k) => k.qualified === qualified);
    if (forUser.length === 0) return invalid(`no public key is registered for ${qualified}`);
    const k = forUser.find((c) => c.fingerprint === fingerprint);
    if (!k) return invalid(`fingerprint ${fingerprint} matches no public key registered for ${qualified}`);
    const dot = token.lastIndexOf('.');
    const ok = verify('sha256', Buffer.from(token.slice(0, dot)), k.key, Buffer.from(token.slice(dot + 1), 'base64url'));
    return ok ? undefined : invalid('RS256 signature does not verify with the registered public key');
  };
}
