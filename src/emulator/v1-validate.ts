// Strict validation of the two v1 bodies (reference/cortex-api.md §8): POST /api/v2/cortex/v1/chat/completions
// (OpenAI Chat Completions with Cortex's refusals, §8.2) and POST /api/v2/cortex/v1/messages (Anthropic Messages,
// Claude only, §8.1). Each returns the same CompleteCall the inference:complete validator returns, so the reply
// planner and the scripted replies/faults serve all three endpoints. Rules marked [INF] are our reading where the
// reference is silent; like validate.ts they err on the strict side.
import type { IncomingHttpHeaders } from 'node:http';
import type { ModelInfo } from '../cortex/models.js';
import { CortexError, invalidOptions, invalidPayload, REGION_UNAVAILABLE_MESSAGE, unknownModel } from './errors.js';
import type { CheckedMessage, CheckedTool, CompleteCall, ToolResultItem, ToolUseItem, ValidationContext } from './validate.js';
import { isObj, type Json as Obj } from '../core/json.js';

/** What the v1 encoders need beyond a CompleteCall. */
export interface V1Call extends CompleteCall {
  /** OpenAI stream_options.include_usage. */
  includeUsage: boolean;
}

/** §8.2: max_completion_tokens "max 131,072". */
const V1_MAX_TOKENS = 131_072;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/; // [INF] the OpenAI/Anthropic tool-name rule
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const IMAGE_TOKENS = 400; // [INF] flat prompt-token estimate per image, as validate.ts
/** The v1 endpoints take at most 20 images and 20 MiB of them per request (docs/images.md). */
export const V1_MAX_IMAGES = 20;
export const V1_MAX_IMAGE_BASE64 = 20 * 1024 * 1024;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const bad = (message: string, detail?: string) => new CortexError(400, message, undefined, detail);

function modelOf(body: Obj, ctx: ValidationContext): { model: string; info: ModelInfo } {
  if (typeof body.model !== 'string' || body.model === '') throw bad('model is required', '"model" must be a non-empty string');
  const info = ctx.models.get(body.model);
  if (!info) throw unknownModel(body.model);
  if (ctx.unavailableInRegion.has(body.model)) throw bad(REGION_UNAVAILABLE_MESSAGE, 'model listed in unavailableInRegion');
  return { model: body.model, info };
}

/** Checks one base64 image; returns its size in base64 characters. */
function base64Image(data: unknown, mediaType: unknown, where: string): number {
  if (typeof mediaType !== 'string' || !IMAGE_TYPES.has(mediaType)) throw bad(`${where}: image media type must be one of ${[...IMAGE_TYPES].join(', ')}`);
  if (typeof data !== 'string' || data === '' || data.length % 4 !== 0 || !BASE64.test(data)) throw bad(`${where}: image data must be base64`);
  return data.length;
}

function imageLimits(images: number, imageChars: number, info: ModelInfo): void {
  const max = Math.min(V1_MAX_IMAGES, info.maxImages);
  if (images > max) throw bad(`too many images: ${images} (at most ${max})`, '[INF text]');
  if (imageChars > V1_MAX_IMAGE_BASE64) throw bad(`images too large: ${imageChars} bytes of base64 (at most ${V1_MAX_IMAGE_BASE64} per request)`, '[INF text]');
}

function cache(o: Obj, where: string): number {
  if (o.cache_control === undefined || o.cache_control === null) return 0;
  if (!isObj(o.cache_control) || o.cache_control.type !== 'ephemeral') throw bad(`${where}.cache_control must be {"type":"ephemeral"}`);
  return 1;
}

function tokens(chars: number, images: number): number {
  return Math.ceil(chars / 4) + images * IMAGE_TOKENS;
}

// ───────────────────────────── /v1/chat/completions ─────────────────────────────

/**
 * Top-level fields the OpenAI-compatible endpoint takes, supported or ignored, per Snowflake's compatibility chart
 * (https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api, "Detailed compatibility chart"; docs/
 * cortex-limits.md); others are refused under the strict knob [INF].
 */
