// Public types of the Cortex emulator (see index.ts for the API and reference/cortex-api.md for the wire).

export type Variant = 'A' | 'B' | 'C';

/** Wire-shape and timing switches. Every field can be changed at run time with setKnobs / POST /_emulator/knobs. */
export interface Knobs {
  /** Chunk shape (§3.2). 'auto' = C for claude-* and openai-* models, A for the rest [INF]. */
  variant: 'auto' | Variant;
  /** Where usage goes (§3.4): on every chunk cumulatively (A), on a final empty-delta chunk (B), on the last content chunk (C). 'auto' follows the variant. */
  usage: 'auto' | 'cumulative' | 'final' | 'last';
  /** Top-level `created` on chunks. 'auto' = only in variant A (§3.2; Claude chunks lack it, litellm PR #17346). */
  created: 'auto' | boolean;
  /** `event: message` line before each data line (§3.1). */
  eventLines: boolean;
  /** Pretty-printed JSON spread over several `data:` lines (§3.1). */
  multilineData: boolean;
  /** Trailing `data: [DONE]` (§3.1: never observed, so off by default). */
  done: boolean;
  /** finish_reason on the last chunk / top level of stream:false (§3.5: normally absent). Guard blocks always carry it. */
  finishReason: boolean;
  /** Characters of text (and thinking) per chunk. */
  chunkChars: number;
  /** Characters of tool-input JSON per fragment. */
  toolInputChars: number;
  /** How a tool with input {} streams (§3.3): one `input:""` fragment, no input fragment, or `"{}"`. */
  emptyToolInput: 'empty-string' | 'omit' | 'braces';
  /** Delay before the response headers of inference:complete. */
  ttfbMs: number;
  /** Delay between chunks (0 = the whole stream in one write). */
  chunkDelayMs: number;
  /** Reject unknown top-level request fields with 400 "invalid options object" (§2.2 strictness knob). */
  strict: boolean;
  /** How the v1 endpoints (/v1/chat/completions, /v1/messages) answer: normally, 403 003001 (account not entitled), or 404. */
  v1: 'enabled' | 'forbidden' | 'not_found';
}

export const DEFAULT_KNOBS: Readonly<Knobs> = Object.freeze({
  variant: 'auto',
  usage: 'auto',
  created: 'auto',
  eventLines: false,
  multilineData: false,
  done: false,
  finishReason: false,
  chunkChars: 16,
  toolInputChars: 16,
  emptyToolInput: 'empty-string',
  ttfbMs: 0,
  chunkDelayMs: 0,
  strict: true,
  v1: 'enabled',
});

export interface EmulatorOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Accepted PATs. Empty/undefined (and no publicKeys/oauthTokens) = demo mode: any non-empty bearer token is accepted. */
  pats?: string[];
  /** Public keys registered for key-pair JWTs (ALTER USER … SET RSA_PUBLIC_KEY); JWTs are then verified (jwt.ts). */
  publicKeys?: import('./jwt.js').RegisteredPublicKey[];
  /** Accepted OAuth access tokens (X-Snowflake-Authorization-Token-Type: OAUTH). */
  oauthTokens?: string[];
  /** The emulator's clock for JWT iat/exp checks, in ms (default Date.now); lets tests jump across expiry. */
  now?: () => number;
  /** Model ids this "account" can use. Default: every id of KNOWN_MODELS (src/cortex/models.ts). Others → 400 unknown model. */
  models?: string[];
  /** Ids that answer the §6 region-unavailable 400. */
  unavailableInRegion?: string[];
  /** Shorthand for knobs.variant. */
  variant?: Variant;
  knobs?: Partial<Knobs>;
  /** No log lines on stderr (rejections are logged with their reason otherwise). */
  quiet?: boolean;
  /** Most requests kept in `requests` (oldest dropped in batches; bodies can be large). Default 1,000. */
  recordLimit?: number;
  /** The account's identity, SQL API mode and credential failure class (account.ts). */
  account?: Partial<import('./account.js').AccountState>;
}

export interface ScriptedToolCall {
  name: string;
  /** The arguments object. A string is streamed verbatim as the input JSON text (to test malformed input). */
  input: unknown;
  id?: string;
}

/**
 * When a scripted reply may be used. Every given condition must hold; a request that matches no queued reply
 * gets the demo reply and leaves the queue alone (so an agent's side requests — titles, quota probes — do not
 * eat the reply meant for its main turn).
 */
export interface ReplyMatch {
  /** The request offers a tool of this name. */
  tool?: string;
  /** The request is for this Cortex model id. */
  model?: string;
  /** The text of the last `user` message contains this (tool results do not count as text). */
  lastUserIncludes?: string;
}

