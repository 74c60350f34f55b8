// Anthropic Messages dialect (Claude Code, Anthropic SDKs): POST /v1/messages ⇄ canonical request/events.
// Decoding is strict about shapes it must understand (clear 400s naming the field) and lenient about
// everything Anthropic keeps adding (unknown top-level fields ignored, server tools dropped).
// Encoding emits the exact SSE sequence the Anthropic SDK's MessageStream accumulates:
//   message_start → (content_block_start → *_delta… → content_block_stop)* → message_delta → message_stop
// with one open block at a time and contiguous indexes (the SDK looks blocks up by array position).
// Files: decode.ts (request, count_tokens), encode.ts (JSON answer), stream.ts (SSE), errors.ts (envelopes).
import type { Dialect } from '../dialect.js';
import { safeDecode } from './decode.js';
import { encodeResponse } from './encode.js';
import { encodeErrorBody } from './errors.js';
import { AnthropicStreamEncoder } from './stream.js';

export { countTokens, countTokensOf } from './decode.js';
export { anthropicErrorType } from './errors.js';

export const anthropicMessages: Dialect = {
  name: 'anthropic-messages',
  idPrefix: 'msg_',
  paths: ['/v1/messages'],
  decodeRequest: (body, headers) => safeDecode(body, headers),
  createStreamEncoder: (req, meta) => new AnthropicStreamEncoder(req, meta),
  encodeResponse,
  encodeError: encodeErrorBody,
};
