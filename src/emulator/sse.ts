// Encodes a ReplyPlan as Cortex SSE chunks (§3.1–§3.3, variants A/B/C exactly as in §3.2) or as the
// stream:false JSON (§3.7). Chunks are built from string pieces; only the text fragments are JSON-escaped.
import type { Knobs, Variant } from './types.js';
import type { ReplyPlan } from './reply.js';
import type { ModelInfo } from '../cortex/models.js';

export function resolveVariant(k: Knobs, info: ModelInfo): Variant {
  if (k.variant !== 'auto') return k.variant;
  return info.family === 'claude' || info.family === 'openai' ? 'C' : 'A'; // [INF]
}

interface Piece {
  delta: string;
  /** Output characters this piece carries (for cumulative usage). */
  chars: number;
}

const q = JSON.stringify;

/** Splits into pieces of at most n UTF-16 units without cutting a surrogate pair. */
export function split(s: string, n: number): string[] {
  const size = Math.max(1, Math.floor(n));
  if (s.length <= size) return [s];
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    let end = Math.min(i + size, s.length);
    const c = s.charCodeAt(end - 1);
    if (end < s.length && c >= 0xd800 && c <= 0xdbff) end = end - 1 > i ? end - 1 : end + 1;
    out.push(s.slice(i, end));
    i = end;
  }
  return out;
}

function pieces(plan: ReplyPlan, v: Variant, k: Knobs, family: ModelInfo['family']): Piece[] {
  const out: Piece[] = [];
  // Thinking (§3.2 [SPEC StreamingAnthropicOutput / StreamingOpenAIOutput]; exact nesting [INF]): the SPEC
  // delta is {"type":"anthropic","thinking":{"thinking"|"signature"}}; C also duplicates it in content_list
  // and carries text:"" as it does for tool chunks.
  if (plan.thinking !== undefined) {
    const openai = family === 'openai';
    const wrap = (inner: string) => {
      const d = openai ? `"type":"openai","reasoning":${inner}` : `"type":"anthropic","thinking":${inner}`;
      return v === 'C' ? `{${d},"content_list":[{${d}}],"text":""}` : `{${d}}`;
    };
    for (const t of plan.thinking ? split(plan.thinking, k.chunkChars) : []) {
      out.push({ delta: wrap(openai ? `{"summary":${q(t)}}` : `{"thinking":${q(t)}}`), chars: t.length });
    }
    if (plan.signature) {
      out.push({ delta: wrap(openai ? `{"encrypted_content":${q(plan.signature)}}` : `{"signature":${q(plan.signature)}}`), chars: 0 });
    }
  }
  if (plan.text) {
    for (const t of split(plan.text, k.chunkChars)) {
      const j = q(t);
      const delta =
        v === 'A'
          ? `{"content":${j}}`
          : v === 'B'
            ? `{"content":${j},"content_list":[{"text":${j},"type":"text"}]}`
            : `{"type":"text","content":${j},"content_list":[{"type":"text","text":${j}}],"text":${j}}`;
      out.push({ delta, chars: t.length });
    }
  }
  for (const tc of plan.toolCalls) {
    const id = q(tc.id);
    const name = q(tc.name);
    // Tool start (§3.3): tool_use_id + name. Variant A has no tool capture: SPEC StreamingToolUse fields flat [INF].
    out.push({
      delta:
        v === 'A'
          ? `{"type":"tool_use","tool_use_id":${id},"name":${name}}`
          : v === 'B'
            ? `{"content_list":[{"name":${name},"tool_use_id":${id}}]}`
            : `{"type":"tool_use","tool_use_id":${id},"name":${name},"content_list":[{"tool_use_id":${id},"name":${name}}],"text":""}`,
      chars: 0,
    });
    let frags: string[];
    if (tc.empty && tc.inputJson === '{}') {
      frags = k.emptyToolInput === 'omit' ? [] : k.emptyToolInput === 'braces' ? ['{}'] : [''];
    } else {
      frags = tc.inputJson === '' ? [] : split(tc.inputJson, k.toolInputChars);
    }
    for (const f of frags) {
      const j = q(f);
      out.push({
        delta:
          v === 'A'
            ? `{"type":"tool_use","input":${j}}`
            : v === 'B'
              ? `{"content_list":[{"input":${j}}]}`
              : `{"type":"tool_use","input":${j},"content_list":[{"input":${j}}],"text":""}`,
        chars: f.length,
      });
    }
  }
  return out;
}

function usageJson(u: ReplyPlan['usage'], completion = u.completion_tokens): string {
  const g = u.guard_tokens !== undefined ? `,"guard_tokens":${u.guard_tokens}` : '';
  return `{"prompt_tokens":${u.prompt_tokens},"completion_tokens":${completion},"total_tokens":${u.prompt_tokens + completion}${g}}`;
}

