// Strict validation of an inference:complete body (§2.2–§2.4, §6, §13). It must reject what Cortex rejects:
// a lenient fake hides translation bugs. Rules marked [INF] are our reading where the reference is silent;
// they err on the strict side. Returns the facts the reply generator needs.
import { COMPLETE_MAX_TOKENS, type ModelInfo } from '../cortex/models.js';
import { CortexError, invalidOptions, invalidPayload, REGION_UNAVAILABLE_MESSAGE, unknownModel } from './errors.js';
import { isObj, type Json as Obj } from '../core/json.js';

export interface ToolUseItem {
  id: string;
  name: string;
  input: Record<string, unknown>;
}
export interface ToolResultItem {
  id: string;
  name: string;
  texts: string[];
  status?: string;
}
export interface CheckedMessage {
  role: 'system' | 'user' | 'assistant';
  text: string;
  toolUses: ToolUseItem[];
  toolResults: ToolResultItem[];
  images: number;
}
export interface CheckedTool {
  name: string;
  description?: string;
  schema: Record<string, unknown>;
}

export interface CompleteCall {
  model: string;
  info: ModelInfo;
  messages: CheckedMessage[];
  tools: CheckedTool[];
  toolChoice?: { type: 'auto' | 'required' | 'tool'; names?: string[] };
  /** Effective output limit (sent value, else the SPEC default 4096 capped to the model limit). */
  maxTokens: number;
  stream: boolean;
  thinkingBudget?: number;
  reasoningEffort?: string;
  responseSchema?: Record<string, unknown>;
  guardrails?: { enabled: boolean; responseWhenUnsafe: string };
  promptTokens: number;
}

export interface ValidationContext {
  /** Ids this account can use → facts. */
  models: ReadonlyMap<string, ModelInfo>;
  unavailableInRegion: ReadonlySet<string>;
  strict: boolean;
}

// §2.2 [SPEC CompleteRequest] (+ the deprecated alias and the reserved fields the SPEC lists).
const TOP_LEVEL: ReadonlySet<string> = new Set([
  'model', 'messages', 'temperature', 'top_p', 'max_tokens', 'max_output_tokens', 'response_format', 'guardrails',
  'tools', 'tool_choice', 'anthropic', 'openai', 'provisioned_throughput_id', 'stream',
  'sf-ml-xp-inflight-prompt-action', 'sf-ml-xp-inflight-prompt-client-id', 'sf-ml-xp-inflight-prompt-public-key',
]);
// §2.4 [SPEC ImageDetails.content_type].
const IMAGE_TYPES: ReadonlySet<string> = new Set([
  'image/jpeg', 'image/jpg', 'image/png', 'image/gif', 'image/webp', 'image/heic', 'image/heif',
]);
const MAX_IMAGES = 5; // §2.5.5 [DOC]
const IMAGE_TOKENS = 400; // [INF] flat prompt-token estimate per image
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/; // [INF] the Anthropic/OpenAI tool-name rule
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Unknown keys: 390142 inside messages (§2.3 [OBS]); "invalid options object" inside option objects [INF]. */
function onlyKeys(o: Obj, allowed: readonly string[], where: string, err = invalidPayload): void {
  for (const k in o) if (!allowed.includes(k)) throw err(`unknown key "${k}" in ${where}`);
}

/** §2.4 [SPEC CacheControl]: {"type":"ephemeral"} only. Returns 1 when present (a breakpoint). */
function cacheControl(o: Obj, where: string): number {
  if (!('cache_control' in o) || o.cache_control === null) return 0;
  const cc = o.cache_control;
  if (!isObj(cc)) throw invalidPayload(`${where}.cache_control must be an object`);
  onlyKeys(cc, ['type'], `${where}.cache_control`);
  if (cc.type !== 'ephemeral') throw invalidPayload(`${where}.cache_control.type must be "ephemeral"`);
  return 1;
}