const CHAT_FIELDS = new Set([
  'model', 'messages', 'max_completion_tokens', 'temperature', 'top_p', 'stream', 'stream_options', 'tools', 'tool_choice',
  'response_format', 'reasoning_effort', 'reasoning', 'n', 'stop', 'logprobs', 'top_logprobs', 'presence_penalty',
  'frequency_penalty', 'parallel_tool_calls', 'logit_bias', 'seed', 'user',
  // "❌ Ignored" for every family (prediction: supported on OpenAI models), or supported on OpenAI models only.
  'metadata', 'modalities', 'prediction', 'safety_identifier', 'prompt_cache_key', 'verbosity', 'audio', 'web_search_options',
]);
/** The chart's "❌ Error" fields: for every family, and for OpenAI models only (ignored on the others). */
const CHAT_ERRORS = ['service_tier', 'store'];
const CHAT_OPENAI_ERRORS = ['audio', 'web_search_options'];
const EFFORTS = ['none', 'minimal', 'low', 'medium', 'high'];

export function validateChatCompletions(body: unknown, ctx: ValidationContext): V1Call {
  if (!isObj(body)) throw invalidPayload('body is not a JSON object');
  const { model, info } = modelOf(body, ctx);
  const family = info.family;
  const claude = family === 'claude';
  const toolModel = info.tools;

  // §8.2's documented refusals.
  if ('max_tokens' in body) throw bad('max_tokens is deprecated in favor of max_completion_tokens', '§8.2 [OBS litellm #30762]');
  for (const k of CHAT_ERRORS) if (k in body) throw bad(`${k} is not supported`, `compatibility chart ❌ Error [text INF]`);
  if (family === 'openai') for (const k of CHAT_OPENAI_ERRORS) if (k in body) throw bad(`${k} is not supported`, `compatibility chart ❌ Error on OpenAI models [text INF]`);
  // metadata, modalities, prediction, safety_identifier, …: accepted and ignored, as the chart says.
  if (ctx.strict) for (const k in body) if (!CHAT_FIELDS.has(k)) throw invalidOptions(`unknown top-level field "${k}" (strict knob)`);

  const limit = Math.min(V1_MAX_TOKENS, info.maxOutputTokens || V1_MAX_TOKENS);
  let maxTokens = Math.min(4096, limit); // §8.2 default 4096
  if ('max_completion_tokens' in body && body.max_completion_tokens !== null) {
    const v = body.max_completion_tokens;
    if (!isInt(v) || v < 1) throw invalidOptions('max_completion_tokens must be an integer ≥ 1');
    if (v > limit) throw bad('max tokens of count exceeded', `max_completion_tokens=${v} > ${limit} for ${model} [INF]`);
    maxTokens = v;
  }
  if ('temperature' in body && body.temperature !== null) {
    const t = body.temperature;
    if (!isNum(t) || t < 0 || t > (claude ? 1 : 2)) throw invalidOptions(`temperature must be a number in [0, ${claude ? 1 : 2}]`);
  }
  if ('top_p' in body && body.top_p !== null && (!isNum(body.top_p) || body.top_p < 0 || body.top_p > 1)) throw invalidOptions('top_p must be in [0, 1]');
  if ('stream' in body && body.stream !== null && typeof body.stream !== 'boolean') throw invalidOptions('stream must be a boolean');
  const stream = body.stream === true; // OpenAI's default: no stream
  let includeUsage = false;
  if ('stream_options' in body && body.stream_options !== null) {
    const so = body.stream_options;
    if (!isObj(so)) throw invalidOptions('stream_options must be an object');
    if (!stream) throw invalidOptions('stream_options is only allowed with stream: true');
    if ('include_usage' in so && typeof so.include_usage !== 'boolean') throw invalidOptions('stream_options.include_usage must be a boolean');
    includeUsage = so.include_usage === true;
  }

  // reasoning_effort: OpenAI models take none … high; Claude and the rest ignore it (compatibility chart).
  let reasoningEffort: string | undefined;
  if ('reasoning_effort' in body && body.reasoning_effort !== null && family === 'openai') {
    if (!EFFORTS.includes(body.reasoning_effort as string)) throw invalidOptions(`reasoning_effort must be ${EFFORTS.join('|')}`);
    reasoningEffort = body.reasoning_effort as string;
  }
  let thinkingBudget: number | undefined;
  if ('reasoning' in body && body.reasoning !== null && family === 'openai') {
    // reasoning.effort overrides reasoning_effort on OpenAI models; reasoning.max_tokens is ignored there.
    const r = body.reasoning;
    if (!isObj(r)) throw invalidOptions('reasoning must be an object {effort | max_tokens}');
    if (r.effort !== undefined) {
      if (!EFFORTS.includes(r.effort as string)) throw invalidOptions(`reasoning.effort must be ${EFFORTS.join('|')}`);
      reasoningEffort = r.effort as string;
    }
  } else if ('reasoning' in body && body.reasoning !== null && claude) {
    const r = body.reasoning;
    if (!isObj(r)) throw invalidOptions('reasoning must be an object {effort | max_tokens}');
    for (const k in r) if (k !== 'effort' && k !== 'max_tokens') throw invalidOptions(`unknown key "${k}" in reasoning`);
    if (r.max_tokens !== undefined) {
      if (!isInt(r.max_tokens) || r.max_tokens < 1024) throw invalidOptions('reasoning.max_tokens must be an integer ≥ 1024 [INF]');
      if (r.max_tokens >= maxTokens) throw invalidOptions(`reasoning.max_tokens (${r.max_tokens}) must be < max_completion_tokens (${maxTokens}) [INF]`);
      thinkingBudget = r.max_tokens;
    } else thinkingBudget = 4096;
    if ('temperature' in body && body.temperature !== null && body.temperature !== 1) throw invalidOptions('thinking requires temperature 1 [INF]');
  }

  // response_format: honoured for OpenAI and Claude models, "❌ Ignored" for the rest (the schema is lost there).
  let responseSchema: Obj | undefined;
  if ('response_format' in body && body.response_format !== null && (claude || family === 'openai')) {
    const rf = body.response_format;
    if (!isObj(rf)) throw invalidOptions('response_format must be an object');
    if (rf.type === 'json_object') {
      if (claude) throw bad('response_format json_object is not supported for Claude models; use json_schema', '§8.2 "only json_schema" [text INF]');
      responseSchema = { type: 'object' };
    } else if (rf.type === 'json_schema') {
      const js = rf.json_schema;
      if (!isObj(js) || typeof js.name !== 'string' || !isObj(js.schema)) throw invalidOptions('response_format.json_schema needs name and schema');
      responseSchema = js.schema;
    } else if (rf.type !== 'text') throw invalidOptions('response_format.type must be text, json_object or json_schema');
  }

  // tools (§8.2: function only; ❌ Error on models without tool calling)
  const tools: CheckedTool[] = [];
  let promptChars = 0;
  if ('tools' in body && body.tools !== null) {
    if (!Array.isArray(body.tools) || body.tools.length === 0) throw invalidOptions('tools must be a non-empty array');
    if (!toolModel) throw bad(`model ${model} does not support tool calling`, 'tools sent to a model without tool support (§8.2 ❌ Error) [INF text]');
    const seen = new Set<string>();
    body.tools.forEach((t, i) => {
      const w = `tools[${i}]`;
      if (!isObj(t) || t.type !== 'function' || !isObj(t.function)) throw invalidOptions(`${w} must be {"type":"function","function":{…}}`);
      const f = t.function;
      if (typeof f.name !== 'string' || !TOOL_NAME.test(f.name)) throw invalidOptions(`${w}.function.name must match ${TOOL_NAME}`);
      if (seen.has(f.name)) throw invalidOptions(`duplicate tool name "${f.name}"`);
      seen.add(f.name);
      if (f.description !== undefined && typeof f.description !== 'string') throw invalidOptions(`${w}.function.description must be a string`);
      if (f.parameters !== undefined && (!isObj(f.parameters) || f.parameters.type !== 'object')) throw invalidOptions(`${w}.function.parameters must be an object schema`);
      tools.push({ name: f.name, description: f.description as string | undefined, schema: (f.parameters as Obj) ?? { type: 'object', properties: {} } });
    });
    promptChars += JSON.stringify(body.tools).length;
  }
  // GPT-5-class models refuse function tools while reasoning is on, on chat completions: Snowflake's own launcher
  // sets reasoningEffort none for OpenCode because "the chat-completions endpoint rejects function tools with
  // reasoning enabled" (snowflake-cli docs/ai-gateway.md, https://github.com/snowflakedb/snowflake-cli;
  // /work/shared/reference/cortex-ai-gateway-and-responses.md §1). Cortex's exact message is not published: this is
  // OpenAI's, which Cortex passes through for its OpenAI models. Only an explicit effort other than none triggers it.
  if (tools.length > 0 && family === 'openai' && info.reasoning && /gpt-[5-9]/.test(model) && reasoningEffort !== undefined && reasoningEffort !== 'none')
    throw bad(`Function tools with reasoning_effort are not supported for ${model} in /v1/chat/completions. Please use /v1/responses instead.`, 'GPT-5 tools+reasoning on chat (snowflake-cli docs/ai-gateway.md)');
  const toolNames = new Set(tools.map((t) => t.name));
  let toolChoice: CompleteCall['toolChoice'];
  if ('tool_choice' in body && body.tool_choice !== null) {
    const tc = body.tool_choice;
    if (tools.length === 0) throw invalidOptions('tool_choice without tools');
    if (tc === 'auto' || tc === 'required') toolChoice = { type: tc };
    else if (tc === 'none') toolChoice = undefined;
    else if (isObj(tc) && tc.type === 'function' && isObj(tc.function) && typeof tc.function.name === 'string') {
      if (!toolNames.has(tc.function.name)) throw invalidOptions(`tool_choice names "${tc.function.name}", which is not in tools`);
      toolChoice = { type: 'tool', names: [tc.function.name] };
    } else throw invalidOptions('tool_choice must be auto, none, required or {"type":"function","function":{"name":…}}');
  }

  // messages
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw invalidPayload('"messages" must be a non-empty array');
  const messages: CheckedMessage[] = [];
  const callNames = new Map<string, string>(); // tool_call id → name
  let pendingCalls: string[] = []; // ids of the last assistant turn's calls not yet answered
  let images = 0;
  let imageChars = 0;
  let breakpoints = 0;
  let toolTurn: CheckedMessage | undefined; // the user message collecting consecutive tool results
  const last = body.messages.length - 1;
  body.messages.forEach((raw, i) => {
    const w = `messages[${i}]`;
    if (!isObj(raw)) throw invalidPayload(`${w} must be an object`);
    const role = raw.role;
    if (role !== 'tool' && pendingCalls.length > 0) throw unanswered(claude, pendingCalls, w);
    if (role === 'system' || role === 'developer') {
      const text = textContent(raw.content, `${w}.content`, false);
      messages.push({ role: 'system', text: text.text, toolUses: [], toolResults: [], images: 0 });
      promptChars += text.text.length;
      toolTurn = undefined;
    } else if (role === 'user') {
      const m: CheckedMessage = { role: 'user', text: '', toolUses: [], toolResults: [], images: 0 };
      const c = raw.content;
      if (typeof c === 'string') {
        if (c === '' && claude) throw bad(`${w}: text content blocks must be non-empty`, '[INF Anthropic rule]');
        m.text = c;
      } else if (Array.isArray(c) && c.length > 0) {
        c.forEach((p, j) => {
          const pw = `${w}.content[${j}]`;
          if (!isObj(p)) throw invalidPayload(`${pw} must be an object`);
          breakpoints += cache(p, pw);
          if (p.type === 'text') {
            if (typeof p.text !== 'string') throw invalidPayload(`${pw}.text must be a string`);
            if (p.text === '' && claude) throw bad(`${pw}: text content blocks must be non-empty`);
            m.text += (m.text ? '\n' : '') + p.text;
          } else if (p.type === 'image_url') {
            const iu = p.image_url;
            if (!isObj(iu) || typeof iu.url !== 'string') throw invalidPayload(`${pw}.image_url.url is required`);
            const mm = /^data:([^;,]+);base64,(.*)$/s.exec(iu.url);
            if (!mm) throw bad(`${pw}: image_url must be a base64 data URL (§8.2)`, 'no remote URLs');
            imageChars += base64Image(mm[2], mm[1], pw);
            if (iu.detail !== undefined && family !== 'openai') throw invalidOptions(`${pw}.image_url.detail is only for OpenAI models [INF]`);
            m.images++;
          } else throw invalidPayload(`${pw}.type must be text or image_url`);
        });
      } else throw invalidPayload(`${w}.content must be a string or a non-empty array of parts`);
      if (m.images > 0 && !info.vision) throw bad(`model ${model} does not support image input`, '[INF text]');
      images += m.images;
      promptChars += m.text.length;
      // A user message right after tool results joins their turn (as Cortex groups them for Claude).
      if (toolTurn) {
        toolTurn.text += (toolTurn.text ? '\n' : '') + m.text;
        toolTurn.images += m.images;
      } else messages.push(m);
      toolTurn = undefined;
    } else if (role === 'assistant') {
      if (!toolModel && raw.tool_calls !== undefined && raw.tool_calls !== null) throw bad(`model ${model} does not support tool calling`, `${w}.tool_calls`);
      const m: CheckedMessage = { role: 'assistant', text: '', toolUses: [], toolResults: [], images: 0 };
      if (raw.content !== null && raw.content !== undefined) m.text = textContent(raw.content, `${w}.content`, true).text;
      const calls = raw.tool_calls;
      if (calls !== undefined && calls !== null) {
        if (!Array.isArray(calls) || calls.length === 0) throw invalidPayload(`${w}.tool_calls must be a non-empty array`);
        calls.forEach((c, j) => {
          const cw = `${w}.tool_calls[${j}]`;
          if (!isObj(c) || typeof c.id !== 'string' || c.id === '' || c.type !== 'function' || !isObj(c.function)) {
            throw invalidPayload(`${cw} must be {"id","type":"function","function":{"name","arguments"}}`);
          }
          const name = c.function.name;
          if (typeof name !== 'string' || !toolNames.has(name)) throw bad(`${cw}: tool "${String(name)}" is not in tools`, '[INF]');
          const args = c.function.arguments;
          if (typeof args !== 'string') throw invalidPayload(`${cw}.function.arguments must be a JSON string`);
          let input: unknown;
          try {
            input = JSON.parse(args);
          } catch {
            throw bad(`${cw}.function.arguments is not valid JSON`, '[INF]');
          }
          if (!isObj(input)) throw bad(`${cw}.function.arguments must encode a JSON object`, '[INF]');
          if (callNames.has(c.id)) throw invalidPayload(`${cw}: duplicate tool call id "${c.id}"`);
          callNames.set(c.id, name);
          m.toolUses.push({ id: c.id, name, input } satisfies ToolUseItem);
        });
      }
      if (m.text === '' && m.toolUses.length === 0) throw invalidPayload(`${w} has neither content nor tool_calls`);
      if (claude && i === last) {
        throw bad('messages: this model does not support assistant message prefill; the final position must be a user or tool message', `${w} [OBS §8.3 "final position"]`);
      }
      pendingCalls = m.toolUses.map((u) => u.id);
      promptChars += m.text.length + JSON.stringify(m.toolUses).length;
      messages.push(m);
      toolTurn = undefined;
    } else if (role === 'tool') {
      if (!toolModel) throw bad(`model ${model} does not support tool calling`, `${w}: role tool`);
      const id = raw.tool_call_id;
      if (typeof id !== 'string' || id === '') throw invalidPayload(`${w}.tool_call_id is required`);
      if (!pendingCalls.includes(id)) {
        throw bad(`${w}: tool_call_id "${id}" does not answer a tool call of the preceding assistant message`, '[INF]');
      }
      pendingCalls = pendingCalls.filter((x) => x !== id);
      const text = textContent(raw.content, `${w}.content`, true).text;
      const result: ToolResultItem = { id, name: callNames.get(id)!, texts: [text] };
      if (!toolTurn) {
        toolTurn = { role: 'user', text: '', toolUses: [], toolResults: [], images: 0 };
        messages.push(toolTurn);
      }
      toolTurn.toolResults.push(result);
      promptChars += text.length;
    } else {
      throw bad(`unknown role ${JSON.stringify(role)}`, `${w}.role`);
    }
  });
  if (pendingCalls.length > 0) throw unanswered(claude, pendingCalls, 'the end of messages');
  imageLimits(images, imageChars, info);
  if (claude && breakpoints > 4) throw bad(`A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`);

  return {
    model, info, messages, tools, toolChoice, maxTokens, stream, thinkingBudget, reasoningEffort, responseSchema,
    promptTokens: tokens(promptChars, images), includeUsage,
  };
}

