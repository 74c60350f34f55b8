// The emulator's HTTP server: routing, auth, faults, streaming with backpressure and abort detection, and
// the /_emulator admin surface used by a CLI-started emulator.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { KNOWN_MODELS, modelInfo, type ModelInfo } from '../cortex/models.js';
import { authenticate, type AuthPolicy } from './auth.js';
import { keyPairVerifier } from './jwt.js';
import { CortexError, defaultFaultMessage, invalidPayload } from './errors.js';
import { planReply, replyMatches, type ReplyPlan } from './reply.js';
import { encodeJson, encodeStream, frame, resolveVariant } from './sse.js';
import {
  DEFAULT_KNOBS,
  type Emulator,
  type EmulatorOptions,
  type Fault,
  type Knobs,
  type Outcome,
  type ReceivedRequest,
  type ScriptedReply,
} from './types.js';
import { validateComplete, type CompleteCall } from './validate.js';
import { V1_ENDPOINTS, v1Refusal, type Endpoint } from './v1.js';
import { gatewayRoute, noModelList } from './gateway.js';
import { RESPONSES_PATH, responsesEndpoint } from './responses.js';
import { DEFAULT_ACCOUNT, checkAccount, credentialRefusal, type AccountState } from './account.js';
import { runStatement } from './statements.js';
import { EMBED_PATH, answerEmbed } from './embed.js';
import './usage-history.js'; // CORTEX_REST_API_USAGE_HISTORY statements (cortex-proxy usage --snowflake)
import { isObj } from '../core/json.js';

const COMPLETE_PATH = '/api/v2/cortex/inference:complete';
const MODELS_PATH = '/api/v2/cortex/models';
const STATEMENTS_PATH = '/api/v2/statements';
const MAX_BODY = 10 * 1024 * 1024; // §2.5.5 [DOC] "request body < 10 MB"
/** The v1 endpoints take 20 MiB of base64 images per request (docs/images.md), plus the conversation around them [INF]. */
const MAX_V1_BODY = 24 * 1024 * 1024;

// §3.1 [OBS ml-python capture].
const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
};

/** One request/response pair: knows whether we finished it, owns its timers, notices client disconnects. */
class Exchange {
  ended = false;
  private waits = new Set<{ timer?: NodeJS.Timeout; resolve: () => void }>();

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly rec: ReceivedRequest,
    private onAbort: (rec: ReceivedRequest) => void,
    private onGone: (ex: Exchange) => void,
  ) {
    res.on('close', () => {
      if (!this.ended) {
        this.ended = true;
        rec.outcome = 'aborted';
        rec.endedAt = Date.now();
        this.cancel();
        onAbort(rec);
      }
      onGone(this);
    });
  }

  /** Resolves after ms, or at once when the exchange ends (client gone / emulator closed). */
  sleep(ms: number): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const w: { timer?: NodeJS.Timeout; resolve: () => void } = { resolve };
      w.timer = setTimeout(() => {
        this.waits.delete(w);
        resolve();
      }, ms);
      this.waits.add(w);
    });
  }

  /** Resolves on 'drain' or when the exchange ends. */
  drain(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { resolve: () => resolve() };
      this.waits.add(w);
      this.res.once('drain', () => {
        this.waits.delete(w);
        resolve();
      });
    });
  }

  cancel(): void {
    for (const w of this.waits) {
      if (w.timer) clearTimeout(w.timer);
      w.resolve();
    }
    this.waits.clear();
  }

  finish(outcome: Outcome, status: number): void {
    this.ended = true;
    this.rec.outcome = outcome;
    this.rec.status = status;
    this.rec.endedAt = Date.now();
  }
}

