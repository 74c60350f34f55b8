// The contract every upstream wire implements: encode a canonical request, decode the answer into
// canonical events. Decoders are push-style and synchronous so one upstream chunk becomes one client write.
import type { ChatRequest, StreamEvent } from '../core/types.js';
import type { Deployment } from '../config/types.js';

export type Emit = (event: StreamEvent) => void;

export interface DecoderContext {
  /** The max_tokens that was sent upstream (to tell `length` from `stop`). */
  maxTokens?: number;
  /** Snowflake's X-Snowflake-Request-ID, when the response carried one. */
  requestId?: string;
}

export interface StreamDecoder {
  /** Feed the next piece of the upstream SSE body (already UTF-8 decoded, any split). */
  feed(text: string, emit: Emit): void;
  /** The body ended: flush, then emit `usage` (if any) and exactly one `finish` — or an `error`. */
  end(emit: Emit): void;
}

export interface EncodedRequest {
  /** Path appended to the deployment's api_base, e.g. /cortex/inference:complete */
  path: string;
  body: Record<string, unknown>;
  /** The max_tokens actually sent (for the decoder's finish-reason rule). */
  maxTokens?: number;
  /** Extra request headers this wire needs (e.g. anthropic-version); credentials come from snowflake/auth. */
  headers?: Record<string, string>;
  /** What the encoding changed from the client's request (e.g. thinking dropped to keep its max_tokens): logged and sent back in x-cortex-proxy-warning. */
  warnings?: string[];
}

export interface Wire {
  name: string;
  /** Canonical request → upstream body. Throws ProxyError(invalid_request) for what the model cannot do. */
  encodeRequest(req: ChatRequest, deployment: Deployment): EncodedRequest;
  /** Decoder for a 200 text/event-stream body. */
  createStreamDecoder(ctx: DecoderContext): StreamDecoder;
  /** Decode a complete 200 JSON body (stream:false answer, or an error dressed as 200). */
  decodeJson(body: unknown, ctx: DecoderContext, emit: Emit): void;
  /** ChatRequest fields this wire cannot carry (for this deployment's model); present ones go through drop_params. */
  unsupportedFields(req: ChatRequest, deployment?: Deployment): string[];
}