/** Tool calls not answered by tool messages: Bedrock's words for Claude [OBS litellm #29964], OpenAI's for the rest. */
function unanswered(claude: boolean, ids: string[], where: string): CortexError {
  return claude
    ? bad('Each toolUse block must be accompanied with a matching toolResult block', `tool calls ${ids.join(', ')} unanswered before ${where}`)
    : bad(`An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${ids.join(', ')}`, `before ${where} [INF: OpenAI's text]`);
}

/** A string, or an array of text parts (assistant/tool/system content); `allowEmpty` for what OpenAI allows empty. */
function textContent(c: unknown, where: string, allowEmpty: boolean): { text: string } {
  if (typeof c === 'string') {
    if (c === '' && !allowEmpty) throw invalidPayload(`${where} must not be empty`);
    return { text: c };
  }
  if (!Array.isArray(c)) throw invalidPayload(`${where} must be a string or an array of text parts`);
  const texts: string[] = [];
  c.forEach((p, j) => {
    if (!isObj(p) || p.type !== 'text' || typeof p.text !== 'string') throw invalidPayload(`${where}[${j}] must be a text part`);
    texts.push(p.text);
  });
  return { text: texts.join('\n') };
}

// ───────────────────────────── /v1/messages ─────────────────────────────

/** Claude models with adaptive thinking on /v1/messages: claude-opus-4-6 and newer Opus, claude-sonnet-4-6 (and newer). */
const ADAPTIVE_THINKING = /^claude-(opus-(4-[6-9]|[5-9])|sonnet-(4-[6-9]|[5-9]))(\b|-)/;

