// The Cortex rules every wire plans a request by, in one place: what a model refuses (tools, images, a trailing
// assistant turn), each with one wording; the output budget under a wire's cap; Claude thinking budgets and OpenAI
// reasoning efforts; and the encoding rules the wires share (tool ids, argument objects, schemas, placeholder texts).
// cortex/preflight.ts applies the refusals before a round trip, each wire's encodeRequest plans with the same
// functions (planV1 for the v1 wires), so a rule changes here once.
import type { ChatRequest, ReasoningEffort, Tool, ToolChoice } from '../core/types.js';
import type { Deployment } from '../config/types.js';
import { ProxyError } from '../core/errors.js';
import { deploymentInfo, type ModelInfo } from './models.js';
import type { Json } from '../core/json.js';

// ───────────────────────────── refusals ─────────────────────────────

/** A model as errors name it: the client's name, and the Cortex id when they differ. */
export function describeModel(name: string, d: Pick<Deployment, 'cortexModel'>): string {
  return name === d.cortexModel ? `model "${name}"` : `model "${name}" (Cortex model ${d.cortexModel})`;
}

/** Tool calls asked for (tools present, tool_choice not none) and tool calls or results in the history. */
export function toolUse(req: ChatRequest): { wantsTools: boolean; historyHasTools: boolean } {
  let historyHasTools = false;
  for (const m of req.messages) for (const p of m.parts) if (p.type === 'tool_call' || p.type === 'tool_result') historyHasTools = true;
  return { wantsTools: (req.tools?.length ?? 0) > 0 && req.toolChoice?.type !== 'none', historyHasTools };
}

/** The refusal of tools on a model without tool calling (param: `tools`, or `messages` for tool history). */
/**
 * The tools a wire sends, and the tool_choice to encode: none at all for tool_choice none without tool turns in the
 * history (nothing to call, nothing to validate against); a tool_choice naming a tool not among them is a 400.
 */
export function toolsToSend(req: ChatRequest, historyHasTools: boolean): { tools: Tool[]; choice?: ToolChoice } | undefined {
  const tools = req.tools ?? [];
  const choice = req.toolChoice;
  if (tools.length === 0 || (choice?.type === 'none' && !historyHasTools)) return undefined;
  if (choice?.type === 'tool' && !tools.some((t) => t.name === choice.name))
    throw new ProxyError('invalid_request', `tool_choice names "${choice.name}", which is not among the request's tools`, { param: 'tool_choice' });
  return { tools, choice };
}

export function toolsRefusal(who: string, param: 'tools' | 'messages' = 'tools'): ProxyError {
  return new ProxyError(
    'invalid_request',
    `${who} does not support tool calling. Use a tool-capable model such as claude-sonnet-4-5, claude-4-sonnet or openai-gpt-4.1 for this client` +
      ` (or set model_info.supports_function_calling: true for this model if Cortex now supports it).`,
    { param, code: 'tools_not_supported' },
  );
}

/**
 * Throws the tools refusal when the request asks for tools, or (history: true, the wires: they must send the
 * history's calls and results) carries tool history, and the model has no tool calling.
 */
export function checkTools(req: ChatRequest, who: string, info: ModelInfo, history: boolean): void {
  if (info.tools) return;
  const { wantsTools, historyHasTools } = toolUse(req);
  if (wantsTools || (history && historyHasTools)) throw toolsRefusal(who, wantsTools ? 'tools' : 'messages');
}

/** Image parts in the request, tool results' images included. */
export function countImages(chat: ChatRequest): number {
  let n = 0;
  for (const m of chat.messages)
    for (const p of m.parts) {
      if (p.type === 'image') n++;
      else if (p.type === 'tool_result') for (const q of p.parts) if (q.type === 'image') n++;
    }
  return n;
}

/** Images per request on Cortex's v1 endpoints (and 20 MiB of them: cortex/images.ts MAX_IMAGE_REQUEST_BASE64). */
export const V1_MAX_IMAGES = 20;

/** A wire's own image limit, when it has one below the model's: the most it takes and where (for the error). */
export interface WireImageCap {
  max: number;
  /** e.g. inference:complete */
  where: string;
}

