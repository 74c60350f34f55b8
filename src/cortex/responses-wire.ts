// The `responses` wire: canonical ChatRequest ⇄ Cortex POST {api_base}/cortex/v1/responses (through the AI Gateway:
// <gateway>/v1/responses). Facts: https://docs.snowflake.com/release-notes/2026/other/2026-10-23-cortex-rest-api-responses-api
// — OpenAI models only, stateless (the whole conversation every time; no previous_response_id, no background). The
// field-level reference is not public: the body follows OpenAI's Responses API with what the other v1 wires already
// know about Cortex (max_output_tokens, not max_tokens; no sampling parameters on reasoning models). Why it exists:
// on /v1/chat/completions GPT-5.x refuse function tools while reasoning is on; Responses carries both.
// Chosen with litellm_params.cortex_api: responses (docs/ai-gateway.md). Reasoning items between turns: asked for with
// include: ["reasoning.encrypted_content"] on reasoning models, handed to the client as canonical thinking parts
// carrying Cortex's id/summary/encrypted_content (reasoning_item events), and sent back in `input` on the next turn.
// Not carried: stop sequences (drop_params decides).
import type { ChatRequest, Message, OpenAIReasoning, Part, Tool, Usage } from '../core/types.js';
import type { Deployment } from '../config/types.js';
import { oneTokenProbe, type AutoState, type DecoderContext, type Emit, type EncodedRequest, type StreamDecoder, type Wire } from './wire.js';
import { ProxyError, invalidRequest } from '../core/errors.js';
import { openaiResponseFormat } from './response-format.js';
import { WireDecoder, bodyJson } from './decoder.js';
import { snowflakeError, upstreamError } from './snowflake-errors.js';
import { PLACEHOLDER_USER_TEXT, V1_MAX_COMPLETION_TOKENS, clampTemperature, cleanToolId, inputSchema, planV1, toolsToSend, V1_MAX_IMAGES } from './plan.js';
import { inBandError, num, usageFrom } from './v1-common.js';
import { isObj, type Json } from '../core/json.js';

export const RESPONSES_PATH = '/cortex/v1/responses';

// ───────────────────────────── request ─────────────────────────────

function imageUrl(p: Extract<Part, { type: 'image' }>): string {
  if (!p.base64) throw new ProxyError('internal', 'an image was still a URL at encoding time (cortex-proxy bug: resolveImages must run before the responses wire)');
  return `data:${p.mediaType || 'image/png'};base64,${p.base64}`;
}

/** A reasoning item to send back: only one Cortex issued with encrypted_content (stateless, store:false). */
function reasoningInput(p: Extract<Part, { type: 'thinking' }>): Json | undefined {
  const r = p.openai;
  if (!r?.encryptedContent) return undefined;
  const item: Json = { type: 'reasoning', summary: (r.summary ?? []).map((text) => ({ type: 'summary_text', text })), encrypted_content: r.encryptedContent };
  if (r.id) item.id = r.id; // Codex replays without it; the encrypted content is the state
  return item;
}

function inputItems(m: Message, reasoning: boolean): Json[] {
  const items: Json[] = [];
  const content: Json[] = [];
  const flush = () => {
    if (content.length === 0) return;
    items.push({ type: 'message', role: m.role, content: content.splice(0) });
  };
  for (const p of m.parts) {
    if (p.type === 'text') {
      if (p.text !== '') content.push({ type: m.role === 'user' ? 'input_text' : 'output_text', text: p.text });
    } else if (p.type === 'image') {
      if (m.role === 'user') content.push({ type: 'input_image', image_url: imageUrl(p) });
    } else if (p.type === 'tool_call') {
      flush();
      items.push({ type: 'function_call', call_id: cleanToolId(p.id), name: p.name, arguments: p.argumentsJson || '{}' });
    } else if (p.type === 'tool_result') {
      flush();
      const text = p.parts.filter((q) => q.type === 'text').map((q) => (q as { text: string }).text).join('\n');
      items.push({ type: 'function_call_output', call_id: cleanToolId(p.callId), output: text === '' ? '(no output)' : text });
      for (const q of p.parts) if (q.type === 'image') content.push({ type: 'input_image', image_url: imageUrl(q) });
      if (content.length && m.role === 'user') flush();
    } else if (p.type === 'thinking' && reasoning && m.role === 'assistant') {
      // An OpenAI reasoning item from an earlier turn goes back as Cortex gave it (id, summary, encrypted_content),
      // so the model keeps its reasoning across tool calls. Claude thinking (signature) and summaries without
      // encrypted_content mean nothing to an OpenAI model: dropped.
      const item = reasoningInput(p);
      if (item) {
        flush();
        items.push(item);
      }
    }
  }
  flush();
  return items;
}

