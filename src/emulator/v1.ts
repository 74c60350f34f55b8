// The emulator's v1 endpoints (reference/cortex-api.md §8): POST /api/v2/cortex/v1/chat/completions and
// POST /api/v2/cortex/v1/messages. server.ts serves them through the same handler as inference:complete (auth,
// scripted replies, faults, streaming with backpressure); this file is what differs: the validator, the stream and
// JSON encodings, the in-band error frame, and the knob that makes an account "not entitled" to v1.
//
// /v1/chat/completions answers with the documented quirks of §8.2/§8.3, per model family:
//   Claude   id "", finish_reason "" on every chunk, no delta.role, every tool delta on index 0 (continuations carry
//            id "" and the other Go zero values), refusal:"" and function_call:{name:"",arguments:""} on deltas,
//            cached tokens (reads + writes) reported outside prompt_tokens (total = prompt + cached + completion), no data: [DONE]
//   OpenAI   the standard OpenAI stream (role first, one index per call, finish_reason, usage chunk, [DONE])
//   others   as OpenAI, but finish_reason is always "stop"
// /v1/messages answers exactly as Anthropic's API does (message_start … message_stop, ping, input_json_delta,
// thinking_delta/signature_delta, stop_reason, usage with cache fields).
import type { IncomingHttpHeaders } from 'node:http';
import { CortexError } from './errors.js';
import type { ReplyPlan } from './reply.js';
import { split } from './sse.js';
import type { Knobs } from './types.js';
import type { CompleteCall, ValidationContext } from './validate.js';
import { validateChatCompletions, validateMessages, type V1Call } from './v1-validate.js';

export const V1_CHAT_PATH = '/api/v2/cortex/v1/chat/completions';
export const V1_MESSAGES_PATH = '/api/v2/cortex/v1/messages';

export interface EncodeOptions {
  /** The request id (X-Snowflake-Request-ID). */
  id: string;
  created: number;
  knobs: Knobs;
}

/** One chat endpoint as server.ts's handler needs it. */
export interface Endpoint {
  validate(body: unknown, ctx: ValidationContext, headers: IncomingHttpHeaders): CompleteCall;
  json(plan: ReplyPlan, call: CompleteCall, o: EncodeOptions): string;
  stream(plan: ReplyPlan, call: CompleteCall, o: EncodeOptions): { frames: string[]; tail: string };
  /** The in-band error a stream ends with for a midStreamError fault. */
  errorFrame(message: string, code: string): string;
}

/** The knob `v1`: an account not entitled to the v1 endpoints (§6 [OBS opencode #33265, lago fixtures]) or one without them. */
export function v1Refusal(mode: Knobs['v1'], path: string): CortexError | undefined {
  if (mode === 'forbidden') {
    return new CortexError(403, 'Forbidden: This account is not allowed to access this endpoint. Please contact Snowflake support.', '003001', 'knob v1=forbidden');
  }
  if (mode === 'not_found') return new CortexError(404, `Not found: ${path}`, undefined, 'knob v1=not_found');
  return undefined;
}

const q = JSON.stringify;
const data = (json: string) => `data: ${json}\n\n`;
const event = (name: string, json: string) => `event: ${name}\ndata: ${json}\n\n`;

function finishOf(plan: ReplyPlan): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  if (plan.prohibited) return 'content_filter';
  if (plan.truncated) return 'length';
  return plan.toolCalls.length > 0 ? 'tool_calls' : 'stop';
}

/** Tool-input fragments, honouring the emptyToolInput knob for parameterless calls (§3.3). */
function fragments(tc: ReplyPlan['toolCalls'][number], k: Knobs): string[] {
  if (tc.empty && tc.inputJson === '{}') return k.emptyToolInput === 'omit' ? [] : k.emptyToolInput === 'braces' ? ['{}'] : [''];
  return tc.inputJson === '' ? [] : split(tc.inputJson, k.toolInputChars);
}

// ───────────────────────────── /v1/chat/completions ─────────────────────────────

/**
 * The usage object. Claude: cache reads and writes outside prompt_tokens (§8.3), and cached_tokens = reads + writes
 * ("✔ Cache read + write", compatibility chart of https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api),
 * with cache_write_tokens the writes' share of it; total = prompt + cached + completion. OpenAI: inside prompt_tokens,
 * cached_tokens = reads only.
 */
