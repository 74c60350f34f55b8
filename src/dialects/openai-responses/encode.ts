// FinalMessage → a Responses JSON object, and the response/item builders the stream encoder shares.
import type { ChatRequest, FinalMessage, OpenAIReasoning, Usage } from '../../core/types.js';
import { randomId } from '../../core/ids.js';
import type { Json } from '../../core/json.js';
import type { ResponseMeta } from '../dialect.js';
import { customToolNames, unwrapCustomToolInput } from '../freeform.js';
import { packThinking } from './reasoning-blob.js';

export function usageObject(u: Usage) {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedTokens ?? 0, cache_write_tokens: u.cacheWriteTokens ?? 0 },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.totalTokens,
  };
}

export type Status = 'completed' | 'incomplete' | 'failed' | 'in_progress';

export function responseObject(
  req: ChatRequest,
  meta: ResponseMeta,
  status: Status,
  output: unknown[],
  extra: { usage?: Usage; error?: { code: string; message: string }; incompleteReason?: string } = {},
) {
  const tc = req.toolChoice;
  return {
    id: meta.id,
    object: 'response',
    created_at: meta.created,
    status,
    background: false,
    error: extra.error ?? null,
    incomplete_details: extra.incompleteReason ? { reason: extra.incompleteReason } : null,
    instructions: null, // not echoed: Codex's instructions are large and the client already has them
    max_output_tokens: req.maxTokens ?? null,
    model: meta.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: req.reasoning?.effort ?? null, summary: null },
    store: false,
    temperature: req.temperature ?? null,
    text: { format: { type: 'text' } },
    tool_choice: !tc ? 'auto' : tc.type === 'tool' ? { type: 'function', name: tc.name } : tc.type,
    tools: [],
    top_p: req.topP ?? null,
    truncation: 'disabled',
    usage: extra.usage ? usageObject(extra.usage) : null,
    metadata: {},
  };
}

export function terminalFor(reason: FinalMessage['finishReason']): { status: Status; incompleteReason?: string } {
  if (reason === 'length') return { status: 'incomplete', incompleteReason: 'max_output_tokens' };
  if (reason === 'content_filter') return { status: 'incomplete', incompleteReason: 'content_filter' };
  return { status: 'completed' };
}

export const messageItem = (id: string, text: string, status: Status) => ({
  id,
  type: 'message',
  status,
  role: 'assistant',
  content: [{ type: 'output_text', text, annotations: [] }],
});

/**
 * A reasoning output item. An OpenAI one (from Cortex's Responses API) goes out as Cortex gave it: its id, summary
 * parts and encrypted_content, so the client's replay reaches Cortex unchanged. A Claude signature travels in our
 * own prefixed blob instead.
 */
export function reasoningItem(id: string, text: string, signature: string | undefined, openai?: OpenAIReasoning) {
  const summary = openai?.summary ?? (text ? [text] : []);
  const item: Json = { id: openai?.id ?? id, type: 'reasoning', summary: summary.map((t) => ({ type: 'summary_text', text: t })) };
  if (openai?.encryptedContent) item.encrypted_content = openai.encryptedContent;
  else if (signature) item.encrypted_content = packThinking(text, signature);
  return item;
}

export const functionCallItem = (id: string, callId: string, name: string, args: string, status: Status) => ({
  id,
  type: 'function_call',
  status,
  call_id: callId,
  name,
  arguments: args,
});

export const customCallItem = (id: string, callId: string, name: string, input: string, status: Status) => ({
  id,
  type: 'custom_tool_call',
  status,
  call_id: callId,
  name,
  input,
});

export const itemId = (prefix: string) => randomId(prefix, 12);

export function encodeResponse(msg: FinalMessage, req: ChatRequest, meta: ResponseMeta): unknown {
  const { status, incompleteReason } = terminalFor(msg.finishReason);
  const custom = customToolNames(req);
  const output: unknown[] = [];
  for (const t of msg.thinking) output.push(reasoningItem(itemId('rs_'), t.text, t.signature, t.openai));
  if (msg.text) output.push(messageItem(itemId('msg_'), msg.text, status));
  for (const c of msg.toolCalls) {
    output.push(
      custom.has(c.name)
        ? customCallItem(itemId('ctc_'), c.id, c.name, unwrapCustomToolInput(c.argumentsJson), status)
        : functionCallItem(itemId('fc_'), c.id, c.name, c.argumentsJson.trim() ? c.argumentsJson : '{}', status),
    );
  }
  return responseObject(req, meta, status, output, { usage: msg.usage, incompleteReason });
}
