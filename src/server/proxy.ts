// One chat exchange, whatever the dialect: decode → route → drop/refuse params → encode for the wire →
// call Cortex (retries live in the client) → decode events → stream them out, or aggregate them.
import { StringDecoder } from 'node:string_decoder';
import { MAX_NAME_CHARS, clip, safeError } from './redact.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Deployment } from '../config/types.js';
import type { ChatRequest, StreamEvent } from '../core/types.js';
import { ProxyError, invalidRequest } from '../core/errors.js';
import { nowSeconds, randomId } from '../core/ids.js';
import { Aggregator } from '../core/aggregate.js';
import type { Dialect, ResponseMeta } from '../dialects/dialect.js';
import type { EncodedRequest, Wire } from '../cortex/wire.js';
import { WIRES, endpointOf, isEndpointRefusal } from '../cortex/wires.js';
import { resolveImages } from '../cortex/images.js';
import { overLimit } from '../cortex/deployment-limits.js';
import { callTimeouts, connectionError, seconds, type CallTimeouts, type UpstreamResponse } from '../cortex/client.js';
import { shouldFallback } from '../cortex/router.js';
import { asJsonCall, jsonUpstream } from '../cortex/upstream-mode.js';
import { SSE_HEADERS, sendJson, write } from './http.js';
import { applyOutputFloor } from './max-tokens.js';
import { preflightChat, preflightImages } from '../cortex/preflight.js';
import { countImages } from '../cortex/plan.js';
import { watchIdle } from './idle.js';
import { Cancel } from '../core/cancel.js';
import { traceFrom, traceHeaders, type TraceContext } from '../cortex/trace.js';
import { userAgentFamily } from '../usage/record.js';
import { gatewayTarget } from '../cortex/gateway.js';
import type { AppContext, Exchange } from './context.js';


