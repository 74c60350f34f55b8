// Upstream credentials → the headers Snowflake wants (reference/cortex-api.md §7). The token-type header always
// matches the token (a PAT announced as KEYPAIR_JWT is rejected: LiteLLM #17346).
//
//   pat      → Bearer <PAT>, PROGRAMMATIC_ACCESS_TOKEN          (static: synchronous)
//   jwt      → Bearer <pre-minted JWT>, KEYPAIR_JWT             (static: synchronous)
//   oauth    → Bearer <token>, OAUTH                            (static: synchronous)
//   oauth    → token file: one stat per call, re-read only when mtime/size/inode change (synchronous)
//   keypair  → Bearer <JWT>, KEYPAIR_JWT: minted on first use (a Promise), then cached (synchronous) and renewed
//              in the background once it is 54 minutes old; callers only wait when no valid token is left.
//              All deployments using one key share one token and one in-flight renewal.
//
// Minted and re-read tokens are registered with the logger (attachAuth) so no log line can show them.
import fs from 'node:fs';
import type { KeyPairAuth, UpstreamAuth } from '../config/types.js';
import { ProxyError } from '../core/errors.js';
import { JWT_LIFETIME_S, JWT_RENEW_AFTER_S, jwtClaims, signJwt } from './keypair.js';

export type AuthHeaders = Record<string, string>;
export type TokenType = 'PROGRAMMATIC_ACCESS_TOKEN' | 'KEYPAIR_JWT' | 'OAUTH';

/** The logger surface the auth sources use (server/log.ts Logger satisfies it). */
export interface AuthLog {
  /** rotating: a token that expires and is replaced (server/log.ts keeps only the most recent ones). */
  addSecret(secret: string | undefined, rotating?: boolean): void;
  info(msg: string): void;
  warn(msg: string): void;
}

/** Where Snowpark Container Services mounts the service's OAuth token. */
export const SPCS_TOKEN_PATH = '/snowflake/session/token';

const TYPE_HEADER = 'x-snowflake-authorization-token-type';
const headersFor = (token: string, type: TokenType): AuthHeaders => ({ authorization: `Bearer ${token}`, [TYPE_HEADER]: type });

interface Source {
  headers(): AuthHeaders | Promise<AuthHeaders>;
  attach(log: AuthLog): void;
  /** The tokens this source has handed out that may still be quoted back (for redaction). */
  tokens(): string[];
}

const sources = new WeakMap<UpstreamAuth, Source>();
const keyPairs = new Map<string, KeyPairTokens>();
const tokenFiles = new Map<string, OAuthTokenFile>();
/** One source per static token, whatever deployment names it: its start-up notice is logged once. */
const staticTokens = new Map<string, StaticToken>();
const staticToken = (token: string, type: TokenType) => {
  const key = `${type}\u0000${token}`;
  let t = staticTokens.get(key);
  if (!t) staticTokens.set(key, (t = new StaticToken(token, type)));
  return t;
};

function sourceFor(auth: UpstreamAuth): Source {
  let s = sources.get(auth);
  if (s) return s;
  switch (auth.type) {
    case 'pat':
      s = staticToken(auth.token, 'PROGRAMMATIC_ACCESS_TOKEN');
      break;
    case 'jwt':
      s = staticToken(auth.token, 'KEYPAIR_JWT');
      break;
    case 'oauth':
      if ('tokenPath' in auth) {
        let f = tokenFiles.get(auth.tokenPath);
        if (!f) tokenFiles.set(auth.tokenPath, (f = new OAuthTokenFile(auth.tokenPath)));
        s = f;
      } else s = staticToken(auth.token, 'OAUTH');
      break;
    case 'keypair': {
      const id = `${auth.account}.${auth.user}.${auth.fingerprint}`;
      let k = keyPairs.get(id);
      if (!k) keyPairs.set(id, (k = new KeyPairTokens(auth)));
      s = k;
      break;
    }
  }
  sources.set(auth, s);
  return s;
}