const KNOB_CHECKS: { [K in keyof Knobs]: (v: unknown) => boolean } = {
  variant: (v) => v === 'auto' || v === 'A' || v === 'B' || v === 'C',
  usage: (v) => v === 'auto' || v === 'cumulative' || v === 'final' || v === 'last',
  created: (v) => v === 'auto' || typeof v === 'boolean',
  eventLines: (v) => typeof v === 'boolean',
  multilineData: (v) => typeof v === 'boolean',
  done: (v) => typeof v === 'boolean',
  finishReason: (v) => typeof v === 'boolean',
  chunkChars: (v) => Number.isInteger(v) && (v as number) >= 1,
  toolInputChars: (v) => Number.isInteger(v) && (v as number) >= 1,
  emptyToolInput: (v) => v === 'empty-string' || v === 'omit' || v === 'braces',
  ttfbMs: (v) => typeof v === 'number' && v >= 0,
  chunkDelayMs: (v) => typeof v === 'number' && v >= 0,
  strict: (v) => typeof v === 'boolean',
  v1: (v) => v === 'enabled' || v === 'forbidden' || v === 'not_found',
};

/** Throws on an unknown knob or a bad value (typos must not pass silently). */
export function checkKnobs(k: unknown): Partial<Knobs> {
  if (!k || typeof k !== 'object' || Array.isArray(k)) throw new Error('knobs must be an object');
  for (const [name, v] of Object.entries(k)) {
    const check = (KNOB_CHECKS as Record<string, (v: unknown) => boolean>)[name];
    if (!check) throw new Error(`unknown knob "${name}"`);
    if (!check(v)) throw new Error(`bad value for knob "${name}": ${JSON.stringify(v)}`);
  }
  return k as Partial<Knobs>;
}

const nonNegInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;

export function checkFault(f: unknown): Fault {
  if (!isObj(f)) throw new Error('a fault must be an object');
  const ok =
    ('status' in f && Number.isInteger(f.status) && (f.status as number) >= 400 && (f.status as number) <= 599 &&
      (f.retryAfter === undefined || (typeof f.retryAfter === 'number' && f.retryAfter >= 0))) ||
    ('midStreamError' in f && typeof f.midStreamError === 'string' && (f.afterChunks === undefined || nonNegInt(f.afterChunks))) ||
    ('json200Error' in f && isObj(f.json200Error) && typeof f.json200Error.code === 'string') ||
    ('cutAfterChunks' in f && nonNegInt(f.cutAfterChunks)) ||
    ('hangBeforeHeaders' in f && f.hangBeforeHeaders === true) ||
    ('stallAfterChunks' in f && nonNegInt(f.stallAfterChunks)) ||
    ('resetAfterChunks' in f && nonNegInt(f.resetAfterChunks)) ||
    ('heartbeatAfterChunks' in f && nonNegInt(f.heartbeatAfterChunks) && (f.everyMs === undefined || (typeof f.everyMs === 'number' && f.everyMs > 0))) ||
    ('raw' in f && isObj(f.raw) && typeof f.raw.body === 'string');
  if (!ok) throw new Error(`not a fault: ${JSON.stringify(f)}`);
  return f as Fault;
}

export function checkReply(r: unknown): ScriptedReply {
  if (!isObj(r)) throw new Error('a scripted reply must be an object');
  for (const k of Object.keys(r)) {
    if (!['when', 'text', 'thinking', 'toolCalls', 'usage', 'finishReason'].includes(k)) throw new Error(`unknown scripted-reply field "${k}"`);
  }
  if (r.when !== undefined) {
    if (!isObj(r.when)) throw new Error('when must be an object {tool?, model?, lastUserIncludes?}');
    for (const [k, v] of Object.entries(r.when)) {
      if (!['tool', 'model', 'lastUserIncludes'].includes(k)) throw new Error(`unknown when field "${k}"`);
      if (typeof v !== 'string') throw new Error(`when.${k} must be a string`);
    }
  }
  if (r.toolCalls !== undefined) {
    if (!Array.isArray(r.toolCalls) || !r.toolCalls.every((t) => isObj(t) && typeof t.name === 'string')) {
      throw new Error('toolCalls must be an array of {name, input, id?}');
    }
  }
  return r as ScriptedReply;
}