export async function proxyChat(
  ctx: AppContext,
  dialect: Dialect,
  body: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  x: Exchange,
): Promise<void> {
  const chat = dialect.decodeRequest(body, req.headers);
  x.model = chat.model.length > MAX_NAME_CHARS ? clip(chat.model, MAX_NAME_CHARS) : chat.model; // logs, usage records, /ui
  traceExchange(x, req);
  x.stream = chat.stream;
  let candidates = ctx.router.candidates(chat.model);
  if (ctx.admit) await ctx.admit(x, { model: chat.model, deployment: candidates[0].deployment, chat }, req);
  if (ctx.allows) {
    // Fallbacks only to models the client's key may use.
    const allows = ctx.allows;
    candidates = candidates.filter((c) => allows(x, c.modelName));
    if (candidates.length === 0) throw new ProxyError('permission', `this key may not use the model '${chat.model.slice(0, 100)}'`, { code: 'model_not_allowed', param: 'model' });
  }
  if (countImages(chat) > 0) {
    // Image count and vision before any fetch (the requested model's refusal is the client's error), then the
    // URLs, fetched the SSRF-safe way (cortex/images.ts) within the per-image and per-request byte caps.
    const first = candidates[0].deployment;
    preflightImages(chat, first, ctx.router.wireFor(first));
    if (hasRemoteImages(chat)) await resolveImages(chat, { policy: ctx.config.settings.imageUrlFetch ?? 'public', maxBytes: ctx.config.settings.maxImageBytes, testSeam: ctx.imageFetchTestSeam });
  }

  // A client that goes away aborts the upstream call at once (no tokens burnt for nobody).
  const cancel = new Cancel();
  const onClose = () => {
    if (!res.writableFinished) cancel.abort();
  };
  res.once('close', onClose);
  try {
    // The candidate loop: the model's deployments (round robin, recently failed last), then its fallbacks'. A
    // candidate that fails before any output was sent gives way to the next; cortex_api auto first retries the
    // same deployment on the wire a refused one falls back to (403/404: cortex/wires.ts whenRefused).
    let first: ProxyError | undefined;
    let routed = false;
    let limitedMs: number | undefined; // every candidate so far was over its rpm/tpm: the soonest it frees up
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      const deployment = c.deployment;
      const wireName = ctx.router.wireFor(deployment, chat);
      const wire = WIRES[wireName];
      let prepared: { req: ChatRequest; encoded: EncodedRequest };
      try {
        prepared = prepareFor(ctx, chat, deployment, wire);
      } catch (err) {
        // The requested model cannot take this request: the client's error. A fallback that cannot is skipped.
        if (i === 0 || !(err instanceof ProxyError) || !first) throw err;
        x.skipped = [...(x.skipped ?? []), `${c.modelName}: ${err.message.slice(0, 120)}`];
        continue;
      }
      x.cortexModel = deployment.cortexModel;
      x.wire = wireName;
      if (!routed) {
        routed = true;
        if (ctx.onStart) for (const listener of ctx.onStart) listener(x, req);
      }
      // rpm / tpm of this deployment (cortex/deployment-limits.ts): over them, its siblings and fallbacks go first.
      const slot = await ctx.router.limits.admit(deployment);
      if (!slot.ok) {
        limitedMs = Math.min(limitedMs ?? slot.waitMs, slot.waitMs);
        x.skipped = [...(x.skipped ?? []), `${c.modelName} (${deployment.cortexModel}): over its rpm/tpm`];
        continue;
      }
      try {
        try {
          await attempt({ ctx, dialect, chat, encoded: prepared.encoded, deployment, wire, res, x }, cancel);
        } finally {
          slot.release(x.usage ? x.usage.promptTokens + x.usage.completionTokens : 0);
        }
        ctx.router.markOk(deployment);
        if (i > 0) {
          x.fallback = c.modelName;
          x.error = undefined;
          x.errorKind = undefined;
        }
        return;
      } catch (err) {
        if (!(err instanceof ProxyError) || res.headersSent || cancel.aborted) throw err;
        const dropped = wire.dropRefusedField?.(deployment, err); // a field the wire can do without (e.g. /v1/responses' store)
        if (dropped) {
          ctx.log.warn(`${c.modelName} (${deployment.cortexModel}): Cortex refused '${dropped}' on ${endpointOf(wire)}; sent again without it, and left out from now on`);
          i--; // the same deployment again, without the field
          continue;
        }
        if (isEndpointRefusal(deployment, err)) {
          if (wire.whenRefused) {
            ctx.router.rememberRefused(deployment.apiBase, wireName);
            x.refusedWire = wireName;
            const next = WIRES[ctx.router.wireFor(deployment, chat)];
            ctx.log.info(`Snowflake account ${hostOf(deployment.apiBase)} answered ${err.status} on ${endpointOf(wire)}: cortex_api auto uses ${endpointOf(next)} for it from now on`);
            i--; // the same deployment again, on that wire
            continue;
          }
          // The wire refusals end on is refused the same way within this request: the account's problem was not the endpoint.
          if (x.refusedWire) ctx.router.forgetRefused(deployment.apiBase, x.refusedWire);
        }
        if (!shouldFallback(err)) throw first ?? err;
        first ??= err;
        ctx.router.markFailed(deployment);
        const next = candidates[i + 1];
        x.skipped = [...(x.skipped ?? []), `${c.modelName} (${deployment.cortexModel} via ${wireName}): ${err.status} ${err.kind}`];
        if (next) ctx.log.info(`${c.modelName} (${deployment.cortexModel}) failed before any output (${err.status} ${err.kind}); trying ${next.modelName} (${next.deployment.cortexModel})`);
      }
    }
    if (!first && limitedMs !== undefined) throw overLimit(chat.model, limitedMs);
    throw first ?? new ProxyError('internal', 'no deployment could be tried');
  } finally {
    res.off('close', onClose);
  }
}

/**
 * The request as one candidate deployment gets it: catalogue refusals, the output floor, drop_params for its wire,
 * then the wire's encoding. A shallow copy, so a candidate's changes never reach the next one.
 */
function prepareFor(ctx: AppContext, chat: ChatRequest, deployment: Deployment, wire: Wire): { req: ChatRequest; encoded: EncodedRequest } {
  const req: ChatRequest = { ...chat };
  preflightChat(req, deployment, wire.name); // catalogue limits: refuse what cannot succeed before a round trip
  applyOutputFloor(req, deployment, ctx.config.settings.minOutputTokens);
  dropUnsupported(req, wire, deployment, ctx);
  const encoded = wire.encodeRequest(req, deployment);
  // A non-streaming client gets a stream:false call where the answer fits the silence limit (cortex/upstream-mode.ts).
  if (jsonUpstream(req, encoded, deployment, ctx.config.settings)) asJsonCall(encoded);
  return { req, encoded };
}

/** One candidate's try: the exchange's client side and the deployment, wire and encoding it is tried with. */
interface Attempt {
  ctx: AppContext;
  dialect: Dialect;
  /** The client's request as decoded (its model name, stream flag): what the answer is encoded for. */
  chat: ChatRequest;
  /** The request as this candidate's wire encoded it. */
  encoded: EncodedRequest;
  deployment: Deployment;
  wire: Wire;
  res: ServerResponse;
  x: Exchange;
}

/**
 * One upstream call and its answer, streamed to the client or aggregated. Throws a ProxyError when it fails before
 * anything was sent to the client (the caller may then try the next candidate); a failure after that goes out
 * in-band as the dialect's error event.
 */
