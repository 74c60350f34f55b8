// Which credential a deployment uses to call Snowflake, from its litellm_params and the environment
// (docs/authentication.md). load.ts hands us a ParamSource over one model's litellm_params; zero-config uses
// an empty one, so the environment rules are the same everywhere.
//
// The rule (first match wins):
//   1. litellm_params.auth: pat | keypair | oauth;
//   2. the kind of credential litellm_params carries: api_key → pat, private_key_path/private_key → keypair,
//      oauth_token/oauth_token_path → oauth (two kinds at once is an error: say which with auth:);
//   3. SNOWFLAKE_AUTH in the environment;
//   4. the environment: SNOWFLAKE_PAT (or LiteLLM's SNOWFLAKE_JWT) → pat; SNOWFLAKE_PRIVATE_KEY_PATH or
//      SNOWFLAKE_PRIVATE_KEY → keypair; SNOWFLAKE_OAUTH_TOKEN or SNOWFLAKE_OAUTH_TOKEN_PATH → oauth;
//      /snowflake/session/token exists (Snowpark Container Services) → oauth.
// Every other value (user, passphrase, account, …) comes from litellm_params first, then the environment.
// An api_key that is an RS256 JWT without the pat/ prefix is a pre-minted key-pair JWT (LiteLLM's convention).
// Messages never contain a key, a passphrase or a token.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { UpstreamAuth } from './types.js';
import { AccountError, patFromKey } from './account.js';
import { KeyError, jwtAccount, jwtUser, loadPrivateKey, modulusBits, publicKeyFingerprint } from '../snowflake/keypair.js';
import { SPCS_TOKEN_PATH } from '../snowflake/auth.js';

export type AuthMode = 'pat' | 'keypair' | 'oauth';

interface Spec {
  /** litellm_params names (the first is the documented one; the others are aliases from LiteLLM/the connectors). */
  names: readonly string[];
  /** Environment variables consulted when litellm_params has none of the names. */
  env: readonly string[];
  secret: boolean;
  example: string;
}

const SPEC = {
  auth: { names: ['auth'], env: ['SNOWFLAKE_AUTH'], secret: false, example: 'keypair' },
  account: { names: ['snowflake_account', 'snowflake_account_id', 'account_id'], env: ['SNOWFLAKE_ACCOUNT', 'SNOWFLAKE_ACCOUNT_ID'], secret: false, example: 'myorg-myaccount' },
  user: { names: ['snowflake_user'], env: ['SNOWFLAKE_USER'], secret: false, example: 'MY_USER' },
  keyPath: { names: ['private_key_path', 'private_key_file'], env: ['SNOWFLAKE_PRIVATE_KEY_PATH', 'SNOWFLAKE_PRIVATE_KEY_FILE'], secret: false, example: '~/.snowflake/rsa_key.p8' },
  key: { names: ['private_key'], env: ['SNOWFLAKE_PRIVATE_KEY'], secret: true, example: 'os.environ/SNOWFLAKE_PRIVATE_KEY' },
  passphrase: { names: ['private_key_passphrase', 'private_key_file_pwd'], env: ['SNOWFLAKE_PRIVATE_KEY_PASSPHRASE'], secret: true, example: 'os.environ/SNOWFLAKE_PRIVATE_KEY_PASSPHRASE' },
  jwtAccount: { names: ['jwt_account'], env: ['SNOWFLAKE_JWT_ACCOUNT'], secret: false, example: 'MYORG-MYACCOUNT' },
  oauthToken: { names: ['oauth_token'], env: ['SNOWFLAKE_OAUTH_TOKEN'], secret: true, example: 'os.environ/SNOWFLAKE_OAUTH_TOKEN' },
  oauthPath: { names: ['oauth_token_path'], env: ['SNOWFLAKE_OAUTH_TOKEN_PATH'], secret: false, example: SPCS_TOKEN_PATH },
  apiKey: { names: ['api_key'], env: ['SNOWFLAKE_PAT', 'SNOWFLAKE_JWT'], secret: true, example: 'os.environ/SNOWFLAKE_PAT' },
} satisfies Record<string, Spec>;

