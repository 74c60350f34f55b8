// The emulator's Cortex Responses API: POST /api/v2/cortex/v1/responses (and <gateway>/v1/responses). Facts, from the
// release note https://docs.snowflake.com/release-notes/2026/other/2026-10-23-cortex-rest-api-responses-api:
// OpenAI models only; stateless (every request carries the whole conversation); `previous_response_id` and background
// mode are not supported. The field-level reference is not public, so the rest follows OpenAI's Responses API, as
// strictly as the other v1 endpoints: unknown top-level fields are refused (strict knob), the item types are
// checked, only function tools. Answers: the Responses SSE events (response.created … response.completed) or one
// Response object. Reasoning models (GPT-5 class, effort other than none) answer with a reasoning item first, as
// OpenAI's Responses API does: its summary only when `reasoning.summary` asks, its `encrypted_content` only when
// `include: ["reasoning.encrypted_content"]` asks (an HMAC-sealed token of this emulator). A reasoning item sent back
// in `input` is checked strictly: an rs_ id, and the encrypted_content this emulator issued for that id, else 400 with
// OpenAI's messages (without encrypted_content the item would be a reference to stored state, which store:false
// never keeps). https://platform.openai.com/docs/guides/reasoning#encrypted-reasoning-items
import { CortexError, invalidPayload, unknownModel } from './errors.js';
import type { ReplyPlan } from './reply.js';
import { split } from './sse.js';
import type { CheckedMessage, CheckedTool, CompleteCall, ValidationContext } from './validate.js';
import type { EncodeOptions, Endpoint } from './v1.js';
import { isObj } from '../core/json.js';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// ───── reasoning items: issued ids and sealed encrypted_content ─────
const SEAL_KEY = randomBytes(32); // per emulator process: a token from another run is as foreign as a tampered one
const REASONING_ID = /^rs_[0-9a-f]{48}$/;
const SEAL_PREFIX = 'gAAAAB'; // what OpenAI's Fernet tokens look like; the rest is ours
const mac = (payload: string) => createHmac('sha256', SEAL_KEY).update(payload).digest('base64url');

export function sealReasoning(id: string, model: string): string {
  const payload = Buffer.from(JSON.stringify({ id, model })).toString('base64url');
  return `${SEAL_PREFIX}${payload}.${mac(payload)}`;
}

/** The id this token was issued for, or undefined when it is not one of ours or was altered. */
function unsealReasoning(token: string): string | undefined {
  if (!token.startsWith(SEAL_PREFIX)) return undefined;
  const [payload, sig, ...rest] = token.slice(SEAL_PREFIX.length).split('.');
  if (!payload || !sig || rest.length) return undefined;
  const want = Buffer.from(mac(payload));
  const got = Buffer.from(sig);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return isObj(v) && typeof v.id === 'string' ? v.id : undefined;
  } catch {
    return undefined;
  }
}

/** What a Responses call asked about reasoning items (kept beside the CompleteCall the planner sees). */
interface ReasoningAsk {
  /** The id of the reasoning item this answer carries; undefined: none (not a reasoning model, or effort none). */
  id?: string;
  encrypted: boolean;
  summary: boolean;
}
const asks = new WeakMap<CompleteCall, ReasoningAsk>();

