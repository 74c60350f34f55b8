// Bearer-token checks (§2.1, §6, §7, §13). A PAT is an opaque registered secret (or a JWT-like ES256 token);
// a key-pair JWT is RS256, verified by `AuthPolicy.verifyJwt` (jwt.ts: registered public keys); OAuth tokens are
// registered secrets. Nothing registered at all = demo mode: any bearer token, any unexpired JWT.
import { randomUUID } from 'node:crypto';
import { CortexError } from './errors.js';

export type TokenType = 'PROGRAMMATIC_ACCESS_TOKEN' | 'KEYPAIR_JWT' | 'OAUTH';
const TOKEN_TYPES: ReadonlySet<string> = new Set<TokenType>(['PROGRAMMATIC_ACCESS_TOKEN', 'KEYPAIR_JWT', 'OAUTH']);

export interface AuthPolicy {
  /** Registered PATs; empty = demo mode (any bearer token). */
  pats: ReadonlySet<string>;
  /** Verifies a key-pair JWT's signature and claims (jwt.ts); returns an error to reject it. */
  verifyJwt?: (token: string, header: Record<string, unknown>, payload: Record<string, unknown>) => CortexError | undefined;
  /** Registered OAuth access tokens. */
  oauthTokens?: ReadonlySet<string>;
  /** Clock for iat/exp, ms (default Date.now). */
  now?: () => number;
}

/** Demo mode: no credential of any kind is registered. */
const isDemo = (p: AuthPolicy) => p.pats.size === 0 && !p.verifyJwt && !p.oauthTokens?.size;

export type AuthResult = { ok: true; tokenType: TokenType | 'unknown' } | { ok: false; error: CortexError };

const missing = () => new CortexError(401, 'Bearer token is missing', '390146', 'no "Authorization: Bearer <token>" header');
/** §6/§13 [OBS]: `JWT token is invalid. [<uuid>]`. */
const jwtInvalid = (detail: string) =>
  new CortexError(401, `JWT token is invalid. [${randomUUID()}]`, '390144', detail);
/** §6 [OBS]: 390198. */
const jwtExpired = () => new CortexError(401, 'Keypair access token expired.', '390198', 'exp is in the past');
/** [INF] exact text unknown; §6 only says "PAT errors (e.g. PAT_INVALID)". */
const patInvalid = (detail: string) => new CortexError(401, 'Programmatic access token is invalid.', undefined, detail);
/** [INF] exact text unknown. */
const oauthInvalid = (detail: string) => new CortexError(401, 'Invalid OAuth access token.', undefined, detail);

interface Jwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

function decodeJwt(token: string): Jwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (!header || typeof header !== 'object' || !payload || typeof payload !== 'object') return undefined;
    return { header, payload };
  } catch {
    return undefined;
  }
}

/** §7.1 heuristic: ES256 header or `iss` starting "SF:" = PAT; RS256 = key-pair JWT. */
function detect(token: string, pats: ReadonlySet<string>): { kind: TokenType | 'opaque'; jwt?: Jwt } {
  if (pats.has(token)) return { kind: 'PROGRAMMATIC_ACCESS_TOKEN' };
  const jwt = decodeJwt(token);
  if (!jwt) return { kind: 'opaque' };
  const iss = jwt.payload.iss;
  if (jwt.header.alg === 'ES256' || (typeof iss === 'string' && iss.startsWith('SF:'))) {
    return { kind: 'PROGRAMMATIC_ACCESS_TOKEN', jwt };
  }
  if (jwt.header.alg === 'RS256') return { kind: 'KEYPAIR_JWT', jwt };
  return { kind: 'opaque', jwt };
}

function checkKeypairJwt(token: string, jwt: Jwt, policy: AuthPolicy): CortexError | undefined {
  const { iat, exp } = jwt.payload;
  const now = Math.floor((policy.now ?? Date.now)() / 1000);
  if (typeof exp !== 'number' || typeof iat !== 'number') return jwtInvalid('iat/exp missing');
  if (exp <= now) return jwtExpired();
  if (exp - iat > 3600) return jwtInvalid('exp - iat > 3600 s (§7.2)');
  if (policy.verifyJwt) return policy.verifyJwt(token, jwt.header, jwt.payload);
  if (!isDemo(policy)) return jwtInvalid('no key-pair public keys are registered with this emulator');
  return undefined;
}

export function authenticate(headers: Record<string, string | string[] | undefined>, policy: AuthPolicy): AuthResult {
  const auth = headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  if (!m) return { ok: false, error: missing() };
  const token = m[1];
  const { kind, jwt } = detect(token, policy.pats);
  const demo = isDemo(policy);
  const oauth = policy.oauthTokens?.has(token) ?? false;

  const declared = headers['x-snowflake-authorization-token-type'];
  let type: TokenType | 'unknown';
  if (declared !== undefined) {
    const t = Array.isArray(declared) ? declared.join(',') : declared.trim();
    if (!TOKEN_TYPES.has(t)) {
      return { ok: false, error: new CortexError(401, `Invalid token type: ${t}`, undefined, 'X-Snowflake-Authorization-Token-Type') };
    }
    type = t as TokenType;
    // §2.1 [OBS litellm #17346]: a wrong declared type fails.
    if (type === 'KEYPAIR_JWT' && kind !== 'KEYPAIR_JWT') {
      return { ok: false, error: jwtInvalid(`token declared KEYPAIR_JWT but is ${kind === 'opaque' ? 'not a JWT' : 'a PAT'}`) };
    }
    if (type === 'PROGRAMMATIC_ACCESS_TOKEN' && kind === 'KEYPAIR_JWT') {
      return { ok: false, error: patInvalid('token declared PROGRAMMATIC_ACCESS_TOKEN but is a key-pair JWT') };
    }
    if (type === 'OAUTH' && kind !== 'opaque' && !oauth) {
      return { ok: false, error: oauthInvalid(`token declared OAUTH but is ${kind === 'KEYPAIR_JWT' ? 'a key-pair JWT' : 'a PAT'}`) };
    }
  } else {
    type = kind === 'opaque' ? 'unknown' : kind;
  }

  if (type === 'KEYPAIR_JWT') {
    const err = checkKeypairJwt(token, jwt!, policy);
    return err ? { ok: false, error: err } : { ok: true, tokenType: type };
  }
  if (demo) return { ok: true, tokenType: type };
  if (type === 'OAUTH' || (type === 'unknown' && oauth))
    return oauth ? { ok: true, tokenType: 'OAUTH' } : { ok: false, error: oauthInvalid('token is not a registered OAuth token') };
  if (!policy.pats.has(token)) return { ok: false, error: patInvalid('token is not a registered PAT') };
  return { ok: true, tokenType: 'PROGRAMMATIC_ACCESS_TOKEN' };
}