async function attempt(a: Attempt, cancel: Cancel): Promise<void> {
  const { ctx, chat, encoded, deployment, x } = a;
  x.error = undefined;
  x.errorKind = undefined;
  x.ttftMs = undefined;
  x.usage = undefined;
  if (encoded.warnings) for (const w of encoded.warnings) ctx.log.warn(`${chat.model} (${deployment.cortexModel}): ${w}`);
  // litellm_params / router_settings timeout: a non-streaming answer must be complete in time (cortex/client.ts).
  const limit = callTimeouts(deployment, ctx.config.settings, chat.stream);
  if (limit.deadlineMs === undefined) return exchange(a, cancel, limit);
  const deadline = cancel.child();
  const timer = setTimeout(() => deadline.cancel.abort(), limit.deadlineMs);
  try {
    await exchange(a, deadline.cancel, limit);
  } catch (err) {
    if (!deadline.cancel.aborted || cancel.aborted) throw err;
    throw new ProxyError('timeout', `model '${chat.model}' (${deployment.cortexModel}) did not answer within ${seconds(limit.deadlineMs)} s (${limit.setting}).`);
  } finally {
    clearTimeout(timer);
    deadline.detach();
  }
}

/** The call itself, under the attempt's cancel token (the client's, and its deadline when there is one). */
async function exchange(a: Attempt, cancel: Cancel, limit: CallTimeouts): Promise<void> {
  const { ctx, dialect, chat, encoded, deployment, wire, res, x } = a;
  const target = gatewayTarget(deployment, encoded.path); // the v1 wires of an AI Gateway deployment go to the gateway
  const up = await ctx.upstream.post(target.deployment, target.path, JSON.stringify(encoded.body), cancel, ctx.router.modelNames, { ...encoded.headers, ...upstreamTraceHeaders(x) }, limit);
  x.requestId = up.requestId;
  x.retries += up.retries;
  const meta: ResponseMeta = { id: randomId(dialect.idPrefix), created: nowSeconds(), model: chat.model };
  const headers: Record<string, string> = { ...ctx.extraHeaders };
  if (up.requestId) headers['x-request-id'] = up.requestId;
  if (encoded.warnings?.length) headers[WARNING_HEADER] = headerText(encoded.warnings.join('; '));
  const decodeCtx = { maxTokens: encoded.maxTokens, requestId: up.requestId };

  if (chat.stream) {
    const encoder = dialect.createStreamEncoder(chat, meta);
    let out = '';
    let early: ProxyError | undefined;
    const emit = (e: StreamEvent) => {
      if (e.type === 'error') e = { type: 'error', error: safeError(ctx.log, e.error) }; // Cortex may echo the token
      observe(x, e);
      // Until content exists an error can still be a proper HTTP error instead of an in-stream one.
      if (e.type === 'error' && !res.headersSent && x.ttftMs === undefined) {
        early = e.error;
        out = '';
      } else out += encoder.event(e);
    };
    const flush = (): boolean | Promise<boolean> => {
      if (early) return false;
      // Hold the opening frames until content arrives, so an early failure can still be an HTTP error.
      if (out === '' || (!res.headersSent && x.ttftMs === undefined)) return true;
      if (!res.headersSent) res.writeHead(200, { ...SSE_HEADERS, ...headers });
      const text = out;
      out = '';
      return write(res, text);
    };
    await pumpEvents(up, wire, decodeCtx, emit, flush, deployment.apiBase, limit);
    if (early) throw early;
    out += encoder.end();
    if (ctx.beforeEnd) await ctx.beforeEnd(x);
    if (!res.headersSent) res.writeHead(200, { ...SSE_HEADERS, ...headers });
    if (!res.destroyed) res.end(out);
  } else {
    const agg = new Aggregator({ id: meta.id, created: meta.created });
    const emit = (e: StreamEvent) => {
      if (e.type === 'error') e = { type: 'error', error: safeError(ctx.log, e.error) };
      observe(x, e);
      agg.push(e);
    };
    await pumpEvents(up, wire, decodeCtx, emit, () => true, deployment.apiBase, limit);
    const final = agg.result(); // throws the upstream error, if any
    const body = dialect.encodeResponse(final, chat, meta);
    if (ctx.beforeEnd) await ctx.beforeEnd(x);
    sendJson(res, 200, body, headers);
  }
}

/** The exchange's trace (cortex/trace.ts): the client's traceparent continued when valid, else a new trace. Once per exchange. */
export function traceExchange(x: Exchange, req: IncomingMessage): TraceContext {
  x.trace ??= traceFrom(req.headers, { agent: userAgentFamily(req.headers['user-agent']), keyLabel: x.keyLabel });
  return x.trace;
}

