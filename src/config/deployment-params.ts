// The LiteLLM litellm_params of one deployment that shape how it is called, rather than what it is:
//   timeout: 30           # s: a non-streaming answer must be complete within it; a stream's first byte too
//   stream_timeout: 10    # s: for streaming requests, the longest wait for the first byte and between events
//   max_retries: 1        # retries on 429/5xx/connection failures before any output (num_retries is the same)
//   rpm: 60               # requests per minute this deployment takes; over it: a sibling, else 429 + Retry-After
//   tpm: 100000           # tokens per minute (prompt + completion), the same way
//   extra_headers:        # sent to Cortex with every request (X-Snowflake-Role, X-Snowflake-Warehouse, …)
//     X-Snowflake-Role: CORTEX_APP
// Called from config/load.ts with its file context; every problem names its line.
import { isMap, isScalar } from 'yaml';
import type { Deployment } from './types.js';
import type { Entry, RoutingReader } from './routing.js';

export const DEPLOYMENT_PARAM_KEYS = ['timeout', 'stream_timeout', 'max_retries', 'num_retries', 'rpm', 'tpm', 'extra_headers', 'headers'];

/** setTimeout's limit; larger values fire at once. */
const MAX_TIMEOUT_S = Math.floor(2_147_483_647 / 1000);

/**
 * Headers a config may not send: the credential (cortex-proxy sets it from api_key / the key pair / OAuth), the
 * host, and what the HTTP layer owns. https://docs.snowflake.com/en/developer-guide/snowflake-rest-api/authentication
 */
const FORBIDDEN = new Set([
  'authorization', 'x-snowflake-authorization-token-type', 'host', 'content-length', 'content-type', 'transfer-encoding',
  'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-authorization', 'cookie', 'expect',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export interface ParamReader extends RoutingReader {
  /** A string that may be secret (os.environ/ resolved); never quoted in a message, no literal-secret warning. */
  secretQuiet(e: Entry, name: string): { value: string; envName?: string } | undefined;
}

/** A duration in seconds (LiteLLM allows fractions) → ms. */
function seconds(ctx: ParamReader, e: Entry, name: string): number | undefined {
  const s = ctx.number(e, name, (n) => n > 0 && n <= MAX_TIMEOUT_S, `a positive number of seconds (at most ${MAX_TIMEOUT_S})`, '30');
  return s === undefined ? undefined : Math.max(1, Math.round(s * 1000));
}

/** The keys above from litellm_params (and rpm/tpm beside it, where LiteLLM also reads them) onto the deployment. */
export function readDeploymentParams(ctx: ParamReader, params: Map<string, Entry>, fields: Map<string, Entry>, pw: string, where: string, d: Deployment): void {
  const t = params.get('timeout');
  if (t) d.timeoutMs = seconds(ctx, t, `${pw}.timeout`);
  const st = params.get('stream_timeout');
  if (st) d.streamTimeoutMs = seconds(ctx, st, `${pw}.stream_timeout`);
  const retries = (e: Entry, name: string) => ctx.number(e, name, (n) => Number.isInteger(n) && n >= 0 && n <= 10, 'an integer from 0 to 10', '2');
  const mr = params.get('max_retries') ?? params.get('num_retries');
  if (mr) d.maxRetries = retries(mr, `${pw}.${mr.key}`);
  if (params.has('max_retries') && params.has('num_retries'))
    ctx.warn(params.get('num_retries')!.keyNode, `${pw}.num_retries{at} is overridden by ${pw}.max_retries`);
  for (const key of ['rpm', 'tpm'] as const) {
    const e = params.get(key) ?? fields.get(key);
    if (!e) continue;
    const name = params.has(key) ? `${pw}.${key}` : `${where}.${key}`;
    const n = ctx.number(e, name, (v) => Number.isInteger(v) && v > 0, 'a positive integer (per minute)', key === 'rpm' ? '60' : '100000');
    if (n !== undefined) (d.limits ??= { id: where })[key] = n;
  }
  for (const key of ['extra_headers', 'headers']) {
    const e = params.get(key);
    if (e) readHeaders(ctx, e, `${pw}.${key}`, d);
  }
}

function readHeaders(ctx: ParamReader, e: Entry, name: string, d: Deployment): void {
  const node = ctx.deref(e.value);
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return;
  if (!isMap(node)) ctx.fail(node, `${name} must be a mapping of header: value`, `write e.g.\n    ${e.key}:\n      X-Snowflake-Role: CORTEX_APP`);
  for (const h of ctx.entries(node, name)) {
    const lower = h.key.trim().toLowerCase();
    if (!TOKEN.test(lower)) ctx.fail(h.keyNode, `${name}: '${h.key.slice(0, 60)}' is not a valid header name`, 'header names are letters, digits and - (e.g. X-Snowflake-Role)');
    if (FORBIDDEN.has(lower))
      ctx.fail(h.keyNode, `${name}: ${h.key} cannot be set from the config`, lower.includes('authorization')
        ? 'cortex-proxy sends the credential itself, from api_key (or the key pair / OAuth settings): put the token there'
        : 'the HTTP layer sets this header; remove it');
    // Values may be secrets (a header some gateway in between wants): they never reach a message.
    const v = isScalar(h.value) && (typeof h.value.value === 'number' || typeof h.value.value === 'boolean')
      ? { value: String(h.value.value), envName: 'x' }
      : ctx.secretQuiet(h, `${name}.${h.key}`);
    if (!v) continue;
    if (/[\r\n\x00]/.test(v.value)) ctx.fail(h.value, `${name}.${h.key} contains a line break or NUL`, 'a header value is one line of text');
    (d.extraHeaders ??= {})[lower] = v.value;
  }
}