/** Headers for one upstream call. Synchronous for static and cached tokens; a Promise while a JWT is being minted. */
export function authHeaders(auth: UpstreamAuth): AuthHeaders | Promise<AuthHeaders> {
  return (sources.get(auth) ?? sourceFor(auth)).headers();
}

/**
 * Registers the credential's secrets with the logger (now, and every token minted or read later) and logs
 * once how the proxy authenticates. Called by createApp for every deployment.
 */
export function attachAuth(auth: UpstreamAuth, log: AuthLog): void {
  sourceFor(auth).attach(log);
}

/**
 * An upstream error, made right for the credential in use: any of its tokens quoted back by Snowflake is
 * redacted, and a rejected key-pair JWT or OAuth token gets advice for that credential instead of the PAT
 * advice snowflakeError gives (it cannot know which credential was sent).
 */
export function credentialError(auth: UpstreamAuth, err: ProxyError): ProxyError {
  let message = err.message;
  for (const t of sourceFor(auth).tokens()) if (t.length >= 8 && message.includes(t)) message = message.split(t).join('[redacted]');
  if (err.kind === 'auth' && auth.type !== 'pat' && !/network policy|ip address|not allowed to access/i.test(message)) {
    const said = message.indexOf(' Snowflake said:');
    const rid = message.lastIndexOf(' (Snowflake request id:');
    const tail = said >= 0 ? message.slice(said) : rid >= 0 ? message.slice(rid) : '';
    const expired = err.code === '390198' || (said >= 0 && /expired/i.test(message.slice(said)));
    message = credentialAdvice(auth, expired) + tail;
  }
  if (message === err.message) return err;
  const e = new ProxyError(err.kind, message, { code: err.code, param: err.param, requestId: err.requestId, status: err.status, retryAfter: err.retryAfter });
  return e;
}

function credentialAdvice(auth: UpstreamAuth, expired: boolean): string {
  switch (auth.type) {
    case 'keypair':
      return expired
        ? "Snowflake rejected the key-pair JWT as expired. Check this machine's clock: cortex-proxy signs JWTs for 59 minutes and renews them after 54."
        : `Snowflake rejected the key-pair JWT for ${auth.account}.${auth.user}. Check that DESCRIBE USER ${auth.user} shows ` +
            `RSA_PUBLIC_KEY_FP = ${auth.fingerprint} (else register the public key: ALTER USER ${auth.user} SET RSA_PUBLIC_KEY='…'), ` +
            `and that ${auth.account} is the account as Snowflake names it (set jwt_account: to the account locator from ` +
            "SELECT CURRENT_ACCOUNT(), or to ORGNAME-ACCOUNT_NAME with its underscores).";
    case 'jwt':
      return (
        'Snowflake rejected the pre-minted key-pair JWT (api_key / SNOWFLAKE_JWT)' +
        (expired ? ' as expired' : '') +
        ". Such a JWT lives at most one hour: configure private_key_path and snowflake_user so cortex-proxy mints and renews its own."
      );
    case 'oauth':
      return (
        `Snowflake rejected the OAuth access token${expired ? ' as expired' : ' (expired, revoked, or issued for another account or role)'}. ` +
        ('tokenPath' in auth
          ? `cortex-proxy re-reads ${auth.tokenPath} whenever it changes: make sure whatever refreshes the token writes there.`
          : 'Get a fresh token into SNOWFLAKE_OAUTH_TOKEN and restart, or use oauth_token_path with a file your OAuth client keeps fresh.')
      );
    case 'pat':
      return '';
  }
}

// ───────────────────────────── static tokens ─────────────────────────────