function finishOf(plan: ReplyPlan): string {
  if (plan.prohibited) return 'prohibited_content';
  if (plan.truncated) return 'length';
  return plan.toolCalls.length > 0 ? 'tool_calls' : 'stop';
}

export interface EncodedStream {
  /** One SSE event per chunk (each ends with a blank line). */
  frames: string[];
  /** `data: [DONE]` when the knob is on, else ''. */
  tail: string;
}

export function encodeStream(
  plan: ReplyPlan,
  opts: { id: string; model: string; created: number; variant: Variant; knobs: Knobs; family: ModelInfo['family'] },
): EncodedStream {
  const { variant: v, knobs: k } = opts;
  const withCreated = k.created === 'auto' ? v === 'A' : k.created;
  const usageMode = k.usage !== 'auto' ? k.usage : v === 'A' ? 'cumulative' : v === 'B' ? 'final' : 'last';
  const head = `{"id":${q(opts.id)},${withCreated ? `"created":${opts.created},` : ''}"model":${q(opts.model)},"choices":[{"delta":`;
  const finish = plan.prohibited || k.finishReason ? `,"finish_reason":${q(finishOf(plan))}` : '';
  const list = pieces(plan, v, k, opts.family);
  const chunks: string[] = [];
  const total = plan.usage.completion_tokens;
  if (usageMode === 'final' || list.length === 0) {
    for (const p of list) chunks.push(`${head}${p.delta}}],"usage":{}}`);
    chunks.push(`${head}{}${finish}}],"usage":${usageJson(plan.usage)}}`);
  } else if (usageMode === 'last') {
    list.forEach((p, i) => {
      const lastOne = i === list.length - 1;
      chunks.push(`${head}${p.delta}${lastOne ? finish : ''}}],"usage":${lastOne ? usageJson(plan.usage) : '{}'}}`);
    });
  } else {
    const allChars = list.reduce((n, p) => n + p.chars, 0);
    let seen = 0;
    list.forEach((p, i) => {
      seen += p.chars;
      const lastOne = i === list.length - 1;
      const c = lastOne ? total : Math.min(total, Math.max(1, Math.ceil((total * seen) / Math.max(1, allChars))));
      chunks.push(`${head}${p.delta}${lastOne ? finish : ''}}],"usage":${usageJson(plan.usage, c)}}`);
    });
  }
  return { frames: chunks.map((c) => frame(c, k)), tail: k.done ? frame('[DONE]', k) : '' };
}

/** One SSE event (§3.1): optional `event: message`, optionally pretty-printed over several data: lines. */
export function frame(json: string, k: Pick<Knobs, 'eventLines' | 'multilineData'>): string {
  const ev = k.eventLines ? 'event: message\n' : '';
  if (!k.multilineData || json === '[DONE]') return `${ev}data: ${json}\n\n`;
  const pretty = JSON.stringify(JSON.parse(json), null, 2);
  return `${ev}${pretty.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`;
}

/** stream:false (§3.7 [SPEC NonStreamingCompleteResponse]; top-level id/created/model [INF]). */
export function encodeJson(plan: ReplyPlan, opts: { id: string; model: string; created: number; knobs: Knobs; family: ModelInfo['family'] }): string {
  const list: unknown[] = [];
  if (plan.thinking !== undefined) {
    // Same shapes the request side accepts for replay (§2.4 DOC form) [INF].
    if (opts.family === 'openai') {
      list.push({ type: 'openai', openai: { reasoning: { summary: plan.thinking, encrypted_content: plan.signature } } });
    } else {
      list.push({ type: 'anthropic', anthropic: { thinking: { thinking: plan.thinking, signature: plan.signature } } });
    }
  }
  if (plan.text) list.push({ type: 'text', text: plan.text });
  for (const tc of plan.toolCalls) {
    if (tc.input === undefined) continue; // cut short by max_tokens: not a runnable call [INF]
    list.push({ type: 'tool_use', tool_use: { tool_use_id: tc.id, name: tc.name, input: tc.input } });
  }
  const choice: Record<string, unknown> = { message: { content: plan.text, content_list: list } };
  if (plan.prohibited) choice.finish_reason = 'prohibited_content'; // §2.5.7: on the choice
  const out: Record<string, unknown> = { id: opts.id, created: opts.created, model: opts.model, choices: [choice] };
  if (opts.knobs.finishReason && !plan.prohibited) out.finish_reason = finishOf(plan); // SPEC: top level
  out.usage = plan.usage;
  return JSON.stringify(out);
}
