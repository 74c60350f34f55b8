// The upstream HTTP client: one keep-alive undici Pool per Snowflake origin, retries with backoff
// before any output exists, time-to-first-byte and idle timeouts, and abort on client disconnect.
import { Pool, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import type { Cancel } from '../core/cancel.js';
import { UpstreamBody } from './upstream-body.js';
import type { Deployment, Settings } from '../config/types.js';
import { ProxyError } from '../core/errors.js';
import { isRetryableStatus, snowflakeError } from './snowflake-errors.js';
import type { Logger } from '../core/log.js';
import { authHeaders, credentialError } from '../snowflake/auth.js';
import { gatewayRefusal, isGatewayCall, isGatewayRefusal } from './gateway.js';

export const USER_AGENT = 'cortex-proxy/0.1.0';
const MAX_ERROR_BODY = 64 * 1024;
const MAX_BACKOFF_MS = 30_000;
/** A longer Retry-After goes to the client at once (429 + Retry-After) rather than holding its request that long. */
export const MAX_RETRY_AFTER_MS = 10_000;

export interface UpstreamResponse {
  statusCode: number;
  contentType: string;
  requestId?: string;
  body: UpstreamBody;
  /** Retries spent before this answer. */
  retries: number;
}

interface Target {
  pool: Pool;
  pathPrefix: string;
}

export class Upstream {
  private readonly targets = new Map<string, Target>();
  /** Observer of every upstream answer, retries included (metrics); status 0 = no answer (connection failure, timeout). */
  onResponse?: (deployment: Deployment, status: number) => void;

  constructor(
    private readonly settings: Settings,
    private readonly log: Logger,
  ) {}

  private readonly pools = new Map<string, Pool>();

  private target(apiBase: string): Target {
    let t = this.targets.get(apiBase);
    if (!t) {
      const url = new URL(apiBase);
      let pool = this.pools.get(url.origin);
      if (!pool) {
        // pipelining 1: long streaming POSTs must never queue behind one another on a socket.
        pool = new Pool(url.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
        this.pools.set(url.origin, pool);
      }
      t = { pool, pathPrefix: url.pathname.replace(/\/+$/, '') };
      this.targets.set(apiBase, t);
    }
    return t;
  }

  /**
   * POSTs the body and resolves once a usable 200 arrived. Retries 429/5xx and connection failures
   * (nothing has reached the client yet, so a retry is invisible to it); throws a ProxyError otherwise.
   */
  async post(
    deployment: Deployment,
    path: string,
    body: string,
    cancel: Cancel,
    configuredModels: readonly string[],
    /** Wire-specific headers (e.g. anthropic-version); they never override the credential. */
    extraHeaders?: Record<string, string>,
    /** The silence limit for this call (callTimeouts); default: the deployment's non-streaming one. */
    limit: CallTimeouts = callTimeouts(deployment, this.settings, false),
  ): Promise<UpstreamResponse> {
    const { pool, pathPrefix } = this.target(deployment.apiBase);
    const credential = authHeaders(deployment.auth);
    const headers = {
      ...extraHeaders,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'user-agent': USER_AGENT,
      // litellm_params.extra_headers (X-Snowflake-Role, …): config/deployment-params.ts refuses the credential
      // headers, and the credential is spread last anyway.
      ...deployment.extraHeaders,
      ...(credential instanceof Promise ? await credential : credential),
    };
    const timeout = limit.silenceMs;
    const maxRetries = deployment.maxRetries ?? this.settings.numRetries;
    for (let attempt = 0; ; attempt++) {
      let failure: ProxyError;
      let retryAfterMs: number | undefined;
      try {
        const res = await dispatch(pool, { method: 'POST', path: pathPrefix + path, headers, body, headersTimeout: timeout, bodyTimeout: timeout }, cancel);
        const requestId = res.requestId;
        this.onResponse?.(deployment, res.statusCode);
        if (res.statusCode === 200) return { ...res, retries: attempt };
        const text = await res.body.text(MAX_ERROR_BODY);
        const retryAfter = parseRetryAfter(res.retryAfter);
        failure = credentialError(deployment.auth, snowflakeError(res.statusCode, text, requestId, configuredModels, retryAfter));
        // The AI Gateway's budget, quota or allowlist refusal: named as such, never retried (cortex/gateway.ts).
        if (isGatewayCall(deployment)) failure = gatewayRefusal(deployment, res.statusCode, text, failure) ?? failure;
        if (!isRetryableStatus(res.statusCode) || isGatewayRefusal(failure)) throw failure;
        retryAfterMs = retryAfter !== undefined ? retryAfter * 1000 : undefined;
      } catch (err) {
        if (err instanceof ProxyError) {
          if (!isRetryableStatus(err.status) || isGatewayRefusal(err)) throw err;
          failure = err;
        } else {
          if (cancel.aborted) throw new ProxyError('upstream', 'client disconnected');
          failure = connectionError(err, deployment.apiBase, timeout, limit.setting);
          this.onResponse?.(deployment, 0);
          // A timeout already waited request_timeout: retrying would multiply the wait. A refused certificate stays refused.
          if (failure.kind === 'timeout' || isTlsFailure(err)) throw failure;
        }
      }
      if (attempt >= maxRetries || (retryAfterMs ?? 0) > MAX_RETRY_AFTER_MS) throw failure;
      const backoff = retryAfterMs ?? jittered(this.settings.retryBaseMs * 2 ** attempt);
      this.log.debug(`upstream ${failure.status} (${failure.message.slice(0, 120)}); retry ${attempt + 1} in ${backoff} ms`);
      await abortableDelay(Math.min(backoff, MAX_BACKOFF_MS), cancel);
    }
  }

  /** Upstream sockets now, over every pool: busy (a request on it), idle (kept alive), and requests waiting for one. */
  stats(): { busy: number; idle: number; queued: number } {
    let busy = 0;
    let idle = 0;
    let queued = 0;
    for (const p of this.pools.values()) {
      const s = p.stats;
      busy += s.connected - s.free;
      idle += s.free;
      queued += s.queued;
    }
    return { busy, idle, queued };
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
  }
}

interface Answer {
  statusCode: number;
  contentType: string;
  requestId?: string;
  retryAfter?: string;
  body: UpstreamBody;
}

/**
 * One call through undici's dispatch callbacks (not `request`: no Readable body, no AbortSignal listener), resolved
 * at the response headers with a body the callbacks feed. `cancel` aborts it at any point.
 */
function dispatch(pool: Pool, opts: Dispatcher.DispatchOptions, cancel: Cancel): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let body: UpstreamBody | undefined;
    let abort: ((err: Error) => void) | undefined;
    let resume: (() => void) | undefined;
    const stop = (err: Error) => abort?.(err);
    const off = cancel.onAbort(() => stop(new undiciErrors.RequestAbortedError()));
    const source = { abort: stop, resume: () => resume?.() };
    pool.dispatch(opts, {
      onConnect(a: (err: Error) => void) {
        abort = a;
        if (cancel.aborted) a(new undiciErrors.RequestAbortedError());
      },
      onHeaders(statusCode: number, raw: Buffer[], r: () => void) {
        if (statusCode < 200) return true;
        resume = r;
        body = new UpstreamBody(source);
        resolve({ statusCode, ...answerHeaders(raw), body });
        return true;
      },
      onData: (chunk: Buffer) => body!.push(chunk),
      onComplete() {
        off();
        body?.end();
      },
      onError(err: Error) {
        off();
        if (body) body.fail(err);
        else reject(err);
      },
    } as Dispatcher.DispatchHandler);
  });
}