const BY_NAME = new Map<string, Spec>(Object.values(SPEC).flatMap((s) => s.names.map((n) => [n, s] as [string, Spec])));

/** The litellm_params keys this module reads (api_key included). */
export const AUTH_PARAM_KEYS: readonly string[] = [...BY_NAME.keys()];

/** Whether a litellm_params key holds a secret, and an example value for hints. */
export function authKeyInfo(name: string): { secret: boolean; example: string } | undefined {
  return BY_NAME.get(name);
}

/** One model's litellm_params, as load.ts exposes them (values have os.environ/ resolved). */
export interface ParamSource {
  /** The value, or undefined when the key is absent or empty. */
  get(name: string, secret: boolean): { value: string; envName?: string } | undefined;
  /** Stops with an error at `name`'s line (or the model's when undefined or not in the file). */
  fail(name: string | undefined, detail: string, hint: string): never;
  /** A start-up warning; '{at}' becomes " at line N" for names in the file. */
  warn(name: string | undefined, text: string): void;
}

export interface AuthContext {
  /** Names the deployment in messages, e.g. "model 'cortex-claude'". */
  label: string;
  /** Prefix for key names in messages, e.g. "model_list[0].litellm_params" ('' for the environment). */
  where: string;
  env: NodeJS.ProcessEnv;
  /** Folder that relative paths in litellm_params are resolved against (the config file's). */
  fileDir: string;
  /** Folder that relative paths from the environment are resolved against. */
  cwd: string;
  /** The deployment's normalised api_base (its host is the last resort for the JWT account). */
  apiBase: string;
  /** Where SPCS mounts its token (tests point it elsewhere). */
  spcsTokenPath?: string;
}

/** Zero-config: litellm_params are empty, errors carry no line. */
export const NO_PARAMS: ParamSource = {
  get: () => undefined,
  fail: (_name, detail, hint) => {
    throw new AccountError(detail, hint);
  },
  warn: () => undefined,
};

interface Value {
  value: string;
  /** The litellm_params key or the environment variable it came from. */
  name: string;
  fromFile: boolean;
  /** For os.environ/NAME values in the file. */
  envName?: string;
}

/** The environment variable holding a credential, if any (zero-config asks before an account is known). */
export function envCredentialVar(env: NodeJS.ProcessEnv, spcsTokenPath = SPCS_TOKEN_PATH): string | undefined {
  for (const s of [SPEC.apiKey, SPEC.keyPath, SPEC.key, SPEC.oauthToken, SPEC.oauthPath]) {
    const v = s.env.find((n) => env[n]?.trim());
    if (v) return v;
  }
  return isFile(spcsTokenPath) ? spcsTokenPath : undefined;
}

/** Builds the deployment's UpstreamAuth, validating everything that can be checked before the first request. */
export function resolveAuth(src: ParamSource, ctx: AuthContext): UpstreamAuth {
  const r = new Resolver(src, ctx);
  switch (r.mode()) {
    case 'pat':
      return r.pat();
    case 'keypair':
      return r.keypair();
    case 'oauth':
      return r.oauth();
  }
}

const MODES: Record<string, AuthMode> = {
  pat: 'pat',
  programmatic_access_token: 'pat',
  keypair: 'keypair',
  'key-pair': 'keypair',
  key_pair: 'keypair',
  keypair_jwt: 'keypair',
  snowflake_jwt: 'keypair',
  jwt: 'keypair',
  oauth: 'oauth',
};

const MAX_KEY_FILE = 64 * 1024;

class Resolver {
  private readonly spcs: string;
  /** src.get once per key: reading a value can emit a warning (a literal secret) that must not repeat. */
  private readonly got = new Map<string, { value: string; envName?: string } | undefined>();
  constructor(
    private readonly src: ParamSource,
    private readonly ctx: AuthContext,
  ) {
    this.spcs = ctx.spcsTokenPath ?? SPCS_TOKEN_PATH;
  }

  private get(name: string, secret: boolean): { value: string; envName?: string } | undefined {
    if (!this.got.has(name)) this.got.set(name, this.src.get(name, secret));
    return this.got.get(name);
  }

  private label(v: Value): string {
    return v.fromFile ? `${this.ctx.where ? this.ctx.where + '.' : ''}${v.name}` : v.name;
  }