function flattenHeaders(h: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

async function readBody(req: IncomingMessage, max = MAX_BODY): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size <= max) chunks.push(c);
    }
  } catch {
    return null; // client went away mid-body
  }
  if (size > max) throw new CortexError(413, 'request body too large', undefined, `> ${max} bytes [INF]`);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const baseKnobs: Knobs = { ...DEFAULT_KNOBS, ...(opts.variant ? { variant: opts.variant } : {}), ...checkKnobs(opts.knobs ?? {}) };
  let knobs: Knobs = { ...baseKnobs };
  const models = new Map<string, ModelInfo>((opts.models ?? [...KNOWN_MODELS.keys()]).map((id) => [id, modelInfo(id)]));
  const unavailable = new Set(opts.unavailableInRegion ?? []);
  for (const id of unavailable) if (!models.has(id)) models.set(id, modelInfo(id)); // known, but not here
  // The account's identity and failure modes (account.ts); its unavailableInRegion list drives `unavailable`.
  const account: AccountState = { ...DEFAULT_ACCOUNT, unavailableInRegion: [...unavailable] };
  const setAccount = (patch: Partial<AccountState>) => {
    Object.assign(account, checkAccount(patch));
    if (patch.unavailableInRegion) {
      unavailable.clear();
      for (const id of patch.unavailableInRegion) {
        unavailable.add(id);
        if (!models.has(id)) models.set(id, modelInfo(id));
      }
    }
  };
  if (opts.account) setAccount(opts.account);
  const baseAccount: AccountState = { ...account, unavailableInRegion: [...account.unavailableInRegion] };
  const policy: AuthPolicy = {
    pats: new Set(opts.pats ?? []),
    oauthTokens: new Set(opts.oauthTokens ?? []),
    ...(opts.publicKeys?.length ? { verifyJwt: keyPairVerifier(opts.publicKeys) } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  };
  const recordLimit = opts.recordLimit ?? 1000;

  let scripts: ScriptedReply[] = [];
  let faults: Fault[] = [];
  const requests: ReceivedRequest[] = [];
  let waiters: Array<{ pred: (r: ReceivedRequest) => boolean; resolve: (r: ReceivedRequest) => void }> = [];
  let delivered = new WeakSet<ReceivedRequest>();
  const active = new Set<Exchange>();

  const log = (line: string) => {
    if (!opts.quiet) process.stderr.write(`[cortex-emulator] ${line}\n`);
  };

  function onAbort(rec: ReceivedRequest): void {
    const i = waiters.findIndex((w) => w.pred(rec));
    if (i >= 0) {
      delivered.add(rec);
      waiters.splice(i, 1)[0].resolve(rec);
    }
  }

  function record(rec: ReceivedRequest): void {
    requests.push(rec);
    // Trim in batches so a long benchmark stays O(1) per request.
    if (requests.length > recordLimit + Math.max(100, recordLimit / 10)) requests.splice(0, requests.length - recordLimit);
  }

  function sendJson(ex: Exchange, status: number, body: string, outcome: Outcome, headers: Record<string, string> = {}): void {
    if (ex.ended) return;
    ex.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
    ex.finish(outcome, status);
    ex.res.end(body);
  }

  function sendError(ex: Exchange, err: CortexError, outcome: Outcome = 'rejected'): void {
    ex.rec.error = { message: err.message, code: err.code, detail: err.detail };
    log(`${err.status} ${ex.rec.method} ${ex.rec.path}: ${err.message}${err.detail ? ` (${err.detail})` : ''}`);
    sendJson(ex, err.status, err.body(ex.rec.id), outcome, err.headers);
  }

  async function streamOut(
    ex: Exchange,
    frames: string[],
    end: { kind: 'end'; tail: string } | { kind: 'error'; frame: string } | { kind: 'cut' } | { kind: 'stall' } | { kind: 'reset' } | { kind: 'heartbeat'; everyMs: number },
  ): Promise<void> {
    const { res } = ex;
    if (knobs.ttfbMs > 0) await ex.sleep(knobs.ttfbMs);
    if (ex.ended) return;
    res.writeHead(200, SSE_HEADERS);
    const last = end.kind === 'end' ? end.tail : end.kind === 'error' ? end.frame : '';
    const delay = knobs.chunkDelayMs;
    if (delay <= 0) {
      const all = frames.join('') + last;
      if (all) res.write(all);
      else res.flushHeaders();
    } else {
      res.flushHeaders();
      const seq = last ? [...frames, last] : frames;
      for (let i = 0; i < seq.length; i++) {
        if (i > 0) await ex.sleep(delay);
        if (ex.ended) return;
        if (!res.write(seq[i])) await ex.drain();
        if (ex.ended) return;
      }
    }
    switch (end.kind) {
      case 'end':
        ex.finish('ok', 200);
        res.end();
        return;
      case 'error':
        ex.finish('faulted', 200);
        res.end();
        return;
      case 'cut': {
        // Close the TCP connection without the terminating chunk, after what was written is flushed.
        ex.finish('faulted', 200);
        const sock = res.socket;
        if (!sock) return;
        sock.end();
        sock.once('finish', () => sock.destroy());
        return;
      }
      case 'stall':
        return; // stays 'pending' until the client gives up ('aborted') or the emulator closes
      case 'reset': {
        // An RST once what was written has left: the client sees ECONNRESET, not a clean end.
        const sock = res.socket;
        await ex.sleep(20); // let the peer read what was written: an RST discards data it has not read yet
        if (ex.ended) return;
        ex.finish('faulted', 200);
        if (sock && !sock.destroyed) sock.resetAndDestroy();
        return;
      }
      case 'heartbeat':
        // Comments only, forever: stays 'pending' until the client gives up ('aborted') or the emulator closes.
        while (!ex.ended) {
          await ex.sleep(end.everyMs);
          if (ex.ended) return;
          if (!res.write(': keep-alive\n\n')) await ex.drain();
        }
        return;
    }
  }

  function recordReply(rec: ReceivedRequest, plan: ReplyPlan): void {
    rec.reply = {
      text: plan.text,
      thinking: plan.thinking,
      toolCalls: plan.toolCalls.map((t) => ({ id: t.id, name: t.name, inputJson: t.inputJson })),
      usage: {
        prompt_tokens: plan.usage.prompt_tokens,
        completion_tokens: plan.usage.completion_tokens,
        total_tokens: plan.usage.total_tokens,
      },
      truncated: plan.truncated,
    };
  }

  /** inference:complete, or a v1 endpoint (v1.ts) when `endpoint` is given: same scripts, faults and streaming. */
  async function handleComplete(ex: Exchange, body: unknown, endpoint?: Endpoint): Promise<void> {
    const vctx = { models, unavailableInRegion: unavailable, strict: knobs.strict };
    const call: CompleteCall = endpoint ? endpoint.validate(body, vctx, ex.req.headers) : validateComplete(body, vctx);
    const rec = ex.rec;
    const fault = faults.shift();
    if (fault) rec.fault = fault;

    // Faults that answer without content (status, 200 JSON error, hang, raw) leave the script queue alone.
    if (fault && 'status' in fault) {
      const d = defaultFaultMessage(fault.status);
      const headers = fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : undefined;
      const err = new CortexError(fault.status, fault.message ?? d.message, fault.code ?? d.code, 'injected fault', headers);
      return sendError(ex, err, 'rejected');
    }
    if (fault && 'json200Error' in fault) {
      const b = JSON.stringify({ code: fault.json200Error.code, message: fault.json200Error.message ?? '', request_id: rec.id });
      return sendJson(ex, 200, b, 'faulted');
    }
    if (fault && 'hangBeforeHeaders' in fault) return; // until the client gives up
    if (fault && 'raw' in fault) {
      const s = fault.raw.status ?? 200;
      if (ex.ended) return;
      ex.res.writeHead(s, fault.raw.headers ?? {});
      ex.finish('faulted', s);
      ex.res.end(fault.raw.body);
      return;
    }

    const i = scripts.findIndex((r) => replyMatches(r.when, call));
    const plan = planReply(call, i < 0 ? undefined : scripts.splice(i, 1)[0]);
    recordReply(rec, plan);
    const created = Math.floor(Date.now() / 1000);
    if (!call.stream && !fault) {
      if (knobs.ttfbMs > 0) await ex.sleep(knobs.ttfbMs);
      if (endpoint) return sendJson(ex, 200, endpoint.json(plan, call, { id: rec.id, created, knobs }), 'ok');
      return sendJson(ex, 200, encodeJson(plan, { id: rec.id, model: call.model, created, knobs, family: call.info.family }), 'ok');
    }
    const { frames, tail } = endpoint
      ? endpoint.stream(plan, call, { id: rec.id, created, knobs })
      : encodeStream(plan, { id: rec.id, model: call.model, created, variant: resolveVariant(knobs, call.info), knobs, family: call.info.family });
    if (!fault) return streamOut(ex, frames, { kind: 'end', tail });
    // Streaming faults deliver (part of) this reply, whatever stream:false said.
    if ('midStreamError' in fault) {
      const errJson = JSON.stringify({ error: { message: fault.midStreamError, code: fault.code ?? '500' } }); // §3.6
      const errFrame = endpoint ? endpoint.errorFrame(fault.midStreamError, fault.code ?? '500') : frame(errJson, knobs);
      return streamOut(ex, frames.slice(0, fault.afterChunks ?? 1), { kind: 'error', frame: errFrame });
    }
    if ('cutAfterChunks' in fault) return streamOut(ex, frames.slice(0, fault.cutAfterChunks), { kind: 'cut' });
    if ('resetAfterChunks' in fault) return streamOut(ex, frames.slice(0, fault.resetAfterChunks), { kind: 'reset' });
    if ('heartbeatAfterChunks' in fault) return streamOut(ex, frames.slice(0, fault.heartbeatAfterChunks), { kind: 'heartbeat', everyMs: fault.everyMs ?? 100 });
    return streamOut(ex, frames.slice(0, fault.stallAfterChunks), { kind: 'stall' });
  }

  function handleModels(ex: Exchange, raw: Buffer, body: unknown): void {
    // §1/§3.8 [OBS]: GET without a JSON body → 415 391910; with {} and JSON headers → the list.
    const ct = ex.req.headers['content-type'] ?? '';
    if (raw.length === 0 || !ct.toLowerCase().includes('application/json')) {
      throw new CortexError(415, 'Invalid input value. null', '391910', 'GET /models needs Content-Type: application/json and a body such as {}');
    }
    if (!isObj(body)) throw invalidPayload('body is not a JSON object');
    let list = [...models.keys()].filter((m) => !unavailable.has(m));
    if (body.models !== undefined) {
      if (!Array.isArray(body.models) || !body.models.every((m) => typeof m === 'string')) {
        throw invalidPayload('"models" must be an array of strings');
      }
      const wanted = new Set(body.models as string[]);
      list = list.filter((m) => wanted.has(m)); // [INF] the SPEC's optional filter
    }
    sendJson(ex, 200, JSON.stringify({ models: list }), 'ok');
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const id = randomUUID();
    res.setHeader('X-Snowflake-Request-ID', id); // every response (§3.1, §6)
    const rec: ReceivedRequest = {
      id,
      method: req.method ?? 'GET',
      path,
      headers: flattenHeaders(req.headers),
      body: undefined,
      outcome: 'pending',
      startedAt: Date.now(),
    };
    record(rec);
    const ex = new Exchange(req, res, rec, onAbort, (e) => active.delete(e));
    active.add(ex);
    try {
      const raw = await readBody(req, path.includes('/cortex/v1/') ? MAX_V1_BODY : MAX_BODY);
      if (raw === null || ex.ended) return;
      let body: unknown;
      let parsed = false;
      if (raw.length > 0) {
        const text = raw.toString('utf8');
        try {
          body = JSON.parse(text);
          parsed = true;
        } catch {
          body = text;
        }
        rec.body = body;
      }
      const gw = gatewayRoute(path); // the Cortex AI Gateway's paths (gateway.ts)
      const v1: Endpoint | undefined = Object.hasOwn(V1_ENDPOINTS, path) ? V1_ENDPOINTS[path] : path === RESPONSES_PATH ? responsesEndpoint : gw !== 'models' ? gw : undefined;
      const route = path === COMPLETE_PATH || path === STATEMENTS_PATH || path === EMBED_PATH || v1 ? 'POST' : path === MODELS_PATH || gw === 'models' ? 'GET' : undefined;
      if (!route) throw new CortexError(404, `Not found: ${path}`, undefined, 'unknown path');
      if (rec.method !== route) {
        throw new CortexError(405, `Method ${rec.method} not allowed`, undefined, `use ${route}`, { Allow: route });
      }
      const auth = authenticate(req.headers, policy);
      if (!auth.ok) throw auth.error;
      const refused = credentialRefusal(account, path, req.socket.remoteAddress) ?? (v1 && !gw ? v1Refusal(knobs.v1, path) : undefined);
      if (refused) throw refused;
      if (gw === 'models') throw noModelList();
      if (path === STATEMENTS_PATH) {
        const r = runStatement(body, { account, models, requests });
        return sendJson(ex, r.status, JSON.stringify(r.body), r.status === 200 ? 'ok' : 'rejected');
      }
      if (path === MODELS_PATH) return handleModels(ex, raw, body);
      // §2.1: Content-Type application/json is required; the 415 answer mirrors §1's [INF].
      const ct = req.headers['content-type'] ?? '';
      if (!ct.toLowerCase().includes('application/json')) {
        throw new CortexError(415, 'Invalid input value. null', '391910', 'Content-Type must be application/json [INF]');
      }
      if (!parsed) throw invalidPayload(raw.length === 0 ? 'empty body' : 'body is not JSON');
      if (path === EMBED_PATH) return answerEmbed(ex, body, { unavailable, takeFault: () => faults.shift(), sendJson, sendError });
      await handleComplete(ex, body, v1);
    } catch (e) {
      if (ex.ended) return;
      if (e instanceof CortexError) return sendError(ex, e);
      log(`internal error: ${(e as Error)?.stack ?? e}`);
      sendError(ex, new CortexError(500, 'Internal error. Please retry.', undefined, String(e)));
    }
  }

  // ---- admin surface (/_emulator/*): not recorded, no auth ----
  async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const reply = (status: number, obj: unknown) => {
      const s = JSON.stringify(obj);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
      res.end(s);
    };
    try {
      const raw = await readBody(req);
      if (raw === null) return;
      const action = path.slice('/_emulator/'.length);
      if (action === 'requests') {
        if (req.method !== 'GET') return reply(405, { message: 'use GET' });
        return reply(200, requests);
      }
      if (action === 'account' && req.method === 'GET') return reply(200, account);
      if (!['script', 'inject', 'knobs', 'reset', 'account'].includes(action)) return reply(404, { message: `Not found: ${path}` });
      if (req.method !== 'POST') return reply(405, { message: 'use POST' });
      let body: unknown = undefined;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return reply(400, { message: 'body is not JSON' });
        }
      }
      const list = Array.isArray(body) ? body : [body];
      switch (action) {
        case 'script':
          api.script(...list.map(checkReply));
          return reply(200, { ok: true, queued: scripts.length });
        case 'inject':
          api.inject(...list.map(checkFault));
          return reply(200, { ok: true, queued: faults.length });
        case 'knobs':
          api.setKnobs(body as Partial<Knobs>);
          return reply(200, { ok: true, knobs });
        case 'account':
          api.setAccount(body as Partial<AccountState>);
          return reply(200, { ok: true, account });
        default:
          api.reset();
          return reply(200, { ok: true });
      }
    } catch (e) {
      if (!res.headersSent) reply(400, { message: (e as Error).message });
    }
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const p = path.startsWith('/_emulator/') ? handleAdmin(req, res, path) : handleApi(req, res, path);
    p.catch((e) => {
      log(`unhandled: ${(e as Error)?.stack ?? e}`);
      res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const api: Emulator = {
    url,
    apiBase: `${url}/api/v2`,
    port,
    get requests() {
      return requests;
    },
    get knobs() {
      return knobs;
    },
    account,
    setAccount,
    script(...replies) {
      scripts.push(...replies.map(checkReply));
    },
    inject(...fs) {
      faults.push(...fs.map(checkFault));
    },
    setKnobs(k) {
      knobs = { ...knobs, ...checkKnobs(k) };
    },
    waitForAbort(pred = () => true) {
      const done = requests.find((r) => r.outcome === 'aborted' && !delivered.has(r) && pred(r));
      if (done) {
        delivered.add(done);
        return Promise.resolve(done);
      }
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    reset() {
      setAccount({ ...baseAccount, unavailableInRegion: [...baseAccount.unavailableInRegion] });
      scripts = [];
      faults = [];
      requests.length = 0;
      waiters = [];
      delivered = new WeakSet();
      knobs = { ...baseKnobs };
    },
    close() {
      for (const ex of active) ex.cancel();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return api;
}