function checkReasoningItem(item: Record<string, unknown>, where: string): void {
  // The id may be left out (Codex does: the encrypted content is the state); when given it must be one we issued.
  const id = item.id;
  if (id !== undefined && (typeof id !== 'string' || !REASONING_ID.test(id))) throw new CortexError(400, `Invalid '${where}.id': ${JSON.stringify(id)}. Expected an ID that begins with 'rs'.`, 'invalid_value', 'reasoning item id');
  if (!Array.isArray(item.summary)) throw invalidPayload(`${where}: a reasoning item needs a summary array`);
  item.summary.forEach((p, j) => {
    if (!isObj(p) || p.type !== 'summary_text' || typeof p.text !== 'string') throw bad(`${where}.summary[${j}] must be {type: "summary_text", text}`);
  });
  const enc = item.encrypted_content;
  if (enc === undefined || enc === null) {
    if (id === undefined) throw bad(`${where}: a reasoning item needs an id or encrypted_content`);
    throw new CortexError(400, `Item with id '${id}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`, undefined, 'reasoning item without encrypted_content');
  }
  const sealed = typeof enc === 'string' ? unsealReasoning(enc) : undefined;
  if (sealed === undefined || (id !== undefined && sealed !== id))
    throw new CortexError(400, `The encrypted content for item ${String(id ?? sealed ?? where)} could not be verified.`, 'invalid_encrypted_content', 'reasoning encrypted_content not issued here or altered');
  for (const k in item) if (!['type', 'id', 'summary', 'encrypted_content', 'content', 'status'].includes(k)) throw bad(`${where}: unknown field "${k}" in a reasoning item`);
}

export const RESPONSES_PATH = '/api/v2/cortex/v1/responses';

const FIELDS = new Set([
  'model', 'input', 'instructions', 'tools', 'tool_choice', 'max_output_tokens', 'temperature', 'top_p', 'reasoning',
  'text', 'stream', 'store', 'include', 'parallel_tool_calls', 'metadata', 'user', 'truncation', 'prompt_cache_key',
]);
const REFUSED = ['previous_response_id', 'background', 'conversation'];
const MAX_OUTPUT = 131_072;
const bad = (message: string, detail?: string) => new CortexError(400, message, undefined, detail);
const tokens = (chars: number) => Math.ceil(chars / 4);

function textOf(content: unknown, where: string, types: string[]): { text: string; images: number } {
  if (typeof content === 'string') return { text: content, images: 0 };
  if (!Array.isArray(content)) throw invalidPayload(`${where}.content must be a string or an array`);
  let text = '';
  let images = 0;
  content.forEach((c, i) => {
    if (!isObj(c) || typeof c.type !== 'string') throw invalidPayload(`${where}.content[${i}] must be an object with a type`);
    if (c.type === 'input_image') {
      if (typeof c.image_url !== 'string' || !/^data:image\/(png|jpeg|gif|webp);base64,/.test(c.image_url)) throw bad(`${where}.content[${i}].image_url must be a base64 data URL`);
      images++;
      return;
    }
    if (!types.includes(c.type)) throw bad(`${where}.content[${i}].type '${c.type}' is not supported here`);
    if (typeof c.text !== 'string') throw invalidPayload(`${where}.content[${i}].text must be a string`);
    text += (text ? '\n' : '') + c.text;
  });
  return { text, images };
}