function functionTool(t: Tool): Json {
  const tool: Json = { type: 'function', name: t.name, parameters: inputSchema(t.jsonSchema) };
  if (t.description) tool.description = t.description;
  return tool;
}

function encodeRequest(req: ChatRequest, deployment: Deployment): EncodedRequest {
  const plan = planV1(req, deployment, V1_MAX_COMPLETION_TOKENS);
  const { info } = plan;
  if (info.family !== 'openai')
    throw invalidRequest(`Cortex serves the Responses API for OpenAI models only, and '${deployment.cortexModel}' is not one: set this model's cortex_api to auto`, 'model');
  const input: Json[] = [];
  for (const m of req.messages) input.push(...inputItems(m, info.reasoning));
  if (input.length === 0) throw new ProxyError('invalid_request', 'the request has no message content to send', { param: 'messages' });
  if (!(isObj(input[0]) && input[0].type === 'message' && input[0].role === 'user')) input.unshift({ type: 'message', role: 'user', content: [{ type: 'input_text', text: PLACEHOLDER_USER_TEXT }] });
  const body: Json = { model: deployment.cortexModel, input, max_output_tokens: plan.maxTokens, store: false, stream: true };
  if (req.system && req.system.trim() !== '') body.instructions = req.system;
  if (plan.effort) body.reasoning = { effort: plan.effort };
  if (info.reasoning) {
    // Stateless (store:false): the reasoning state comes back encrypted in each reasoning item, and goes to Cortex
    // again on the next turn (https://platform.openai.com/docs/guides/reasoning#encrypted-reasoning-items).
    body.include = ['reasoning.encrypted_content'];
    if (req.reasoning?.summary && plan.effort !== 'none') body.reasoning = { ...(body.reasoning as Json | undefined), summary: req.reasoning.summary };
  }
  if (!info.reasoning) {
    const t = clampTemperature(req.temperature ?? deployment.temperature, info);
    if (t !== undefined) body.temperature = t;
    if (req.topP !== undefined) body.top_p = Math.min(1, Math.max(0, req.topP));
  }
  const sent = toolsToSend(req, plan.historyHasTools);
  if (sent) {
    body.tools = sent.tools.map(functionTool);
    const choice = sent.choice;
    if (choice) body.tool_choice = choice.type === 'tool' ? { type: 'function', name: choice.name } : choice.type;
  }
  if (req.responseFormat?.type === 'json') {
    const rf = openaiResponseFormat(req.responseFormat, info) as { type: string; json_schema?: Record<string, unknown> } | undefined;
    if (rf) body.text = { format: rf.json_schema ? { type: 'json_schema', ...rf.json_schema } : { type: rf.type } };
  }
  for (const f of learned.get(learnKey(deployment)) ?? []) {
    if (f === 'reasoning.summary') {
      if (isObj(body.reasoning)) delete body.reasoning.summary;
    } else delete body[f];
  }
  return { path: RESPONSES_PATH, body, maxTokens: plan.maxTokens, ...(plan.warnings.length ? { warnings: plan.warnings } : {}) };
}

// ───────────────────────────── graceful degradation ─────────────────────────────
// The Responses API's field reference is not public. When Cortex answers 400 naming one of the optional fields this
// wire sends, the request is sent again once without it and the field is left out for that endpoint from then on
// (server/proxy.ts calls it as the wire's dropRefusedField). Only fields whose absence keeps the request's meaning are dropped; each
// is learned once, so a request is retried at most DROPPABLE.length times.
const DROPPABLE = ['store', 'include', 'reasoning.summary', 'parallel_tool_calls', 'truncation', 'prompt_cache_key', 'temperature', 'top_p', 'reasoning'] as const;
const REFUSAL_WORDS = /unknown|unsupported|not supported|not allowed|unrecognized|not permitted|extra (?:field|input)|invalid (?:field|parameter)/i;
const MAX_ENDPOINTS = 256;
/** endpoint (gateway or account) → the fields Cortex refused there. */
const learned = new Map<string, Set<string>>();
const learnKey = (d: Deployment) => d.gateway ?? d.apiBase;

/** A 400 naming a droppable field: remember it for this endpoint and return it (the caller retries once); else undefined. */
export function learnRefusedField(d: Deployment, err: ProxyError): string | undefined {
  if (err.status !== 400 || !REFUSAL_WORDS.test(err.message)) return undefined;
  const key = learnKey(d);
  const known = learned.get(key) ?? new Set<string>();
  const field = DROPPABLE.find((f) => !known.has(f) && new RegExp(`(^|[^A-Za-z_.])${f.replace('.', '\\.')}([^A-Za-z_]|$)`).test(err.message));
  if (!field || (!learned.has(key) && learned.size >= MAX_ENDPOINTS)) return undefined;
  known.add(field);
  learned.set(key, known);
  return field;
}

