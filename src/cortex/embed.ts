// POST /v1/embeddings (OpenAI) → POST {api_base}/cortex/inference:embed (Snowflake).
//
// Upstream facts relied on ([SPEC] snowflakedb/snowflake-rest-api-specs specifications/cortex-embed.yaml):
//   request  {model, text: string[] (minItems 1), provisioned_throughput_id?} — no dimensions, no encoding option;
//   response {object:"list", data:[{object:"embedding", embedding: number[][], index}], model, usage:{total_tokens}}
//   where `embedding` is a nested array holding the one vector (LiteLLM's snowflake embedding transformation
//   takes embedding[0]; a flat array is accepted too). `index` is the position within the request's `text`.
// Large inputs are split into batches sent concurrently (a few at a time) and reassembled in input order; the
// whole request fails if any batch fails (after the client's retries, before any output). base64 is OpenAI's:
// the float32 vector, little-endian, base64-encoded.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Deployment } from '../config/types.js';
import { overLimit } from './deployment-limits.js';
import { ProxyError, invalidRequest } from '../core/errors.js';
import type { Route } from '../server/app.js';
import { parseJson, readBody, sendJson } from '../server/http.js';
import { traceExchange, upstreamTraceHeaders, type Exchange, type ProxyContext } from '../server/proxy.js';
import { connectionError, type UpstreamResponse } from './client.js';
import { preflightEmbedding } from './preflight.js';
import { scrubSnowflakeText, snowflakeError, upstreamError } from './snowflake-errors.js';
import { isObj, type Json } from '../core/json.js';

export const EMBED_PATH = '/cortex/inference:embed';
/**
 * Texts per upstream call: inference:embed takes "up to 1280 strings, each of which can be up to 4096 characters long"
 * (https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api/embed-api, `text`; docs/cortex-limits.md).
 */
export const EMBED_BATCH_TEXTS = 1280;
/**
 * UTF-8 bytes per upstream call (a batch closes early when its texts are long). Snowflake documents no body limit for
 * inference:embed; 4 MiB stays under the 10 MB the REST docs once gave for inference:complete bodies.
 */
export const EMBED_BATCH_BYTES = 4 * 1024 * 1024;
/** Upstream calls in flight per client request. */
export const EMBED_CONCURRENCY = 4;
/** Inputs per request (OpenAI's limit). */
export const MAX_EMBED_INPUTS = 2048;

export interface EmbeddingRequest {
  model: string;
  inputs: string[];
  encodingFormat: 'float' | 'base64';
  dimensions?: number;
}


/** OpenAI embeddings request → EmbeddingRequest; a 400 naming the field for anything else. */
export function decodeEmbeddingRequest(body: unknown): EmbeddingRequest {
  if (!isObj(body)) throw invalidRequest('the request body must be a JSON object with model and input');
  const model = body.model;
  if (typeof model !== 'string' || model.trim() === '') throw invalidRequest("'model' is required: the model_name of a configured embedding model", 'model');
  const input = body.input;
  if (input === undefined || input === null) throw invalidRequest("'input' is required: a string or an array of strings", 'input');
  let inputs: string[];
  if (typeof input === 'string') inputs = [input];
  else if (Array.isArray(input)) {
    if (input.length === 0) throw invalidRequest("'input' must not be an empty array", 'input');
    if (input.some((v) => typeof v === 'number' || Array.isArray(v))) {
      throw invalidRequest(
        "'input' holds token arrays; Cortex embeds text only and cortex-proxy has no tokenizer for its models. Send the text (a string or an array of strings).",
        'input',
      );
    }
    const bad = input.findIndex((v) => typeof v !== 'string');
    if (bad !== -1) throw invalidRequest(`'input[${bad}]' must be a string`, 'input');
    inputs = input as string[];
  } else if (typeof input === 'number') {
    throw invalidRequest("'input' is a number: send the text to embed as a string or an array of strings", 'input');
  } else throw invalidRequest("'input' must be a string or an array of strings", 'input');
  if (inputs.length > MAX_EMBED_INPUTS) throw invalidRequest(`'input' has ${inputs.length} items; at most ${MAX_EMBED_INPUTS} per request`, 'input');
  const empty = inputs.findIndex((s) => s === '');
  if (empty !== -1) throw invalidRequest(inputs.length === 1 ? "'input' must not be an empty string" : `'input[${empty}]' must not be an empty string`, 'input');

  const fmt = body.encoding_format;
  let encodingFormat: EmbeddingRequest['encodingFormat'] = 'float';
  if (fmt !== undefined && fmt !== null) {
    if (fmt !== 'float' && fmt !== 'base64') throw invalidRequest(`'encoding_format' must be 'float' or 'base64', got ${JSON.stringify(fmt)}`, 'encoding_format');
    encodingFormat = fmt;
  }
  const req: EmbeddingRequest = { model, inputs, encodingFormat };
  const dims = body.dimensions;
  if (dims !== undefined && dims !== null) {
    if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1) throw invalidRequest("'dimensions' must be a positive integer", 'dimensions');
    req.dimensions = dims;
  }
  // user, input_type and other hints: accepted, nothing to forward.
  return req;
}

