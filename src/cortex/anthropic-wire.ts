// The `anthropic` wire: canonical ChatRequest ⇄ Cortex POST {api_base}/cortex/v1/messages (Claude only; reference/
// cortex-api.md §8.1). The request is Anthropic Messages: `Authorization: Bearer` from snowflake/auth (Cortex answers
// 390146 "Bearer token is missing" to an x-api-key alone, so none is sent), `anthropic-version: 2023-06-01`, and a
// max_tokens even when the client sent none (Anthropic requires it; the model's output limit, so long tool-call
// arguments are not cut). The answer is Anthropic's SSE, decoded exactly:
//   message_start (id, input usage incl. cache reads/writes) → content_block_start/delta/stop for text (text_delta),
//   tool_use (input_json_delta), thinking (thinking_delta, signature_delta) → message_delta (stop_reason, output
//   usage) → message_stop; `ping` skipped; `error` events become errors with a kind (a 429 stays a 429).
// Anthropic counts input_tokens without the cache: the canonical prompt count adds cache reads and writes back.
import type { ChatRequest, Message, Tool, ToolResultPart, Usage } from '../core/types.js';
import type { Deployment } from '../config/types.js';
import { oneTokenProbe, type DecoderContext, type Emit, type EncodedRequest, type StreamDecoder, type Wire } from './wire.js';
import { ProxyError, invalidRequest } from '../core/errors.js';
import { randomId } from '../core/ids.js';
import { anthropicOutputFormat } from './response-format.js';
import { WireDecoder, bodyJson } from './decoder.js';
import { snowflakeError, upstreamError } from './snowflake-errors.js';
import { EMPTY_TOOL_RESULT_TEXT, PLACEHOLDER_USER_TEXT, V1_MAX_COMPLETION_TOKENS, argumentsObject, clampTemperature, cleanToolId, inputSchema, planV1, toolsToSend, V1_MAX_IMAGES } from './plan.js';
import { inBandError, num, usageFrom } from './v1-common.js';
import { isObj, type Json } from '../core/json.js';

export const ANTHROPIC_PATH = '/cortex/v1/messages';
export const ANTHROPIC_VERSION = '2023-06-01';
const HEADERS = Object.freeze({ 'anthropic-version': ANTHROPIC_VERSION }) as Record<string, string>;

const EPHEMERAL = { type: 'ephemeral' } as const;

// ───────────────────────────── request ─────────────────────────────

function encodeRequest(req: ChatRequest, deployment: Deployment): EncodedRequest {
  const plan = planV1(req, deployment, V1_MAX_COMPLETION_TOKENS);
  const { info } = plan;
  if (info.family !== 'claude') {
    throw invalidRequest(
      `Cortex serves /v1/messages for Claude models only, and "${deployment.cortexModel}" is not one: set this model's cortex_api to auto or openai.`,
      'model',
    );
  }
  const messages: Json[] = [];
  for (const m of req.messages) {
    const content = m.role === 'user' ? userBlocks(m) : assistantBlocks(m);
    if (content.length === 0) continue;
    if (messages.length === 0 && m.role === 'assistant') messages.push({ role: 'user', content: [{ type: 'text', text: PLACEHOLDER_USER_TEXT }] });
    const prev = messages[messages.length - 1];
    if (prev && prev.role === m.role) {
      // Consecutive turns of one role merge; tool results stay at the front of a user turn.
      const all = [...(prev.content as Json[]), ...content];
      prev.content = m.role === 'user' ? [...all.filter((b) => b.type === 'tool_result'), ...all.filter((b) => b.type !== 'tool_result')] : all;
    } else messages.push({ role: m.role, content });
  }
  if (messages.length === 0) throw invalidRequest('the request has no message content to send', 'messages');

  const body: Json = { model: deployment.cortexModel, max_tokens: plan.maxTokens, messages };
  if (req.system && req.system.trim() !== '') body.system = req.system;
  if (plan.thinkingBudget !== undefined) {
    body.thinking = { type: 'enabled', budget_tokens: plan.thinkingBudget }; // temperature must stay unset (= 1)
  } else {
    const t = clampTemperature(req.temperature ?? deployment.temperature, info);
    if (t !== undefined) body.temperature = t;
    if (req.topP !== undefined) body.top_p = Math.min(1, Math.max(0, req.topP));
  }
  if (req.stop?.length) body.stop_sequences = req.stop;

  // Anthropic wants tools declared whenever the history holds tool_use/tool_result blocks, even with tool_choice none.
  const sent = toolsToSend(req, plan.historyHasTools);
  if (sent) {
    body.tools = sent.tools.map(anthropicTool);
    const choice = sent.choice;
    if (choice) body.tool_choice = choice.type === 'tool' ? { type: 'tool', name: choice.name } : { type: choice.type === 'required' ? 'any' : choice.type };
  }
  if (req.responseFormat?.type === 'json') body.output_config = { format: anthropicOutputFormat(req.responseFormat) };

  body.stream = true;
  return { path: ANTHROPIC_PATH, body, maxTokens: plan.maxTokens, headers: HEADERS, ...(plan.warnings.length ? { warnings: plan.warnings } : {}) };
}