/** stop has no Responses field. */
function unsupportedFields(req: ChatRequest): string[] {
  return req.stop?.length ? ['stop'] : [];
}

// ───────────────────────────── response ─────────────────────────────

class ResponsesDecoder extends WireDecoder {
  /** output_index → canonical tool-call index. */
  private readonly calls = new Map<number, number>();
  private readonly open = new Set<number>();
  private nextCall = 0;
  private sawText = false;
  /** A reasoning item came as stream events (so the final Response's output is not read again). */
  private sawReasoning = false;

  constructor(ctx: DecoderContext) {
    super(ctx, { allEvents: true }); // Responses streams name every event and repeat the name as `type`
  }

  onData(data: string): void {
    if (this.done || data === '[DONE]') return;
    let ev: unknown;
    try {
      ev = JSON.parse(data);
    } catch {
      return this.fail(upstreamError('Cortex sent a Responses event that is not JSON', this.ctx.requestId));
    }
    if (isObj(ev)) this.event(ev);
  }

  event(ev: Record<string, unknown>): void {
    switch (ev.type) {
      case 'response.output_text.delta':
        if (typeof ev.delta === 'string' && ev.delta !== '') {
          this.sawText = true;
          this.emit({ type: 'text', text: ev.delta });
        }
        return;
      case 'response.reasoning_summary_part.added':
        // Summary parts after the first are paragraphs of one thinking text (the item, when done, keeps the parts).
        if (typeof ev.summary_index === 'number' && ev.summary_index > 0) this.emit({ type: 'thinking', text: '\n\n' });
        return;
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        if (typeof ev.delta === 'string' && ev.delta !== '') {
          this.emit({ type: 'thinking', text: ev.delta });
        }
        return;
      case 'response.output_item.added': {
        const item = ev.item;
        if (isObj(item) && item.type === 'reasoning' && typeof item.id === 'string' && item.id !== '') {
          this.sawReasoning = true;
          this.emit({ type: 'reasoning_item', phase: 'start', item: { id: item.id } });
          return;
        }
        if (isObj(item) && item.type === 'function_call' && typeof ev.output_index === 'number') {
          const index = this.nextCall++;
          this.calls.set(ev.output_index, index);
          this.open.add(index);
          this.emit({ type: 'tool_call_start', index, id: typeof item.call_id === 'string' && item.call_id ? item.call_id : `call_${index}`, name: typeof item.name === 'string' ? item.name : '' });
          if (typeof item.arguments === 'string' && item.arguments !== '') this.emit({ type: 'tool_call_delta', index, argumentsFragment: item.arguments });
        }
        return;
      }
      case 'response.function_call_arguments.delta': {
        const index = typeof ev.output_index === 'number' ? this.calls.get(ev.output_index) : undefined;
        if (index !== undefined && typeof ev.delta === 'string' && ev.delta !== '') this.emit({ type: 'tool_call_delta', index, argumentsFragment: ev.delta });
        return;
      }
      case 'response.output_item.done': {
        const r = isObj(ev.item) ? reasoningOf(ev.item) : undefined;
        if (r) {
          this.sawReasoning = true;
          this.emit({ type: 'reasoning_item', phase: 'done', item: r });
          return;
        }
        const index = typeof ev.output_index === 'number' ? this.calls.get(ev.output_index) : undefined;
        if (index !== undefined && this.open.delete(index)) this.emit({ type: 'tool_call_end', index });
        return;
      }
      case 'response.completed':
      case 'response.incomplete':
        return this.complete(isObj(ev.response) ? ev.response : {});
      case 'response.failed': {
        const r = isObj(ev.response) ? ev.response : {};
        return this.fail(inBandError(r.error ?? 'the response failed', this.ctx.requestId, 'Cortex failed mid-answer'));
      }
      case 'error':
        return this.fail(inBandError(isObj(ev.error) ? ev.error : ev, this.ctx.requestId, 'Cortex failed mid-answer'));
      default:
        return; // created, in_progress, content_part.*, *.done: nothing new
    }
  }

