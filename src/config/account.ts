// Snowflake account identifiers and Cortex base URLs (reference/cortex-api.md §1), plus the PAT value rules
// (§7.1). Pure functions: they throw a plain AccountError whose message never contains a secret; load.ts turns
// it into a ConfigError with a file position.
import type { WireName } from './types.js';
import { endpointEndings } from '../cortex/wires.js';

export class AccountError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'AccountError';
  }
}

const SNOWFLAKE_DOMAINS = ['snowflakecomputing.com', 'snowflakecomputing.cn'];

export interface ApiBase {
  /** Normalised base, e.g. https://myorg-myacct.snowflakecomputing.com/api/v2 (no trailing slash). */
  url: string;
  /** Non-fatal remarks (plain http to a remote host, an unusual path). */
  warnings: string[];
  /** The wire whose endpoint a full URL named: …/inference:complete, …/v1/chat/completions, …/v1/messages, …/v1/responses. */
  endpoint?: WireName;
}

const isSnowflakeHost = (host: string) => SNOWFLAKE_DOMAINS.some((d) => host === d || host.endsWith('.' + d));
const isLoopback = (host: string) =>
  host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** A wire's endpoint path at the end of an api_base (…/cortex/inference:complete, …/cortex/v1/responses): cortex/wires.ts. */
const ENDINGS = endpointEndings('account');
const ACCOUNT_BASE = new RegExp(`^(.*?\\/api\\/v2)(?:\\/cortex|\\/cortex\\/v1|(${ENDINGS.pattern}))?$`);

/**
 * Normalise a LiteLLM `api_base` to `<origin>[<prefix>]/api/v2`.
 * Accepted: `https://<host>/api/v2` (the quickstart form), a trailing slash, `…/api/v2/cortex`, `…/api/v2/cortex/v1`,
 * a wire's endpoint (`…/cortex/inference:complete`, `…/cortex/v1/chat/completions`, `/messages`, `/responses`: it
 * names that wire), and the bare host
 * (`https://<host>` → `https://<host>/api/v2`). http:// is allowed for local emulators (refused for Snowflake
 * hosts). Any other path is kept as given, with a warning (a reverse proxy may mount Cortex under a prefix).
 * Underscores in a *.snowflakecomputing.com host become hyphens (the form Snowflake's certificates cover).
 */
export function normaliseApiBase(raw: string): ApiBase {
  const value = raw.trim();
  const warnings: string[] = [];
  if (value === '') throw new AccountError('api_base is empty', 'write api_base: https://<account>.snowflakecomputing.com/api/v2');
  if (/[<>]/.test(value))
    throw new AccountError(
      'api_base still contains a placeholder such as <youraccount>',
      'replace it with your account identifier, e.g. https://myorg-myaccount.snowflakecomputing.com/api/v2',
    );
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    throw new AccountError(
      'api_base must be a URL starting with https://',
      'write api_base: https://<account>.snowflakecomputing.com/api/v2',
    );
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new AccountError('api_base is not a valid URL', 'write api_base: https://<account>.snowflakecomputing.com/api/v2');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new AccountError(`api_base must use https:// (got ${u.protocol}//)`, 'write api_base: https://<account>.snowflakecomputing.com/api/v2');
  // Never echo credentials embedded in a URL.
  if (u.username || u.password)
    throw new AccountError('api_base must not contain a user name or password', 'put the PAT in api_key (e.g. api_key: os.environ/SNOWFLAKE_PAT), not in the URL');
  if (u.search || u.hash)
    throw new AccountError('api_base must not contain a query string or fragment', 'write api_base: https://<account>.snowflakecomputing.com/api/v2');
  let host = u.hostname;
  if (isSnowflakeHost(host)) {
    if (u.protocol === 'http:')
      throw new AccountError('api_base uses http:// for a Snowflake host; the PAT would travel unencrypted', 'use https://');
    host = host.replace(/_/g, '-');
  } else if (u.protocol === 'http:' && !isLoopback(host)) {
    warnings.push(`api_base uses plain http:// to ${host}; the PAT travels unencrypted (fine for a local emulator only)`);
  }
  let p = u.pathname.replace(/\/+$/, '');
  const m = ACCOUNT_BASE.exec(p);
  let endpoint: ApiBase['endpoint'];
  if (m) {
    p = m[1];
    endpoint = m[2] === undefined ? undefined : ENDINGS.wireAt(m[2]);
  }
  else if (p === '') p = '/api/v2';
  else warnings.push(`api_base path '${p}' does not end in /api/v2; requests will go to ${p}/cortex/…`);
  const port = u.port ? `:${u.port}` : '';
  return { url: `${u.protocol}//${host}${port}${p}`, warnings, ...(endpoint ? { endpoint } : {}) };
}

/**
 * Turn a SNOWFLAKE_ACCOUNT value into an api_base. Accepts `myorg-myaccount`, `MYORG_MYACCOUNT`,
 * a legacy locator (`xy12345.us-east-2.aws`), `…privatelink`, the full host (`….snowflakecomputing.com`),
 * or a full URL (then normaliseApiBase rules apply). Lower-cases and turns underscores into hyphens.
 * Refuses anything that could steer requests elsewhere (/, @, #, ?, :, spaces …): an SSRF guard.
 */
export function accountToApiBase(raw: string, what = 'SNOWFLAKE_ACCOUNT'): ApiBase {
  const value = raw.trim();
  if (/^https?:\/\//i.test(value)) return normaliseApiBase(value);
  const hint = `set ${what} to your account identifier, e.g. myorg-myaccount (Snowsight → account menu → account identifier)`;
  if (value === '') throw new AccountError(`${what} is empty`, hint);
  if (value.startsWith('eyJ') || value.startsWith('pat/') || value.length > 200)
    throw new AccountError(`${what} looks like a token, not an account identifier`, hint);
  const bad = /[^A-Za-z0-9._-]/.exec(value);
  if (bad) {
    const ch = /\s/.test(bad[0]) ? 'whitespace' : `'${bad[0]}'`;
    throw new AccountError(`${what} contains ${ch}, which an account identifier never does`, hint);
  }
  let id = value.toLowerCase();
  let domain = SNOWFLAKE_DOMAINS[0];
  for (const d of SNOWFLAKE_DOMAINS) {
    if (id.endsWith('.' + d)) {
      id = id.slice(0, -(d.length + 1));
      domain = d;
    }
  }
  id = id.replace(/_/g, '-');
  const labels = id.split('.');
  if (labels.some((l) => l === '' || l.length > 63 || l.startsWith('-') || l.endsWith('-')))
    throw new AccountError(`${what} is not a valid account identifier (empty, over-long or hyphen-edged part)`, hint);
  return { url: `https://${id}.${domain}/api/v2`, warnings: [] };
}

/**
 * A PAT as LiteLLM users write it: `pat/<token>` (LiteLLM's marker for PAT auth) or the bare token.
 * Returns the token without the prefix. The value itself never appears in the thrown message.
 */
export function patFromKey(raw: string, what: string): string {
  let token = raw.trim();
  if (token.startsWith('pat/')) token = token.slice(4).trim();
  if (token === '')
    throw new AccountError(`${what} is empty`, 'set it to your Snowflake programmatic access token (optionally prefixed with pat/)');
  if (/[\s\x00-\x1f\x7f]/.test(token))
    throw new AccountError(
      `${what} contains spaces or control characters, which a PAT never does`,
      'copy the token again from Snowsight without surrounding text or line breaks',
    );
  return token;
}