export function validateComplete(body: unknown, ctx: ValidationContext): CompleteCall {
  if (!isObj(body)) throw invalidPayload('body is not a JSON object');

  if (ctx.strict) {
    for (const k in body) if (!TOP_LEVEL.has(k)) throw invalidOptions(`unknown top-level field "${k}" (strict knob)`);
  }

  // model (§2.2, §6)
  if (typeof body.model !== 'string' || body.model === '') throw invalidPayload('"model" is required and must be a string');
  const model = body.model;
  const info = ctx.models.get(model);
  if (!info) throw unknownModel(model);
  if (ctx.unavailableInRegion.has(model)) {
    throw new CortexError(400, REGION_UNAVAILABLE_MESSAGE, undefined, 'model listed in unavailableInRegion');
  }
  const family = info.family;

  // max_tokens (§2.2: integer ≥ 0 [SPEC]; > min(16384, model max) → "max tokens of count exceeded" [DOC])
  const limit = Math.min(COMPLETE_MAX_TOKENS, info.maxOutputTokens);
  let maxTokens: number | undefined;
  for (const key of ['max_tokens', 'max_output_tokens'] as const) {
    if (!(key in body)) continue;
    const v = body[key];
    if (v === null && key === 'max_output_tokens') continue; // SPEC: nullable
    if (!isInt(v) || v < 1) throw invalidOptions(`${key} must be an integer ≥ 1 (0 is rejected [INF])`);
    if (v > limit) {
      throw new CortexError(400, 'max tokens of count exceeded', undefined, `${key}=${v} > ${limit} for ${model}`);
    }
    maxTokens ??= v; // max_tokens wins over the deprecated alias
  }
  const effectiveMax = maxTokens ?? Math.min(4096, limit); // SPEC default 4096

  // temperature (§2.2: number ≥ 0, nullable [SPEC]; Claude caps at 1 [INF])
  let temperature: number | undefined;
  if ('temperature' in body && body.temperature !== null) {
    if (!isNum(body.temperature) || body.temperature < 0) throw invalidOptions('temperature must be a number ≥ 0');
    if (family === 'claude' && body.temperature > 1) throw invalidOptions('temperature must be ≤ 1 for Claude models [INF]');
    temperature = body.temperature;
  }
  // top_p (§2.2: 0..1 [SPEC], not nullable)
  if ('top_p' in body) {
    if (!isNum(body.top_p) || body.top_p < 0 || body.top_p > 1) throw invalidOptions('top_p must be a number in [0, 1]');
  }
  // stream (§2.2: boolean, nullable, default true)
  if ('stream' in body && body.stream !== null && typeof body.stream !== 'boolean') {
    throw invalidOptions('stream must be a boolean');
  }
  const stream = body.stream !== false;
  if ('provisioned_throughput_id' in body && body.provisioned_throughput_id !== null && typeof body.provisioned_throughput_id !== 'string') {
    throw invalidOptions('provisioned_throughput_id must be a string');
  }
  for (const k of ['sf-ml-xp-inflight-prompt-action', 'sf-ml-xp-inflight-prompt-client-id', 'sf-ml-xp-inflight-prompt-public-key']) {
    if (k in body && typeof body[k] !== 'string') throw invalidOptions(`${k} must be a string`);
  }

  // anthropic / openai (§2.2, §2.5.6)
  let thinkingBudget: number | undefined;
  if ('anthropic' in body && body.anthropic !== null) {
    const a = body.anthropic;
    if (!isObj(a)) throw invalidOptions('anthropic must be an object');
    onlyKeys(a, ['thinking'], 'anthropic', invalidOptions);
    if (a.thinking !== undefined && a.thinking !== null) {
      if (family !== 'claude') throw invalidOptions(`anthropic.thinking is only for Claude models, not ${model} [INF]`);
      if (!isObj(a.thinking)) throw invalidOptions('anthropic.thinking must be an object');
      onlyKeys(a.thinking, ['budget_tokens'], 'anthropic.thinking', invalidOptions);
      const b = a.thinking.budget_tokens;
      // [INF] Anthropic's own rules: budget ≥ 1024 and < max_tokens; temperature, if set, must be 1.
      if (!isInt(b) || b < 1024) throw invalidOptions('anthropic.thinking.budget_tokens must be an integer ≥ 1024 [INF]');
      if (b >= effectiveMax) throw invalidOptions(`budget_tokens (${b}) must be < max_tokens (${effectiveMax}) [INF]`);
      if (temperature !== undefined && temperature !== 1) throw invalidOptions('thinking requires temperature 1 [INF]');
      thinkingBudget = b;
    }
  }
  let reasoningEffort: string | undefined;
  if ('openai' in body && body.openai !== null) {
    const o = body.openai;
    if (!isObj(o)) throw invalidOptions('openai must be an object');
    onlyKeys(o, ['reasoning'], 'openai', invalidOptions);
    if (o.reasoning !== undefined && o.reasoning !== null) {
      if (family !== 'openai') throw invalidOptions(`openai.reasoning is only for OpenAI models, not ${model} [INF]`);
      if (!isObj(o.reasoning)) throw invalidOptions('openai.reasoning must be an object');
      onlyKeys(o.reasoning, ['effort'], 'openai.reasoning', invalidOptions);
      // SPEC enum low|medium|high; docs text also mentions minimal [INF] → accepted.
      if (!['minimal', 'low', 'medium', 'high'].includes(o.reasoning.effort as string)) {
        throw invalidOptions('openai.reasoning.effort must be minimal|low|medium|high');
      }
      reasoningEffort = o.reasoning.effort as string;
    }
  }

  // guardrails (§2.5.7)
  let guardrails: CompleteCall['guardrails'];
  if ('guardrails' in body && body.guardrails !== null) {
    const g = body.guardrails;
    if (!isObj(g)) throw invalidOptions('guardrails must be an object');
    onlyKeys(g, ['enabled', 'response_when_unsafe'], 'guardrails', invalidOptions);
    if ('enabled' in g && typeof g.enabled !== 'boolean') throw invalidOptions('guardrails.enabled must be a boolean');
    if ('response_when_unsafe' in g && typeof g.response_when_unsafe !== 'string') {
      throw invalidOptions('guardrails.response_when_unsafe must be a string');
    }
    guardrails = {
      enabled: g.enabled === true,
      responseWhenUnsafe: (g.response_when_unsafe as string | undefined) ?? 'Response filtered by Cortex Guard',
    };
  }

  // response_format (§2.2, §2.5.4)
  let responseSchema: Obj | undefined;
  if ('response_format' in body && body.response_format !== null) {
    const rf = body.response_format;
    if (!isObj(rf)) throw invalidOptions('response_format must be an object');
    onlyKeys(rf, ['type', 'schema'], 'response_format', invalidOptions);
    if (rf.type !== 'json') throw invalidOptions('response_format.type must be "json"');
    if (!isObj(rf.schema) || ('type' in rf.schema && typeof rf.schema.type !== 'string' && !Array.isArray(rf.schema.type))) {
      throw new CortexError(400, 'schema validation failed', undefined, 'response_format.schema must be a JSON Schema object');
    }
    // [DOC AI_COMPLETE structured outputs] OpenAI models need additionalProperties:false and every property required.
    if (family === 'openai') {
      const problem = openaiStrictSchemaProblem(rf.schema, '$');
      if (problem) throw new CortexError(400, `input schema validation error: [${problem}]`, undefined, 'OpenAI strict schema rule');
    }
    responseSchema = rf.schema;
  }

  // tools (§2.2, §4.1)
  const tools: CheckedTool[] = [];
  let breakpoints = 0;
  let promptChars = 0;
  if ('tools' in body && body.tools !== null) {
    if (!Array.isArray(body.tools)) throw invalidOptions('tools must be an array');
    if (body.tools.length === 0) throw invalidOptions('tools must not be empty; omit it instead [INF]');
    if (!info.tools) {
      throw new CortexError(400, `model ${model} does not support tool calling`, undefined, 'tools sent to a model without tool support [INF text]');
    }
    const seen = new Set<string>();
    body.tools.forEach((t, i) => {
      const where = `tools[${i}]`;
      if (!isObj(t)) throw invalidOptions(`${where} must be an object`);
      onlyKeys(t, ['tool_spec', 'cache_control'], where, invalidOptions);
      breakpoints += cacheControl(t, where);
      const s = t.tool_spec;
      if (!isObj(s)) throw invalidOptions(`${where}.tool_spec is required`);
      // §2.4: goose puts cache_control inside tool_spec; accept both places.
      onlyKeys(s, ['type', 'name', 'description', 'input_schema', 'cache_control'], `${where}.tool_spec`, invalidOptions);
      breakpoints += cacheControl(s, `${where}.tool_spec`);
      if (s.type !== 'generic') throw invalidOptions(`${where}.tool_spec.type must be "generic"`);
      if (typeof s.name !== 'string' || !TOOL_NAME.test(s.name)) {
        throw invalidOptions(`${where}.tool_spec.name must match ${TOOL_NAME} [INF]`);
      }
      if (seen.has(s.name)) throw invalidOptions(`duplicate tool name "${s.name}" [INF]`);
      seen.add(s.name);
      if ('description' in s && typeof s.description !== 'string') throw invalidOptions(`${where}.tool_spec.description must be a string`);
      if (!isObj(s.input_schema)) throw invalidOptions(`${where}.tool_spec.input_schema is required for generic tools`);
      if (s.input_schema.type !== 'object') throw invalidOptions(`${where}.tool_spec.input_schema.type must be "object" [INF]`);
      tools.push({ name: s.name, description: s.description as string | undefined, schema: s.input_schema });
    });
    promptChars += JSON.stringify(body.tools).length;
  }
  const toolNames = new Set(tools.map((t) => t.name));

  // tool_choice (§2.2, §4.1): {type: auto|required|tool, name?: [...]}; name only with type tool.
  let toolChoice: CompleteCall['toolChoice'];
  if ('tool_choice' in body && body.tool_choice !== null) {
    const tc = body.tool_choice;
    if (!isObj(tc)) throw invalidOptions('tool_choice must be an object');
    onlyKeys(tc, ['type', 'name'], 'tool_choice', invalidOptions);
    if (tc.type !== 'auto' && tc.type !== 'required' && tc.type !== 'tool') {
      throw invalidOptions('tool_choice.type must be auto|required|tool ("none" is not documented)');
    }
    if (tools.length === 0) throw invalidOptions('tool_choice without tools [INF]');
    if (tc.type === 'tool') {
      const n = tc.name;
      if (!Array.isArray(n) || n.length === 0 || !n.every((x) => typeof x === 'string')) {
        throw invalidOptions('tool_choice.name must be a non-empty array of tool names when type is "tool"');
      }
      for (const x of n as string[]) if (!toolNames.has(x)) throw invalidOptions(`tool_choice.name "${x}" is not in tools`);
      toolChoice = { type: 'tool', names: n as string[] };
    } else {
      if ('name' in tc) throw invalidOptions('tool_choice.name is only allowed with type "tool"');
      toolChoice = { type: tc.type };
    }
  }

  // messages (§2.3)
  if (!Array.isArray(body.messages)) throw invalidPayload('"messages" is required and must be an array');
  if (body.messages.length === 0) throw invalidPayload('"messages" must not be empty');
  const messages: CheckedMessage[] = [];
  let images = 0;
  body.messages.forEach((raw, i) => {
    const where = `messages[${i}]`;
    if (!isObj(raw)) throw invalidPayload(`${where} must be an object`);
    onlyKeys(raw, ['role', 'content', 'content_list'], where);
    const role = raw.role ?? 'user'; // SPEC default user
    if (typeof role !== 'string') throw invalidPayload(`${where}.role must be a string`);
    if (role !== 'system' && role !== 'user' && role !== 'assistant') {
      throw new CortexError(400, `unknown role ${JSON.stringify(role)}`, undefined, `${where}.role`); // [OBS litellm #23285]
    }
    const msg: CheckedMessage = { role, text: '', toolUses: [], toolResults: [], images: 0 };
    const hasContent = 'content' in raw;
    const hasList = 'content_list' in raw;
    if (!hasContent && !hasList) throw invalidPayload(`${where} must contain either content or content_list`);
    if (hasContent) {
      const c = raw.content;
      if (Array.isArray(c)) throw invalidPayload(`${where}.content is an array (OpenAI multi-part form) [OBS]`);
      if (typeof c !== 'string') throw invalidPayload(`${where}.content must be a string (null is rejected [INF])`);
      // [OBS ellmer] on messages[0]; applied to every message, with or without content_list [INF].
      if (c === '') throw new CortexError(400, `${where}.content cannot be empty string (was '')`, undefined, 'empty content');
      msg.text = c;
      promptChars += c.length;
    }
    if (hasList) {
      const list = raw.content_list;
      if (!Array.isArray(list)) throw invalidPayload(`${where}.content_list must be an array`);
      if (list.length === 0) throw invalidPayload(`${where}.content_list must not be empty [INF]`);
      list.forEach((item, j) => {
        const w = `${where}.content_list[${j}]`;
        if (!isObj(item)) throw invalidPayload(`${w} must be an object`);
        const r = checkItem(item, w, role, family);
        breakpoints += r.cache;
        promptChars += r.chars;
        if (r.text !== undefined) msg.text += (msg.text ? '\n' : '') + r.text;
        if (r.toolUse) msg.toolUses.push(r.toolUse);
        if (r.toolResult) msg.toolResults.push(r.toolResult);
        if (r.image) msg.images++;
      });
    }
    images += msg.images;
    messages.push(msg);
  });

  // Role order (§2.3 [SPEC]): system only first, then user/assistant alternating from user, ending with user.
  messages.forEach((m, i) => {
    if (m.role === 'system' && i !== 0) throw invalidPayload(`messages[${i}]: a system message must be the first message`);
  });
  const start = messages[0].role === 'system' ? 1 : 0;
  for (let i = start; i < messages.length; i++) {
    const expected = (i - start) % 2 === 0 ? 'user' : 'assistant';
    if (messages[i].role !== expected) {
      throw invalidPayload(`messages[${i}] is ${messages[i].role}; user and assistant must alternate, starting with user [INF for the start]`);
    }
  }
  if (messages.length === start || messages[messages.length - 1].role !== 'user') {
    throw invalidPayload('the last message must be a user message');
  }

  // Tool pairing (§2.3, §2.4 [SPEC] names must match tools[]; [OBS litellm #29964] every tool_use needs its result).
  for (let i = start; i < messages.length; i++) {
    const m = messages[i];
    for (const u of m.toolUses) {
      if (!toolNames.has(u.name)) {
        throw new CortexError(400, `tool_use name "${u.name}" does not match any tool in tools`, undefined, `messages[${i}] [INF]`);
      }
    }
    const ids = new Set<string>();
    for (const u of m.toolUses) {
      if (ids.has(u.id)) throw invalidPayload(`messages[${i}]: duplicate tool_use_id "${u.id}" [INF]`);
      ids.add(u.id);
    }
    if (m.toolResults.length > 0) {
      const prev = messages[i - 1];
      for (const r of m.toolResults) {
        if (!toolNames.has(r.name)) {
          throw new CortexError(400, `tool_results name "${r.name}" does not match any tool in tools`, undefined, `messages[${i}] (§2.4 [SPEC])`);
        }
        const use = prev?.toolUses.find((u) => u.id === r.id);
        if (!use) {
          throw new CortexError(400, `tool_results tool_use_id "${r.id}" does not match a tool_use in the preceding assistant message`, undefined, `messages[${i}] [INF]`);
        }
        if (use.name !== r.name) {
          throw new CortexError(400, `tool_results name "${r.name}" does not match tool_use "${use.name}" for id "${r.id}"`, undefined, `messages[${i}] [INF]`);
        }
      }
    }
    if (m.toolUses.length > 0) {
      const next = messages[i + 1];
      for (const u of m.toolUses) {
        if (!next?.toolResults.some((r) => r.id === u.id)) {
          throw new CortexError(400, 'Each toolUse block must be accompanied with a matching toolResult block', undefined, `tool_use "${u.id}" in messages[${i}] has no tool_results in messages[${i + 1}] [OBS litellm #29964]`);
        }
      }
    }
  }

  // Images (§2.5.5 [DOC]).
  if (images > 0 && !info.vision) throw new CortexError(400, `model ${model} does not support image input`, undefined, '[INF text]');
  if (images > MAX_IMAGES) throw new CortexError(400, `too many images: ${images} (at most ${MAX_IMAGES} per request)`, undefined, '[INF text]');
  // Prompt caching (§2.4 [DOC]): Claude takes at most 4 breakpoints; Anthropic's own error text [INF].
  if (family === 'claude' && breakpoints > 4) {
    throw new CortexError(400, `A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`, undefined, '[INF]');
  }

  const promptTokens = Math.ceil(promptChars / 4) + images * IMAGE_TOKENS;
  if (promptTokens > info.contextWindow) {
    throw new CortexError(400, `prompt is too long: ${promptTokens} tokens > ${info.contextWindow} maximum`, undefined, '[INF text]');
  }

  return {
    model, info, messages, tools, toolChoice, maxTokens: effectiveMax, stream, thinkingBudget, reasoningEffort,
    responseSchema, guardrails, promptTokens,
  };
}

