// The contract every upstream wire implements: encode a canonical request, decode the answer into
// canonical events. Decoders are push-style and synchronous so one upstream chunk becomes one client write.
// Besides the codec, each wire declares what the rest of the proxy asks about it (its name, its paths, the models it
// serves, its `cortex_api: auto` rule, doctor's probe); cortex/wires.ts lists the wires, and everything reads them there.
import type { ChatRequest, StreamEvent } from '../core/types.js';
import type { Deployment, WireName } from '../config/types.js';
import type { ModelInfo } from './model-types.js';
import type { ProxyError } from '../core/errors.js';

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

/** What `cortex_api: auto` knows when it picks a wire for one request (cortex/wires.ts autoWire). */
export interface AutoState {
  /** The deployment's model as the catalogue and its model_info (base_model included) describe it. */
  info: ModelInfo;
  /** The request, when there is one (doctor and the AI Gateway ask without). */
  req?: Pick<ChatRequest, 'responseFormat'> & Partial<Pick<ChatRequest, 'tools' | 'toolChoice' | 'reasoning'>>;
}

/** The models a wire (or its AI Gateway path) serves, when not every model. */
export interface ServedModels {
  test(info: ModelInfo): boolean;
  /** For errors: "<wire> serves <label> only". */
  label: string;
}

export interface Wire {
  /** litellm_params.cortex_api names it so. */
  name: WireName;
  /** Path under the account's api_base (…/api/v2), e.g. /cortex/inference:complete; encodeRequest returns it. */
  path: string;
  /** Path under the Cortex AI Gateway endpoint (…/aigateways/<name>), or undefined: no gateway path, the account's is used. */
  gatewayPath?: string;
  /** The models it serves, or undefined for every model (config validation refuses the rest). */
  serves?: ServedModels;
  /** The models its gateway path serves, when fewer than `serves` (another wire of the family is used instead). */
  gatewayServes?: ServedModels;
  /**
   * cortex_api auto: whether this wire takes the request. The registry's order decides between rules that both
   * hold; exactly one wire says 'otherwise' (taken when no rule holds).
   */
  auto: ((s: AutoState) => boolean) | 'otherwise';
  /**
   * cortex_api auto, once the account answered 403/404 on this wire's endpoint: the wire it uses there instead, from
   * then on (the same deployment is tried again on it at once; cortex/wires.ts keptOff says which wires a refusal
   * covers). Undefined for the wire every account serves: a refusal there is the account's answer, not the endpoint's.
   */
  whenRefused?: WireName;
  /** Images per request this endpoint takes, whatever the model (preflight refuses more; docs/images.md). */
  maxImages: number;
  /**
   * Optional: a 400 this wire can answer by sending the request again without an optional field (the field, learned
   * for the deployment's endpoint from then on), or undefined: server/proxy.ts retries the same deployment once more.
   */
  dropRefusedField?(d: Deployment, err: ProxyError): string | undefined;
  /** `cortex-proxy doctor`'s 1-token request for this wire (snowflake/diagnose.ts probeModel). */
  probe(d: Deployment): ChatRequest;
  /** Canonical request → upstream body. Throws ProxyError(invalid_request) for what the model cannot do. */
  encodeRequest(req: ChatRequest, deployment: Deployment): EncodedRequest;
  /** Decoder for a 200 text/event-stream body. */
  createStreamDecoder(ctx: DecoderContext): StreamDecoder;
  /** Decode a complete 200 JSON body (stream:false answer, or an error dressed as 200). */
  decodeJson(body: unknown, ctx: DecoderContext, emit: Emit): void;
  /** ChatRequest fields this wire cannot carry (for this deployment's model); present ones go through drop_params. */
  unsupportedFields(req: ChatRequest, deployment?: Deployment): string[];
}

/** The probe every wire sends today: one user line, one output token, no stream. */
export function oneTokenProbe(d: Deployment): ChatRequest {
  return {
    model: d.modelName,
    messages: [{ role: 'user', parts: [{ type: 'text', text: 'Reply with one word: ok' }] }],
    maxTokens: 1,
    stream: false,
    includeUsage: false,
    unsupported: [],
  };
}
