// Trace context on every upstream call (docs/ai-gateway.md). The Cortex AI Gateway builds its traces from request
// headers (https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-ai-gateway/observability):
//   - `traceparent` (W3C Trace Context, https://www.w3.org/TR/trace-context/) gives the span its trace_id;
//   - `x-snowflake-ai-gateway-conversation-id` (else `x-claude-code-session-id`) gives gen_ai.conversation.id.
// Snowflake's own launcher also sends `X-Snowflake-Application` and `snow-agent-name` (snowflake-cli
// docs/ai-gateway.md: "client-supplied and unauthenticated … a usage signal"). cortex-proxy sends all of them on
// every call (the account's /api/v2/cortex ignores them), so a trace does not depend on where the call goes.
//
// Everything taken from the client is validated strictly: a traceparent that is not exactly W3C's version-00 form
// (or a later version's first four fields) starts a new trace; a conversation id outside [A-Za-z0-9._:-]{1,128} is
// not forwarded. Nothing a client sends is copied into a header unchecked (no header injection, no oversized values).
import { randomHex } from '../core/ids.js';
import type { IncomingHttpHeaders } from 'node:http';
import { USER_AGENT } from './client.js';

/** What one client exchange carries to every upstream call it makes. */
export interface TraceContext {
  /** 32 lower-case hex digits, never all zeros. */
  traceId: string;
  /** The W3C trace-flags byte (2 hex digits): the client's, or 01 (sampled) for a new trace. */
  flags: string;
  /** The client sent a valid traceparent and this trace continues it. */
  continued: boolean;
  /** The conversation id (validated), when the client sent one. */
  conversationId?: string;
  /** Which agent (a bounded user-agent family such as claude-code or codex), for snow-agent-name. */
  agent?: string;
  /** The virtual key's label, for the W3C baggage attribute cortex_proxy.key. */
  keyLabel?: string;
}

export const CONVERSATION_HEADER = 'x-snowflake-ai-gateway-conversation-id';
export const APPLICATION_HEADER = 'x-snowflake-application';
export const AGENT_HEADER = 'snow-agent-name';
export const APPLICATION = USER_AGENT; // cortex-proxy/<version>

/**
 * Client headers that name a conversation, in order of preference: an id meant for the gateway, Claude Code's
 * session id (the header the gateway itself falls back to), Codex's session-id (0.171; older builds: session_id),
 * then the generic ones.
 */
const CONVERSATION_SOURCES = [CONVERSATION_HEADER, 'x-claude-code-session-id', 'session-id', 'session_id', 'x-session-id', 'conversation_id', 'x-conversation-id'];

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const CONVERSATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** virtual key labels (team/keys.ts LABEL_RE) are already this narrow; checked again here, as a header value. */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._@+:-]{0,63}$/;
const AGENT = /^[a-z0-9-]{1,32}$/;

function one(v: string | string[] | undefined): string | undefined {
  // Two copies of one header are ambiguous: neither is trusted.
  if (Array.isArray(v)) return v.length === 1 ? v[0] : undefined;
  return v;
}

/**
 * A W3C traceparent → its trace id and flags, or undefined when it is not valid (W3C Trace Context §3.2: version ff
 * is invalid; version 00 is exactly 55 characters; all-zero trace or parent ids are invalid; upper case is invalid;
 * a later version may append fields after a dash, and its first four fields are read as version 00's).
 */
export function parseTraceparent(raw: string | string[] | undefined): { traceId: string; flags: string } | undefined {
  const v = one(raw)?.trim();
  if (!v || v.length > 512) return undefined;
  const m = TRACEPARENT.exec(v);
  if (!m) return undefined;
  const [, version, traceId, parentId, flags, rest] = m;
  if (version === 'ff') return undefined;
  if (version === '00' && (rest !== undefined || v.length !== 55)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  // Only the sampled bit is defined for version 00; keep it, clear the rest (a later version's meaning is unknown).
  return { traceId, flags: (parseInt(flags, 16) & 1) === 1 ? '01' : '00' };
}

/** A conversation id the client sent, if it is a plain identifier (UUIDs, ULIDs, Claude Code and Codex ids). */
export function conversationIdOf(headers: IncomingHttpHeaders): string | undefined {
  for (const name of CONVERSATION_SOURCES) {
    const v = one(headers[name])?.trim();
    if (v === undefined || v === '') continue;
    // The first header present decides: a hostile value is dropped, never replaced by a lower-ranked one.
    return CONVERSATION_ID.test(v) ? v : undefined;
  }
  return undefined;
}

export const newTraceId = (): string => randomHex(16);
const newSpanId = (): string => randomHex(8);

/**
 * The trace context of one client exchange: the client's trace continued when its traceparent is valid, else a
 * new trace. `agent` is a user-agent family (usage/record.ts: a fixed vocabulary); `keyLabel` a virtual key's label.
 */
export function traceFrom(headers: IncomingHttpHeaders, opts: { agent?: string; keyLabel?: string } = {}): TraceContext {
  const parent = parseTraceparent(headers.traceparent);
  const t: TraceContext = parent ? { ...parent, continued: true } : { traceId: newTraceId(), flags: '01', continued: false };
  const conversationId = conversationIdOf(headers);
  if (conversationId) t.conversationId = conversationId;
  if (opts.agent && AGENT.test(opts.agent) && opts.agent !== 'unknown' && opts.agent !== 'other') t.agent = opts.agent;
  if (opts.keyLabel && opts.keyLabel !== 'master' && LABEL.test(opts.keyLabel)) t.keyLabel = opts.keyLabel;
  return t;
}

/**
 * The headers of one upstream call: a fresh span id under the exchange's trace (each call, retry loop included, is
 * one span of cortex-proxy's), the conversation id, the application and agent names, and the virtual key's label as
 * W3C baggage (`cortex_proxy.key=<label>`; whether the gateway turns baggage into a span attribute is not documented).
 */
export function traceHeaders(t: TraceContext): Record<string, string> {
  const h: Record<string, string> = {
    traceparent: `00-${t.traceId}-${newSpanId()}-${t.flags}`,
    [APPLICATION_HEADER]: APPLICATION,
  };
  if (t.conversationId) h[CONVERSATION_HEADER] = t.conversationId;
  if (t.agent) h[AGENT_HEADER] = t.agent;
  if (t.keyLabel) h.baggage = `cortex_proxy.key=${encodeURIComponent(t.keyLabel)}`;
  return h;
}