function chatUsage(plan: ReplyPlan, claude: boolean): Record<string, unknown> {
  const u = plan.usage;
  const cached = u.cached_tokens ?? 0;
  const write = u.cache_write_tokens ?? 0;
  const prompt = claude ? u.prompt_tokens : u.prompt_tokens + cached + write;
  const total = claude ? u.prompt_tokens + cached + write + u.completion_tokens : prompt + u.completion_tokens;
  const details: Record<string, number> = claude ? { audio_tokens: 0, cache_write_tokens: write, cached_tokens: cached + write } : { cached_tokens: cached };
  return {
    completion_tokens: u.completion_tokens,
    completion_tokens_details: { accepted_prediction_tokens: 0, audio_tokens: 0, reasoning_tokens: 0, rejected_prediction_tokens: 0 },
    prompt_tokens: prompt,
    prompt_tokens_details: details,
    total_tokens: total,
  };
}

function chatStream(plan: ReplyPlan, c: CompleteCall, o: EncodeOptions): { frames: string[]; tail: string } {
  const call = c as V1Call;
  const family = call.info.family;
  const claude = family === 'claude';
  const k = o.knobs;
  const head = `{"id":${q(claude ? '' : o.id)},"object":"chat.completion.chunk","created":${o.created},"model":${q(call.model)},"choices":[{"index":0,"delta":`;
  const open = claude ? '""' : 'null';
  const chunk = (delta: string, finish = open) => data(`${head}${delta},"logprobs":null,"finish_reason":${finish}}]${claude ? ',"usage":null' : ''}}`);
  // Claude's deltas carry Go zero values for the fields it does not use (§8.3).
  const zero = claude ? ',"refusal":"","function_call":{"arguments":"","name":""}' : '';
  const frames: string[] = [];
  if (!claude) frames.push(chunk('{"role":"assistant","content":""}'));
  if (plan.thinking && claude) for (const t of split(plan.thinking, k.chunkChars)) frames.push(chunk(`{"content":"","reasoning":${q(t)}${zero},"tool_calls":null}`));
  if (plan.text) for (const t of split(plan.text, k.chunkChars)) frames.push(chunk(`{"content":${q(t)}${zero}${claude ? ',"tool_calls":null' : ''}}`));
  plan.toolCalls.forEach((tc, i) => {
    const index = claude ? 0 : i; // Claude: every call on index 0 [OBS §8.3]
    frames.push(chunk(`{${claude ? '"content":"",' : ''}"tool_calls":[{"index":${index},"id":${q(tc.id)},"type":"function","function":{"name":${q(tc.name)},"arguments":""}}]${zero}}`));
    for (const f of fragments(tc, k)) {
      const cont = claude ? `{"index":0,"id":"","type":"","function":{"name":"","arguments":${q(f)}}}` : `{"index":${index},"function":{"arguments":${q(f)}}}`;
      frames.push(chunk(`{${claude ? '"content":"",' : ''}"tool_calls":[${cont}]${zero}}`));
    }
  });
  const finish = claude ? '""' : q(family === 'openai' ? finishOf(plan) : 'stop');
  frames.push(chunk(claude ? `{"content":""${zero},"tool_calls":null}` : '{}', finish));
  if (call.includeUsage) {
    frames.push(data(`{"id":${q(claude ? '' : o.id)},"object":"chat.completion.chunk","created":${o.created},"model":${q(call.model)},"choices":[],"usage":${q(chatUsage(plan, claude))}}`));
  }
  return { frames, tail: claude ? '' : data('[DONE]') };
}

function chatJson(plan: ReplyPlan, call: CompleteCall, o: EncodeOptions): string {
  const family = call.info.family;
  const claude = family === 'claude';
  const calls = plan.toolCalls
    .filter((tc) => tc.input !== undefined)
    .map((tc) => ({ id: tc.id, type: 'function', function: { name: tc.name, arguments: JSON.stringify(tc.input) } }));
  if (claude) {
    // §8.3 verbatim shape (claude-sonnet-4-5, lago fixture): Go zero values everywhere.
    const message: Record<string, unknown> = {
      annotations: null,
      audio: { data: '', expires_at: 0, id: '', transcript: '' },
      content: plan.text,
      function_call: { arguments: '', name: '' },
      refusal: '',
      role: 'assistant',
      tool_calls: calls.length ? calls : null,
    };
    if (plan.thinking) message.reasoning = plan.thinking;
    return q({
      choices: [{ finish_reason: '', index: 0, message }],
      created: o.created,
      id: '',
      model: call.model,
      object: 'chat.completion',
      service_tier: '',
      system_fingerprint: '',
      usage: chatUsage(plan, true),
    });
  }
  const message: Record<string, unknown> = { role: 'assistant', content: calls.length && !plan.text ? null : plan.text, refusal: null };
  if (calls.length) message.tool_calls = calls;
  return q({
    id: o.id,
    object: 'chat.completion',
    created: o.created,
    model: call.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: family === 'openai' ? finishOf(plan) : 'stop' }],
    usage: chatUsage(plan, false),
  });
}

