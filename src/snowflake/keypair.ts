// Key-pair authentication (reference/cortex-api.md §7.2): load an RSA private key from PEM (PKCS#8, encrypted
// PKCS#8, PKCS#1, encrypted PKCS#1), compute the public-key fingerprint Snowflake stores (RSA_PUBLIC_KEY_FP),
// normalise the account/user the way the Snowflake connectors do, and sign an RS256 JWT with node:crypto.
// Nothing here ever puts key material or a passphrase into an error message.
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';

/** Snowflake rejects key-pair JWTs whose exp is more than one hour after iat. */
export const MAX_JWT_LIFETIME_S = 3600;
/** Snowflake's sample code: 59-minute tokens, renewed at 54 minutes. */
export const JWT_LIFETIME_S = 59 * 60;
export const JWT_RENEW_AFTER_S = 54 * 60;

export class KeyError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    /** What the user should look at: the passphrase or the key itself. */
    readonly about: 'passphrase' | 'key',
  ) {
    super(message);
    this.name = 'KeyError';
  }
}

const GENERATE_HINT =
  'create a key with: openssl genrsa 2048 | openssl pkcs8 -topk8 -v2 aes-256-cbc -inform PEM -out rsa_key.p8 ' +
  '(or -nocrypt for an unencrypted key), then register its public key with ALTER USER … SET RSA_PUBLIC_KEY';

/**
 * Parses a PEM RSA private key. `what` names the source in messages (e.g. "rsa_key.p8" or "private_key").
 * Throws KeyError (never quoting the key or the passphrase).
 */
export function loadPrivateKey(pem: string, passphrase: string | undefined, what: string): KeyObject {
  // Keys pasted into env vars often carry literal "\n" sequences instead of line breaks.
  let text = pem.includes('-----BEGIN') && !pem.includes('\n') ? pem.replace(/\\n/g, '\n') : pem;
  text = text.replace(/\r\n?/g, '\n').trim();
  const begin = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text);
  if (!begin)
    throw new KeyError(`${what} is not a PEM private key (no "-----BEGIN … PRIVATE KEY-----" line)`, `point it at the .p8/.pem file you created; ${GENERATE_HINT}`, 'key');
  const label = begin[1];
  if (label.includes('PUBLIC KEY'))
    throw new KeyError(
      `${what} holds a public key, not the private key`,
      'use the private key file (e.g. rsa_key.p8); the public key (rsa_key.pub) is what you register with ALTER USER … SET RSA_PUBLIC_KEY',
      'key',
    );
  if (label === 'OPENSSH PRIVATE KEY')
    throw new KeyError(
      `${what} is an OpenSSH-format key, which Snowflake key-pair authentication does not use`,
      `convert it with: ssh-keygen -p -m PKCS8 -f <file> (or ${GENERATE_HINT})`,
      'key',
    );
  if (!label.endsWith('PRIVATE KEY'))
    throw new KeyError(`${what} holds a PEM "${label}", not a private key`, GENERATE_HINT, 'key');
  const encrypted = label === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(text);
  if (encrypted && !passphrase)
    throw new KeyError(
      `the private key in ${what} is encrypted, but no passphrase is configured`,
      'set private_key_passphrase: os.environ/SNOWFLAKE_PRIVATE_KEY_PASSPHRASE in litellm_params (or SNOWFLAKE_PRIVATE_KEY_PASSPHRASE in the environment or .env)',
      'passphrase',
    );
  let key: KeyObject;
  try {
    key = createPrivateKey(encrypted ? { key: text, format: 'pem', passphrase } : { key: text, format: 'pem' });
  } catch {
    // OpenSSL's messages say nothing useful ("bad decrypt", "unsupported"), and never anything secret; ours say what to do.
    if (encrypted)
      throw new KeyError(
        `cannot decrypt the private key in ${what}: wrong passphrase (or a damaged key file)`,
        'check private_key_passphrase / SNOWFLAKE_PRIVATE_KEY_PASSPHRASE (it must be the passphrase given to openssl pkcs8 -topk8)',
        'passphrase',
      );
    throw new KeyError(`cannot parse the private key in ${what} (damaged or truncated PEM)`, `copy the whole file again, including the BEGIN/END lines; ${GENERATE_HINT}`, 'key');
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new KeyError(
      `the private key in ${what} is ${key.asymmetricKeyType?.toUpperCase() ?? 'not RSA'}; Snowflake key-pair authentication needs an RSA key`,
      GENERATE_HINT,
      'key',
    );
  return key;
}

/** RSA modulus size in bits (Snowflake requires at least 2048). */
export function modulusBits(key: KeyObject): number {
  return key.asymmetricKeyDetails?.modulusLength ?? 0;
}

/**
 * "SHA256:" + standard padded base64 of SHA-256 over the DER SubjectPublicKeyInfo — what
 * DESCRIBE USER shows as RSA_PUBLIC_KEY_FP and what the JWT's iss must carry.
 */
export function publicKeyFingerprint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return 'SHA256:' + createHash('sha256').update(der).digest('base64');
}

/** The public key as PEM (SPKI), for ALTER USER … SET RSA_PUBLIC_KEY (without the BEGIN/END lines). */
export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * The account part of the JWT's iss/sub, as the Snowflake connectors compute it (§7.2):
 * a URL or host is reduced to its account label; `….global` keeps what precedes the first '-';
 * otherwise what precedes the first '.' (so a locator with region, or `.privatelink`, drops the suffix);
 * then upper-case. Underscores and hyphens are kept as written.
 */
export function jwtAccount(raw: string): string {
  let acct = raw.trim();
  acct = acct.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/[/:].*$/, '');
  acct = acct.replace(/\.snowflakecomputing\.(com|cn)$/i, '');
  if (acct.includes('.global')) acct = acct.split('-')[0];
  else acct = acct.split('.')[0];
  return acct.toUpperCase();
}

/** The user part of the JWT's iss/sub: the login name, upper-case. */
export function jwtUser(raw: string): string {
  return raw.trim().toUpperCase();
}

export interface JwtClaims {
  iss: string;
  sub: string;
  iat: number;
  exp: number;
}

/** The claims for one token. `nowS` and `lifetimeS` in seconds; lifetime is capped at Snowflake's one hour. */
export function jwtClaims(account: string, user: string, fingerprint: string, nowS: number, lifetimeS = JWT_LIFETIME_S): JwtClaims {
  const qualified = `${account}.${user}`;
  return { iss: `${qualified}.${fingerprint}`, sub: qualified, iat: nowS, exp: nowS + Math.min(lifetimeS, MAX_JWT_LIFETIME_S) };
}

const b64u = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const HEADER = b64u({ alg: 'RS256', typ: 'JWT' });

/** RS256-signs the claims. Signing runs on libuv's thread pool, off the event loop. */
export function signJwt(claims: JwtClaims, key: KeyObject): Promise<string> {
  const unsigned = `${HEADER}.${b64u(claims)}`;
  return new Promise((resolve, reject) => {
    sign('sha256', Buffer.from(unsigned), key, (err, sig) => (err ? reject(err) : resolve(`${unsigned}.${sig.toString('base64url')}`)));
  });
}
