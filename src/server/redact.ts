// What leaves the proxy by another way than the log (answers, stream error events, usage records, /ui) gets the
// logger's treatment too: every registered secret (PAT, JWT, OAuth token, master key) and the key the client itself
// presented are replaced by ***, wherever the text came from (Snowflake echoing the token in an error, a library's
// message). Client-supplied strings are cut to a sane length before they are quoted (clip).
import type { IncomingMessage } from 'node:http';
import { ProxyError } from '../core/errors.js';
import type { Logger } from './log.js';

/** Longest error message a client, the log or a usage record gets; longer ones are cut (a 2 MB model name). */
export const MAX_ERROR_CHARS = 2000;
/** Longest client-supplied name (model, tool, user) kept in a log line or usage record. */
export const MAX_NAME_CHARS = 200;

export { clip } from '../core/clip.js';

/** The API key the client sent (Authorization: Bearer, x-api-key, api-key), when it is long enough to redact. */
export function presentedKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  let key: string | undefined;
  if (typeof auth === 'string') key = auth.replace(/^\s*bearer\s+/i, '').trim();
  else if (typeof req.headers['x-api-key'] === 'string') key = req.headers['x-api-key'];
  else if (typeof req.headers['api-key'] === 'string') key = req.headers['api-key'];
  return key && key.length >= 8 ? key : undefined;
}

/** Text that may hold a secret, made safe: registered secrets and the client's own key → ***, cut to `max`. */
export function redactText(log: Logger, text: string, key?: string, max = MAX_ERROR_CHARS): string {
  let t = log.redact(text);
  if (key && t.includes(key)) t = t.split(key).join('***');
  return t.length > max ? `${t.slice(0, max)}… (cut)` : t;
}

/** The same error with its message made safe (the same object when nothing had to change). */
export function safeError(log: Logger, e: ProxyError, key?: string): ProxyError {
  const message = redactText(log, e.message, key);
  if (message === e.message) return e;
  const copy = new ProxyError(e.kind, message, { code: e.code, param: e.param, requestId: e.requestId, status: e.status, retryAfter: e.retryAfter });
  return copy;
}