  /** A whole Response object (stream:false answers, and the final event of a stream). */
  complete(r: Record<string, unknown>): void {
    if (!this.sawText && !this.sawReasoning && this.nextCall === 0 && Array.isArray(r.output)) {
      // Nothing streamed (a JSON answer): take the output items.
      for (const item of r.output) {
        if (!isObj(item)) continue;
        const reasoning = reasoningOf(item);
        if (reasoning) {
          this.emit({ type: 'reasoning_item', phase: 'start', item: { id: reasoning.id } });
          const text = (reasoning.summary ?? []).join('\n\n');
          if (text) this.emit({ type: 'thinking', text });
          this.emit({ type: 'reasoning_item', phase: 'done', item: reasoning });
        }
        if (item.type === 'message' && Array.isArray(item.content))
          for (const c of item.content) if (isObj(c) && c.type === 'output_text' && typeof c.text === 'string' && c.text) this.emit({ type: 'text', text: c.text });
        if (item.type === 'function_call') {
          const index = this.nextCall++;
          this.emit({ type: 'tool_call_start', index, id: typeof item.call_id === 'string' ? item.call_id : `call_${index}`, name: typeof item.name === 'string' ? item.name : '' });
          if (typeof item.arguments === 'string' && item.arguments) this.emit({ type: 'tool_call_delta', index, argumentsFragment: item.arguments });
          this.emit({ type: 'tool_call_end', index });
        }
      }
    }
    for (const index of this.open) this.emit({ type: 'tool_call_end', index });
    this.open.clear();
    const u = isObj(r.usage) ? r.usage : undefined;
    let usage: Usage | undefined;
    if (u) {
      const details = isObj(u.input_tokens_details) ? u.input_tokens_details : {};
      usage = usageFrom(num(u.input_tokens) ?? 0, num(u.output_tokens) ?? 0, num(details.cached_tokens) ?? 0, 0, num(u.total_tokens));
    }
    const why = isObj(r.incomplete_details) ? r.incomplete_details.reason : undefined;
    const reason = r.status === 'incomplete' ? (why === 'content_filter' ? 'content_filter' : 'length') : this.nextCall > 0 ? 'tool_calls' : 'stop';
    this.closeWith(this.nextCall > 0, reason, usage);
  }

  finish(): void {
    if (this.done) return;
    this.fail(upstreamError('the Cortex Responses stream ended without response.completed', this.ctx.requestId));
  }
}

/** A Responses reasoning output item → what the next turn must send back (id, summary texts, encrypted_content). */
function reasoningOf(item: Record<string, unknown>): (OpenAIReasoning & { id: string }) | undefined {
  if (item.type !== 'reasoning' || typeof item.id !== 'string' || item.id === '') return undefined;
  const summary = Array.isArray(item.summary) ? item.summary.flatMap((p) => (isObj(p) && typeof p.text === 'string' ? [p.text] : [])) : [];
  const r: OpenAIReasoning & { id: string } = { id: item.id, summary };
  if (typeof item.encrypted_content === 'string' && item.encrypted_content !== '') r.encryptedContent = item.encrypted_content;
  return r;
}

function createStreamDecoder(ctx: DecoderContext): StreamDecoder {
  return new ResponsesDecoder(ctx);
}

function decodeJson(raw: unknown, ctx: DecoderContext, emit: Emit): void {
  const parsed = bodyJson(raw, ctx, emit);
  if (!parsed) return;
  const body = parsed.json;
  if (!isObj(body) || body.object !== 'response') {
    emit({ type: 'error', error: isObj(body) && (body.code !== undefined || body.message !== undefined) ? snowflakeError(200, body, ctx.requestId) : upstreamError('Cortex answered 200 with JSON that is not a Response', ctx.requestId) });
    return;
  }
  const dec = new ResponsesDecoder(ctx);
  dec.attach(emit);
  if (body.status === 'failed') return dec.event({ type: 'response.failed', response: body });
  dec.complete(body);
}


declare module '../config/types.js' {
  interface WireNames {
    responses: true;
  }
}

/**
 * cortex_api auto: tools with reasoning on an OpenAI reasoning model. /v1/chat/completions refuses that pair
 * (snowflake-cli docs/ai-gateway.md), the Responses API takes it (docs/ai-gateway.md). The first such request is the
 * probe: an account that answers 403/404 there uses /v1/chat/completions from then on (whenRefused).
 * The AI Gateway is asked without a request, so auto never picks this wire there (cortex_api: responses does).
 */
function wantsToolsWithReasoning(s: AutoState): boolean {
  const { info, req } = s;
  if (!req || info.family !== 'openai' || !info.reasoning || !req.tools?.length || req.toolChoice?.type === 'none') return false;
  const r = req.reasoning;
  return r !== undefined && ((r.effort !== undefined && r.effort !== 'none') || (r.budgetTokens ?? 0) > 0);
}

/** The Cortex Responses API serves OpenAI models only, on the account and through the AI Gateway (<gateway>/v1/responses, release note 2026-10-23). */
export const responsesWire: Wire = {
  name: 'responses',
  path: RESPONSES_PATH,
  gatewayPath: '/v1/responses',
  serves: { test: (info) => info.family === 'openai', label: 'OpenAI models' },
  auto: wantsToolsWithReasoning,
  whenRefused: 'openai',
  maxImages: V1_MAX_IMAGES,
  probe: oneTokenProbe,
  dropRefusedField: learnRefusedField,
  encodeRequest,
  createStreamDecoder,
  decodeJson,
  unsupportedFields,
};
