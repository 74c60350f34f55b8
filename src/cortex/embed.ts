// The Cortex embed wire: texts → batches → POST {api_base}/cortex/inference:embed → vectors in input order.
// The OpenAI-shaped HTTP route that uses it is server/embeddings.ts.
//
// Upstream facts relied on ([SPEC] snowflakedb/snowflake-rest-api-specs specifications/cortex-embed.yaml):
//   request  {model, text: string[] (minItems 1), provisioned_throughput_id?} — no dimensions, no encoding option;
//   response {object:"list", data:[{object:"embedding", embedding: number[][], index}], model, usage:{total_tokens}}
//   where `embedding` is a nested array holding the one vector (LiteLLM's snowflake embedding transformation
//   takes embedding[0]; a flat array is accepted too). `index` is the position within the request's `text`.
// Large inputs are split into batches sent concurrently (a few at a time) and reassembled in input order; the
// whole request fails if any batch fails (after the client's retries, before any output).
import type { Cancel } from '../core/cancel.js';
import type { Deployment } from '../config/types.js';
import { ProxyError } from '../core/errors.js';
import { isObj, type Json } from '../core/json.js';
import { connectionError, type Upstream, type UpstreamResponse } from './client.js';
import { scrubSnowflakeText, snowflakeError, upstreamError } from './snowflake-errors.js';

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

export interface BatchResult {
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

/** What one upstream embed call needs besides the texts: the names for a not-found message, the trace headers, the timeout. */
export interface EmbedCall {
  configuredModels: readonly string[];
  /** The trace headers of one upstream call (a new span each call: server/proxy.ts upstreamTraceHeaders). */
  traceHeaders: () => Record<string, string>;
  requestTimeoutMs: number;
}

/** One batch → one inference:embed call → its vectors in order. */
export async function embedBatch(upstream: Upstream, d: Deployment, texts: string[], cancel: Cancel, call: EmbedCall): Promise<BatchResult> {
  const body = JSON.stringify({ model: d.cortexModel, text: texts });
  const up: UpstreamResponse = await upstream.post(d, EMBED_PATH, body, cancel, call.configuredModels, call.traceHeaders());
  let text: string;
  try {
    text = await up.body.text();
  } catch (err) {
    if (cancel.aborted) throw new ProxyError('upstream', 'client disconnected');
    const e = connectionError(err, d.apiBase, call.requestTimeoutMs);
    throw new ProxyError(e.kind, `the Cortex embedding answer broke off: ${e.message}`, { requestId: up.requestId });
  }
  const { vectors, tokens } = decodeEmbedResponse(text, texts.length, up.requestId);
  return { vectors, tokens, requestId: up.requestId, retries: up.retries };
}
