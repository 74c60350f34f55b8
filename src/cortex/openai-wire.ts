// The `openai` wire: canonical ChatRequest ⇄ Cortex POST {api_base}/cortex/v1/chat/completions (reference/cortex-api.md
// §8). The request is plain OpenAI Chat Completions with Cortex's rules: `max_completion_tokens` (Cortex answers 400
// to `max_tokens`), nothing it rejects (service_tier, store, metadata, prediction, audio, modalities are never carried
// by the canonical request, so never sent), tools refused before the call on models without tool calling, a Claude
// prefill refused. The answer is repaired here, for this upstream only (§8.2/§8.3):
//   - empty `id` and `finish_reason: ""` (Claude)           → the request id; finish derived by core/finish.ts
//   - no `delta.role`, Go zero values (`refusal:""`, `function_call:{name:"",arguments:""}`, `audio:{…}`,
//     `tool_calls:null`, `id:""` on continuation fragments) → ignored
//   - every tool delta on `index: 0` (Claude)               → re-indexed by call id
//   - no `data: [DONE]` (Claude)                            → the end of the body is the end
//   - cached tokens outside `prompt_tokens` (Claude)        → added back once (reads + writes), so clients see OpenAI semantics
import type { ChatRequest, Message, Part, Tool, ToolResultPart, Usage } from '../core/types.js';
import type { Deployment } from '../config/types.js';
import { oneTokenProbe, type DecoderContext, type Emit, type EncodedRequest, type StreamDecoder, type Wire } from './wire.js';
import { ProxyError } from '../core/errors.js';
import { randomId } from '../core/ids.js';
import { openaiResponseFormat } from './response-format.js';
import { WireDecoder, decodeChoicesJson } from './decoder.js';
import { snowflakeError, upstreamError } from './snowflake-errors.js';
import { deploymentInfo, type ModelInfo } from './models.js';
import { EMPTY_TOOL_RESULT_TEXT, PLACEHOLDER_USER_TEXT, V1_MAX_COMPLETION_TOKENS, argumentsObject, clampTemperature, cleanToolId, inputSchema, planV1, toolsToSend, V1_MAX_IMAGES } from './plan.js';
import { inBandError, num, usageFrom } from './v1-common.js';
import { isObj, type Json } from '../core/json.js';

export const OPENAI_PATH = '/cortex/v1/chat/completions';

const EPHEMERAL = { type: 'ephemeral' } as const;

// ───────────────────────────── request ─────────────────────────────