function anthropicTool(t: Tool): Json {
  const tool: Json = { name: t.name };
  if (t.description) tool.description = t.description;
  tool.input_schema = inputSchema(t.jsonSchema);
  return tool;
}

function imageBlock(p: { mediaType: string; base64?: string; url?: string; cache?: boolean }): Json {
  if (!p.base64) {
    throw new ProxyError('internal', 'an image was still a URL at encoding time (cortex-proxy bug: resolveImages must run before the anthropic wire)');
  }
  const b: Json = { type: 'image', source: { type: 'base64', media_type: p.mediaType || 'image/png', data: p.base64 } };
  if (p.cache) b.cache_control = EPHEMERAL;
  return b;
}

function textBlock(text: string, cache?: boolean): Json {
  return cache ? { type: 'text', text, cache_control: EPHEMERAL } : { type: 'text', text };
}

/** A user turn: tool results first (Anthropic wants them at the front), then text and images; never an empty text block. */
function userBlocks(m: Message): Json[] {
  const results: Json[] = [];
  const rest: Json[] = [];
  for (const p of m.parts) {
    if (p.type === 'tool_result') results.push(toolResultBlock(p));
    else if (p.type === 'text' && p.text !== '') rest.push(textBlock(p.text, p.cache));
    else if (p.type === 'image') rest.push(imageBlock(p));
  }
  return [...results, ...rest];
}

function toolResultBlock(p: ToolResultPart): Json {
  const content: Json[] = [];
  let cache = false;
  for (const q of p.parts) {
    if (q.type === 'text') {
      if (q.text !== '') content.push({ type: 'text', text: q.text });
    } else content.push(imageBlock(q));
    if (q.cache) cache = true;
  }
  if (content.length === 0) content.push({ type: 'text', text: EMPTY_TOOL_RESULT_TEXT });
  const b: Json = { type: 'tool_result', tool_use_id: cleanToolId(p.callId), content };
  if (p.isError) b.is_error = true;
  if (cache) b.cache_control = EPHEMERAL;
  return b;
}

/** An assistant turn in Claude's block order: signed thinking, text, tool_use. Unsigned thinking cannot be replayed. */
function assistantBlocks(m: Message): Json[] {
  const thinking: Json[] = [];
  const texts: Json[] = [];
  const uses: Json[] = [];
  for (const p of m.parts) {
    if (p.type === 'thinking') {
      if (p.signature) thinking.push({ type: 'thinking', thinking: p.text, signature: p.signature });
    } else if (p.type === 'text') {
      if (p.text !== '') texts.push(textBlock(p.text, p.cache));
    } else if (p.type === 'tool_call') {
      uses.push({ type: 'tool_use', id: cleanToolId(p.id), name: p.name, input: argumentsObject(p.argumentsJson) });
    }
  }
  return [...thinking, ...texts, ...uses];
}

function unsupportedFields(): string[] {
  return []; // stop → stop_sequences; everything canonical has an Anthropic field
}

// ───────────────────────────── response ─────────────────────────────

type Block =
  | { kind: 'text' }
  | { kind: 'thinking' }
  | { kind: 'tool'; index: number; hasArgs: boolean; ended: boolean }
  | { kind: 'other' };

/** Anthropic stop reasons the core's normalizer does not know. */
function stopReason(r: string): string {
  return r === 'model_context_window_exceeded' ? 'length' : r;
}

class AnthropicDecoder extends WireDecoder {
  private started = false;
  private gotData = false;
  private readonly blocks = new Map<number, Block>();
  private tools = 0;
  private openTool: Extract<Block, { kind: 'tool' }> | undefined;
  private input = 0;
  private cacheRead = 0;
  private cacheWrite = 0;
  private output = 0;
  private sawUsage = false;
  private reason: string | undefined;

  constructor(ctx: DecoderContext) {
    super(ctx, { allEvents: true });
  }

  protected bodyEnded(): void {
    if (!this.gotData) {
      this.fail(upstreamError('Cortex closed the response without sending any data', this.ctx.requestId));
      return;
    }
    if (this.openTool && !this.openTool.ended) {
      // A tool call without its content_block_stop may be cut JSON: never hand it out as runnable.
      this.fail(upstreamError('the Cortex stream ended in the middle of a tool call (no message_stop)', this.ctx.requestId));
      return;
    }
    this.finish();
  }

