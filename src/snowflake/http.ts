// One-off calls to Snowflake for the CLI's checks (doctor, init, models): not the proxy's hot path (that is
// cortex/client.ts with its pools and retries). Each call carries the credential headers from snowflake/auth,
// a User-Agent (the SQL API requires one), and a timeout; bodies are read whole (small answers only).
import { request } from 'undici';
import type { UpstreamAuth } from '../config/types.js';
import { authHeaders } from './auth.js';
import { USER_AGENT } from '../cortex/client.js';

export interface Answer {
  status: number;
  contentType: string;
  requestId?: string;
  /** Parsed JSON when the body was JSON, else the text. */
  body: unknown;
  text: string;
}

/** The call never got an HTTP answer (DNS, refused, TLS, timeout). */
export class NetworkFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'NetworkFailure';
  }
}

export interface Target {
  /** e.g. https://myorg-myacct.snowflakecomputing.com/api/v2 */
  apiBase: string;
  auth: UpstreamAuth;
}

const MAX_BODY = 4 * 1024 * 1024;

export async function call(
  target: Target,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  opts: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const timeout = opts.timeoutMs ?? 30_000;
  const credential = authHeaders(target.auth);
  const headers: Record<string, string> = {
    ...(credential instanceof Promise ? await credential : credential),
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'user-agent': USER_AGENT,
    ...opts.headers,
  };
  let res;
  try {
    res = await request(target.apiBase + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout + 1000),
    });
  } catch (err) {
    throw networkFailure(err, target.apiBase, timeout);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of res.body) {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    }
  } catch (err) {
    throw networkFailure(err, target.apiBase, timeout);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const ct = String(res.headers['content-type'] ?? '');
  let parsed: unknown = text;
  if (text.trim().startsWith('{') || text.trim().startsWith('[')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      /* keep the text */
    }
  }
  const rid = res.headers['x-snowflake-request-id'];
  return { status: res.statusCode, contentType: ct, requestId: Array.isArray(rid) ? rid[0] : rid, body: parsed, text };
}

export function hostOf(apiBase: string): string {
  try {
    return new URL(apiBase).host;
  } catch {
    return apiBase;
  }
}

function networkFailure(err: unknown, apiBase: string, timeoutMs: number): NetworkFailure {
  const code = String((err as { code?: string })?.code ?? (err as Error)?.name ?? 'ERROR');
  const host = hostOf(apiBase);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new NetworkFailure(code, `cannot resolve ${host}`);
  if (code === 'ECONNREFUSED') return new NetworkFailure(code, `connection to ${host} refused`);
  if (code === 'ECONNRESET') return new NetworkFailure(code, `connection to ${host} was reset`);
  if (code.includes('TIMEOUT') || code === 'TimeoutError' || code === 'AbortError')
    return new NetworkFailure('TIMEOUT', `${host} did not answer within ${Math.round(timeoutMs / 1000)} s`);
  if (code.startsWith('ERR_TLS') || code.includes('CERT')) return new NetworkFailure(code, `TLS handshake with ${host} failed (${code})`);
  return new NetworkFailure(code, `connection to ${host} failed (${code})`);
}
