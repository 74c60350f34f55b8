// POST /v1/embeddings (OpenAI's shape) → the Cortex embed wire (cortex/embed.ts): decode and check the request,
// admit it, batch it, answer in OpenAI's list shape (base64 is OpenAI's: the float32 vector, little-endian, base64).
import { Cancel } from '../core/cancel.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidRequest } from '../core/errors.js';
import { isObj } from '../core/json.js';
import { estimateEmbedTokens } from '../core/tokens.js';
import { EMBED_CONCURRENCY, batches, embedBatch, type BatchResult, type EmbedCall } from '../cortex/embed.js';
import { overLimit } from '../cortex/deployment-limits.js';
import { preflightEmbedding } from '../cortex/preflight.js';
import type { AppContext, Exchange } from './context.js';
import { parseJson, readBody, sendJson } from './http.js';
import { traceExchange, upstreamTraceHeaders } from './proxy.js';
import type { Route } from './route.js';

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

/** A float vector as OpenAI's base64: float32 little-endian. */
export function floatsToBase64(v: ArrayLike<number>): string {
  const buf = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i], i * 4);
  return buf.toString('base64');
}

/** The whole exchange: decode, route, refuse, batch, call, reassemble, answer in OpenAI's shape. */
export async function proxyEmbeddings(ctx: AppContext, body: unknown, req: IncomingMessage, res: ServerResponse, x: Exchange): Promise<void> {
  const er = decodeEmbeddingRequest(body);
  x.model = er.model;
  traceExchange(x, req);
  const d = ctx.router.resolve(er.model);
  // The same admission as chat (team/gateway.ts): the key's model list, rate limits and budget (input tokens only).
  if (ctx.admit) await ctx.admit(x, { model: er.model, deployment: d, inputTokens: estimateEmbedTokens(er.inputs) }, req);
  x.cortexModel = d.cortexModel;
  x.wire = 'embed';
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

  const slot = await ctx.router.limits.admit(d); // the deployment's rpm/tpm (cortex/deployment-limits.ts)
  if (!slot.ok) throw overLimit(er.model, slot.waitMs);
  const cancel = new Cancel();
  const onClose = () => {
    if (!res.writableFinished) cancel.abort();
  };
  res.once('close', onClose);
  const parts = batches(er.inputs);
  const call: EmbedCall = { configuredModels: ctx.router.modelNames, traceHeaders: () => upstreamTraceHeaders(x), requestTimeoutMs: ctx.config.settings.requestTimeoutMs };
  const results = new Array<BatchResult>(parts.length);
  try {
    let next = 0;
    let failure: unknown;
    const worker = async () => {
      while (failure === undefined && next < parts.length) {
        const i = next++;
        try {
          results[i] = await embedBatch(ctx.upstream, d, parts[i].texts, cancel, call);
        } catch (err) {
          if (failure === undefined) failure = err;
          cancel.abort(); // the other batches are wasted now
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(EMBED_CONCURRENCY, parts.length) }, worker));
    if (failure !== undefined) throw failure;
  } finally {
    res.off('close', onClose);
    slot.release(results.reduce((n, r) => n + (r?.tokens ?? 0), 0));
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
  async handle(ctx: AppContext, req: IncomingMessage, res: ServerResponse, x: Exchange) {
    x.dialect = 'openai-embeddings';
    await proxyEmbeddings(ctx, parseJson(await readBody(req, ctx.config.settings.maxBodyBytes)), req, res, x);
  },
};