/** Input tokens of an embedding request, estimated like chat prompts (UTF-8 bytes / 3.5, plus one per text). */
export function estimateEmbedTokens(inputs: string[]): number {
  let bytes = 0;
  for (const s of inputs) bytes += Buffer.byteLength(s, 'utf8');
  return Math.ceil(bytes / 3.5) + inputs.length;
}

/** Splits texts into upstream batches (by count and bytes), in order. */
export function batches(inputs: string[], maxTexts = EMBED_BATCH_TEXTS, maxBytes = EMBED_BATCH_BYTES): Array<{ start: number; texts: string[] }> {
  const out: Array<{ start: number; texts: string[] }> = [];
  let cur: string[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < inputs.length; i++) {
    const b = Buffer.byteLength(inputs[i], 'utf8');
    if (cur.length > 0 && (cur.length >= maxTexts || bytes + b > maxBytes)) {
      out.push({ start, texts: cur });
      cur = [];
      start = i;
      bytes = 0;
    }
    cur.push(inputs[i]);
    bytes += b;
  }
  if (cur.length) out.push({ start, texts: cur });
  return out;
}

/** A float vector as OpenAI's base64: float32 little-endian. */
export function floatsToBase64(v: ArrayLike<number>): string {
  const buf = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i], i * 4);
  return buf.toString('base64');
}

interface BatchResult {
  vectors: number[][];
  tokens: number;
  requestId?: string;
  retries: number;
}


/** A 200 inference:embed body → one vector per text, in order. */
export function decodeEmbedResponse(text: string, count: number, requestId?: string): { vectors: number[][]; tokens: number } {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw upstreamError('Cortex answered inference:embed with a body that is not JSON', requestId);
  }
  if (!isObj(obj)) throw upstreamError('Cortex answered inference:embed with JSON that is not an object', requestId);
  if (!Array.isArray(obj.data)) {
    if (isObj(obj.error) || typeof obj.error === 'string') {
      const e = obj.error as Json | string;
      const msg = typeof e === 'string' ? e : typeof e.message === 'string' ? e.message : 'unknown error';
      throw upstreamError(`Cortex failed to embed: ${scrubSnowflakeText(msg)}`, requestId);
    }
    if (obj.code !== undefined || obj.message !== undefined) throw snowflakeError(200, obj, requestId);
    throw upstreamError('Cortex answered inference:embed without a data array', requestId);
  }
  if (obj.data.length !== count) throw upstreamError(`Cortex returned ${obj.data.length} embeddings for ${count} texts`, requestId);
  const vectors = new Array<number[]>(count);
  obj.data.forEach((item, pos) => {
    if (!isObj(item)) throw upstreamError('Cortex returned an embedding entry that is not an object', requestId);
    const index = typeof item.index === 'number' ? item.index : pos;
    if (!Number.isInteger(index) || index < 0 || index >= count || vectors[index] !== undefined)
      throw upstreamError(`Cortex returned an embedding with a bad or repeated index (${JSON.stringify(item.index)})`, requestId);
    let v = item.embedding;
    if (Array.isArray(v) && v.length === 1 && Array.isArray(v[0])) v = v[0]; // the SPEC's nested form
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)))
      throw upstreamError('Cortex returned an embedding that is not an array of numbers', requestId);
    vectors[index] = v as number[];
  });
  const usage = obj.usage;
  const tokens = isObj(usage) && typeof usage.total_tokens === 'number' && usage.total_tokens >= 0 ? usage.total_tokens : 0;
  return { vectors, tokens };
}