/** A Responses request body → the call the reply planner understands. */
export function validateResponses(body: unknown, ctx: ValidationContext): CompleteCall {
  if (!isObj(body)) throw invalidPayload('body is not a JSON object');
  if (typeof body.model !== 'string' || body.model === '') throw bad('model is required');
  const info = ctx.models.get(body.model);
  if (!info) throw unknownModel(body.model);
  if (info.family !== 'openai') throw bad(`model ${JSON.stringify(body.model)} is not supported on the Responses API (OpenAI models only)`, 'release note 2026-10-23');
  for (const k of REFUSED) if (k in body) throw bad(`${k} is not supported`, 'stateless: release note 2026-10-23');
  if (ctx.strict) for (const k in body) if (!FIELDS.has(k)) throw bad(`unknown field "${k}"`, 'strict knob');
  if ('max_tokens' in body || 'max_completion_tokens' in body) throw bad('use max_output_tokens');
  const messages: CheckedMessage[] = [];
  const push = (role: CheckedMessage['role']) => {
    const last = messages[messages.length - 1];
    if (last && last.role === role) return last;
    const m: CheckedMessage = { role, text: '', toolUses: [], toolResults: [], images: 0 };
    messages.push(m);
    return m;
  };
  if (typeof body.instructions === 'string' && body.instructions !== '') push('system').text = body.instructions;
  else if (body.instructions !== undefined && body.instructions !== null && typeof body.instructions !== 'string') throw invalidPayload('instructions must be a string');
  const callNames = new Map<string, string>();
  if (typeof body.input === 'string') push('user').text = body.input;
  else if (Array.isArray(body.input)) {
    body.input.forEach((item, i) => {
      const where = `input[${i}]`;
      if (!isObj(item)) throw invalidPayload(`${where} must be an object`);
      const type = item.type ?? 'message';
      if (type === 'message') {
        const role = item.role;
        if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer') throw bad(`${where}.role ${JSON.stringify(role)} is not supported`);
        const { text, images } = textOf(item.content, where, role === 'assistant' ? ['output_text', 'refusal'] : ['input_text']);
        const m = push(role === 'developer' ? 'system' : role);
        m.text += (m.text && text ? '\n' : '') + text;
        m.images += images;
      } else if (type === 'function_call') {
        if (typeof item.call_id !== 'string' || typeof item.name !== 'string' || typeof item.arguments !== 'string') throw invalidPayload(`${where}: function_call needs call_id, name and arguments (strings)`);
        let input: unknown;
        try {
          input = JSON.parse(item.arguments);
        } catch {
          throw bad(`${where}.arguments is not JSON`);
        }
        callNames.set(item.call_id, item.name);
        push('assistant').toolUses.push({ id: item.call_id, name: item.name, input: isObj(input) ? input : {} });
      } else if (type === 'function_call_output') {
        if (typeof item.call_id !== 'string' || typeof item.output !== 'string') throw invalidPayload(`${where}: function_call_output needs call_id and output (strings)`);
        const name = callNames.get(item.call_id);
        if (!name) throw bad(`${where}: no function_call with call_id ${JSON.stringify(item.call_id)} precedes this output`);
        push('user').toolResults.push({ id: item.call_id, name, texts: [item.output] });
      } else if (type === 'reasoning') {
        checkReasoningItem(item, where);
      } else throw bad(`${where}.type '${String(type)}' is not supported`);
    });
  } else throw invalidPayload('input must be a string or an array of items');
  if (!messages.some((m) => m.role === 'user')) throw bad('input has no user content');

  const tools: CheckedTool[] = [];
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) throw invalidPayload('tools must be an array');
    if (!info.tools && body.tools.length) throw bad(`model ${body.model} does not support tools`);
    body.tools.forEach((t, i) => {
      if (!isObj(t) || t.type !== 'function') throw bad(`tools[${i}]: only function tools are supported`);
      if (typeof t.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(t.name)) throw bad(`tools[${i}].name is invalid`);
      if (t.parameters !== undefined && !isObj(t.parameters)) throw invalidPayload(`tools[${i}].parameters must be an object`);
      tools.push({ name: t.name, description: typeof t.description === 'string' ? t.description : undefined, schema: (t.parameters as Record<string, unknown>) ?? {} });
    });
  }
  let toolChoice: CompleteCall['toolChoice'];
  const tc = body.tool_choice;
  if (tc === 'required') toolChoice = { type: 'required' };
  else if (isObj(tc) && tc.type === 'function' && typeof tc.name === 'string') toolChoice = { type: 'tool', names: [tc.name] };
  else if (tc !== undefined && tc !== 'auto' && tc !== 'none') throw bad('tool_choice must be auto, none, required or {type:function,name}');
  const mot = body.max_output_tokens;
  if (mot !== undefined && (typeof mot !== 'number' || !Number.isInteger(mot) || mot < 1 || mot > MAX_OUTPUT)) throw bad(`max_output_tokens must be an integer from 1 to ${MAX_OUTPUT}`);
  if (body.temperature !== undefined && info.reasoning) throw bad('temperature is not supported with this model');
  let reasoningEffort: string | undefined;
  let summary = false;
  if (body.reasoning !== undefined) {
    if (!isObj(body.reasoning)) throw invalidPayload('reasoning must be an object');
    for (const k in body.reasoning) if (k !== 'effort' && k !== 'summary') throw bad(`unknown field "reasoning.${k}"`);
    const e = body.reasoning.effort;
    if (e !== undefined && !['none', 'minimal', 'low', 'medium', 'high'].includes(e as string)) throw bad('reasoning.effort must be none, minimal, low, medium or high');
    reasoningEffort = e as string | undefined;
    const sm = body.reasoning.summary;
    if (sm !== undefined && sm !== null && !['auto', 'concise', 'detailed'].includes(sm as string)) throw bad('reasoning.summary must be auto, concise or detailed');
    summary = sm !== undefined && sm !== null;
  }
  let encrypted = false;
  if (body.include !== undefined && body.include !== null) {
    if (!Array.isArray(body.include) || body.include.some((x) => typeof x !== 'string')) throw invalidPayload('include must be an array of strings');
    const known = ['reasoning.encrypted_content', 'message.output_text.logprobs', 'message.input_image.image_url'];
    for (const x of body.include) if (!known.includes(x as string)) throw bad(`include value ${JSON.stringify(x)} is not supported`);
    encrypted = body.include.includes('reasoning.encrypted_content');
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') throw invalidPayload('stream must be a boolean');
  const chars = messages.reduce((n, m) => n + m.text.length + m.toolResults.reduce((k, r) => k + r.texts.join('').length, 0), 0);
  // A reasoning model reasons unless told none (GPT-5's default effort is medium).
  const reasons = info.reasoning && (reasoningEffort ?? 'medium') !== 'none';
  const call: CompleteCall = {
    model: body.model,
    info,
    messages,
    tools,
    toolChoice,
    maxTokens: Math.min((mot as number | undefined) ?? 4096, info.maxOutputTokens ?? MAX_OUTPUT),
    stream: body.stream === true,
    reasoningEffort,
    promptTokens: tokens(chars) + messages.reduce((n, m) => n + m.images * 400, 0),
  };
  asks.set(call, { id: reasons ? `rs_${randomBytes(24).toString('hex')}` : undefined, encrypted, summary });
  return call;
}

