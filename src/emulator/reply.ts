// What the emulator answers: a scripted reply, or the deterministic demo reply; then token counts and
// max_tokens truncation. No randomness except ids.
import { createHash, randomBytes } from 'node:crypto';
import type { CompleteCall } from './validate.js';
import type { ReplyMatch, ScriptedReply } from './types.js';

export interface PlannedToolCall {
  id: string;
  name: string;
  /** The input JSON text to stream (possibly cut short by max_tokens). */
  inputJson: string;
  /** The parsed input for stream:false (undefined when truncated). */
  input?: unknown;
  /** The scripted input was the empty object (streams per the emptyToolInput knob). */
  empty: boolean;
}

export interface ReplyPlan {
  thinking?: string;
  /** Anthropic thinking signature / OpenAI encrypted_content (deterministic: a hash of the thinking). */
  signature?: string;
  text: string;
  toolCalls: PlannedToolCall[];
  prohibited: boolean;
  truncated: boolean;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; guard_tokens?: number; cached_tokens?: number; cache_write_tokens?: number };
}

/** Cortex-looking tool ids: `tooluse_` + 22 base64url chars (§2.4 examples). */
export const toolUseId = () => 'tooluse_' + randomBytes(16).toString('base64url').slice(0, 22);

const tokens = (chars: number) => Math.ceil(chars / 4);

/** Whether a request may consume a scripted reply with this `when` (undefined: any request). */
export function replyMatches(when: ReplyMatch | undefined, call: CompleteCall): boolean {
  if (!when) return true;
  if (when.model !== undefined && call.model !== when.model) return false;
  if (when.tool !== undefined && !call.tools.some((t) => t.name === when.tool)) return false;
  if (when.lastUserIncludes !== undefined) {
    const users = call.messages.filter((m) => m.role === 'user');
    const user = users[users.length - 1];
    if (!user || !user.text.includes(when.lastUserIncludes)) return false;
  }
  return true;
}