interface ItemFacts {
  cache: number;
  chars: number;
  text?: string;
  toolUse?: ToolUseItem;
  toolResult?: ToolResultItem;
  image?: boolean;
}

/** One content_list item (§2.4): exactly its documented keys. */
function checkItem(it: Obj, w: string, role: string, family: ModelInfo['family']): ItemFacts {
  const roleMust = (r: string) => {
    if (role !== r) throw invalidPayload(`${w}: "${String(it.type)}" items belong in ${r} messages [INF]`);
  };
  switch (it.type) {
    case 'text': {
      onlyKeys(it, ['type', 'text', 'cache_control'], w);
      if (typeof it.text !== 'string') throw invalidPayload(`${w}.text must be a string`);
      if (it.text === '') throw invalidPayload(`${w}.text must not be empty [INF]`);
      return { cache: cacheControl(it, w), chars: it.text.length, text: it.text };
    }
    case 'image': {
      if (role === 'system') throw invalidPayload(`${w}: images are not allowed in system messages [INF]`);
      if (role === 'assistant') roleMust('user');
      onlyKeys(it, ['type', 'details', 'cache_control'], w);
      const d = it.details;
      if (!isObj(d)) throw invalidPayload(`${w}.details must be an object`);
      onlyKeys(d, ['type', 'content', 'content_type', 'detail'], `${w}.details`);
      if (d.type !== 'base64') throw invalidPayload(`${w}.details.type must be "base64" (no URLs)`);
      if (typeof d.content !== 'string' || d.content === '' || d.content.length % 4 !== 0 || !BASE64.test(d.content)) {
        throw invalidPayload(`${w}.details.content must be plain base64 (no data: prefix)`);
      }
      if (typeof d.content_type !== 'string' || !IMAGE_TYPES.has(d.content_type)) {
        throw invalidPayload(`${w}.details.content_type must be one of ${[...IMAGE_TYPES].join('|')}`);
      }
      if ('detail' in d) {
        if (!['auto', 'low', 'high'].includes(d.detail as string)) throw invalidPayload(`${w}.details.detail must be auto|low|high`);
        if (family !== 'openai') throw invalidOptions(`${w}.details.detail is only for OpenAI models [SPEC ImageDetails; rejection INF]`);
      }
      return { cache: cacheControl(it, w), chars: 0, image: true };
    }
    case 'tool_use': {
      roleMust('assistant');
      onlyKeys(it, ['type', 'tool_use', 'cache_control'], w);
      const u = it.tool_use;
      if (!isObj(u)) throw invalidPayload(`${w}.tool_use must be an object`);
      onlyKeys(u, ['tool_use_id', 'name', 'input'], `${w}.tool_use`);
      if (typeof u.tool_use_id !== 'string' || u.tool_use_id === '') throw invalidPayload(`${w}.tool_use.tool_use_id is required`);
      if (typeof u.name !== 'string' || u.name === '') throw invalidPayload(`${w}.tool_use.name is required`);
      if (!isObj(u.input)) throw invalidPayload(`${w}.tool_use.input must be an object (not an array or string) (§2.3)`);
      return {
        cache: cacheControl(it, w),
        chars: u.name.length + JSON.stringify(u.input).length,
        toolUse: { id: u.tool_use_id, name: u.name, input: u.input },
      };
    }
    case 'tool_results': {
      roleMust('user');
      onlyKeys(it, ['type', 'tool_results', 'cache_control'], w);
      const r = it.tool_results;
      if (!isObj(r)) throw invalidPayload(`${w}.tool_results must be an object`);
      onlyKeys(r, ['tool_use_id', 'name', 'content', 'status', 'result'], `${w}.tool_results`);
      if (typeof r.tool_use_id !== 'string' || r.tool_use_id === '') throw invalidPayload(`${w}.tool_results.tool_use_id is required`);
      // §13 [INF]: a missing name is a 400 (a recurring LiteLLM bug).
      if (typeof r.name !== 'string' || r.name === '') {
        throw new CortexError(400, 'tool_results.name is required', undefined, `${w}.tool_results.name missing`);
      }
      if (!Array.isArray(r.content)) throw invalidPayload(`${w}.tool_results.content must be an array`);
      if ('status' in r && typeof r.status !== 'string') throw invalidPayload(`${w}.tool_results.status must be a string`);
      if ('result' in r && !isObj(r.result)) throw invalidPayload(`${w}.tool_results.result must be an object`);
      let chars = 0;
      const texts: string[] = [];
      r.content.forEach((c, k) => {
        const cw = `${w}.tool_results.content[${k}]`;
        if (!isObj(c)) throw invalidPayload(`${cw} must be an object`);
        // [SPEC ToolResults.content]: text | json only.
        if (c.type === 'text') {
          onlyKeys(c, ['type', 'text', 'cache_control'], cw);
          if (typeof c.text !== 'string') throw invalidPayload(`${cw}.text must be a string`);
          cacheControl(c, cw);
          chars += c.text.length;
          texts.push(c.text);
        } else if (c.type === 'json') {
          onlyKeys(c, ['type', 'json'], cw);
          if (!isObj(c.json)) throw invalidPayload(`${cw}.json must be an object [SPEC JSONContent]`);
          const s = JSON.stringify(c.json);
          chars += s.length;
          texts.push(s);
        } else {
          throw invalidPayload(`${cw}.type must be text|json`);
        }
      });
      return {
        cache: cacheControl(it, w),
        chars,
        toolResult: { id: r.tool_use_id, name: r.name, texts, status: r.status as string | undefined },
      };
    }
    case 'anthropic': {
      // Thinking replay (§2.4). DOC form {"anthropic":{"thinking":{...}}}; SPEC AnthropicOutput form {"thinking":{...}} [INF: both accepted].
      roleMust('assistant');
      if (family !== 'claude') throw invalidPayload(`${w}: anthropic items are only for Claude models [INF]`);
      onlyKeys(it, ['type', 'anthropic', 'thinking'], w);
      const holder = 'anthropic' in it ? it.anthropic : it;
      if (!isObj(holder) || ('anthropic' in it && 'thinking' in it)) throw invalidPayload(`${w}.anthropic must be an object`);
      if (holder !== it) onlyKeys(holder, ['thinking'], `${w}.anthropic`);
      const t = holder.thinking;
      if (!isObj(t)) throw invalidPayload(`${w}: thinking must be an object`);
      onlyKeys(t, ['thinking', 'signature'], `${w} thinking`);
      if (typeof t.thinking !== 'string' || typeof t.signature !== 'string' || t.signature === '') {
        throw invalidPayload(`${w}: thinking.thinking and a non-empty thinking.signature are required [SPEC AnthropicThinking]`);
      }
      return { cache: 0, chars: t.thinking.length };
    }
    case 'openai': {
      roleMust('assistant');
      if (family !== 'openai') throw invalidPayload(`${w}: openai items are only for OpenAI models [INF]`);
      onlyKeys(it, ['type', 'openai'], w); // wrapper shape [INF] (§2.4)
      const o = it.openai;
      if (!isObj(o)) throw invalidPayload(`${w}.openai must be an object`);
      onlyKeys(o, ['reasoning'], `${w}.openai`);
      const rsn = o.reasoning;
      if (!isObj(rsn)) throw invalidPayload(`${w}.openai.reasoning must be an object`);
      onlyKeys(rsn, ['summary', 'encrypted_content'], `${w}.openai.reasoning`);
      if (typeof rsn.summary !== 'string' || typeof rsn.encrypted_content !== 'string') {
        throw invalidPayload(`${w}.openai.reasoning needs summary and encrypted_content strings [SPEC OpenAIReasoning]`);
      }
      return { cache: 0, chars: rsn.summary.length };
    }
    default:
      // Includes "tool_result" (the SPEC discriminator quirk, §2.4): send "tool_results".
      throw invalidPayload(`${w}.type ${JSON.stringify(it.type)} is not text|image|tool_use|tool_results|anthropic|openai`);
  }
}