  private fail(v: Value | undefined, detail: string, hint: string): never {
    this.src.fail(v?.fromFile ? v.name : undefined, detail, hint);
  }

  private fromFile(s: Spec): Value | undefined {
    let found: Value | undefined;
    for (const name of s.names) {
      const got = this.get(name, s.secret);
      if (!got || got.value.trim() === '') continue;
      if (found)
        this.src.fail(name, `${this.ctx.where}.${found.name} and ${this.ctx.where}.${name} are the same setting`, `keep only ${s.names[0]}`);
      found = { value: got.value, name, fromFile: true, envName: got.envName };
    }
    return found;
  }

  private fromEnv(s: Spec): Value | undefined {
    for (const name of s.env) {
      const v = this.ctx.env[name];
      if (v?.trim()) return { value: v, name, fromFile: false };
    }
    return undefined;
  }

  private value(s: Spec): Value | undefined {
    return this.fromFile(s) ?? this.fromEnv(s);
  }

  mode(): AuthMode {
    const explicit = this.fromFile(SPEC.auth);
    if (explicit) return this.parseMode(explicit);
    const kinds: Array<[AuthMode, string]> = [];
    const k = this.fromFile(SPEC.apiKey);
    if (k) kinds.push(['pat', k.name]);
    const kp = this.fromFile(SPEC.keyPath) ?? this.fromFile(SPEC.key);
    if (kp) kinds.push(['keypair', kp.name]);
    const o = this.fromFile(SPEC.oauthToken) ?? this.fromFile(SPEC.oauthPath);
    if (o) kinds.push(['oauth', o.name]);
    if (kinds.length > 1)
      this.src.fail(
        kinds[1][1],
        `${this.ctx.label} has credentials of two kinds (${kinds.map(([m, n]) => `${n} → ${m}`).join(', ')})`,
        `keep one, or say which to use with auth: ${kinds.map(([m]) => m).join(' or ')}`,
      );
    if (kinds.length === 1) return kinds[0][0];
    const envMode = this.fromEnv(SPEC.auth);
    if (envMode) return this.parseMode(envMode);
    if (this.fromEnv(SPEC.apiKey)) return 'pat';
    if (this.fromEnv(SPEC.keyPath) ?? this.fromEnv(SPEC.key)) return 'keypair';
    if (this.fromEnv(SPEC.oauthToken) ?? this.fromEnv(SPEC.oauthPath)) return 'oauth';
    if (isFile(this.spcs)) return 'oauth';
    this.src.fail(
      undefined,
      `${this.ctx.label} has no api_key`,
      'add api_key: os.environ/SNOWFLAKE_PAT and put SNOWFLAKE_PAT=pat/<your_pat> in .env next to the config ' +
        '(or use a key pair: private_key_path + snowflake_user, or OAuth: oauth_token_path — see docs/authentication.md)',
    );
  }

  private parseMode(v: Value): AuthMode {
    const m = MODES[v.value.trim().toLowerCase()];
    if (!m) this.fail(v, `${this.label(v)} must be pat, keypair or oauth (got ${JSON.stringify(v.value.trim().slice(0, 30))})`, `write ${v.fromFile ? v.name + ': keypair' : v.name + '=keypair'}`);
    return m;
  }

  /** Keys of another kind next to an explicit auth: are ignored, loudly. */
  private ignoreOthers(mode: AuthMode): void {
    const other: Array<[Spec, AuthMode]> = [
      [SPEC.apiKey, 'pat'],
      [SPEC.keyPath, 'keypair'],
      [SPEC.key, 'keypair'],
      [SPEC.oauthToken, 'oauth'],
      [SPEC.oauthPath, 'oauth'],
    ];
    for (const [s, m] of other) {
      if (m === mode) continue;
      const v = this.fromFile(s);
      if (v) this.src.warn(v.name, `${this.label(v)}{at} is ignored: ${this.ctx.label} uses auth: ${mode}`);
    }
  }