export interface ScriptedReply {
  /** Only a matching request consumes this reply (default: any request). */
  when?: ReplyMatch;
  text?: string;
  thinking?: string;
  toolCalls?: ScriptedToolCall[];
  /** cached_tokens / cache_write_tokens: prompt-cache reads/writes beside prompt_tokens (each v1 endpoint reports them its own way, §8.3). */
  usage?: { prompt_tokens?: number; completion_tokens?: number; cached_tokens?: number; cache_write_tokens?: number };
  /** Cortex Guard block (§2.5.7): the text becomes guardrails.response_when_unsafe. */
  finishReason?: 'prohibited_content';
}

export type Fault =
  /** A JSON error response instead of an answer (§6). 429 may carry Retry-After. */
  | { status: number; code?: string; message?: string; retryAfter?: number }
  /** 200 stream: `afterChunks` chunks (default 1), then `data: {"error":{"message","code":"500"}}` and the end (§3.6). */
  | { midStreamError: string; code?: string; afterChunks?: number }
  /** 200 application/json carrying an error code, e.g. 390112 session expired (§2.1, §3.6). */
  | { json200Error: { code: string; message: string } }
  /** 200 stream: `n` chunks, then the TCP connection is destroyed (no terminating chunk). */
  | { cutAfterChunks: number }
  /** Never send headers; the request stays open until the client gives up (recorded as 'aborted'). */
  | { hangBeforeHeaders: true }
  /** 200 stream: `n` chunks, then nothing more until the client gives up. */
  | { stallAfterChunks: number }
  /** 200 stream: `n` chunks, then the TCP connection is reset (RST, not a clean close). */
  | { resetAfterChunks: number }
  /** 200 stream: `n` chunks, then only SSE comments (`: keep-alive`) every `everyMs` (default 100) until the client gives up. */
  | { heartbeatAfterChunks: number; everyMs?: number }
  /** Anything at all, verbatim. */
  | { raw: { status?: number; headers?: Record<string, string>; body: string } };

export type Outcome = 'pending' | 'ok' | 'rejected' | 'aborted' | 'faulted';

export interface ReceivedRequest {
  /** The X-Snowflake-Request-ID this request was answered with. */
  id: string;
  method: string;
  /** Path without the query string. */
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Parsed JSON body; the raw text when it was not JSON; undefined when empty. */
  body: unknown;
  /**
   * How it ended: ok (answered 2xx), rejected (answered ≥400, incl. injected status faults), aborted (the
   * client disconnected before we finished), faulted (an injected in-band fault: mid-stream error, 200 JSON
   * error, TCP cut, raw). 'pending' while in flight.
   */
  outcome: Outcome;
  status?: number;
  /** Why it was rejected: the error body sent plus a human detail (real Cortex messages are terse). */
  error?: { message: string; code?: string; detail?: string };
  fault?: Fault;
  /** What the emulator answered (after max_tokens truncation). */
  reply?: {
    text: string;
    thinking?: string;
    toolCalls: Array<{ id: string; name: string; inputJson: string }>;
    usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    truncated: boolean;
  };
  startedAt: number;
  endedAt?: number;
}

export interface Emulator {
  /** http://127.0.0.1:PORT */
  url: string;
  /** url + '/api/v2' (what a LiteLLM api_base points at). */
  apiBase: string;
  port: number;
  close(): Promise<void>;
  /**
   * Queue scripted replies, consumed one per valid inference:complete request, FIFO: each request takes the
   * first queued reply whose `when` it matches (a reply without `when` matches any request).
   */
  script(...replies: ScriptedReply[]): void;
  /** Queue faults, consumed one per valid inference:complete request, before replies. */
  inject(...faults: Fault[]): void;
  setKnobs(k: Partial<Knobs>): void;
  readonly knobs: Readonly<Knobs>;
  /** The emulated account (region, cross-region, credential failure class, SQL API mode): see account.ts. */
  readonly account: Readonly<import('./account.js').AccountState>;
  setAccount(patch: Partial<import('./account.js').AccountState>): void;
  /** Every /api request received, in order. */
  readonly requests: ReceivedRequest[];
  /**
   * Resolves with the first request that ended 'aborted' (and matches `predicate`) that no earlier
   * waitForAbort call returned — so it works whether the abort happens before or after the call.
   */
  waitForAbort(predicate?: (r: ReceivedRequest) => boolean): Promise<ReceivedRequest>;
  /** Clear scripts, faults, requests, and knobs back to construction defaults. */
  reset(): void;
}