/** The three response headers cortex-proxy reads, straight from undici's raw name/value buffers (first value wins). */
function answerHeaders(raw: Buffer[]): { contentType: string; requestId?: string; retryAfter?: string } {
  let contentType: string | undefined;
  let requestId: string | undefined;
  let retryAfter: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const len = raw[i].length;
    if (len !== 12 && len !== 11 && len !== 22) continue;
    const name = raw[i].toString('latin1').toLowerCase();
    if (name === 'content-type') contentType ??= raw[i + 1].toString('latin1');
    else if (name === 'retry-after') retryAfter ??= raw[i + 1].toString('latin1');
    else if (name === 'x-snowflake-request-id') requestId ??= raw[i + 1].toString('latin1');
  }
  return { contentType: contentType ?? '', requestId, retryAfter };
}

/** Full jitter between half and all of the delay, so retrying clients do not stampede together. */
function jittered(ms: number): number {
  return Math.round(ms / 2 + Math.random() * (ms / 2));
}

export function parseRetryAfter(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return secs;
  const date = Date.parse(v);
  if (Number.isFinite(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  return undefined;
}

function abortableDelay(ms: number, cancel: Cancel): Promise<void> {
  return new Promise((resolve, reject) => {
    if (cancel.aborted) return reject(new ProxyError('upstream', 'client disconnected'));
    const timer = setTimeout(() => {
      off();
      resolve();
    }, ms);
    const off = cancel.onAbort(() => {
      clearTimeout(timer);
      reject(new ProxyError('upstream', 'client disconnected'));
    });
  });
}

function isTlsFailure(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? ''); // DOMException AbortError's code is the number 20
  return code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT';
}

export interface CallTimeouts {
  /** The longest wait for the first byte and between stream events (undici's headers/body timeouts, server/idle.ts). */
  silenceMs: number;
  /** A non-streaming answer must be complete within this (a deployment's or router_settings' `timeout`). */
  deadlineMs?: number;
  /** The config key that set silenceMs, for the error message. */
  setting: string;
}

/**
 * The time limits of one call to a deployment. LiteLLM's `timeout` bounds a whole (non-streaming) call and
 * `stream_timeout` a streaming one; cortex-proxy applies stream_timeout to the first byte and to every gap between
 * events (a stream that keeps talking may run long), and `timeout` to the whole non-streaming answer. Precedence:
 * litellm_params, then router_settings, then litellm_settings.request_timeout (silence only).
 */
export function callTimeouts(d: Deployment, s: Settings, stream: boolean): CallTimeouts {
  const own = (ms: number | undefined, key: string) => (ms !== undefined ? { ms, setting: `litellm_params.${key} of '${d.pattern ?? d.modelName}'` } : undefined);
  const router = (ms: number | undefined, key: string) => (ms !== undefined ? { ms, setting: `router_settings.${key}` } : undefined);
  const total = own(d.timeoutMs, 'timeout') ?? router(s.routerTimeoutMs, 'timeout');
  const picked = stream ? (own(d.streamTimeoutMs, 'stream_timeout') ?? router(s.streamTimeoutMs, 'stream_timeout') ?? total) : total;
  if (!picked) return { silenceMs: s.requestTimeoutMs, setting: 'litellm_settings.request_timeout' };
  return { silenceMs: Math.min(picked.ms, s.requestTimeoutMs), deadlineMs: stream ? undefined : picked.ms, setting: picked.setting };
}

/** A transport failure as the error a user can act on. */
export function connectionError(err: unknown, apiBase: string, timeoutMs: number, setting = 'litellm_settings.request_timeout'): ProxyError {
  const code = String((err as { code?: unknown })?.code ?? ''); // DOMException AbortError's code is the number 20
  const host = safeHost(apiBase);
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new ProxyError(
      'timeout',
      `Snowflake (${host}) sent nothing for ${seconds(timeoutMs)} s (${setting.replace(/^litellm_settings\./, '')}). Raise ${setting} if long generations are expected.`,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ProxyError('upstream', `cannot resolve ${host}: check the account identifier in api_base (e.g. myorg-myaccount.snowflakecomputing.com).`);
  }
  if (code === 'ECONNREFUSED') return new ProxyError('upstream', `connection to ${host} refused.`);
  if (isTlsFailure(err)) {
    return new ProxyError('upstream', `TLS handshake with ${host} failed (${code}).`);
  }
  return new ProxyError('upstream', `connection to ${host} failed${code ? ` (${code})` : ''}.`);
}

/** ms as seconds for a message: whole seconds, or one decimal below 10 s. */
export function seconds(ms: number): string {
  return ms >= 10_000 || ms % 1000 === 0 ? String(Math.round(ms / 1000)) : (ms / 1000).toFixed(1);
}

function safeHost(apiBase: string): string {
  try {
    return new URL(apiBase).host;
  } catch {
    return 'upstream';
  }
}