// ───────────────────────────── /v1/messages ─────────────────────────────

function stopReason(plan: ReplyPlan): string {
  if (plan.prohibited) return 'refusal';
  if (plan.truncated) return 'max_tokens';
  return plan.toolCalls.length > 0 ? 'tool_use' : 'end_turn';
}

function messagesUsage(plan: ReplyPlan): { input_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number } {
  return {
    input_tokens: plan.usage.prompt_tokens,
    cache_creation_input_tokens: plan.usage.cache_write_tokens ?? 0,
    cache_read_input_tokens: plan.usage.cached_tokens ?? 0,
  };
}

const messageId = (id: string) => `msg_${id.replace(/-/g, '')}`;

function messagesStream(plan: ReplyPlan, call: CompleteCall, o: EncodeOptions): { frames: string[]; tail: string } {
  const k = o.knobs;
  const frames: string[] = [];
  const start = {
    type: 'message_start',
    message: {
      id: messageId(o.id), type: 'message', role: 'assistant', model: call.model, content: [], stop_reason: null, stop_sequence: null,
      usage: { ...messagesUsage(plan), output_tokens: 1 },
    },
  };
  frames.push(event('message_start', q(start)));
  frames.push(event('ping', '{"type": "ping"}'));
  let index = 0;
  const block = (content: string, deltas: string[]) => {
    const i = index++;
    frames.push(event('content_block_start', `{"type":"content_block_start","index":${i},"content_block":${content}}`));
    for (const d of deltas) frames.push(event('content_block_delta', `{"type":"content_block_delta","index":${i},"delta":${d}}`));
    frames.push(event('content_block_stop', `{"type":"content_block_stop","index":${i}}`));
  };
  if (plan.thinking !== undefined) {
    const deltas = (plan.thinking ? split(plan.thinking, k.chunkChars) : []).map((t) => `{"type":"thinking_delta","thinking":${q(t)}}`);
    if (plan.signature) deltas.push(`{"type":"signature_delta","signature":${q(plan.signature)}}`);
    block('{"type":"thinking","thinking":"","signature":""}', deltas);
  }
  if (plan.text) block('{"type":"text","text":""}', split(plan.text, k.chunkChars).map((t) => `{"type":"text_delta","text":${q(t)}}`));
  for (const tc of plan.toolCalls) {
    const deltas = fragments(tc, k).map((f) => `{"type":"input_json_delta","partial_json":${q(f)}}`);
    block(`{"type":"tool_use","id":${q(tc.id)},"name":${q(tc.name)},"input":{}}`, deltas);
  }
  frames.push(
    event(
      'message_delta',
      `{"type":"message_delta","delta":{"stop_reason":${q(stopReason(plan))},"stop_sequence":null},"usage":{"output_tokens":${plan.usage.completion_tokens}}}`,
    ),
  );
  frames.push(event('message_stop', '{"type":"message_stop"}'));
  return { frames, tail: '' };
}

function messagesJson(plan: ReplyPlan, call: CompleteCall, o: EncodeOptions): string {
  const content: unknown[] = [];
  if (plan.thinking !== undefined) content.push({ type: 'thinking', thinking: plan.thinking, signature: plan.signature ?? '' });
  if (plan.text) content.push({ type: 'text', text: plan.text });
  for (const tc of plan.toolCalls) if (tc.input !== undefined) content.push({ type: 'tool_use', id: tc.id, name: tc.name, input: tc.input });
  return q({
    id: messageId(o.id),
    type: 'message',
    role: 'assistant',
    model: call.model,
    content,
    stop_reason: stopReason(plan),
    stop_sequence: null,
    usage: { ...messagesUsage(plan), output_tokens: plan.usage.completion_tokens },
  });
}

/** v1 paths → their endpoint. */
export const V1_ENDPOINTS: Readonly<Record<string, Endpoint>> = {
  [V1_CHAT_PATH]: {
    validate: (body, ctx) => validateChatCompletions(body, ctx),
    json: chatJson,
    stream: chatStream,
    errorFrame: (message, code) => data(q({ error: { message, type: 'api_error', code } })),
  },
  [V1_MESSAGES_PATH]: {
    validate: validateMessages,
    json: messagesJson,
    stream: messagesStream,
    errorFrame: (message) => event('error', q({ type: 'error', error: { type: 'api_error', message } })),
  },
};