  onData(data: string): void {
    if (this.done) return;
    const t = data.trim();
    if (t === '' || t === '[DONE]') return;
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch {
      this.fail(upstreamError('Cortex sent a truncated or malformed stream event (invalid JSON)', this.ctx.requestId));
      return;
    }
    if (!isObj(obj)) {
      this.fail(upstreamError('Cortex sent a stream event that is not a JSON object', this.ctx.requestId));
      return;
    }
    this.event(obj);
  }

  private event(e: Json): void {
    this.gotData = true;
    switch (e.type) {
      case 'message_start': {
        const m = isObj(e.message) ? e.message : {};
        this.start(typeof m.id === 'string' ? m.id : '');
        this.takeUsage(m.usage);
        return;
      }
      case 'content_block_start': {
        this.start('');
        const index = typeof e.index === 'number' ? e.index : this.blocks.size;
        const b = isObj(e.content_block) ? e.content_block : {};
        this.blockStart(index, b);
        return;
      }
      case 'content_block_delta': {
        const index = typeof e.index === 'number' ? e.index : -1;
        const d = isObj(e.delta) ? e.delta : {};
        this.blockDelta(index, d);
        return;
      }
      case 'content_block_stop': {
        const b = this.blocks.get(typeof e.index === 'number' ? e.index : -1);
        if (b?.kind === 'tool') this.closeTool(b);
        return;
      }
      case 'message_delta': {
        const d = isObj(e.delta) ? e.delta : {};
        if (typeof d.stop_reason === 'string' && d.stop_reason !== '') this.reason = stopReason(d.stop_reason);
        this.takeUsage(e.usage);
        return;
      }
      case 'message_stop':
        this.finish();
        return;
      case 'ping':
        return;
      case 'error':
        this.fail(inBandError(e.error, this.ctx.requestId, 'Cortex failed during the answer'));
        return;
      default:
        if (e.type === undefined && (e.code !== undefined || e.message !== undefined)) {
          this.fail(snowflakeError(200, e, this.ctx.requestId ?? (typeof e.request_id === 'string' ? e.request_id : undefined)));
        }
      // Unknown event types (Anthropic adds some now and then) carry nothing the canonical stream needs.
    }
  }

  private start(id: string): void {
    if (this.started) return;
    this.started = true;
    this.emit({ type: 'start', id: id || this.ctx.requestId || randomId('msg_') });
  }

  private takeUsage(u: unknown): void {
    if (!isObj(u)) return;
    const input = num(u.input_tokens);
    const read = num(u.cache_read_input_tokens);
    const write = num(u.cache_creation_input_tokens);
    const output = num(u.output_tokens);
    if (input !== undefined) this.input = input;
    if (read !== undefined) this.cacheRead = read;
    if (write !== undefined) this.cacheWrite = write;
    if (output !== undefined) this.output = output; // cumulative in message_delta
    if (input !== undefined || output !== undefined) this.sawUsage = true;
  }

  private blockStart(index: number, b: Json): void {
    switch (b.type) {
      case 'text':
        this.blocks.set(index, { kind: 'text' });
        if (typeof b.text === 'string' && b.text !== '') this.emit({ type: 'text', text: b.text });
        return;
      case 'thinking': {
        this.blocks.set(index, { kind: 'thinking' });
        const text = typeof b.thinking === 'string' ? b.thinking : '';
        const sig = typeof b.signature === 'string' && b.signature !== '' ? b.signature : undefined;
        if (text !== '' || sig) this.emit(sig ? { type: 'thinking', text, signature: sig } : { type: 'thinking', text });
        return;
      }
      case 'tool_use': {
        if (this.openTool) this.closeTool(this.openTool);
        const block = { kind: 'tool' as const, index: this.tools++, hasArgs: false, ended: false };
        this.blocks.set(index, block);
        this.openTool = block;
        const id = typeof b.id === 'string' && b.id !== '' ? b.id : randomId('toolu_', 12);
        this.emit({ type: 'tool_call_start', index: block.index, id, name: typeof b.name === 'string' ? b.name : '' });
        // A complete input in the start block (not streamed) is sent as one fragment.
        if (isObj(b.input) && Object.keys(b.input).length > 0) {
          block.hasArgs = true;
          this.emit({ type: 'tool_call_delta', index: block.index, argumentsFragment: JSON.stringify(b.input) });
        }
        return;
      }
      default:
        // redacted_thinking, server tool blocks, …: nothing the canonical stream can carry.
        this.blocks.set(index, { kind: 'other' });
    }
  }