const MESSAGES_FIELDS = new Set([
  'model', 'messages', 'max_tokens', 'system', 'tools', 'tool_choice', 'temperature', 'top_p', 'top_k', 'stop_sequences',
  'stream', 'metadata', 'thinking', 'output_config',
]);

export function validateMessages(body: unknown, ctx: ValidationContext, headers: IncomingHttpHeaders): V1Call {
  // Anthropic's API refuses a request without it; LiteLLM sends 2023-06-01 to Cortex (§8.1) [INF: Cortex checks it].
  if (!headers['anthropic-version']) throw bad('anthropic-version: header is required', '§8.1 [INF]');
  if (!isObj(body)) throw invalidPayload('body is not a JSON object');
  const { model, info } = modelOf(body, ctx);
  if (info.family !== 'claude') throw bad(`model ${model} is not available on /v1/messages: Claude models only`, '§8 [INF text]');
  if (ctx.strict) for (const k in body) if (!MESSAGES_FIELDS.has(k)) throw bad(`${k}: Extra inputs are not permitted`, 'strict knob (Anthropic wording)');

  const mt = body.max_tokens;
  if (!isInt(mt) || mt < 1) throw bad('max_tokens: Field required (an integer ≥ 1)', 'Anthropic requires max_tokens');
  if (mt > info.maxOutputTokens) throw bad(`max_tokens: ${mt} > ${info.maxOutputTokens}, which is the maximum allowed number of output tokens for ${model}`);

  let temperature: number | undefined;
  if (body.temperature !== undefined) {
    if (!isNum(body.temperature) || body.temperature < 0 || body.temperature > 1) throw bad('temperature: must be in [0, 1]');
    temperature = body.temperature;
  }
  if (body.top_p !== undefined && (!isNum(body.top_p) || body.top_p < 0 || body.top_p > 1)) throw bad('top_p: must be in [0, 1]');
  if (body.top_k !== undefined && (!isInt(body.top_k) || body.top_k < 0)) throw bad('top_k: must be a non-negative integer');
  if (body.stop_sequences !== undefined && (!Array.isArray(body.stop_sequences) || !body.stop_sequences.every((s) => typeof s === 'string'))) {
    throw bad('stop_sequences: must be an array of strings');
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') throw bad('stream: must be a boolean');
  const stream = body.stream === true;
  if (body.metadata !== undefined && !isObj(body.metadata)) throw bad('metadata: must be an object');

  let thinkingBudget: number | undefined;
  if (body.thinking !== undefined) {
    const t = body.thinking;
    // Adaptive thinking: "claude-opus-4-6 and newer, claude-sonnet-4-6" (https://docs.snowflake.com/en/user-guide/
    // snowflake-cortex/cortex-rest-api, "Messages API thinking"); the model picks its own budget within max_tokens.
    if (isObj(t) && t.type === 'adaptive') {
      if (!ADAPTIVE_THINKING.test(model)) throw bad(`thinking: adaptive thinking is not supported on ${model}`, 'Messages API thinking [text INF]');
      thinkingBudget = mt;
    } else if (!isObj(t) || (t.type !== 'enabled' && t.type !== 'disabled')) throw bad('thinking: must be {"type":"enabled","budget_tokens":n}, {"type":"adaptive"} or {"type":"disabled"}');
    else if (t.type === 'enabled') {
      if (!isInt(t.budget_tokens) || t.budget_tokens < 1024) throw bad('thinking.budget_tokens: must be ≥ 1024');
      if (t.budget_tokens >= mt) throw bad('thinking.budget_tokens: must be less than max_tokens');
      if (temperature !== undefined && temperature !== 1) throw bad('temperature may only be set to 1 when thinking is enabled');
      thinkingBudget = t.budget_tokens;
    }
  }

  let responseSchema: Obj | undefined;
  if (body.output_config !== undefined) {
    const oc = body.output_config;
    if (!isObj(oc)) throw bad('output_config: must be an object');
    for (const k in oc) if (k !== 'format' && k !== 'effort') throw bad(`output_config.${k}: Extra inputs are not permitted`);
    if (oc.effort !== undefined && !['low', 'medium', 'high', 'max'].includes(oc.effort as string)) throw bad('output_config.effort: must be low, medium, high or max');
    if (oc.format !== undefined) {
      const f = oc.format;
      if (!isObj(f) || f.type !== 'json_schema' || !isObj(f.schema)) throw bad('output_config.format: must be {"type":"json_schema","schema":{…}}');
      responseSchema = f.schema;
    }
  }

  let promptChars = 0;
  let breakpoints = 0;
  if (body.system !== undefined) {
    if (typeof body.system === 'string') promptChars += body.system.length;
    else if (Array.isArray(body.system)) {
      body.system.forEach((b, i) => {
        if (!isObj(b) || b.type !== 'text' || typeof b.text !== 'string') throw bad(`system.${i}: must be a text block`);
        breakpoints += cache(b, `system.${i}`);
        promptChars += b.text.length;
      });
    } else throw bad('system: must be a string or an array of text blocks');
  }

  const tools: CheckedTool[] = [];
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) throw bad('tools: must be an array');
    const seen = new Set<string>();
    body.tools.forEach((t, i) => {
      const w = `tools.${i}`;
      if (!isObj(t)) throw bad(`${w}: must be an object`);
      if (t.type !== undefined && t.type !== 'custom') throw bad(`${w}.type: server tools are not supported here [INF]`);
      if (typeof t.name !== 'string' || !TOOL_NAME.test(t.name)) throw bad(`${w}.name: must match ${TOOL_NAME}`);
      if (seen.has(t.name)) throw bad(`tools: Tool names must be unique ("${t.name}")`);
      seen.add(t.name);
      if (!isObj(t.input_schema) || t.input_schema.type !== 'object') throw bad(`${w}.input_schema: must be a JSON Schema with type "object"`);
      breakpoints += cache(t, w);
      tools.push({ name: t.name, description: t.description as string | undefined, schema: t.input_schema });
    });
    promptChars += JSON.stringify(body.tools).length;
  }
  const toolNames = new Set(tools.map((t) => t.name));
  let toolChoice: CompleteCall['toolChoice'];
  if (body.tool_choice !== undefined) {
    const tc = body.tool_choice;
    if (!isObj(tc)) throw bad('tool_choice: must be an object');
    if (tools.length === 0 && tc.type !== 'none') throw bad('tool_choice may only be specified while providing tools');
    if (tc.type === 'auto') toolChoice = { type: 'auto' };
    else if (tc.type === 'any') toolChoice = { type: 'required' };
    else if (tc.type === 'tool') {
      if (typeof tc.name !== 'string' || !toolNames.has(tc.name)) throw bad(`tool_choice.name: "${String(tc.name)}" is not among tools`);
      toolChoice = { type: 'tool', names: [tc.name] };
    } else if (tc.type !== 'none') throw bad('tool_choice.type: must be auto, any, tool or none');
  }

  if (!Array.isArray(body.messages) || body.messages.length === 0) throw bad('messages: at least one message is required');
  const messages: CheckedMessage[] = [];
  let images = 0;
  let imageChars = 0;
  let sawToolBlocks = false;
  body.messages.forEach((raw, i) => {
    const w = `messages.${i}`;
    if (!isObj(raw)) throw bad(`${w}: must be an object`);
    const role = raw.role;
    if (role !== 'user' && role !== 'assistant') throw bad(`${w}.role: Input should be 'user' or 'assistant'`);
    if (i === 0 && role !== 'user') throw bad('messages: first message must use the "user" role [INF]');
    const m: CheckedMessage = { role, text: '', toolUses: [], toolResults: [], images: 0 };
    const c = raw.content;
    if (typeof c === 'string') {
      if (c === '') throw bad(`${w}: text content blocks must be non-empty`);
      m.text = c;
    } else if (Array.isArray(c) && c.length > 0) {
      c.forEach((b, j) => {
        const bw = `${w}.content.${j}`;
        if (!isObj(b)) throw bad(`${bw}: must be an object`);
        breakpoints += cache(b, bw);
        switch (b.type) {
          case 'text':
            if (typeof b.text !== 'string' || b.text === '') throw bad(`${bw}: text content blocks must be non-empty`);
            m.text += (m.text ? '\n' : '') + b.text;
            return;
          case 'image': {
            if (role !== 'user') throw bad(`${bw}: images belong in user messages`);
            const s = b.source;
            if (!isObj(s) || s.type !== 'base64') throw bad(`${bw}.source: only base64 images are supported (§8.2)`);
            imageChars += base64Image(s.data, s.media_type, bw);
            m.images++;
            return;
          }
          case 'tool_use': {
            if (role !== 'assistant') throw bad(`${bw}: tool_use blocks belong in assistant messages`);
            if (typeof b.id !== 'string' || b.id === '' || typeof b.name !== 'string' || !isObj(b.input)) throw bad(`${bw}: tool_use needs id, name and an input object`);
            sawToolBlocks = true;
            m.toolUses.push({ id: b.id, name: b.name, input: b.input });
            return;
          }
          case 'tool_result': {
            if (role !== 'user') throw bad(`${bw}: tool_result blocks belong in user messages`);
            if (typeof b.tool_use_id !== 'string' || b.tool_use_id === '') throw bad(`${bw}.tool_use_id: Field required`);
            if (b.is_error !== undefined && typeof b.is_error !== 'boolean') throw bad(`${bw}.is_error: must be a boolean`);
            const texts: string[] = [];
            if (typeof b.content === 'string') texts.push(b.content);
            else if (Array.isArray(b.content)) {
              b.content.forEach((x, k) => {
                const xw = `${bw}.content.${k}`;
                if (!isObj(x)) throw bad(`${xw}: must be an object`);
                if (x.type === 'text') {
                  if (typeof x.text !== 'string' || x.text === '') throw bad(`${xw}: text content blocks must be non-empty`);
                  texts.push(x.text);
                } else if (x.type === 'image') {
                  const s = x.source;
                  if (!isObj(s) || s.type !== 'base64') throw bad(`${xw}.source: only base64 images are supported`);
                  imageChars += base64Image(s.data, s.media_type, xw);
                  m.images++;
                } else throw bad(`${xw}.type: must be text or image`);
              });
            } else if (b.content !== undefined) throw bad(`${bw}.content: must be a string or an array of blocks`);
            sawToolBlocks = true;
            m.toolResults.push({ id: b.tool_use_id, name: '', texts, status: b.is_error ? 'error' : undefined });
            return;
          }
          case 'thinking':
            if (role !== 'assistant') throw bad(`${bw}: thinking blocks belong in assistant messages`);
            if (typeof b.thinking !== 'string' || typeof b.signature !== 'string' || b.signature === '') throw bad(`${bw}: thinking blocks need thinking and signature`);
            return;
          case 'redacted_thinking':
            if (role !== 'assistant' || typeof b.data !== 'string') throw bad(`${bw}: redacted_thinking needs data`);
            return;
          default:
            throw bad(`${bw}.type: unsupported content block type ${JSON.stringify(b.type)}`);
        }
      });
    } else throw bad(`${w}.content: must be a string or a non-empty array of blocks`);
    images += m.images;
    promptChars += m.text.length + JSON.stringify(m.toolUses).length + m.toolResults.reduce((n, r) => n + r.texts.join('').length, 0);
    messages.push(m);
  });
  if (messages[messages.length - 1].role !== 'user') {
    throw bad('messages: this model does not support assistant message prefill; the final position must be a user message', '[INF: as §8.3 on /v1/chat/completions]');
  }
  if (sawToolBlocks && tools.length === 0) throw bad('Requests which include `tool_use` or `tool_result` blocks must define tools.');

  // Anthropic's pairing rules: every tool_use answered in the next message, every tool_result answering the previous.
  messages.forEach((m, i) => {
    if (m.toolUses.length > 0) {
      const next = messages[i + 1];
      const missing = m.toolUses.filter((u) => !next?.toolResults.some((r) => r.id === u.id)).map((u) => u.id);
      if (missing.length) {
        throw bad(`messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`);
      }
      for (const u of m.toolUses) if (!toolNames.has(u.name)) throw bad(`messages.${i}: tool_use "${u.name}" is not among tools [INF]`);
    }
    for (const r of m.toolResults) {
      const use = messages[i - 1]?.toolUses.find((u) => u.id === r.id);
      if (!use) {
        throw bad(`messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${r.id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
      }
      r.name = use.name;
    }
  });
  imageLimits(images, imageChars, info);
  if (breakpoints > 4) throw bad(`A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`);

  return {
    model, info, messages, tools, toolChoice, maxTokens: mt, stream, thinkingBudget, responseSchema,
    promptTokens: tokens(promptChars, images), includeUsage: true,
  };
}