/**
 * Throws when a request's images cannot go to this model (no vision, more than the model or the wire takes).
 * Sources of the limits and where they disagree: docs/images.md.
 */
export function checkImages(images: number, who: string, info: ModelInfo, wire?: WireImageCap): void {
  if (images === 0) return;
  if (!info.vision) {
    throw new ProxyError(
      'invalid_request',
      `${who} does not accept images; use a vision model such as claude-sonnet-4-5 or openai-gpt-4.1 (or set model_info.supports_vision: true).`,
      { param: 'messages', code: 'images_not_supported' },
    );
  }
  const max = Math.min(info.maxImages, wire?.max ?? Infinity);
  if (images > max) {
    const why = wire && wire.max < info.maxImages ? ` on ${wire.where}` : '';
    throw new ProxyError(
      'invalid_request',
      `${who} accepts at most ${max} images per request${why}; this request has ${images}. Send fewer images (model_info.max_images_per_prompt sets the model's limit).`,
      { param: 'messages', code: 'too_many_images' },
    );
  }
}

/** The refusal of a conversation ending on an assistant turn (prefill), where `who` refuses it. */
export function prefillRefusal(who: string): ProxyError {
  return new ProxyError(
    'invalid_request',
    `the conversation must end with a user message: ${who} refuses an assistant message in the final position (prefill is not supported). ` +
      'Drop the trailing assistant message.',
    { param: 'messages' },
  );
}

// ───────────────────────────── budgets ─────────────────────────────

/**
 * The max_tokens to send: the client's (or the deployment's default), within the model's output limit and the
 * wire's cap; the cap itself when neither says. Never raised above what the client asked (a cost cap).
 */
export function outputBudget(req: ChatRequest, d: Deployment, info: ModelInfo, cap: number): number {
  const limit = Math.max(1, Math.min(cap, info.maxOutputTokens || cap));
  return Math.max(1, Math.min(limit, Math.floor(req.maxTokens ?? d.maxTokens ?? limit)));
}

/** Claude thinking budgets per effort (reference/cortex-api.md §12.7); `none` asks for no thinking. */
export const THINKING_BUDGETS: Record<Exclude<ReasoningEffort, 'none'>, number> = { minimal: 1024, low: 1024, medium: 4096, high: 16384 };
/**
 * Anthropic's smallest thinking budget; the budget must also stay below max_tokens
 * (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking, docs/cortex-limits.md).
 */
export const MIN_THINKING_BUDGET = 1024;

/** The Claude thinking budget to send under a max_tokens, or why thinking is dropped. */
export interface ThinkingPlan {
  budget?: number;
  /** Set when the client asked for thinking but it was dropped (for x-cortex-proxy-warning and the log). */
  warning?: string;
}

/**
 * Claude extended thinking inside the client's output cap. A client's max_tokens is a cost cap and is never raised:
 * when Anthropic's minimum budget (1,024, and below max_tokens) does not fit under it, thinking is dropped and a
 * warning says so. An effort-derived budget leaves at least half of max_tokens for the answer when it can.
 */
export function claudeThinking(r: NonNullable<ChatRequest['reasoning']>, maxTokens: number): ThinkingPlan {
  if (r.budgetTokens === undefined && (r.effort === undefined || r.effort === 'none')) return {};
  const wanted =
    r.budgetTokens !== undefined
      ? Math.floor(r.budgetTokens)
      : Math.min(THINKING_BUDGETS[r.effort as Exclude<ReasoningEffort, 'none'>], Math.floor(maxTokens / 2));
  if (maxTokens <= MIN_THINKING_BUDGET) {
    return {
      warning:
        `thinking dropped: max_tokens ${maxTokens} leaves no room for Claude's minimum thinking budget ` +
        `(${MIN_THINKING_BUDGET} tokens, which must be below max_tokens); the client's output cap was kept`,
    };
  }
  return { budget: Math.min(Math.max(wanted, MIN_THINKING_BUDGET), maxTokens - 1) };
}

/** The OpenAI reasoning effort a thinking budget (Anthropic's control) stands for. */
export function effortFromBudget(budget: number): 'low' | 'medium' | 'high' {
  return budget <= 2048 ? 'low' : budget <= 8192 ? 'medium' : 'high';
}