/** The reasoning output item of this answer, if the model reasons. */
function reasoningItem(plan: ReplyPlan, call: CompleteCall): Record<string, unknown> | undefined {
  const a = asks.get(call);
  if (!a?.id) return undefined;
  // A scripted thinking text with blank lines becomes several summary parts, as OpenAI's summaries come.
  const parts = a.summary && plan.thinking ? plan.thinking.split('\n\n').filter((t) => t !== '') : [];
  const item: Record<string, unknown> = { type: 'reasoning', id: a.id, summary: parts.map((text) => ({ type: 'summary_text', text })) };
  if (a.encrypted) item.encrypted_content = sealReasoning(a.id, call.model);
  return item;
}

const q = JSON.stringify;
const event = (name: string, obj: Record<string, unknown>) => `event: ${name}\ndata: ${q({ type: name, ...obj })}\n\n`;

function outputItems(plan: ReplyPlan, msgId: string, call?: CompleteCall): Array<Record<string, unknown>> {
  const items: Array<Record<string, unknown>> = [];
  const r = call && reasoningItem(plan, call);
  if (r) items.push(r);
  if (plan.text) items.push({ type: 'message', id: msgId, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: plan.text, annotations: [] }] });
  for (const tc of plan.toolCalls) items.push({ type: 'function_call', id: `fc_${tc.id}`, call_id: tc.id, name: tc.name, arguments: tc.inputJson, status: 'completed' });
  return items;
}

function responseObject(plan: ReplyPlan, call: CompleteCall, o: EncodeOptions, status: 'in_progress' | 'completed' | 'incomplete', output: Array<Record<string, unknown>>): Record<string, unknown> {
  const r: Record<string, unknown> = { id: `resp_${o.id.replace(/-/g, '')}`, object: 'response', created_at: o.created, status, model: call.model, output };
  if (status === 'incomplete') r.incomplete_details = { reason: plan.prohibited ? 'content_filter' : 'max_output_tokens' };
  if (status !== 'in_progress')
    r.usage = {
      input_tokens: plan.usage.prompt_tokens,
      input_tokens_details: { cached_tokens: plan.usage.cached_tokens ?? 0 },
      output_tokens: plan.usage.completion_tokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: plan.usage.prompt_tokens + plan.usage.completion_tokens,
    };
  return r;
}

