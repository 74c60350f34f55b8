// FinalMessage → a Messages JSON answer, and the stop-reason, usage and tool-input rules the stream encoder shares.
import type { ChatRequest, FinalMessage, FinishReason, Usage } from '../../core/types.js';
import { randomId } from '../../core/ids.js';
import { BYTES_PER_TOKEN, estimateInputTokens } from '../../core/tokens.js';
import type { ResponseMeta } from '../dialect.js';
import { isObj, type Json } from '../../core/json.js';
import { packReasoning } from './reasoning-signature.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

/** A tool_use stop only when a tool_use block was actually sent (LiteLLM #34692); a truncated call stays max_tokens. */
export function stopReason(reason: FinishReason, sawToolCall: boolean): StopReason {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'content_filter':
      return 'refusal';
    default:
      return sawToolCall ? 'tool_use' : 'end_turn';
  }
}

export interface AnthropicUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  output_tokens: number;
}

/** Canonical prompt tokens include cache reads/writes; Anthropic's input_tokens counts only the uncached rest. */
export function anthropicUsage(u: Usage): AnthropicUsage {
  const read = u.cachedTokens ?? 0;
  const write = u.cacheWriteTokens ?? 0;
  return {
    input_tokens: Math.max(0, u.promptTokens - read - write),
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
    output_tokens: u.completionTokens,
  };
}

export const cacheCreation = (u: AnthropicUsage) => ({
  ephemeral_5m_input_tokens: u.cache_creation_input_tokens,
  ephemeral_1h_input_tokens: 0,
});

export function parseToolInput(json: string): Json {
  if (!json) return {};
  try {
    const v = JSON.parse(json);
    return isObj(v) ? v : {};
  } catch {
    return {}; // truncated (stop_reason max_tokens): never a runnable-looking partial object
  }
}


export function encodeResponse(msg: FinalMessage, req: ChatRequest, meta: ResponseMeta) {
  const content: Json[] = [];
  // An OpenAI reasoning item travels in our own signature blob (reasoning-signature.ts), so the client's replay
  // restores it; one without encrypted_content and without text carries nothing.
  for (const t of msg.thinking) {
    if (t.openai?.encryptedContent) content.push({ type: 'thinking', thinking: t.text, signature: packReasoning(t.openai) });
    else if (t.text || t.signature) content.push({ type: 'thinking', thinking: t.text, signature: t.signature ?? '' });
  }
  if (msg.text) content.push({ type: 'text', text: msg.text });
  let outChars = msg.text.length;
  for (const c of msg.toolCalls) {
    outChars += c.argumentsJson.length;
    content.push({ type: 'tool_use', id: c.id || randomId('toolu_', 12), name: c.name, input: parseToolInput(c.argumentsJson) });
  }
  const u = anthropicUsage(msg.usage);
  if (msg.usage.promptTokens <= 0) u.input_tokens = estimateInputTokens(req);
  if (u.output_tokens <= 0 && outChars > 0) u.output_tokens = Math.ceil(outChars / BYTES_PER_TOKEN);
  return {
    id: meta.id,
    type: 'message',
    role: 'assistant',
    model: meta.model,
    content,
    stop_reason: stopReason(msg.finishReason, msg.toolCalls.length > 0),
    stop_sequence: null,
    usage: { ...u, cache_creation: cacheCreation(u) },
  };
}

