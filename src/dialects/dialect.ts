// The contract every client dialect implements (OpenAI chat, Anthropic messages, OpenAI responses):
// client JSON → ChatRequest, canonical events → the client's SSE, final message → the client's JSON.
import type { ChatRequest, FinalMessage, StreamEvent } from '../core/types.js';
import type { ProxyError } from '../core/errors.js';

export interface ResponseMeta {
  /** The id the client sees for this response (same on every chunk). */
  id: string;
  /** Unix seconds. */
  created: number;
  /** The model name the client asked for (echoed back, never the Cortex id). */
  model: string;
}

export interface StreamEncoder {
  /** Text to write to the client for this event ('' when nothing). An `error` event yields the dialect's in-stream error. */
  event(e: StreamEvent): string;
  /** Closing frames after `finish` or `error` (e.g. `data: [DONE]`). */
  end(): string;
}

export interface Dialect {
  name: string;
  /** Prefix of the response ids the client sees (`chatcmpl-`, `msg_`, `resp_`): clients and logs recognise them. */
  idPrefix: string;
  /** The HTTP paths it answers on (server/app.ts registers them from dialects/index.ts); absent when only another dialect uses it. */
  paths?: readonly string[];
  /** Validates and converts the client's body; throws ProxyError (invalid_request) with a clear message. */
  decodeRequest(body: unknown, headers: Record<string, string | string[] | undefined>): ChatRequest;
  createStreamEncoder(req: ChatRequest, meta: ResponseMeta): StreamEncoder;
  encodeResponse(msg: FinalMessage, req: ChatRequest, meta: ResponseMeta): unknown;
  /** The JSON error body in the client's own envelope. */
  encodeError(err: ProxyError): unknown;
}
