// Finish-reason and usage rules, in one place: Cortex often sends neither (cortex-api.md §3.4–3.5).
import type { FinishReason, Usage } from './types.js';

export interface FinishFacts {
  /** Any tool call was streamed. */
  sawToolCall: boolean;
  /** What the upstream said, if anything (Cortex: usually nothing; Guard: prohibited_content). */
  upstreamReason?: string | null;
  /** max_tokens sent upstream. */
  maxTokens?: number;
  usage?: Usage;
}

/** Maps any upstream finish/stop reason string to the canonical one; undefined when it says nothing. */
export function normalizeFinishReason(reason: string | null | undefined): FinishReason | undefined {
  switch (reason) {
    case 'stop':
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'length':
    case 'max_tokens':
      return 'length';
    case 'tool_calls':
    case 'tool_use':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
    case 'prohibited_content':
    case 'refusal':
      return 'content_filter';
    default:
      return undefined;
  }
}

/**
 * content_filter if the upstream said so; length if the output hit max_tokens (a truncated tool call
 * must never look runnable); tool_calls if any tool call was seen; else stop.
 */
export function deriveFinishReason(f: FinishFacts): FinishReason {
  const said = normalizeFinishReason(f.upstreamReason);
  if (said === 'content_filter') return 'content_filter';
  const hitLimit =
    said === 'length' ||
    (f.maxTokens !== undefined && f.usage !== undefined && f.usage.completionTokens >= f.maxTokens);
  if (hitLimit) return 'length';
  if (f.sawToolCall || said === 'tool_calls') return 'tool_calls';
  return 'stop';
}

/** Usage from any upstream usage object (Cortex, OpenAI or Anthropic field names); undefined if empty. */
export function normalizeUsage(u: unknown): Usage | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const o = u as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const prompt = num(o.prompt_tokens) ?? num(o.input_tokens);
  const completion = num(o.completion_tokens) ?? num(o.output_tokens);
  if (prompt === undefined && completion === undefined) return undefined;
  const details = (o.prompt_tokens_details ?? {}) as Record<string, unknown>;
  const cached = num(o.cache_read_input_tokens) ?? num(details.cached_tokens);
  const cacheWrite = num(o.cache_write_input_tokens) ?? num(o.cache_creation_input_tokens) ?? num(details.cache_write_tokens);
  const p = prompt ?? 0;
  const c = completion ?? 0;
  const usage: Usage = { promptTokens: p, completionTokens: c, totalTokens: num(o.total_tokens) ?? p + c };
  if (cached) usage.cachedTokens = cached;
  if (cacheWrite) usage.cacheWriteTokens = cacheWrite;
  return usage;
}

export const ZERO_USAGE: Usage = Object.freeze({ promptTokens: 0, completionTokens: 0, totalTokens: 0 }) as Usage;