class StaticToken implements Source {
  private readonly h: AuthHeaders;
  private readonly logs = new Set<AuthLog>();
  constructor(
    private readonly token: string,
    private readonly type: TokenType,
  ) {
    this.h = headersFor(token, type);
  }
  headers(): AuthHeaders {
    return this.h;
  }
  tokens(): string[] {
    return [this.token];
  }
  attach(log: AuthLog): void {
    log.addSecret(this.token);
    if (this.logs.has(log)) return;
    this.logs.add(log);
    if (this.type === 'KEYPAIR_JWT') {
      const exp = jwtExp(this.token);
      const when = exp !== undefined ? ` (it expires at ${new Date(exp * 1000).toISOString()})` : '';
      log.warn(
        `upstream auth: a pre-minted key-pair JWT${when}; cortex-proxy cannot renew it — configure private_key_path (and snowflake_user) to let it mint and renew JWTs`,
      );
    } else if (this.type === 'OAUTH') log.info('upstream auth: OAuth access token');
  }
}

function jwtExp(token: string): number | undefined {
  try {
    const exp = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

// ───────────────────────────── key-pair JWTs ─────────────────────────────

export interface KeyPairOptions {
  /** Milliseconds since the epoch (default Date.now); injectable for tests. */
  now?: () => number;
  /** Token lifetime in seconds (default 59 min; Snowflake's limit is 60). */
  lifetimeS?: number;
  /** Age in seconds after which a renewal starts in the background (default 54 min). */
  renewAfterS?: number;
}

/** A token is not handed out during its last minute: clock skew and transit time would make it arrive expired. */
const EXPIRY_MARGIN_MS = 60_000;

interface Minted {
  token: string;
  headers: AuthHeaders;
  iat: number;
  /** ms */
  renewAt: number;
  /** ms: hand it out until then */
  usableUntil: number;
}

/** Mints, caches and renews key-pair JWTs for one (account, user, key). */
export class KeyPairTokens implements Source {
  private current?: Minted;
  /** The token before the current one: requests in flight may still carry it. */
  private previous?: string;
  private pending?: Promise<Minted>;
  private readonly logs = new Set<AuthLog>();
  private readonly now: () => number;
  private readonly lifetimeS: number;
  private readonly renewAfterS: number;
  /** How many JWTs were signed (for tests and diagnostics). */
  minted = 0;

  constructor(
    private readonly auth: KeyPairAuth,
    opts: KeyPairOptions = {},
  ) {
    this.now = opts.now ?? (() => Date.now());
    this.lifetimeS = opts.lifetimeS ?? JWT_LIFETIME_S;
    this.renewAfterS = Math.min(opts.renewAfterS ?? JWT_RENEW_AFTER_S, this.lifetimeS);
  }

  headers(): AuthHeaders | Promise<AuthHeaders> {
    const c = this.current;
    if (c) {
      const now = this.now();
      if (now < c.renewAt) return c.headers;
      if (now < c.usableUntil) {
        // Still valid: answer now, renew in the background (failures are logged; the next call tries again).
        this.renew().catch((err) => this.warn(`could not renew the key-pair JWT: ${(err as Error).message}`));
        return c.headers;
      }
    }
    return this.renew().then(
      (m) => m.headers,
      (err) => {
        throw new ProxyError('unavailable', `cortex-proxy could not sign a key-pair JWT (${(err as Error).message}).`);
      },
    );
  }

  tokens(): string[] {
    return this.previous ? [this.previous, this.current!.token] : this.current ? [this.current.token] : [];
  }

  /** The current token's claims' iat (seconds), for tests. */
  get issuedAt(): number | undefined {
    return this.current?.iat;
  }

  /** Starts (or joins) the one renewal in flight. */
  renew(): Promise<Minted> {
    if (!this.pending) {
      const p = this.mint();
      this.pending = p;
      const clear = () => {
        if (this.pending === p) this.pending = undefined;
      };
      p.then(clear, clear);
    }
    return this.pending;
  }

  private async mint(): Promise<Minted> {
    const startMs = this.now();
    const iat = Math.floor(startMs / 1000);
    const { account, user, fingerprint, privateKey } = this.auth;
    const token = await signJwt(jwtClaims(account, user, fingerprint, iat, this.lifetimeS), privateKey);
    this.minted++;
    for (const log of this.logs) log.addSecret(token, true);
    const m: Minted = {
      token,
      headers: headersFor(token, 'KEYPAIR_JWT'),
      iat,
      renewAt: (iat + this.renewAfterS) * 1000,
      usableUntil: (iat + this.lifetimeS) * 1000 - Math.min(EXPIRY_MARGIN_MS, (this.lifetimeS * 1000) / 10),
    };
    this.previous = this.current?.token;
    this.current = m;
    return m;
  }

  attach(log: AuthLog): void {
    if (this.current) log.addSecret(this.current.token, true);
    if (this.logs.has(log)) return;
    this.logs.add(log);
    const { account, user, fingerprint } = this.auth;
    log.info(`upstream auth: key-pair JWT for ${account}.${user} (public key ${fingerprint})`);
  }

  private warn(msg: string): void {
    for (const log of this.logs) log.warn(msg);
  }
}

// ───────────────────────────── OAuth token file ─────────────────────────────

export interface TokenFileOptions {
  now?: () => number;
}

/** Even when stat reports no change, re-read this often (file systems with coarse or frozen mtimes). */
const REREAD_EVERY_MS = 30_000;

/**
 * An OAuth token kept in a file that another process rotates (SPCS rewrites /snowflake/session/token).
 * Each call costs one stat; the file is read only when its mtime, size or inode changed (atomic replace
 * included), or every 30 s at most. A missing or empty file keeps the last good token (with a warning).
 */
export class OAuthTokenFile implements Source {
  private sig = '';
  private readAt = 0;
  private h?: AuthHeaders;
  private token?: string;
  private problem?: string;
  private readonly logs = new Set<AuthLog>();
  private readonly now: () => number;
  /** How many times the file was read (for tests and diagnostics). */
  reads = 0;

  constructor(
    readonly path: string,
    opts: TokenFileOptions = {},
  ) {
    this.now = opts.now ?? (() => Date.now());
  }

  headers(): AuthHeaders {
    const st = fs.statSync(this.path, { throwIfNoEntry: false });
    if (st) {
      const sig = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (sig === this.sig && this.h && this.now() - this.readAt < REREAD_EVERY_MS) return this.h;
      this.read(sig);
    } else this.trouble('it does not exist (any more)');
    if (this.h) return this.h;
    throw new ProxyError(
      'unavailable',
      `cortex-proxy cannot use the OAuth token file ${this.path}: ${this.problem ?? 'it is empty'}. Check that the file exists, is readable and holds the access token.`,
    );
  }

  private read(sig: string): void {
    let text: string;
    try {
      text = fs.readFileSync(this.path, 'utf8');
    } catch (err) {
      this.trouble(`it cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return;
    }
    this.reads++;
    const token = text.trim();
    if (token === '' || /\s/.test(token)) {
      // Possibly caught mid-write: keep the last good token and look again next time.
      this.trouble(token === '' ? 'it is empty' : 'it holds more than one word');
      return;
    }
    this.sig = sig;
    this.readAt = this.now();
    this.problem = undefined;
    if (token === this.token) return;
    this.token = token;
    this.h = headersFor(token, 'OAUTH');
    for (const log of this.logs) log.addSecret(token, true);
  }

  tokens(): string[] {
    return this.token ? [this.token] : [];
  }

  private trouble(what: string): void {
    this.sig = '';
    if (this.problem === what) return;
    this.problem = what;
    if (this.h) for (const log of this.logs) log.warn(`OAuth token file ${this.path}: ${what}; still using the last token read from it`);
  }

  attach(log: AuthLog): void {
    if (this.token) log.addSecret(this.token, true);
    if (this.logs.has(log)) return;
    this.logs.add(log);
    log.info(`upstream auth: OAuth access token from ${this.path} (re-read whenever the file changes)`);
  }
}