/** [DOC AI_COMPLETE structured outputs] for OpenAI models: every object has additionalProperties:false and all properties required. */
function openaiStrictSchemaProblem(s: unknown, path: string): string | undefined {
  if (!isObj(s)) return undefined;
  const props = isObj(s.properties) ? s.properties : undefined;
  if (s.type === 'object' || props) {
    if (s.additionalProperties !== false) return `${path}: additionalProperties must be false`;
    const req = Array.isArray(s.required) ? s.required : [];
    for (const k of Object.keys(props ?? {})) if (!req.includes(k)) return `${path}: property "${k}" must be listed in required`;
  }
  for (const [k, v] of Object.entries(props ?? {})) {
    const p = openaiStrictSchemaProblem(v, `${path}.${k}`);
    if (p) return p;
  }
  if (s.items) return openaiStrictSchemaProblem(s.items, `${path}[]`);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const arr = s[key];
    if (Array.isArray(arr)) {
      for (const sub of arr) {
        const p = openaiStrictSchemaProblem(sub, path);
        if (p) return p;
      }
    }
  }
  const defs = (isObj(s.$defs) ? s.$defs : isObj(s.definitions) ? s.definitions : undefined) as Obj | undefined;
  for (const [k, v] of Object.entries(defs ?? {})) {
    const p = openaiStrictSchemaProblem(v, `${path}.$defs.${k}`);
    if (p) return p;
  }
  return undefined;
}
