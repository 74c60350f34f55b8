// Snowflake error responses → ProxyError with a message that says what to do (reference/cortex-api.md §6,
// quickstart troubleshooting table). Every message ends with the Snowflake request id (for support tickets and
// CORTEX_REST_API_USAGE_HISTORY) and never contains a credential: Snowflake's own text is trimmed and scrubbed
// of anything token-shaped before it is quoted.
import { ProxyError, type ErrorKind } from '../core/errors.js';
import { suggestModelId } from './models.js';

const PAT_HELP =
  'Create a new programmatic access token (Snowsight → your profile → Programmatic access tokens), put it in SNOWFLAKE_PAT and restart cortex-proxy.';
const TOKEN_TYPE_HELP =
  'The token was presented with the wrong type: a programmatic access token must be sent as PROGRAMMATIC_ACCESS_TOKEN, not KEYPAIR_JWT ' +
  '(in LiteLLM-style configs write the key as `pat/<token>`; or leave X-Snowflake-Authorization-Token-Type unset so Snowflake detects it).';
const ROLE_HELP =
  'The role used by the token needs the SNOWFLAKE.CORTEX_USER (or SNOWFLAKE.CORTEX_REST_API_USER) database role ' +
  '(an admin can run: GRANT DATABASE ROLE SNOWFLAKE.CORTEX_USER TO ROLE <role>;). Also check that the account is enabled for the ' +
  'Cortex REST API, that no network policy blocks this machine\'s IP, and that the model is not excluded by CORTEX_MODELS_ALLOWLIST or model RBAC.';
const CROSS_REGION_HELP =
  "An ACCOUNTADMIN can enable cross-region inference: ALTER ACCOUNT SET CORTEX_ENABLED_CROSS_REGION = 'ANY_REGION'; " +
  "(or a region group such as 'AWS_US', 'AWS_EU', 'AWS_APJ', 'AZURE_US', 'AZURE_EU'). " +
  'Otherwise pick a model served in your region (SHOW CORTEX BASE MODELS or GET /api/v2/cortex/models lists them; widely available: claude-4-sonnet, claude-3-7-sonnet, openai-gpt-4.1, llama3.1-70b, mistral-large2).';

/** A ProxyError for a broken or unreadable upstream answer, naming Snowflake's request id. */
export function upstreamError(message: string, requestId?: string): ProxyError {
  return new ProxyError('upstream', requestId ? `${message} (Snowflake request id: ${requestId})` : message, { requestId });
}