const finalStatus = (plan: ReplyPlan) => (plan.truncated || plan.prohibited ? 'incomplete' : 'completed');

export const responsesEndpoint: Endpoint = {
  validate: (body, ctx) => validateResponses(body, ctx),
  json: (plan, call, o) => q(responseObject(plan, call, o, finalStatus(plan), outputItems(plan, `msg_${o.id.replace(/-/g, '')}`, call))),
  stream(plan, call, o) {
    const msgId = `msg_${o.id.replace(/-/g, '')}`;
    const frames: string[] = [];
    let seq = 0;
    const ev = (name: string, obj: Record<string, unknown>) => frames.push(event(name, { sequence_number: seq++, ...obj }));
    ev('response.created', { response: responseObject(plan, call, o, 'in_progress', []) });
    let index = 0;
    const r = reasoningItem(plan, call);
    if (r) {
      const id = r.id as string;
      ev('response.output_item.added', { output_index: index, item: { type: 'reasoning', id, summary: [] } });
      for (const [j, part] of (r.summary as Array<{ text: string }>).entries()) {
        ev('response.reasoning_summary_part.added', { item_id: id, output_index: index, summary_index: j, part: { type: 'summary_text', text: '' } });
        for (const t of split(part.text, o.knobs.chunkChars)) ev('response.reasoning_summary_text.delta', { item_id: id, output_index: index, summary_index: j, delta: t });
        ev('response.reasoning_summary_text.done', { item_id: id, output_index: index, summary_index: j, text: part.text });
        ev('response.reasoning_summary_part.done', { item_id: id, output_index: index, summary_index: j, part: { type: 'summary_text', text: part.text } });
      }
      ev('response.output_item.done', { output_index: index, item: r });
      index++;
    }
    if (plan.text) {
      ev('response.output_item.added', { output_index: index, item: { type: 'message', id: msgId, status: 'in_progress', role: 'assistant', content: [] } });
      ev('response.content_part.added', { item_id: msgId, output_index: index, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
      for (const t of split(plan.text, o.knobs.chunkChars)) ev('response.output_text.delta', { item_id: msgId, output_index: index, content_index: 0, delta: t });
      ev('response.output_text.done', { item_id: msgId, output_index: index, content_index: 0, text: plan.text });
      ev('response.output_item.done', { output_index: index, item: outputItems({ ...plan, toolCalls: [] }, msgId)[0] });
      index++;
    }
    for (const tc of plan.toolCalls) {
      const id = `fc_${tc.id}`;
      ev('response.output_item.added', { output_index: index, item: { type: 'function_call', id, call_id: tc.id, name: tc.name, arguments: '', status: 'in_progress' } });
      for (const f of split(tc.inputJson, o.knobs.toolInputChars)) ev('response.function_call_arguments.delta', { item_id: id, output_index: index, delta: f });
      ev('response.function_call_arguments.done', { item_id: id, output_index: index, arguments: tc.inputJson });
      ev('response.output_item.done', { output_index: index, item: { type: 'function_call', id, call_id: tc.id, name: tc.name, arguments: tc.inputJson, status: 'completed' } });
      index++;
    }
    const status = finalStatus(plan);
    const done = event(status === 'completed' ? 'response.completed' : 'response.incomplete', { sequence_number: seq++, response: responseObject(plan, call, o, status, r ? [r, ...outputItems(plan, msgId)] : outputItems(plan, msgId)) });
    return { frames, tail: done };
  },
  errorFrame: (message, code) => event('error', { code, message, sequence_number: 0 }),
};
