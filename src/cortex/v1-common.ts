// What the v1 wires (openai-wire.ts, anthropic-wire.ts, responses-wire.ts) share when decoding: usage counts, numbers
// from untrusted JSON, and Snowflake error bodies that arrive as 200 or mid-stream. The rules they plan a request by
// (refusals, budgets, thinking) are cortex/plan.ts's, shared with the complete wire.
import type { Usage } from '../core/types.js';
import { ProxyError, type ErrorKind } from '../core/errors.js';
import { scrubSnowflakeText } from './snowflake-errors.js';

/** Canonical usage from counts that may or may not include cache reads/writes in the prompt count. */
export function usageFrom(prompt: number, completion: number, cached: number, cacheWrite: number, total?: number): Usage {
  const u: Usage = { promptTokens: prompt, completionTokens: completion, totalTokens: total ?? prompt + completion };
  if (cached > 0) u.cachedTokens = cached;
  if (cacheWrite > 0) u.cacheWriteTokens = cacheWrite;
  return u;
}

export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);


/**
 * An error object found inside a 200 answer (OpenAI `{"error":{…}}` chunk, Anthropic `event: error`). Its kind follows
 * the error's type or code, so an early rate limit is still a 429 (retried or moved to a fallback) and an overload
 * a 503; Snowflake's text is quoted scrubbed.
 */
export function inBandError(err: unknown, requestId: string | undefined, what: string): ProxyError {
  let message = '';
  let code: string | undefined;
  let type = '';
  if (typeof err === 'string') message = err;
  else if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    if (typeof e.message === 'string') message = e.message;
    if (typeof e.code === 'string' || typeof e.code === 'number') code = String(e.code);
    if (typeof e.type === 'string') type = e.type;
  }
  let kind: ErrorKind = 'upstream';
  if (type === 'rate_limit_error' || type === 'rate_limit' || code === '429' || /too many requests/i.test(message)) kind = 'rate_limit';
  else if (type === 'overloaded_error' || code === '503' || code === '529') kind = 'unavailable';
  else if (type === 'invalid_request_error' || code === '400') kind = 'invalid_request';
  const text =
    `${what}: ${scrubSnowflakeText(message) || 'unknown error'}` +
    (code ? ` (code ${code})` : type ? ` (${type})` : '') +
    (requestId ? ` (Snowflake request id: ${requestId})` : '');
  return new ProxyError(kind, text, { code, requestId });
}