function encodeRequest(req: ChatRequest, deployment: Deployment): EncodedRequest {
  const plan = planV1(req, deployment, V1_MAX_COMPLETION_TOKENS);
  const { info } = plan;

  const messages: Json[] = [];
  if (req.system && req.system.trim() !== '') messages.push({ role: 'system', content: req.system });
  let first = true;
  for (const m of req.messages) {
    const encoded = m.role === 'user' ? userMessages(m, info) : assistantMessage(m);
    if (encoded.length === 0) continue;
    if (first && encoded[0].role === 'assistant') messages.push({ role: 'user', content: PLACEHOLDER_USER_TEXT });
    first = false;
    for (const e of encoded) pushMerged(messages, e);
  }
  if (first) throw new ProxyError('invalid_request', 'the request has no message content to send', { param: 'messages' });

  const body: Json = { model: deployment.cortexModel, messages, max_completion_tokens: plan.maxTokens };
  let temperature = clampTemperature(req.temperature ?? deployment.temperature, info);
  let topP = req.topP;
  if (plan.effort) body.reasoning_effort = plan.effort;
  if (plan.thinkingBudget !== undefined) {
    // Claude on /v1/chat/completions takes OpenRouter-style `reasoning` (§8.2); thinking needs temperature 1.
    body.reasoning = { max_tokens: plan.thinkingBudget };
    temperature = undefined;
    topP = undefined;
  }
  if (info.family === 'openai' && info.reasoning) {
    // OpenAI's reasoning models (gpt-5, o-series) take only the default sampling: any other value is a 400 there.
    temperature = undefined;
    topP = undefined;
  }
  if (temperature !== undefined) body.temperature = temperature;
  if (topP !== undefined) body.top_p = Math.min(1, Math.max(0, topP));
  if (req.stop?.length && info.family === 'openai') body.stop = req.stop;

  // tool_choice none without tool history: no tools at all (nothing to call, nothing to validate against).
  const sent = toolsToSend(req, plan.historyHasTools);
  if (sent) {
    body.tools = sent.tools.map(functionTool);
    const choice = sent.choice;
    if (choice) body.tool_choice = choice.type === 'tool' ? { type: 'function', function: { name: choice.name } } : choice.type;
  }
  if (req.responseFormat?.type === 'json') body.response_format = openaiResponseFormat(req.responseFormat, info);
  if (deployment.wire === 'auto' && body.tools && info.family === 'openai' && info.reasoning && plan.effort && plan.effort !== 'none') {
    // GPT-5 models refuse function tools with reasoning on here; auto sends such requests over /v1/responses and
    // lands here only where that endpoint is missing (refused by the account, or the AI Gateway). A request that
    // works beats an agent stopped on every turn: reasoning off, as Snowflake's own launcher does for OpenCode
    // (snowflake-cli docs/ai-gateway.md), and said in x-cortex-proxy-warning. A forced cortex_api: openai keeps it.
    body.reasoning_effort = 'none';
    plan.warnings.push(
      `reasoning_effort ${plan.effort} sent as none: Cortex's /v1/chat/completions refuses function tools with reasoning on ${deployment.cortexModel}, and /v1/responses is not available for this deployment`,
    );
  }

  body.stream = true;
  body.stream_options = { include_usage: true };
  return { path: OPENAI_PATH, body, maxTokens: plan.maxTokens, ...(plan.warnings.length ? { warnings: plan.warnings } : {}) };
}

function functionTool(t: Tool): Json {
  const fn: Json = { name: t.name };
  if (t.description) fn.description = t.description;
  fn.parameters = inputSchema(t.jsonSchema);
  return { type: 'function', function: fn };
}

function textPart(text: string, cache: boolean | undefined, info: ModelInfo): Json {
  // Explicit cache breakpoints are Claude's; OpenAI models cache implicitly (§8.2).
  return cache && info.family === 'claude' ? { type: 'text', text, cache_control: EPHEMERAL } : { type: 'text', text };
}

function imagePart(p: Extract<Part, { type: 'image' }>, info: ModelInfo): Json {
  if (!p.base64) {
    throw new ProxyError('internal', 'an image was still a URL at encoding time (cortex-proxy bug: resolveImages must run before the openai wire)');
  }
  const url = `data:${p.mediaType || 'image/png'};base64,${p.base64}`;
  const image: Json = { url };
  if (p.detail && info.family === 'openai') image.detail = p.detail;
  const part: Json = { type: 'image_url', image_url: image };
  if (p.cache && info.family === 'claude') part.cache_control = EPHEMERAL;
  return part;
}

/** A user turn: its tool results as `tool` messages first (they answer the previous turn), then its own content. */
function userMessages(m: Message, info: ModelInfo): Json[] {
  const out: Json[] = [];
  const content: Json[] = [];
  let plain = true;
  for (const p of m.parts) {
    if (p.type === 'tool_result') {
      out.push(toolMessage(p));
      // Tool messages carry text only: a result's images ride along in the user message after them.
      for (const q of p.parts)
        if (q.type === 'image') {
          content.push(imagePart(q, info));
          plain = false;
        }
    } else if (p.type === 'text') {
      if (p.text === '') continue;
      content.push(textPart(p.text, p.cache, info));
      if (p.cache && info.family === 'claude') plain = false;
    } else if (p.type === 'image') {
      content.push(imagePart(p, info));
      plain = false;
    }
  }
  if (content.length > 0) {
    out.push({ role: 'user', content: plain ? content.map((c) => c.text as string).join('\n') : content });
  }
  return out;
}

function toolMessage(p: ToolResultPart): Json {
  const texts: string[] = [];
  for (const q of p.parts) if (q.type === 'text' && q.text !== '') texts.push(q.text);
  const hasImage = p.parts.some((q) => q.type === 'image');
  const text = texts.length ? texts.join('\n') : hasImage ? '(image attached below)' : EMPTY_TOOL_RESULT_TEXT;
  return { role: 'tool', tool_call_id: cleanToolId(p.callId), content: p.isError ? `Error: ${text}` : text };
}

