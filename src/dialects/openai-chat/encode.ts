// FinalMessage → a chat.completion object, and the usage object (integers only) the stream encoder shares.
import type { ChatRequest, FinalMessage, Usage } from '../../core/types.js';
import type { ResponseMeta } from '../dialect.js';
import type { Json as Obj } from '../../core/json.js';

export const int = (v: number | undefined) => (v !== undefined && Number.isFinite(v) && v > 0 ? Math.round(v) : 0);

/** OpenAI usage object; integers only (Zed's serde rejects null/floats). */
export function usageJson(u: Usage | undefined): Obj {
  const prompt = int(u?.promptTokens);
  const completion = int(u?.completionTokens);
  const out: Obj = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: int(u?.totalTokens) || prompt + completion,
    prompt_tokens_details: { cached_tokens: int(u?.cachedTokens) },
  };
  // Roo/Cline read Anthropic-style cache counters on the OpenAI usage object when present.
  if (u && (u.cachedTokens || u.cacheWriteTokens)) {
    out.cache_read_input_tokens = int(u.cachedTokens);
    out.cache_creation_input_tokens = int(u.cacheWriteTokens);
  }
  return out;
}

export function encodeResponse(msg: FinalMessage, _req: ChatRequest, meta: ResponseMeta) {
  const message: Obj = {
    role: 'assistant',
    content: msg.text === '' && msg.toolCalls.length > 0 ? null : msg.text,
    refusal: null,
  };
  if (msg.toolCalls.length) {
    message.tool_calls = msg.toolCalls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.argumentsJson },
    }));
  }
  const reasoning = msg.thinking.map((t) => t.text).join('');
  if (reasoning) message.reasoning_content = reasoning;
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message, finish_reason: msg.finishReason, logprobs: null }],
    usage: usageJson(msg.usage),
  };
}