  pat(): UpstreamAuth {
    this.ignoreOthers('pat');
    const k = this.value(SPEC.apiKey);
    if (!k)
      this.fail(undefined, `${this.ctx.label} uses PAT authentication but has no api_key`, 'add api_key: os.environ/SNOWFLAKE_PAT and set SNOWFLAKE_PAT=pat/<your_pat> in .env');
    const raw = k.value.trim();
    if (!raw.startsWith('pat/') && isKeyPairJwt(raw)) {
      // LiteLLM: an api_key without pat/ is a key-pair JWT. Send it as one (the type must match the token).
      return { type: 'jwt', token: raw };
    }
    try {
      return { type: 'pat', token: patFromKey(k.value, k.envName ?? this.label(k)) };
    } catch (err) {
      if (err instanceof AccountError) this.fail(k, err.message, err.hint);
      throw err;
    }
  }

  keypair(): UpstreamAuth {
    this.ignoreOthers('keypair');
    const filePath = this.fromFile(SPEC.keyPath);
    const fileKey = this.fromFile(SPEC.key);
    if (filePath && fileKey)
      this.fail(fileKey, `${this.label(filePath)} and ${this.label(fileKey)} are both set`, 'keep one: the path to the key file, or the PEM text itself');
    const keyV = filePath ?? fileKey ?? this.fromEnv(SPEC.keyPath) ?? this.fromEnv(SPEC.key);
    if (!keyV)
      this.fail(
        undefined,
        `${this.ctx.label} uses key-pair authentication but no private key is configured`,
        `add private_key_path: ${SPEC.keyPath.example} (or set SNOWFLAKE_PRIVATE_KEY_PATH)`,
      );
    const isPath = SPEC.keyPath.names.includes(keyV.name) || SPEC.keyPath.env.includes(keyV.name);
    let pem: string;
    let what: string;
    if (isPath) {
      const file = this.resolvePath(keyV);
      what = keyV.value.trim();
      pem = this.readKeyFile(keyV, file, what);
    } else {
      pem = keyV.value;
      what = this.label(keyV);
    }
    const pass = this.value(SPEC.passphrase);
    let key: KeyObject;
    try {
      key = loadPrivateKey(pem, pass?.value, what);
    } catch (err) {
      if (err instanceof KeyError) this.fail(err.about === 'passphrase' && pass ? pass : keyV, err.message, err.hint);
      throw err;
    }
    if (modulusBits(key) < 2048)
      this.src.warn(keyV.fromFile ? keyV.name : undefined, `the RSA key in ${what}{at} has ${modulusBits(key)} bits; Snowflake requires at least 2048`);

    const userV = this.value(SPEC.user);
    if (!userV)
      this.fail(undefined, `${this.ctx.label} uses key-pair authentication but has no snowflake_user`, 'add snowflake_user: <your Snowflake login name> (or set SNOWFLAKE_USER)');
    const user = jwtUser(userV.value);
    if (/[\s\x00-\x1f\x7f]/.test(user) || user === '')
      this.fail(userV, `${this.label(userV)} contains spaces or control characters`, 'use the login name exactly as DESCRIBE USER shows it');

    return { type: 'keypair', account: this.jwtAccount(), user, privateKey: key, fingerprint: publicKeyFingerprint(key) };
  }

  /** jwt_account (verbatim, upper-cased) > snowflake_account > SNOWFLAKE_ACCOUNT > the api_base host, normalised per §7.2. */
  private jwtAccount(): string {
    const override = this.value(SPEC.jwtAccount);
    if (override) {
      const a = override.value.trim().toUpperCase();
      if (!/^[A-Z0-9][A-Z0-9_.-]*$/.test(a))
        this.fail(override, `${this.label(override)} is not an account identifier`, 'write e.g. jwt_account: MYORG-MYACCOUNT or the account locator (SELECT CURRENT_ACCOUNT())');
      return a;
    }
    const acct = this.value(SPEC.account);
    let raw = acct?.value.trim();
    if (!raw) {
      try {
        const host = new URL(this.ctx.apiBase).hostname;
        if (/\.snowflakecomputing\.(com|cn)$/i.test(host)) raw = host;
      } catch {
        // no usable api_base
      }
    }
    if (!raw)
      this.fail(
        undefined,
        `${this.ctx.label} uses key-pair authentication but the account for the JWT is unknown (api_base is not a *.snowflakecomputing.com host)`,
        'add snowflake_account: myorg-myaccount (or jwt_account:, or set SNOWFLAKE_ACCOUNT)',
      );
    const a = jwtAccount(raw);
    if (!/^[A-Z0-9][A-Z0-9_-]*$/.test(a))
      this.fail(acct, `${acct ? this.label(acct) : 'the account'} (${JSON.stringify(raw.slice(0, 60))}) is not an account identifier`, 'write e.g. snowflake_account: myorg-myaccount');
    return a;
  }