function assistantMessage(m: Message): Json[] {
  const texts: string[] = [];
  const calls: Json[] = [];
  for (const p of m.parts) {
    if (p.type === 'text' && p.text !== '') texts.push(p.text);
    else if (p.type === 'tool_call') {
      // Arguments are re-serialised from the parsed object: Claude behind this endpoint needs valid JSON objects.
      calls.push({
        id: cleanToolId(p.id),
        type: 'function',
        function: { name: p.name, arguments: JSON.stringify(argumentsObject(p.argumentsJson)) },
      });
    }
    // Thinking cannot be replayed through Chat Completions (no signature field): dropped.
  }
  if (texts.length === 0 && calls.length === 0) return [];
  const msg: Json = { role: 'assistant', content: texts.length ? texts.join('\n') : null };
  if (calls.length) msg.tool_calls = calls;
  return [msg];
}

/** Consecutive user (or assistant) messages merge into one: Claude behind Cortex needs strict alternation. */
function pushMerged(messages: Json[], m: Json): void {
  const prev = messages[messages.length - 1];
  if (!prev || prev.role !== m.role || (m.role !== 'user' && m.role !== 'assistant')) {
    messages.push(m);
    return;
  }
  if (m.role === 'assistant') {
    const text = [prev.content, m.content].filter((t) => typeof t === 'string' && t !== '').join('\n\n');
    prev.content = text === '' ? null : text;
    const calls = [...((prev.tool_calls as Json[]) ?? []), ...((m.tool_calls as Json[]) ?? [])];
    if (calls.length) prev.tool_calls = calls;
    return;
  }
  if (typeof prev.content === 'string' && typeof m.content === 'string') {
    prev.content = `${prev.content}\n\n${m.content}`;
    return;
  }
  const asParts = (c: unknown): Json[] => (typeof c === 'string' ? [{ type: 'text', text: c }] : (c as Json[]));
  prev.content = [...asParts(prev.content), ...asParts(m.content)];
}

function unsupportedFields(req: ChatRequest, deployment?: Deployment): string[] {
  // stop is honoured by OpenAI models only; Claude and the rest ignore it there (§8.2).
  if (req.stop === undefined || req.stop.length === 0) return [];
  return deployment && deploymentInfo(deployment).family === 'openai' ? [] : ['stop'];
}

// ───────────────────────────── response ─────────────────────────────

interface Call {
  id: string;
  name: string;
  /** Canonical index (0, 1, … in order of appearance). */
  index: number;
  started: boolean;
  ended: boolean;
  hasArgs: boolean;
  /** Arguments that arrived before the name (a start cannot be emitted without it). */
  pending: string[];
}

/**
 * OpenAI usage with Cortex's Claude quirk undone (§8.3). Snowflake's compatibility chart for /v1/chat/completions
 * (https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api) says prompt_tokens_details.cached_tokens
 * is "Only cache reads" for OpenAI models (inside prompt_tokens, OpenAI semantics) and "Cache read + write" for Claude,
 * whose cached tokens sit outside prompt_tokens but inside total_tokens (a real capture: 7 + 4805 + 6 = 4818). Claude
 * answers may also carry cache_write_tokens, which is then a part of cached_tokens, not an addition to it: adding both
 * counted the writes twice. total_tokens tells the forms apart; canonical usage has prompt ⊇ reads + writes.
 */