/** HTTP statuses worth retrying (before any output was sent). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

interface Parsed {
  message: string;
  code?: string;
  requestId?: string;
}

function parseBody(body: unknown): Parsed {
  let obj: unknown = body;
  if (typeof body === 'string') {
    const t = body.trim();
    if (t.startsWith('{')) {
      try {
        obj = JSON.parse(t);
      } catch {
        return { message: t };
      }
    } else return { message: t };
  }
  if (!obj || typeof obj !== 'object') return { message: obj == null ? '' : String(obj) };
  const o = obj as Record<string, unknown>;
  const err = o.error;
  let message = '';
  let code: unknown = o.code ?? o.error_code;
  if (typeof o.message === 'string') message = o.message;
  else if (typeof err === 'string') message = err;
  else if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    if (typeof e.message === 'string') message = e.message;
    code ??= e.code;
  }
  const requestId = typeof o.request_id === 'string' ? o.request_id : undefined;
  return {
    message,
    code: typeof code === 'string' || typeof code === 'number' ? String(code) : undefined,
    requestId,
  };
}

/** Snowflake's text, safe to quote: one line, bounded, nothing that looks like a token. */
export function scrubSnowflakeText(text: string): string {
  let t = text.replace(/\s+/g, ' ').trim();
  // JWT-like (PATs are ES256 JWTs), "pat/<secret>", Bearer values, long opaque secrets.
  t = t.replace(/[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, '[redacted]');
  t = t.replace(/\bpat\/\S+/gi, 'pat/[redacted]');
  t = t.replace(/\b(Bearer|Token=?)\s*"?[^\s",]{8,}"?/gi, '$1 [redacted]');
  t = t.replace(/[A-Za-z0-9+/_=-]{48,}/g, '[redacted]');
  return t.length > 300 ? t.slice(0, 297) + '...' : t;
}

function withRequestId(message: string, requestId?: string): string {
  return requestId ? `${message} (Snowflake request id: ${requestId})` : message;
}

function quoteSnowflake(p: Parsed): string {
  const msg = scrubSnowflakeText(p.message);
  if (!msg && !p.code) return '';
  if (!msg) return ` Snowflake said: code ${p.code}.`;
  return ` Snowflake said: "${msg}"${p.code ? ` (code ${p.code})` : ''}.`;
}

const AUTH_CODE_PREFIX = '3901';
/** Malformed payload: a 400, not an auth problem, despite the 3901xx prefix. */
const PAYLOAD_CODE = '390142';

function authMessage(p: Parsed, status: number): string {
  const m = p.message.toLowerCase();
  const code = p.code ?? '';
  if (code === '390146' || m.includes('token is missing'))
    return 'Snowflake received no bearer token (Authorization header missing). Check that SNOWFLAKE_PAT (or the deployment\'s api_key) is set, then restart cortex-proxy.';
  if (m.includes('token type') || m.includes('token-type') || m.includes('keypair_jwt') || m.includes('authorization-token-type'))
    return `Snowflake rejected the credential's token type. ${TOKEN_TYPE_HELP}`;
  if (code === '390198' || (m.includes('keypair') && m.includes('expired')))
    return 'Snowflake rejected the key-pair JWT as expired. Check this machine\'s clock (JWTs live at most one hour) and restart cortex-proxy.';
  if (code === '390144' || m.includes('jwt token is invalid'))
    return (
      `Snowflake says the token is invalid (PAT expired, revoked or mistyped). ${PAT_HELP} ` +
      'If the PAT is valid, it was probably sent with the wrong token type (KEYPAIR_JWT): write it as `pat/<token>` in LiteLLM-style configs, ' +
      'or leave X-Snowflake-Authorization-Token-Type unset so Snowflake detects it.'
    );
  if (code === '390112' || code === '390114' || (m.includes('session') && m.includes('expired')))
    return `Snowflake says the session token has expired. ${PAT_HELP}`;
  if (code === '390104' || m.includes('login again'))
    return `Snowflake asked to log in again (wrong authentication scheme or expired credential). ${PAT_HELP}`;
  if (m.includes('network policy') || m.includes('ip address') || m.includes('not allowed to access snowflake'))
    return 'Snowflake refused the credential because of a network policy (PATs require one by default). Ask an admin to allow this machine\'s IP in the user\'s network policy.';
  return status === 401 || code.startsWith(AUTH_CODE_PREFIX)
    ? `Snowflake rejected the credential (PAT expired or invalid). ${PAT_HELP}`
    : `Snowflake rejected the credential. ${PAT_HELP}`;
}

/**
 * A Snowflake error response as a ProxyError.
 * @param status HTTP status (200 for an error dressed as a 200 JSON body, e.g. 390112 session expired).
 * @param body the response body: text, or already-parsed JSON.
 * @param requestId X-Snowflake-Request-ID (falls back to the body's request_id).
 * @param configuredModels the proxy's configured Cortex model ids, named in "unknown model" errors.
 * @param retryAfter seconds from a Retry-After header, when one was sent.
 */
export function snowflakeError(
  status: number,
  body: string | unknown,
  requestId?: string,
  configuredModels?: readonly string[],
  retryAfter?: number,
): ProxyError {
  const p = parseBody(body);
  const rid = requestId ?? p.requestId;
  const said = quoteSnowflake(p);
  const m = p.message.toLowerCase();
  const code = p.code;
  let kind: ErrorKind;
  let text: string;

  const authByCode = code !== undefined && code.startsWith(AUTH_CODE_PREFIX) && code !== PAYLOAD_CODE;
  if (status === 401 || (authByCode && (status === 200 || status === 400 || status === 403))) {
    kind = 'auth';
    text = authMessage(p, status) + said;
  } else if (status === 403 && code === '003001') {
    // The account is not entitled to this endpoint (the v1 ones, §6): cortex_api auto moves to inference:complete.
    kind = 'permission';
    text = `Snowflake does not let this account use this Cortex endpoint (403).${said} Set this model's cortex_api to auto or complete to use inference:complete, or ask Snowflake support to enable the endpoint.`;
  } else if (status === 403) {
    kind = 'permission';
    text = `Snowflake refused access to Cortex (403).${said} ${ROLE_HELP}`;
  } else if (m.includes('unavailable in your region') || m.includes('cross region') || m.includes('cross-region')) {
    kind = 'invalid_request';
    text = `The model is not available in your Snowflake account's region.${said} ${CROSS_REGION_HELP}`;
  } else if (status === 400 && (code === '300014' || m.includes('unknown model'))) {
    kind = 'invalid_request';
    const models = configuredModels?.length ? ` Models configured in cortex-proxy: ${configuredModels.join(', ')}.` : '';
    const id = /unknown model:?\s*"?([A-Za-z0-9][A-Za-z0-9._:-]*)/i.exec(p.message)?.[1];
    const guess = id ? suggestModelId(id) : undefined;
    const mean = guess ? ` Did you mean '${guess}'? (litellm_params.model: snowflake/${guess})` : '';
    text =
      `Cortex does not know this model id.${said}${mean}${models} The REST catalogue differs from SQL AI_COMPLETE and from region to region; ` +
      'GET /api/v2/cortex/models lists what your account can use.';
  } else if (status === 400 && m.includes('throttled')) {
    kind = 'rate_limit';
    text = `The model provider behind Cortex is throttling requests; retry shortly.${said}`;
  } else if (status === 400 && m.includes('max tokens')) {
    kind = 'invalid_request';
    text = `max_tokens is above this model's limit on Cortex; lower it.${said}`;
  } else if (status === 400 && code === PAYLOAD_CODE) {
    kind = 'invalid_request';
    text = `Cortex rejected the request body as malformed (likely a translation bug in cortex-proxy; please report it).${said}`;
  } else if (status === 400) {
    kind = 'invalid_request';
    text = `Cortex rejected the request.${said}`;
  } else if (status === 402) {
    kind = 'budget';
    text = `The Cortex budget for this account or user is exhausted.${said} Ask an admin to raise the Cortex budget.`;
  } else if (status === 404) {
    kind = 'not_found';
    text = `Cortex endpoint not found (404).${said} Check api_base (https://<org>-<account>.snowflakecomputing.com/api/v2) and that the Cortex REST API is available to the account.`;
  } else if (status === 413) {
    kind = 'too_large';
    text = `The request is too large for Cortex (bodies must stay under 10 MB; at most 5 images).${said}`;
  } else if (status === 422) {
    kind = 'unprocessable';
    text = `Cortex could not satisfy the structured-output schema.${said} OpenAI models need additionalProperties:false and every property listed in required.`;
  } else if (status === 429) {
    kind = 'rate_limit';
    text = `Cortex rate limit reached (tokens or requests per minute for this model and account).${said}${retryAfter !== undefined ? ` Retry after ${retryAfter} s.` : ''}`;
  } else if (status === 503) {
    const timedOut = m.includes('timed out') || m.includes('timeout');
    kind = timedOut ? 'timeout' : 'unavailable';
    text = timedOut
      ? `Cortex inference timed out on Snowflake's side.${said} Retry, or ask for a shorter answer.`
      : `Cortex is temporarily unavailable.${said}`;
  } else if (status === 200) {
    kind = 'upstream';
    text = `Cortex answered 200 with an error body instead of a completion.${said}`;
  } else {
    kind = 'upstream';
    text = `Cortex failed with HTTP ${status}.${said}`;
  }
  return finish(kind, text, code, rid, retryAfter);
}

function finish(kind: ErrorKind, text: string, code: string | undefined, rid: string | undefined, retryAfter?: number): ProxyError {
  const err = new ProxyError(kind, withRequestId(text, rid), {
    code,
    requestId: rid,
    retryAfter: kind === 'rate_limit' ? retryAfter : undefined,
  });
  return err;
}