  oauth(): UpstreamAuth {
    this.ignoreOthers('oauth');
    const t = this.fromFile(SPEC.oauthToken);
    const p = this.fromFile(SPEC.oauthPath);
    if (t && p) this.fail(p, `${this.label(t)} and ${this.label(p)} are both set`, 'keep one: the token itself or the file that holds it');
    const v = t ?? p ?? this.fromEnv(SPEC.oauthToken) ?? this.fromEnv(SPEC.oauthPath);
    if (!v) {
      if (isFile(this.spcs)) return this.tokenFile({ value: this.spcs, name: 'SPCS token', fromFile: false }, this.spcs);
      this.fail(
        undefined,
        `${this.ctx.label} uses OAuth but no token is configured`,
        `add oauth_token_path: <file with the access token> (in Snowpark Container Services: ${SPCS_TOKEN_PATH}) or oauth_token: os.environ/SNOWFLAKE_OAUTH_TOKEN`,
      );
    }
    if (SPEC.oauthToken.names.includes(v.name) || SPEC.oauthToken.env.includes(v.name)) {
      const token = v.value.trim();
      if (/[\s\x00-\x1f\x7f]/.test(token))
        this.fail(v, `${v.envName ?? this.label(v)} contains spaces or control characters, which an access token never does`, 'copy the access token again, without surrounding text or line breaks');
      return { type: 'oauth', token };
    }
    return this.tokenFile(v, this.resolvePath(v));
  }

  private tokenFile(v: Value, file: string): UpstreamAuth {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      this.fail(v, `cannot read the OAuth token file ${v.value.trim()} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'check the path and the file permissions');
    }
    const token = text.trim();
    if (token === '') this.fail(v, `the OAuth token file ${v.value.trim()} is empty`, 'write the access token into it (cortex-proxy re-reads it whenever it changes)');
    if (/\s/.test(token)) this.fail(v, `the OAuth token file ${v.value.trim()} holds more than one word`, 'the file must hold the access token only');
    return { type: 'oauth', tokenPath: file };
  }

  private resolvePath(v: Value): string {
    let p = v.value.trim();
    if (p === '~' || p.startsWith('~/')) p = path.join(os.homedir(), p.slice(1));
    return path.resolve(v.fromFile ? this.ctx.fileDir : this.ctx.cwd, p);
  }

  private readKeyFile(v: Value, file: string, what: string): string {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      this.fail(v, `cannot read the private key file ${what} (${code})`, `check ${this.label(v)}${v.fromFile ? ' (relative paths are resolved against the config file\'s folder)' : ''}`);
    }
    if (!st.isFile()) this.fail(v, `${what} is not a file`, `point ${this.label(v)} at the private key file, e.g. rsa_key.p8`);
    if (st.size > MAX_KEY_FILE) this.fail(v, `${what} is too large to be a private key file`, `point ${this.label(v)} at the private key file, e.g. rsa_key.p8`);
    let pem: string;
    try {
      pem = fs.readFileSync(file, 'utf8');
    } catch (err) {
      this.fail(v, `cannot read the private key file ${what} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'check the file permissions');
    }
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
      this.src.warn(undefined, `private key file ${what} is readable by other users — run: chmod 600 ${what}`);
    return pem;
  }
}

/** §7.1: PATs are ES256 JWT-like tokens (or iss "SF:…"); a key-pair JWT is RS256 with an ACCOUNT.USER.SHA256: issuer. */
export function isKeyPairJwt(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return header?.alg === 'RS256' && !(typeof payload?.iss === 'string' && payload.iss.startsWith('SF:'));
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