export function planReply(call: CompleteCall, scripted: ScriptedReply | undefined): ReplyPlan {
  const r = scripted ?? defaultReply(call);
  let thinking = r.thinking;
  let text = r.text ?? '';
  const prohibited = r.finishReason === 'prohibited_content';
  if (prohibited) text = call.guardrails?.responseWhenUnsafe ?? 'Response filtered by Cortex Guard'; // §2.5.7
  // deepseek-r1 has no thinking channel on Cortex: it would show up as <think> text [INF].
  if (thinking !== undefined && call.info.family !== 'claude' && call.info.family !== 'openai') {
    if (call.info.family === 'deepseek') text = `<think>\n${thinking}\n</think>\n\n${text}`;
    thinking = undefined;
  }

  // max_tokens: the completion budget in characters (ceil(chars/4) tokens). Order: thinking, text, tools.
  let budget = call.maxTokens * 4;
  let truncated = false;
  const take = (s: string): string => {
    if (s.length <= budget) {
      budget -= s.length;
      return s;
    }
    truncated = true;
    let cut = budget;
    if (cut > 0 && isHighSurrogate(s.charCodeAt(cut - 1))) cut--;
    budget = 0;
    return s.slice(0, cut);
  };
  let used = 0;
  if (thinking !== undefined) {
    thinking = take(thinking);
    used += thinking.length;
  }
  text = take(text);
  used += text.length;
  const toolCalls: PlannedToolCall[] = [];
  for (const tc of r.toolCalls ?? []) {
    if (truncated) break;
    const raw = tc.input === undefined ? {} : tc.input;
    const json = typeof raw === 'string' ? raw : JSON.stringify(raw);
    const inputJson = take(json);
    used += inputJson.length;
    let input: unknown;
    if (!truncated) {
      if (typeof raw !== 'string') input = raw;
      else {
        try {
          input = JSON.parse(raw);
        } catch {
          input = raw; // malformed on purpose: stream:false shows it verbatim
        }
      }
    }
    const empty = typeof raw === 'object' && raw !== null && !Array.isArray(raw) && Object.keys(raw).length === 0;
    toolCalls.push({ id: tc.id ?? toolUseId(), name: tc.name, inputJson, input, empty });
  }

  const prompt = r.usage?.prompt_tokens ?? call.promptTokens;
  // An answer that stopped on its own reports < max_tokens, so `length` is derived only on truncation (§3.5).
  const natural = call.maxTokens > 1 ? Math.min(tokens(used), call.maxTokens - 1) : tokens(used);
  const completion = r.usage?.completion_tokens ?? (truncated ? call.maxTokens : natural);
  const usage: ReplyPlan['usage'] = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (r.usage?.cached_tokens) usage.cached_tokens = r.usage.cached_tokens; // rendered by the v1 endpoints (v1.ts)
  if (r.usage?.cache_write_tokens) usage.cache_write_tokens = r.usage.cache_write_tokens;
  if (call.guardrails?.enabled) usage.guard_tokens = tokens(used) + 8; // §3.4: present only with guardrails [value INF]
  const signature = thinking !== undefined ? createHash('sha256').update(thinking).digest('base64') : undefined;
  return { thinking, signature, text, toolCalls, prohibited, truncated, usage };
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;

function brief(s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : t.slice(0, max - 1).trimEnd() + '…';
}

/**
 * The demo answer (also what `cortex-proxy` users see without an account):
 * - after tool results: one sentence per tool saying what it returned;
 * - tool_choice required/tool: a call of the (first named) tool with an input built from its schema;
 * - response_format: a minimal JSON instance of the schema;
 * - otherwise: a short text saying this is the demo emulator, echoing the question.
 * Claude with anthropic.thinking and OpenAI with openai.reasoning also get a one-line thinking.
 */
export function defaultReply(call: CompleteCall): ScriptedReply {
  const last = call.messages[call.messages.length - 1];
  const question = brief(last.text, 120);
  const reply: ScriptedReply = {};
  if (call.thinkingBudget !== undefined || (call.reasoningEffort !== undefined && call.reasoningEffort !== 'none')) {
    reply.thinking = `The user wrote: "${question || '(no text)'}". This is the demo emulator, so a short canned answer will do.`;
  }
  if (last.toolResults.length > 0) {
    const parts = last.toolResults.map((r) => {
      const out = brief(r.texts.join(' '), 100) || '(no output)';
      return r.status === 'error' ? `${r.name} failed: ${out}` : `${r.name} returned ${out}`;
    });
    reply.text = `[cortex-proxy demo emulator] Tool results received: ${parts.join('; ')}.`;
    if (last.text) reply.text += ` You also said: "${question}".`;
    return reply;
  }
  if (call.toolChoice && call.toolChoice.type !== 'auto') {
    const name = call.toolChoice.names?.[0] ?? call.tools[0].name;
    const tool = call.tools.find((t) => t.name === name)!;
    reply.toolCalls = [{ name, input: sampleFromSchema(tool.schema, 0) }];
    return reply;
  }
  if (call.responseSchema) {
    reply.text = JSON.stringify(sampleFromSchema(call.responseSchema, 0));
    return reply;
  }
  reply.text =
    `Hello from the cortex-proxy demo emulator (model ${call.model}). No Snowflake account is connected, ` +
    `so this is a canned reply. You asked: "${question || '(no text)'}"`;
  return reply;
}

/** A small deterministic instance of a JSON Schema (required properties only; first enum value). */
export function sampleFromSchema(schema: unknown, depth: number): unknown {
  if (!schema || typeof schema !== 'object' || depth > 6) return null;
  const s = schema as Record<string, unknown>;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if ('default' in s) return s.default;
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
    if (Array.isArray(s[k]) && (s[k] as unknown[]).length > 0) return sampleFromSchema((s[k] as unknown[])[0], depth + 1);
  }
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') ?? s.type[0] : s.type;
  switch (type) {
    case 'string':
      return 'demo';
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 0;
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array': {
      const min = typeof s.minItems === 'number' ? s.minItems : 0;
      return Array.from({ length: Math.min(min, 3) }, () => sampleFromSchema(s.items, depth + 1));
    }
    default: {
      const props = (s.properties && typeof s.properties === 'object' ? s.properties : {}) as Record<string, unknown>;
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      const out: Record<string, unknown> = {};
      for (const k of required) if (k in props) out[k] = sampleFromSchema(props[k], depth + 1);
      return out;
    }
  }
}
