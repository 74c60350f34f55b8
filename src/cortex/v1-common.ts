// What the two v1 wires (openai-wire.ts → /cortex/v1/chat/completions, anthropic-wire.ts → /cortex/v1/messages)
// share: the refusals made before any round trip (tools or images the model cannot take, a Claude prefill), the
// output budget, the thinking budget, and the decoding of Snowflake error bodies that arrive as 200 or mid-stream.
// The complete wire has its own copies of these rules shaped for inference:complete (16,384-token cap, 5 images).
import type { ChatRequest, ReasoningEffort, Usage } from '../core/types.js';
import type { Deployment } from '../config/types.js';
import { ProxyError, invalidRequest, type ErrorKind } from '../core/errors.js';
import { deploymentInfo, type ModelInfo } from './models.js';
import { claudeThinking } from './complete.js';
import { scrubSnowflakeText } from './snowflake-errors.js';

/** Largest max_completion_tokens /v1/chat/completions takes (newer REST docs, §8.2). */
export const V1_MAX_COMPLETION_TOKENS = 131_072;

export const infoFor = (d: Deployment): ModelInfo => deploymentInfo(d);

export interface V1Plan {
  info: ModelInfo;
  /** The request asks for tool calls (tools present and tool_choice not none). */
  wantsTools: boolean;
  /** Earlier turns carry tool calls or results (tools must be declared again). */
  historyHasTools: boolean;
  /** Output budget to send. */
  maxTokens: number;
  /** Claude extended-thinking budget, when thinking is asked for and the model takes it. */
  thinkingBudget?: number;
  /** OpenAI reasoning effort, when asked for and the model takes it (v1 chat takes none … high as documented). */
  effort?: ReasoningEffort;
  /** What was changed from the client's request (EncodedRequest.warnings). */
  warnings: string[];
}

/**
 * The checks every v1 wire makes before calling Cortex, and the budgets it sends. Throws ProxyError
 * (invalid_request) for what the model cannot do, in the same words as the complete wire.
 */
export function planV1(req: ChatRequest, deployment: Deployment, cap: number): V1Plan {
  const info = infoFor(deployment);
  const model = deployment.cortexModel;
  let historyHasTools = false;
  let images = 0;
  for (const m of req.messages)
    for (const p of m.parts) {
      if (p.type === 'tool_call' || p.type === 'tool_result') historyHasTools = true;
      if (p.type === 'image') images++;
      if (p.type === 'tool_result') for (const q of p.parts) if (q.type === 'image') images++;
    }
  const wantsTools = (req.tools?.length ?? 0) > 0 && req.toolChoice?.type !== 'none';
  if ((wantsTools || historyHasTools) && !info.tools) {
    throw invalidRequest(
      `Cortex model "${model}" does not support tool calling (Cortex offers tools on Claude and OpenAI models only). ` +
        'Use a tool-capable model such as claude-sonnet-4-5, claude-4-sonnet or openai-gpt-4.1 for this client.',
      wantsTools ? 'tools' : 'messages',
    );
  }
  if (images > 0 && !info.vision) {
    throw invalidRequest(
      `Cortex model "${model}" does not accept images; use a vision model such as claude-4-sonnet, claude-sonnet-4-5 or openai-gpt-4.1.`,
      'messages',
    );
  }
  if (images > info.maxImages) {
    throw invalidRequest(`Cortex model "${model}" accepts at most ${info.maxImages} images per request; this request has ${images}.`, 'messages');
  }
  const last = req.messages[req.messages.length - 1];
  if (info.family === 'claude' && last?.role === 'assistant') {
    throw invalidRequest(
      `the conversation must end with a user message: Cortex's Claude models refuse an assistant message in the final position (prefill is not supported). ` +
        'Drop the trailing assistant message.',
      'messages',
    );
  }

  const limit = Math.max(1, Math.min(cap, info.maxOutputTokens || cap));
  const maxTokens = Math.max(1, Math.min(limit, Math.floor(req.maxTokens ?? deployment.maxTokens ?? limit)));
  const plan: V1Plan = { info, wantsTools, historyHasTools, maxTokens, warnings: [] };

  const r = req.reasoning;
  if (r && (r.effort !== undefined || r.budgetTokens !== undefined) && info.reasoning) {
    if (info.family === 'openai') {
      // Passed as the client said: Cortex's v1 chat documents reasoning_effort none | minimal | low | medium | high
      // for OpenAI models (https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api, compatibility chart).
      plan.effort = r.effort ?? effortFromBudget(r.budgetTokens!);
    } else if (info.family === 'claude') {
      // The client's max_tokens is a cost cap: thinking fits under it or is dropped (complete.ts claudeThinking).
      const t = claudeThinking(r, maxTokens);
      if (t.warning) plan.warnings.push(t.warning);
      if (t.budget !== undefined) plan.thinkingBudget = t.budget;
    }
  }
  return plan;
}

function effortFromBudget(budget: number): 'low' | 'medium' | 'high' {
  return budget <= 2048 ? 'low' : budget <= 8192 ? 'medium' : 'high';
}

/** Temperature within what the model family takes (Claude 0–1, others 0–2). */
export function clampTemperature(t: number | undefined, info: ModelInfo): number | undefined {
  if (t === undefined) return undefined;
  return Math.min(info.family === 'claude' ? 1 : 2, Math.max(0, t));
}

/** Canonical usage from counts that may or may not include cache reads/writes in the prompt count. */
export function usageFrom(prompt: number, completion: number, cached: number, cacheWrite: number, total?: number): Usage {
  const u: Usage = { promptTokens: prompt, completionTokens: completion, totalTokens: total ?? prompt + completion };
  if (cached > 0) u.cachedTokens = cached;
  if (cacheWrite > 0) u.cacheWriteTokens = cacheWrite;
  return u;
}

export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);


/**
 * An error object found inside a 200 answer (OpenAI `{"error":{…}}` chunk, Anthropic `event: error`). Its kind follows
 * the error's type or code, so an early rate limit is still a 429 (retried or moved to a fallback) and an overload
 * a 503; Snowflake's text is quoted scrubbed.
 */
export function inBandError(err: unknown, requestId: string | undefined, what: string): ProxyError {
  let message = '';
  let code: string | undefined;
  let type = '';
  if (typeof err === 'string') message = err;
  else if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    if (typeof e.message === 'string') message = e.message;
    if (typeof e.code === 'string' || typeof e.code === 'number') code = String(e.code);
    if (typeof e.type === 'string') type = e.type;
  }
  let kind: ErrorKind = 'upstream';
  if (type === 'rate_limit_error' || type === 'rate_limit' || code === '429' || /too many requests/i.test(message)) kind = 'rate_limit';
  else if (type === 'overloaded_error' || code === '503' || code === '529') kind = 'unavailable';
  else if (type === 'invalid_request_error' || code === '400') kind = 'invalid_request';
  const text =
    `${what}: ${scrubSnowflakeText(message) || 'unknown error'}` +
    (code ? ` (code ${code})` : type ? ` (${type})` : '') +
    (requestId ? ` (Snowflake request id: ${requestId})` : '');
  return new ProxyError(kind, text, { code, requestId });
}