async function embedBatch(ctx: ProxyContext, d: Deployment, texts: string[], signal: AbortSignal, x: Exchange): Promise<BatchResult> {
  const body = JSON.stringify({ model: d.cortexModel, text: texts });
  const up: UpstreamResponse = await ctx.upstream.post(d, EMBED_PATH, body, signal, ctx.router.modelNames, upstreamTraceHeaders(x));
  let text: string;
  try {
    text = await up.body.text();
  } catch (err) {
    if (signal.aborted) throw new ProxyError('upstream', 'client disconnected');
    const e = connectionError(err, d.apiBase, ctx.config.settings.requestTimeoutMs);
    throw new ProxyError(e.kind, `the Cortex embedding answer broke off: ${e.message}`, { requestId: up.requestId });
  }
  const { vectors, tokens } = decodeEmbedResponse(text, texts.length, up.requestId);
  return { vectors, tokens, requestId: up.requestId, retries: up.retries };
}

/** The whole exchange: decode, route, refuse, batch, call, reassemble, answer in OpenAI's shape. */
export async function proxyEmbeddings(ctx: ProxyContext, body: unknown, req: IncomingMessage, res: ServerResponse, x: Exchange): Promise<void> {
  const er = decodeEmbeddingRequest(body);
  x.model = er.model;
  traceExchange(x, req);
  const d = ctx.router.resolve(er.model);
  const wait = ctx.router.limits.waitMs(d); // the deployment's rpm/tpm (cortex/deployment-limits.ts)
  if (wait > 0) throw overLimit(er.model, wait);
  // The same admission as chat (team/gateway.ts): the key's model list, rate limits and budget (input tokens only).
  if (ctx.admit) await ctx.admit(x, { model: er.model, deployment: d, inputTokens: estimateEmbedTokens(er.inputs) }, req);
  x.cortexModel = d.cortexModel;
  x.wire = 'embed';
  ctx.router.limits.countRequest(d);
  const info = preflightEmbedding(er.model, d);
  if (er.dimensions !== undefined && er.dimensions !== info.dimensions) {
    const native = info.dimensions ? ` (${d.cortexModel} returns ${info.dimensions})` : '';
    if (!ctx.config.settings.dropParams) {
      throw invalidRequest(
        `Cortex embedding models have a fixed size: 'dimensions' ${er.dimensions} cannot be honoured${native}. Remove it, or set litellm_settings.drop_params: true to have cortex-proxy drop it.`,
        'dimensions',
      );
    }
    ctx.log.debug(`dropped unsupported parameter: dimensions=${er.dimensions}${native}`);
  }

  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  const parts = batches(er.inputs);
  const results = new Array<BatchResult>(parts.length);
  try {
    let next = 0;
    let failure: unknown;
    const worker = async () => {
      while (failure === undefined && next < parts.length) {
        const i = next++;
        try {
          results[i] = await embedBatch(ctx, d, parts[i].texts, abort.signal, x);
        } catch (err) {
          if (failure === undefined) failure = err;
          abort.abort(); // the other batches are wasted now
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(EMBED_CONCURRENCY, parts.length) }, worker));
    if (failure !== undefined) throw failure;
  } finally {
    res.off('close', onClose);
  }

  let tokens = 0;
  let retries = 0;
  const data = new Array<{ object: 'embedding'; index: number; embedding: number[] | string }>(er.inputs.length);
  parts.forEach((p, i) => {
    const r = results[i];
    tokens += r.tokens;
    retries += r.retries;
    r.vectors.forEach((v, j) => {
      const index = p.start + j;
      data[index] = { object: 'embedding', index, embedding: er.encodingFormat === 'base64' ? floatsToBase64(v) : v };
    });
  });
  const requestId = results[0]?.requestId;
  x.requestId = requestId;
  x.retries = retries;
  x.usage = { promptTokens: tokens, completionTokens: 0, totalTokens: tokens };
  const headers: Record<string, string> = { ...ctx.extraHeaders };
  if (requestId) headers['x-request-id'] = requestId;
  if (ctx.beforeEnd) await ctx.beforeEnd(x); // the usage row is stored before the answer goes out
  sendJson(res, 200, { object: 'list', data, model: er.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }, headers);
}

/** The ROUTES entry for /v1/embeddings and /embeddings. */
export const embeddingsRoute: Route = {
  method: 'POST',
  async handle(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, x: Exchange) {
    x.dialect = 'openai-embeddings';
    await proxyEmbeddings(ctx, parseJson(await readBody(req, ctx.config.settings.maxBodyBytes)), req, res, x);
  },
};