/** OpenAI models that take a reasoning effort (catalogue flag; gpt-4.1 and the -chat variants do not reason). */
export function takesReasoningEffort(info: ModelInfo): boolean {
  return info.family === 'openai' && info.reasoning;
}

/** Claude models with extended thinking (catalogue flag: 3.7 and later). */
export function takesThinking(info: ModelInfo): boolean {
  return info.family === 'claude' && info.reasoning;
}

// ───────────────────────────── the v1 wires' plan ─────────────────────────────

/** Largest max_completion_tokens /v1/chat/completions takes (newer REST docs, §8.2). */
export const V1_MAX_COMPLETION_TOKENS = 131_072;

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
 * The checks every v1 wire (/v1/chat/completions, /v1/messages, /v1/responses) makes before calling Cortex, and the
 * budgets it sends. Throws ProxyError(invalid_request) for what the model cannot do, in the words preflight uses.
 */
export function planV1(req: ChatRequest, deployment: Deployment, cap: number): V1Plan {
  const info = deploymentInfo(deployment);
  const who = describeModel(req.model, deployment);
  checkTools(req, who, info, true);
  checkImages(countImages(req), who, info, { max: V1_MAX_IMAGES, where: "Cortex's v1 endpoints" });
  const last = req.messages[req.messages.length - 1];
  if (info.family === 'claude' && last?.role === 'assistant') throw prefillRefusal("Cortex's Claude models");

  const maxTokens = outputBudget(req, deployment, info, cap);
  const plan: V1Plan = { info, ...toolUse(req), maxTokens, warnings: [] };

  const r = req.reasoning;
  if (r && (r.effort !== undefined || r.budgetTokens !== undefined) && info.reasoning) {
    if (info.family === 'openai') {
      // Passed as the client said: Cortex's v1 chat documents reasoning_effort none | minimal | low | medium | high
      // for OpenAI models (https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api, compatibility chart).
      plan.effort = r.effort ?? effortFromBudget(r.budgetTokens!);
    } else if (info.family === 'claude') {
      // The client's max_tokens is a cost cap: thinking fits under it or is dropped (claudeThinking).
      const t = claudeThinking(r, maxTokens);
      if (t.warning) plan.warnings.push(t.warning);
      if (t.budget !== undefined) plan.thinkingBudget = t.budget;
    }
  }
  return plan;
}

/** Temperature within what the model family takes on the v1 endpoints (Claude 0–1, others 0–2). */
export function clampTemperature(t: number | undefined, info: ModelInfo): number | undefined {
  if (t === undefined) return undefined;
  return Math.min(info.family === 'claude' ? 1 : 2, Math.max(0, t));
}

// ───────────────────────────── shared encoding rules ─────────────────────────────

/** The user turn inserted when a conversation opens with an assistant turn. */
export const PLACEHOLDER_USER_TEXT = '.';
/** Tool results must carry at least one content item. */
export const EMPTY_TOOL_RESULT_TEXT = '(no output)';

const VALID_ID = /^[A-Za-z0-9_-]+$/;
/** Claude only accepts [A-Za-z0-9_-] tool ids; the same mapping is applied to calls and results, so pairs still match. */
export function cleanToolId(id: string): string {
  return VALID_ID.test(id) ? id : id.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * Tool-call arguments (a JSON text) as the object Cortex wants. Empty, unparseable or non-object arguments
 * become {} — Cortex rejects anything but an object, and a history entry must never sink the request.
 */
export function argumentsObject(json: string): Json {
  if (!json || json.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(json);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
  } catch {
    return {};
  }
}

/** Tool JSON Schema as Cortex input_schema: `$schema` stripped, `type:"object"` ensured, empty → an empty object schema. */
export function inputSchema(schema: Record<string, unknown> | undefined): Json {
  if (!schema || typeof schema !== 'object') return { type: 'object', properties: {} };
  let s: Json = schema;
  if ('$schema' in s) {
    const { $schema: _drop, ...rest } = s;
    s = rest;
  }
  if (Object.keys(s).length === 0) return { type: 'object', properties: {} };
  if (s.type === undefined) s = { type: 'object', ...s };
  return s;
}