  private blockDelta(index: number, d: Json): void {
    const b = this.blocks.get(index);
    switch (d.type) {
      case 'text_delta':
        if (typeof d.text === 'string' && d.text !== '') this.emit({ type: 'text', text: d.text });
        return;
      case 'thinking_delta':
        if (typeof d.thinking === 'string' && d.thinking !== '') this.emit({ type: 'thinking', text: d.thinking });
        return;
      case 'signature_delta':
        if (typeof d.signature === 'string' && d.signature !== '') this.emit({ type: 'thinking', text: '', signature: d.signature });
        return;
      case 'input_json_delta': {
        if (b?.kind !== 'tool') {
          this.fail(upstreamError('Cortex streamed tool input outside a tool_use block', this.ctx.requestId));
          return;
        }
        const f = typeof d.partial_json === 'string' ? d.partial_json : '';
        if (f === '') return;
        b.hasArgs = true;
        this.emit({ type: 'tool_call_delta', index: b.index, argumentsFragment: f });
        return;
      }
      default:
      // citations_delta and future delta types: nothing to carry.
    }
  }

  private closeTool(b: Extract<Block, { kind: 'tool' }>): void {
    if (b.ended) return;
    b.ended = true;
    if (!b.hasArgs) this.emit({ type: 'tool_call_delta', index: b.index, argumentsFragment: '{}' });
    this.emit({ type: 'tool_call_end', index: b.index });
    if (this.openTool === b) this.openTool = undefined;
  }

  private usage(): Usage | undefined {
    if (!this.sawUsage) return undefined;
    const prompt = this.input + this.cacheRead + this.cacheWrite;
    return usageFrom(prompt, this.output, this.cacheRead, this.cacheWrite);
  }

  /** Closes what is open and emits usage and exactly one finish. */
  finish(): void {
    if (this.done) return;
    if (this.openTool) this.closeTool(this.openTool);
    this.closeWith(this.tools > 0, this.reason, this.usage());
  }

  /** A whole non-streamed message object. */
  message(m: Json): void {
    this.gotData = true;
    this.start(typeof m.id === 'string' ? m.id : '');
    this.takeUsage(m.usage);
    const content = Array.isArray(m.content) ? m.content : [];
    content.forEach((b, i) => {
      if (!isObj(b)) return;
      if (b.type === 'thinking') {
        this.blockStart(i, { type: 'thinking', thinking: b.thinking, signature: b.signature });
        return;
      }
      this.blockStart(i, b);
      const block = this.blocks.get(i);
      if (block?.kind === 'tool') this.closeTool(block);
    });
    if (typeof m.stop_reason === 'string' && m.stop_reason !== '') this.reason = stopReason(m.stop_reason);
    this.finish();
  }

}

function createStreamDecoder(ctx: DecoderContext): StreamDecoder {
  return new AnthropicDecoder(ctx);
}

/** A whole 200 JSON body: an Anthropic message, an Anthropic error object, or a Snowflake error dressed as 200. */
function decodeJson(body: unknown, ctx: DecoderContext, emit: Emit): void {
  const parsed = bodyJson(body, ctx, emit);
  if (!parsed) return;
  const obj = parsed.json;
  if (!isObj(obj)) {
    emit({ type: 'error', error: upstreamError('Cortex answered 200 with a body that is not a JSON object', ctx.requestId) });
    return;
  }
  if (obj.type === 'error') {
    emit({ type: 'error', error: inBandError(obj.error, ctx.requestId, 'Cortex failed') });
    return;
  }
  if (obj.type !== 'message' && (obj.code !== undefined || obj.message !== undefined)) {
    emit({ type: 'error', error: snowflakeError(200, obj, ctx.requestId) });
    return;
  }
  if (!Array.isArray(obj.content)) {
    emit({ type: 'error', error: upstreamError('Cortex answered 200 with JSON that is not a message', ctx.requestId) });
    return;
  }
  const dec = new AnthropicDecoder(ctx);
  dec.attach(emit);
  dec.message(obj);
}


declare module '../config/types.js' {
  interface WireNames {
    anthropic: true;
  }
}

/** /v1/messages serves Claude models only (account and AI Gateway); cortex_api auto takes it for every Claude model. */
export const anthropicWire: Wire = {
  name: 'anthropic',
  path: ANTHROPIC_PATH,
  gatewayPath: '/v1/messages',
  serves: { test: (info) => info.family === 'claude', label: 'Claude models' },
  auto: (s) => s.info.family === 'claude',
  whenRefused: 'complete',
  maxImages: V1_MAX_IMAGES,
  probe: oneTokenProbe,
  encodeRequest,
  createStreamDecoder,
  decodeJson,
  unsupportedFields,
};
