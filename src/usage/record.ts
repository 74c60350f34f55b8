// One usage record per chat request: what the usage log stores, what `cortex-proxy usage` reads back, and what
// the dashboard and metrics are computed from. Nothing secret and no prompt text: model names, counts, timings,
// the client's user-agent *family* (not the full string) and a key *label* (never the key).
import { presentedKey } from '../server/redact.js';
import type { IncomingMessage } from 'node:http';
import type { Exchange } from '../server/context.js';

/** Format version of a record (field `v`). Readers skip lines with a newer major. */
export const RECORD_VERSION = 1;

export interface UsageRecord {
  v: number;
  /** Request start, ISO 8601 UTC. */
  ts: string;
  /** Client dialect: openai-chat, anthropic-messages, openai-responses. */
  dialect: string;
  /** User-agent family: claude-code, codex, cursor, continue, openai-js, curl, …, other, unknown. */
  client: string;
  /** Which key the client used: 'master', 'none' when no master key is configured (virtual keys: their label). */
  key: string;
  /** The model name the client asked for. */
  model: string | null;
  /** The Cortex model that served it. */
  cortex_model: string | null;
  wire: string | null;
  stream: boolean | null;
  /** HTTP status the client got (200 for a stream that failed in-band: see error_kind). */
  status: number;
  latency_ms: number;
  /** Time to first token (first text, thinking or tool-call event). */
  ttft_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  /** Prompt tokens read from the prompt cache (included in prompt_tokens). */
  cached_tokens: number;
  /** Prompt tokens written to the prompt cache (included in prompt_tokens). */
  cache_write_tokens: number;
  retries: number;
  /** The fallback model that answered, when a fallback was used. */
  fallback: string | null;
  /** Snowflake's request id (X-Snowflake-Request-ID): the REQUEST_ID of CORTEX_REST_API_USAGE_HISTORY. */
  request_id: string | null;
  /** The W3C trace id every upstream call of the exchange carried (traceparent): the trace_id of the AI Gateway's AGENT_TRACE_TABLE. Absent in older records. */
  trace_id?: string | null;
  error_kind: string | null;
  /** The error message the client got (cut to 300 characters; messages never carry secrets). */
  error: string | null;
  client_closed: boolean;
  /** Served in demo mode by the built-in emulator: no account, no spend (`cortex-proxy usage` does not count it). */
  demo?: true;
}

/** A small, fixed vocabulary of user-agent families, so logs and metric labels stay bounded. */
const UA_FAMILIES: Array<[RegExp, string]> = [
  [/claude-cli|claude-code/i, 'claude-code'],
  [/codex/i, 'codex'],
  [/cursor/i, 'cursor'],
  [/continue/i, 'continue'],
  [/opencode/i, 'opencode'],
  [/qwen/i, 'qwen-code'],
  [/aider/i, 'aider'],
  [/cline|roo-?code/i, 'cline'],
  [/\bzed\b/i, 'zed'],
  [/open-?webui/i, 'open-webui'],
  [/ai-sdk|vercel/i, 'ai-sdk'],
  [/langchain/i, 'langchain'],
  [/litellm/i, 'litellm'],
  [/^OpenAI\/Python/i, 'openai-python'],
  [/^OpenAI\/JS/i, 'openai-js'],
  [/^Anthropic\/Python/i, 'anthropic-python'],
  [/^Anthropic\/JS/i, 'anthropic-js'],
  [/^curl\//i, 'curl'],
  [/python-requests|python-httpx|aiohttp/i, 'python'],
  [/^node|undici/i, 'node'],
  [/Mozilla\//, 'browser'],
];

export const CLIENT_FAMILIES = [...new Set(UA_FAMILIES.map(([, f]) => f)), 'other', 'unknown'];

const familyCache = new Map<string, string>();

export function userAgentFamily(ua: string | string[] | undefined): string {
  const s = Array.isArray(ua) ? ua[0] : ua;
  if (!s) return 'unknown';
  let family = familyCache.get(s);
  if (family === undefined) {
    family = 'other';
    for (const [re, f] of UA_FAMILIES) {
      if (re.test(s)) {
        family = f;
        break;
      }
    }
    if (familyCache.size >= 1000) familyCache.clear(); // agents send few distinct user agents
    familyCache.set(s, family);
  }
  return family;
}

/** Builds the record of a finished exchange. `now` is performance.now() at the end of the exchange. */
export function toRecord(x: Exchange, req: IncomingMessage, defaultKey: string, now = performance.now()): UsageRecord {
  const latency = Math.max(0, now - x.startedAt);
  const u = x.usage;
  // The key the client presented never lands in a record, even pasted into the model field (server/redact.ts).
  const key = presentedKey(req);
  const safe = (s: string, max: number) => (key && s.includes(key) ? s.split(key).join('***') : s).slice(0, max);
  return {
    v: RECORD_VERSION,
    ts: new Date(Date.now() - latency).toISOString(),
    dialect: x.dialect,
    client: userAgentFamily(req.headers['user-agent']),
    key: x.keyLabel ?? defaultKey,
    model: x.model === undefined ? null : safe(x.model, 200),
    cortex_model: x.cortexModel ?? null,
    wire: x.wire ?? null,
    stream: x.stream ?? null,
    status: x.status ?? 0,
    latency_ms: round1(latency),
    ttft_ms: x.ttftMs === undefined ? null : round1(x.ttftMs),
    prompt_tokens: u?.promptTokens ?? 0,
    completion_tokens: u?.completionTokens ?? 0,
    cached_tokens: u?.cachedTokens ?? 0,
    cache_write_tokens: u?.cacheWriteTokens ?? 0,
    retries: x.retries,
    fallback: (x as Exchange & { fallback?: string }).fallback ?? null,
    request_id: x.requestId ?? null,
    trace_id: x.trace?.traceId ?? null,
    error_kind: x.error ? (x.errorKind ?? 'upstream') : null,
    error: x.error ? safe(x.error, 300) : null,
    client_closed: x.clientClosed === true,
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Is this line a record we can read? (Tolerates older/extra fields; rejects garbage.) */
export function parseRecord(line: string): UsageRecord | undefined {
  if (!line || line.charCodeAt(0) !== 123 /* { */) return undefined;
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof r !== 'object' || r === null) return undefined;
  const o = r as Record<string, unknown>;
  if (typeof o.v !== 'number' || Math.floor(o.v) > RECORD_VERSION || typeof o.ts !== 'string') return undefined;
  const num = (k: string) => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : 0);
  for (const k of ['prompt_tokens', 'completion_tokens', 'cached_tokens', 'cache_write_tokens', 'retries', 'status', 'latency_ms']) o[k] = num(k);
  return o as unknown as UsageRecord;
}