/** The trace headers of one upstream call of this exchange (a new span each call). */
export function upstreamTraceHeaders(x: Exchange): Record<string, string> {
  return x.trace ? traceHeaders(x.trace) : {};
}

/** Response header telling the client what cortex-proxy changed in its request (e.g. thinking dropped to keep max_tokens). */
export const WARNING_HEADER = 'x-cortex-proxy-warning';

/** A header value: printable ASCII on one line. */
function headerText(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 1000);
}

function hostOf(apiBase: string): string {
  try {
    return new URL(apiBase).host;
  } catch {
    return 'upstream';
  }
}

/** Reads the upstream answer (SSE or JSON) into canonical events, flushing to the client after each chunk. */
async function pumpEvents(
  up: UpstreamResponse,
  wire: Wire,
  decodeCtx: { maxTokens?: number; requestId?: string },
  emit: (e: StreamEvent) => void,
  flush: () => boolean | Promise<boolean>,
  apiBase: string,
  limit: CallTimeouts,
): Promise<void> {
  const timeoutMs = limit.silenceMs;
  // The connection failed after the headers: the client's error event (or, before output, its HTTP error).
  const brokeOff = (err: unknown, what: string) => {
    const e = connectionError(err, apiBase, timeoutMs, limit.setting);
    emit({ type: 'error', error: new ProxyError(e.kind, `the Cortex ${what} broke off: ${e.message}`, { requestId: up.requestId }) });
    return flush();
  };
  if (!up.contentType.includes('text/event-stream')) {
    // A 200 that is not a stream: a stream:false answer or an error dressed as success (e.g. 390112).
    let text: string;
    try {
      text = await up.body.text();
    } catch (err) {
      await brokeOff(err, 'answer');
      return;
    }
    wire.decodeJson(text, decodeCtx, emit); // parsed there once; text that is not JSON is its upstream error (cortex/decoder.ts bodyJson)
    await flush();
    return;
  }
  const decoder = wire.createStreamDecoder(decodeCtx);
  const utf8 = new StringDecoder('utf8'); // a character split across chunks waits for its rest; ≈ 3× cheaper than TextDecoder per chunk
  const idle = watchIdle(up.body, timeoutMs); // request_timeout between events: keep-alive comments do not reset it
  const counted = (e: StreamEvent) => ((idle.seen = true), emit(e));
  try {
    let stopped = false;
    await up.body.forEach((chunk) => {
      decoder.feed(utf8.write(chunk), counted);
      const go = flush();
      if (go === false) stopped = true;
      else if (go !== true) return go.then((ok) => ((stopped = !ok), ok));
      return go;
    });
    if (stopped) return;
  } catch (err) {
    await brokeOff(err, 'stream');
    return;
  }
  decoder.end(emit);
  await flush();
}

function observe(x: Exchange, e: StreamEvent): void {
  switch (e.type) {
    case 'text':
    case 'thinking':
    case 'tool_call_start':
      if (x.ttftMs === undefined) x.ttftMs = performance.now() - x.startedAt;
      break;
    case 'usage':
      x.usage = e.usage;
      break;
    case 'finish':
      if (e.usage) x.usage = e.usage;
      break;
    case 'error':
      x.error = e.error.message;
      x.errorKind = e.error.kind;
      break;
  }
}

/** drop_params: parameters Cortex cannot honour are dropped, or refused with a 400 that says how to allow dropping. */
function dropUnsupported(chat: ChatRequest, wire: Wire, deployment: Deployment, ctx: AppContext): void {
  const fields = [...chat.unsupported, ...wire.unsupportedFields(chat, deployment)];
  if (fields.length === 0) return;
  if (!ctx.config.settings.dropParams) {
    throw invalidRequest(
      `Cortex cannot honour ${fields.join(', ')}. Remove ${fields.length > 1 ? 'them' : 'it'}, or set litellm_settings.drop_params: true to have cortex-proxy drop unsupported parameters.`,
      fields[0],
    );
  }
  for (const f of fields) if (f in chat) delete (chat as unknown as Record<string, unknown>)[f];
  ctx.log.debug(`dropped unsupported parameters: ${fields.join(', ')}`);
}

function hasRemoteImages(chat: ChatRequest): boolean {
  for (const m of chat.messages)
    for (const p of m.parts) {
      if (p.type === 'image' && p.url) return true;
      if (p.type === 'tool_result' && p.parts.some((q) => q.type === 'image' && q.url)) return true;
    }
  return false;
}