export function openaiUsage(u: unknown): Usage | undefined {
  if (!isObj(u)) return undefined;
  const p = num(u.prompt_tokens) ?? 0;
  const c = num(u.completion_tokens) ?? 0;
  const t = num(u.total_tokens);
  const d = isObj(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const cached = num(d.cached_tokens) ?? num(u.cache_read_input_tokens) ?? 0;
  const write = num(d.cache_write_tokens) ?? num(u.cache_creation_input_tokens) ?? 0;
  if (p === 0 && c === 0 && cached === 0 && write === 0) return undefined; // a zero-value usage object says nothing
  if (cached + write === 0) return usageFrom(p, c, 0, 0, t ?? p + c);
  const inside = t !== undefined ? t === p + c : cached <= p;
  if (inside) return usageFrom(p, c, cached, write, t); // OpenAI semantics: cached ⊆ prompt
  // Outside prompt_tokens. As documented, cached_tokens holds reads + writes (total = prompt + cached + completion);
  // an answer whose total also adds cache_write_tokens counts them apart from cached_tokens.
  const writesApart = t !== undefined && write > 0 && t === p + c + cached + write;
  const reads = writesApart ? cached : Math.max(0, cached - write);
  const writes = writesApart || write <= cached ? write : cached;
  const prompt = p + reads + writes;
  return usageFrom(prompt, c, reads, writes, prompt + c);
}

class OpenAIDecoder extends WireDecoder {
  private started = false;
  private gotData = false;
  private sawDone = false;
  private readonly calls: Call[] = [];
  /** Upstream index → the call currently at that index (Claude puts every call on index 0). */
  private readonly byIndex = new Map<number, Call>();
  private readonly byId = new Map<string, Call>();
  /** The last call whose start was emitted and that is not closed yet (calls stream one after another). */
  private open: Call | undefined;
  private usage: Usage | undefined;
  private reason: string | undefined;

  onData(data: string): void {
    if (this.done || this.sawDone) return;
    const t = data.trim();
    if (t === '') return;
    if (t === '[DONE]') {
      this.sawDone = true;
      return;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch {
      this.fail(upstreamError('Cortex sent a truncated or malformed stream event (invalid JSON)', this.ctx.requestId));
      return;
    }
    this.chunk(obj);
  }

  chunk(obj: unknown): void {
    if (!isObj(obj)) {
      this.fail(upstreamError('Cortex sent a stream event that is not a JSON object', this.ctx.requestId));
      return;
    }
    this.gotData = true;
    if (obj.error !== undefined && obj.error !== null) {
      this.fail(inBandError(obj.error, this.requestId(obj), 'Cortex failed during the answer'));
      return;
    }
    const choices = obj.choices;
    if (choices === undefined && (obj.code !== undefined || obj.message !== undefined)) {
      this.fail(snowflakeError(200, obj, this.requestId(obj)));
      return;
    }
    if (!this.started) this.start(obj);
    const u = openaiUsage(obj.usage);
    if (u) this.usage = u;
    if (!Array.isArray(choices) || choices.length === 0) return;
    const choice = choices[0];
    if (!isObj(choice)) return;
    if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '') this.reason = choice.finish_reason;
    const d = isObj(choice.delta) ? choice.delta : isObj(choice.message) ? choice.message : undefined;
    if (d) this.delta(d);
  }

  private requestId(obj?: Json): string | undefined {
    if (this.ctx.requestId) return this.ctx.requestId;
    return obj && typeof obj.request_id === 'string' ? obj.request_id : undefined;
  }

  private start(obj: Json): void {
    this.started = true;
    const id = typeof obj.id === 'string' && obj.id !== '' ? obj.id : this.ctx.requestId ?? randomId('cortex-');
    const created = obj.created;
    this.emit(typeof created === 'number' && created > 0 ? { type: 'start', id, created } : { type: 'start', id });
  }

  private delta(d: Json): void {
    const reasoning = typeof d.reasoning_content === 'string' ? d.reasoning_content : typeof d.reasoning === 'string' ? d.reasoning : '';
    if (reasoning !== '') this.emit({ type: 'thinking', text: reasoning });
    if (typeof d.content === 'string' && d.content !== '') this.emit({ type: 'text', text: d.content });
    else if (Array.isArray(d.content)) {
      for (const c of d.content) if (isObj(c) && typeof c.text === 'string' && c.text !== '') this.emit({ type: 'text', text: c.text });
    }
    if (typeof d.refusal === 'string' && d.refusal !== '') {
      this.emit({ type: 'text', text: d.refusal });
      this.reason ??= 'content_filter';
    }
    if (Array.isArray(d.tool_calls)) for (const tc of d.tool_calls) if (isObj(tc)) this.toolDelta(tc);
    // Legacy function_call; Claude sends it as the zero value {name:"",arguments:""}, which is skipped.
    const fc = d.function_call;
    if (isObj(fc) && typeof fc.name === 'string' && fc.name !== '') this.toolDelta({ index: -1, function: fc });
  }

  private toolDelta(tc: Json): void {
    const upIndex = typeof tc.index === 'number' && Number.isInteger(tc.index) ? tc.index : 0;
    const id = typeof tc.id === 'string' ? tc.id : '';
    const fn = isObj(tc.function) ? tc.function : {};
    const name = typeof fn.name === 'string' ? fn.name : '';
    const a = fn.arguments;
    const args = typeof a === 'string' ? a : isObj(a) ? JSON.stringify(a) : '';
    let call: Call | undefined;
    if (id !== '') {
      call = this.byId.get(id);
      if (!call) call = this.newCall(id, name);
      this.byIndex.set(upIndex, call);
    } else {
      call = this.byIndex.get(upIndex);
      if (!call) {
        if (name === '' && args === '') return; // a zero-value fragment
        call = this.newCall(randomId('call_', 12), name);
        this.byIndex.set(upIndex, call);
      }
    }
    if (call.name === '' && name !== '') call.name = name;
    if (!call.started && call.name !== '') this.startCall(call);
    if (args === '') return;
    if (!call.started) {
      call.pending.push(args);
      return;
    }
    call.hasArgs = true;
    this.emit({ type: 'tool_call_delta', index: call.index, argumentsFragment: args });
  }

  private newCall(id: string, name: string): Call {
    const call: Call = { id, name: '', index: this.calls.length, started: false, ended: false, hasArgs: false, pending: [] };
    if (name) call.name = name;
    this.calls.push(call);
    this.byId.set(id, call);
    return call;
  }

  private startCall(call: Call): void {
    if (this.open && this.open !== call) this.closeCall(this.open);
    call.started = true;
    this.open = call;
    this.emit({ type: 'tool_call_start', index: call.index, id: call.id, name: call.name });
    for (const f of call.pending) {
      call.hasArgs = true;
      this.emit({ type: 'tool_call_delta', index: call.index, argumentsFragment: f });
    }
    call.pending = [];
  }

  private closeCall(call: Call): void {
    if (call.ended || !call.started) return;
    call.ended = true;
    // Clients always get valid JSON arguments, even for parameterless tools that streamed nothing.
    if (!call.hasArgs) this.emit({ type: 'tool_call_delta', index: call.index, argumentsFragment: '{}' });
    this.emit({ type: 'tool_call_end', index: call.index });
    if (this.open === call) this.open = undefined;
  }

  finish(): void {
    if (this.done) return;
    if (!this.gotData) return this.fail(upstreamError('Cortex closed the response without sending any data', this.ctx.requestId));
    for (const c of this.calls) {
      if (!c.started) this.startCall(c); // a call whose name never came still reaches the client
      this.closeCall(c);
    }
    this.closeWith(this.calls.length > 0, this.reason, this.usage);
  }
}

function createStreamDecoder(ctx: DecoderContext): StreamDecoder {
  return new OpenAIDecoder(ctx);
}

/** A whole 200 JSON body: a chat.completion (stream:false answer) or a Snowflake error dressed as 200. */
function decodeJson(body: unknown, ctx: DecoderContext, emit: Emit): void {
  decodeChoicesJson(body, new OpenAIDecoder(ctx), ctx, emit);
}


declare module '../config/types.js' {
  interface WireNames {
    openai: true;
  }
}

/**
 * /v1/chat/completions serves every model on the account; the AI Gateway's chat endpoint does not serve Claude (its
 * /v1/messages does). cortex_api auto's default: every request no other wire's rule takes.
 */
export const openaiWire: Wire = {
  name: 'openai',
  path: OPENAI_PATH,
  gatewayPath: '/v1/chat/completions',
  gatewayServes: { test: (info) => info.family !== 'claude', label: 'models other than Claude' },
  auto: 'otherwise',
  whenRefused: 'complete',
  maxImages: V1_MAX_IMAGES,
  probe: oneTokenProbe,
  encodeRequest,
  createStreamDecoder,
  decodeJson,
  unsupportedFields,
};
