// The emulator's POST /api/v2/cortex/inference:embed ([SPEC] snowflake-rest-api-specs cortex-embed.yaml):
// request {model, text: string[] (minItems 1), provisioned_throughput_id?}; response {object:"list",
// data:[{object:"embedding", embedding:[[…floats…]], index}], model, usage:{total_tokens}} — the embedding is a
// nested array (one vector inside), as the SPEC and LiteLLM's `embedding[0]` show. Vectors are deterministic:
// a hash of (model, text) seeds a PRNG, the vector is L2-normalised and every value is a float32, so a client can
// compare float and base64 answers exactly. Injected faults (emu.inject) apply here as on inference:complete.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { EMBEDDING_MODELS, KNOWN_MODELS } from '../cortex/models.js';
import { CortexError, defaultFaultMessage, invalidPayload, REGION_UNAVAILABLE_MESSAGE, unknownModel } from './errors.js';
import type { Fault, Outcome } from './types.js';
import { isObj } from '../core/json.js';

export const EMBED_PATH = '/api/v2/cortex/inference:embed';
/** Strings per call (https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api/embed-api). */
export const MAX_EMBED_TEXTS = 1280;

/** What answerEmbed needs of the server's exchange (structural). */
export interface EmbedExchange {
  readonly res: ServerResponse;
  readonly ended: boolean;
  readonly rec: { id: string; fault?: Fault };
  finish(outcome: Outcome, status: number): void;
}

export interface EmbedEnv<X extends EmbedExchange> {
  unavailable: ReadonlySet<string>;
  takeFault(): Fault | undefined;
  sendJson(ex: X, status: number, body: string, outcome: Outcome, headers?: Record<string, string>): void;
  sendError(ex: X, err: CortexError, outcome?: Outcome): void;
}


/** Validates like the SPEC (unknown keys rejected, as inference:complete does), then answers or applies a fault. */
export function answerEmbed<X extends EmbedExchange>(ex: X, body: unknown, env: EmbedEnv<X>): void {
  if (!isObj(body)) throw invalidPayload('body is not a JSON object');
  for (const k of Object.keys(body)) {
    if (k !== 'model' && k !== 'text' && k !== 'provisioned_throughput_id') throw invalidPayload(`unknown field "${k}" [SPEC EmbedRequest]`);
  }
  const model = body.model;
  if (typeof model !== 'string' || model === '') throw invalidPayload('"model" is required and must be a string');
  const text = body.text;
  if (!Array.isArray(text) || text.length === 0) throw invalidPayload('"text" must be a non-empty array of strings (minItems 1)');
  if (!text.every((t) => typeof t === 'string')) throw invalidPayload('"text" items must be strings');
  // "The list can contain up to 1280 strings" (REST embed docs, `text`) [text of the error INF].
  if (text.length > MAX_EMBED_TEXTS) throw new CortexError(400, `invalid options object: text has ${text.length} strings, at most ${MAX_EMBED_TEXTS} are allowed`, undefined, 'embed-api.md `text`');
  const pt = body.provisioned_throughput_id;
  if (pt !== undefined && pt !== null && typeof pt !== 'string') throw invalidPayload('"provisioned_throughput_id" must be a string');
  const info = EMBEDDING_MODELS.get(model);
  if (!info) {
    const err = unknownModel(model);
    if (KNOWN_MODELS.has(model)) throw new CortexError(400, err.message, err.code, 'a chat model sent to inference:embed [INF text]');
    throw err;
  }
  if (env.unavailable.has(model)) throw new CortexError(400, REGION_UNAVAILABLE_MESSAGE, undefined, 'model listed in unavailableInRegion');

  const fault = env.takeFault();
  if (fault) {
    ex.rec.fault = fault;
    if ('status' in fault) {
      const d = defaultFaultMessage(fault.status);
      const headers = fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : undefined;
      return env.sendError(ex, new CortexError(fault.status, fault.message ?? d.message, fault.code ?? d.code, 'injected fault', headers));
    }
    if ('json200Error' in fault) {
      const b = JSON.stringify({ code: fault.json200Error.code, message: fault.json200Error.message ?? '', request_id: ex.rec.id });
      return env.sendJson(ex, 200, b, 'faulted');
    }
    if ('midStreamError' in fault) {
      // No stream here: a 200 whose JSON body is an error object.
      return env.sendJson(ex, 200, JSON.stringify({ error: { message: fault.midStreamError, code: fault.code ?? '500' } }), 'faulted');
    }
    if (ex.ended) return;
    if ('raw' in fault) {
      const s = fault.raw.status ?? 200;
      ex.res.writeHead(s, fault.raw.headers ?? {});
      ex.finish('faulted', s);
      ex.res.end(fault.raw.body);
      return;
    }
    if ('cutAfterChunks' in fault) {
      ex.finish('faulted', 200);
      ex.res.socket?.destroy();
      return;
    }
    return; // hangBeforeHeaders / stallAfterChunks: nothing until the client gives up
  }

  const dims = info.dimensions ?? 768;
  let tokens = 0;
  const data = (text as string[]).map((t, index) => {
    tokens += Math.max(1, Math.ceil(Buffer.byteLength(t, 'utf8') / 4));
    return { object: 'embedding', embedding: [fakeVector(model, t, dims)], index };
  });
  env.sendJson(ex, 200, JSON.stringify({ object: 'list', data, model, usage: { total_tokens: tokens } }), 'ok');
}

/** A unit vector of float32 values determined by (model, text). */
export function fakeVector(model: string, text: string, dims: number): number[] {
  const h = createHash('sha256').update(model).update('\0').update(text).digest();
  let a = h.readUInt32LE(0) | 1;
  let b = h.readUInt32LE(4) | 1;
  let c = h.readUInt32LE(8) | 1;
  let d = h.readUInt32LE(12) | 1;
  const v = new Array<number>(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    // xorshift128
    let t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    t = d / 4294967296 - 0.5;
    v[i] = t;
    norm += t * t;
  }
  const s = 1 / Math.sqrt(norm || 1);
  for (let i = 0; i < dims; i++) v[i] = Math.fround(v[i] * s);
  return v;
}
