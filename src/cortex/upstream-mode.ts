// Which mode each upstream call uses (docs/upstream-modes.md):
//
//   client streams                      → stream: true upstream, events relayed as they come
//   client does not stream, small answer → stream: false upstream: one JSON body, one JSON.parse, decoded by the
//                                          wire's decodeJson (the same decoder class and mapping code as its stream)
//   client does not stream, long answer  → stream: true upstream, aggregated (see below)
//
// Every Cortex chat endpoint takes stream:false. inference:complete: the OpenAPI reference lists `stream` but marks it
// "Reserved" (docs.snowflake.com/developer-guide/snowflake-rest-api/reference/cortex-inference); clients use it and
// get NonStreamingCompleteResponse JSON (/work/shared/reference/cortex-api.md §3.7). /v1/chat/completions: OpenAI's
// default (docs.snowflake.com/en/user-guide/snowflake-cortex/open_ai_sdk shows non-streaming SDK calls).
// /v1/messages: Anthropic's default. Whatever the request said, the answer's content type picks the decoder
// (server/proxy.ts pumpEvents), so an endpoint that streams anyway is read correctly.
//
// Streaming upstream still buys something for a non-streaming client in one case: a long generation. A stream:false
// call sends nothing until the answer is complete, so the whole answer must fit in the silence limit
// (litellm_settings.request_timeout, 600 s by default, or a deployment's timeout), while a stream only needs an
// event within it. So a non-streaming client's call goes out as stream:false only when its max_tokens could be
// generated within that limit at the rate Anthropic's SDKs assume for the same decision (128,000 output tokens an
// hour: their clients refuse a non-streaming call whose max_tokens would take longer than 10 minutes at that rate,
// @anthropic-ai/sdk calculateNonstreamingTimeout); otherwise it is streamed and aggregated as before. With the
// default 600 s that is max_tokens up to 21,333 (inference:complete's default of 16,384 for Claude included; a v1
// call's default of the model's whole output, 32,000 or 64,000, is streamed). Fallbacks are unaffected: a
// non-streaming client has received nothing before the whole answer is decoded, whichever mode was used, so every
// failure can still go to the next candidate.
import type { Deployment, Settings } from '../config/types.js';
import type { ChatRequest } from '../core/types.js';
import { callTimeouts } from './client.js';
import { deploymentInfo } from './models.js';
import type { EncodedRequest } from './wire.js';

/** The output rate assumed for a stream:false call (Anthropic SDKs' figure: 128,000 tokens an hour). */
export const ASSUMED_TOKENS_PER_HOUR = 128_000;

/** Whether this call can go out as stream:false (the client does not stream, and the answer fits the silence limit). */
export function jsonUpstream(req: ChatRequest, encoded: EncodedRequest, deployment: Deployment, settings: Settings): boolean {
  if (req.stream) return false;
  const maxOut = encoded.maxTokens ?? deploymentInfo(deployment).maxOutputTokens;
  if (!maxOut || maxOut <= 0) return false; // no bound on the answer's length: keep streaming
  const silenceMs = callTimeouts(deployment, settings, false).silenceMs ?? settings.requestTimeoutMs;
  return (maxOut / ASSUMED_TOKENS_PER_HOUR) * 3_600_000 <= silenceMs;
}

/** The encoded (streaming) body as a stream:false call: the same for every wire. */
export function asJsonCall(encoded: EncodedRequest): void {
  encoded.body.stream = false;
  delete encoded.body.stream_options; // /v1/chat/completions refuses stream_options without stream: true
}
