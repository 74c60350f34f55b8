// The `complete` wire: canonical ChatRequest ⇄ Cortex POST {api_base}/cortex/inference:complete
// (reference/cortex-api.md §2–§5, §12). Encoding enforces Cortex's message rules (one leading system message,
// strict user/assistant alternation ending on user, tool results grouped into one user turn, named results).
// Decoding is push-style over the SSE parser and accepts all three chunk generations (§3.2): each text is
// taken once even though variants B/C repeat it in content / text / content_list.
import type { ChatRequest, ImagePart, Message, Tool, ToolResultPart, Usage } from '../core/types.js';
import type { Deployment } from '../config/types.js';
import { oneTokenProbe, type DecoderContext, type Emit, type EncodedRequest, type StreamDecoder, type Wire } from './wire.js';
import { ProxyError, invalidRequest } from '../core/errors.js';
import { normalizeUsage } from '../core/finish.js';
import { randomId } from '../core/ids.js';
import { COMPLETE_MAX_TOKENS, deploymentInfo, type ModelInfo } from './models.js';
import { cortexResponseFormat } from './response-format.js';
import { WireDecoder, decodeChoicesJson } from './decoder.js';
import { scrubSnowflakeText, snowflakeError, upstreamError } from './snowflake-errors.js';
import { sniffImageType } from './images.js';
import {
  EMPTY_TOOL_RESULT_TEXT,
  PLACEHOLDER_USER_TEXT,
  argumentsObject,
  checkImages,
  checkTools,
  claudeThinking,
  cleanToolId,
  describeModel,
  effortFromBudget,
  inputSchema,
  outputBudget,
  prefillRefusal,
  takesReasoningEffort,
  takesThinking,
  toolUse,
  toolsToSend,
} from './plan.js';
import type { Json } from '../core/json.js';

export const COMPLETE_PATH = '/cortex/inference:complete';
/** inference:complete accepts at most 5 images per request (Jan-2026 REST docs; docs/images.md). */
export const MAX_IMAGES = 5;
const EPHEMERAL = { type: 'ephemeral' } as const;

// ───────────────────────────── request ─────────────────────────────

interface Turn {
  role: 'user' | 'assistant';
  /** Text of each source message (parts joined with "\n"); merged messages join with "\n\n". */
  strings: string[];
  /** user: text and image items in order. */
  items: Json[];
  /** user: tool_results items (always first in the content_list). */
  results: Json[];
  /** assistant: Claude thinking replays (first in the content_list). */
  thinking: Json[];
  /** assistant: tool_use items (last in the content_list). */
  toolUses: Json[];
  /** user: images or cache markers or tool results force content_list. */
  needsList: boolean;
}

function imageItem(p: ImagePart, family: ModelInfo['family']): Json {
  if (!p.base64) {
    throw new ProxyError(
      'internal',
      p.url
        ? 'an image was still a URL at encoding time (cortex-proxy bug: resolveImages must run before the complete wire)'
        : 'an image part has no data',
    );
  }
  let mediaType = p.mediaType;
  if (!mediaType) {
    mediaType = sniffImageType(Buffer.from(p.base64.slice(0, 24), 'base64')) ?? '';
    if (!mediaType) throw invalidRequest('an image has no media type and is not a recognisable png, jpeg, gif or webp', 'messages');
  }
  const details: Json = { type: 'base64', content: p.base64, content_type: mediaType };
  if (p.detail && family === 'openai') details.detail = p.detail;
  const item: Json = { type: 'image', details };
  if (p.cache) item.cache_control = EPHEMERAL;
  return item;
}

function textItem(text: string, cache?: boolean): Json {
  return cache ? { type: 'text', text, cache_control: EPHEMERAL } : { type: 'text', text };
}

function encodeRequest(req: ChatRequest, deployment: Deployment): EncodedRequest {
  const model = deployment.cortexModel;
  const info = deploymentInfo(deployment);
  const family = info.family;
  const claude = family === 'claude';

  const who = describeModel(req.model, deployment);
  checkTools(req, who, info, true);
  const { historyHasTools } = toolUse(req);

  // ── messages ──
  const names = new Map<string, string>(); // tool call id → name, from earlier assistant turns
  let images = 0;
  const turns: Turn[] = [];
  for (const msg of req.messages) {
    const t = msg.role === 'assistant' ? assistantTurn(msg, claude, names) : userTurn(msg, family, names);
    if (!t) continue;
    images += t.images;
    const prev = turns[turns.length - 1];
    if (prev && prev.role === t.turn.role) {
      prev.strings.push(...t.turn.strings);
      prev.items.push(...t.turn.items);
      prev.results.push(...t.turn.results);
      prev.thinking.push(...t.turn.thinking);
      prev.toolUses.push(...t.turn.toolUses);
      prev.needsList ||= t.turn.needsList;
    } else turns.push(t.turn);
  }
  checkImages(images, who, info, { max: MAX_IMAGES, where: 'inference:complete' });
  if (turns.length === 0) throw invalidRequest('the request has no message content to send', 'messages');
  if (turns[turns.length - 1].role !== 'user') throw prefillRefusal('inference:complete');

  const messages: Json[] = [];
  if (req.system && req.system.trim() !== '') messages.push({ role: 'system', content: req.system });
  if (turns[0].role === 'assistant') messages.push({ role: 'user', content: PLACEHOLDER_USER_TEXT });
  for (const t of turns) messages.push(t.role === 'user' ? finishUser(t) : finishAssistant(t));

  // ── limits and sampling ──
  const maxTokens = outputBudget(req, deployment, info, COMPLETE_MAX_TOKENS);
  const warnings: string[] = [];
  let temperature = req.temperature ?? deployment.temperature;
  if (temperature !== undefined) temperature = Math.min(1, Math.max(0, temperature));
  let topP = req.topP;

  const body: Json = { model, messages };

  // ── reasoning ──
  const r = req.reasoning;
  if (r && (r.effort !== undefined || r.budgetTokens !== undefined)) {
    if (takesReasoningEffort(info)) {
      // inference:complete documents openai.reasoning.effort as low | medium | high only (cortex-inference.yaml in
      // snowflakedb/snowflake-rest-api-specs): minimal and none go as low, the least it takes, and say so. The v1
      // chat endpoint takes all five (openai-wire.ts); docs/cortex-limits.md.
      let effort: 'low' | 'medium' | 'high';
      if (r.effort === undefined) effort = effortFromBudget(r.budgetTokens!);
      else if (r.effort === 'minimal' || r.effort === 'none') {
        effort = 'low';
        warnings.push(`reasoning_effort ${r.effort} sent as low: inference:complete takes low, medium or high`);
      } else effort = r.effort;
      body.openai = { reasoning: { effort } };
    } else if (takesThinking(info)) {
      const t = claudeThinking(r, maxTokens);
      if (t.warning) warnings.push(t.warning);
      if (t.budget !== undefined) {
        body.anthropic = { thinking: { budget_tokens: t.budget } };
        temperature = 1; // required by Claude extended thinking
        topP = undefined; // Anthropic rejects top_p < 0.95 with thinking; let it default
      }
    }
    // Other models have no reasoning control on inference:complete: dropped.
  }

  body.max_tokens = maxTokens;
  if (temperature !== undefined) body.temperature = temperature;
  if (topP !== undefined) body.top_p = Math.min(1, Math.max(0, topP));

  // ── tools ──
  // tool_choice none: Cortex has no "none". Without tool history, tools are simply not sent; with tool history
  // they are kept (tool_results names are checked against tools[]) and no tool_choice is sent.
  const sent = toolsToSend(req, historyHasTools);
  if (sent) {
    body.tools = sent.tools.map(toolSpec);
    const choice = sent.choice;
    if (choice && choice.type !== 'none') body.tool_choice = choice.type === 'tool' ? { type: 'tool', name: [choice.name] } : { type: choice.type };
  }

  if (req.responseFormat?.type === 'json') {
    // $schema stripped; strict form for OpenAI models; json_object left to the prompt where no schema fits.
    const rf = cortexResponseFormat(req.responseFormat, info);
    if (rf) body.response_format = rf;
  }

  body.stream = true;
  return warnings.length ? { path: COMPLETE_PATH, body, maxTokens, warnings } : { path: COMPLETE_PATH, body, maxTokens };
}

function toolSpec(t: Tool): Json {
  const spec: Json = { type: 'generic', name: t.name };
  if (t.description) spec.description = t.description;
  spec.input_schema = inputSchema(t.jsonSchema);
  return { tool_spec: spec };
}

function newTurn(role: 'user' | 'assistant'): Turn {
  return { role, strings: [], items: [], results: [], thinking: [], toolUses: [], needsList: false };
}

function userTurn(
  msg: Message,
  family: ModelInfo['family'],
  names: Map<string, string>,
): { turn: Turn; images: number } | undefined {
  const turn = newTurn('user');
  let images = 0;
  let text = '';
  for (const p of msg.parts) {
    if (p.type === 'text') {
      if (p.text === '') continue;
      text = text === '' ? p.text : text + '\n' + p.text;
      turn.items.push(textItem(p.text, p.cache));
      if (p.cache) turn.needsList = true;
    } else if (p.type === 'image') {
      images++;
      turn.items.push(imageItem(p, family));
      turn.needsList = true;
    } else if (p.type === 'tool_result') {
      turn.results.push(toolResultItem(p, names));
      // Cortex tool results carry text only: their images ride along in the same user turn.
      for (const q of p.parts)
        if (q.type === 'image') {
          images++;
          turn.items.push(imageItem(q, family));
        }
      turn.needsList = true;
    }
    // tool_call / thinking parts cannot appear in a user turn; ignored.
  }
  if (text !== '') turn.strings.push(text);
  if (turn.items.length === 0 && turn.results.length === 0) return undefined;
  return { turn, images };
}

function toolResultItem(p: ToolResultPart, names: Map<string, string>): Json {
  const name = p.name || names.get(p.callId);
  if (!name) {
    throw invalidRequest(
      `the tool result for call id "${p.callId}" has no tool name, and no earlier assistant tool call has that id; Cortex requires the name`,
      'messages',
    );
  }
  const content: Json[] = [];
  let cache = false;
  let hasImage = false;
  for (const q of p.parts) {
    if (q.type === 'text') {
      if (q.text !== '') content.push({ type: 'text', text: q.text });
    } else hasImage = true;
    if (q.cache) cache = true;
  }
  if (content.length === 0) content.push({ type: 'text', text: hasImage ? '(image attached below)' : EMPTY_TOOL_RESULT_TEXT });
  const results: Json = { tool_use_id: cleanToolId(p.callId), name, content };
  if (p.isError) results.status = 'error';
  const item: Json = { type: 'tool_results', tool_results: results };
  if (cache) item.cache_control = EPHEMERAL;
  return item;
}

function assistantTurn(msg: Message, claude: boolean, names: Map<string, string>): { turn: Turn; images: number } | undefined {
  const turn = newTurn('assistant');
  let text = '';
  for (const p of msg.parts) {
    if (p.type === 'text') {
      if (p.text !== '') text = text === '' ? p.text : text + '\n' + p.text;
    } else if (p.type === 'tool_call') {
      names.set(p.id, p.name);
      turn.toolUses.push({
        type: 'tool_use',
        tool_use: { tool_use_id: cleanToolId(p.id), name: p.name, input: argumentsObject(p.argumentsJson) },
      });
    } else if (p.type === 'thinking') {
      // Only Claude can replay thinking, and only signed thinking is accepted back.
      if (claude && p.signature) {
        turn.thinking.push({ type: 'anthropic', anthropic: { thinking: { thinking: p.text, signature: p.signature } } });
      }
    }
    // images / tool results in an assistant turn cannot be sent; ignored.
  }
  if (text !== '') turn.strings.push(text);
  if (turn.strings.length === 0 && turn.toolUses.length === 0 && turn.thinking.length === 0) return undefined;
  return { turn, images: 0 };
}

function finishUser(t: Turn): Json {
  if (!t.needsList) return { role: 'user', content: t.strings.join('\n\n') };
  return { role: 'user', content_list: t.results.length ? [...t.results, ...t.items] : t.items };
}

/**
 * Text-only → `content`. With tool calls or thinking → `content_list` only, ordered thinking, text, tool_use
 * (Claude's block order), so the text is sent exactly once.
 */
function finishAssistant(t: Turn): Json {
  const text = t.strings.join('\n\n');
  if (t.toolUses.length === 0 && t.thinking.length === 0) return { role: 'assistant', content: text };
  const list: Json[] = [...t.thinking];
  if (text !== '') list.push({ type: 'text', text });
  list.push(...t.toolUses);
  return { role: 'assistant', content_list: list };
}

// ───────────────────────────── response ─────────────────────────────

const F_TEXT = 1;
const F_TOOL = 2;
const F_INPUT = 4;
const F_THINK = 8;

/**
 * One decoder per response. Push-style: SseParser calls onData (this object is the handler, so no closures
 * per chunk); events go to the `emit` of the current feed/end call.
 */
class CompleteDecoder extends WireDecoder {
  private started = false;
  private gotData = false;
  private id = '';
  private toolOpen = false;
  private toolId = '';
  private toolHasArgs = false;
  private toolCount = 0;
  private usage: Usage | undefined;
  private reason: string | undefined;

  /** Flush: close the open tool, then usage and exactly one finish (or an error if nothing came). */
  finish(): void {
    if (this.done) return;
    if (!this.gotData) return this.fail(this.upstream('Cortex closed the response without sending any data'));
    this.closeTool();
    this.closeWith(this.toolCount > 0, this.reason, this.usage);
  }

  onData(data: string): void {
    if (this.done || data.length === 0) return;
    const c = data.charCodeAt(0);
    if (c !== 123 /* { */) {
      const t = data.trim();
      if (t === '[DONE]' || t === '') return;
      if (t.charCodeAt(0) !== 123) {
        this.fail(this.upstream('Cortex sent a stream event that is not JSON'));
        return;
      }
    }
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      this.fail(this.upstream('Cortex sent a truncated or malformed stream event (invalid JSON)'));
      return;
    }
    this.chunk(obj as Json);
  }

  /** One parsed chunk (or a whole non-stream body). */
  chunk(obj: Json): void {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      this.fail(this.upstream('Cortex sent a stream event that is not a JSON object'));
      return;
    }
    this.gotData = true;
    const err = obj.error;
    if (err !== undefined && err !== null) {
      this.fail(this.midStreamError(err, obj));
      return;
    }
    const choices = obj.choices;
    if (choices === undefined && (obj.code !== undefined || obj.message !== undefined)) {
      const rid = this.ctx.requestId ?? (typeof obj.request_id === 'string' ? obj.request_id : undefined);
      this.fail(snowflakeError(200, obj, rid));
      return;
    }
    if (!this.started) this.start(obj);
    if (obj.usage !== undefined) {
      const u = normalizeUsage(obj.usage);
      if (u) this.usage = u;
    }
    if (typeof obj.finish_reason === 'string' && obj.finish_reason) this.reason = obj.finish_reason;
    if (!Array.isArray(choices) || choices.length === 0) return;
    const choice = choices[0] as Json | null;
    if (!choice || typeof choice !== 'object') return;
    const fr = choice.finish_reason;
    if (typeof fr === 'string' && fr) this.reason = fr;
    const d = (choice.delta ?? choice.message) as Json | undefined;
    if (d && typeof d === 'object') this.delta(d);
  }

  private start(obj: Json): void {
    this.started = true;
    const id = typeof obj.id === 'string' && obj.id ? obj.id : this.ctx.requestId ?? randomId('cortex-');
    this.id = id;
    const created = obj.created;
    this.emit(typeof created === 'number' ? { type: 'start', id, created } : { type: 'start', id });
  }

  /** §3.2 normalisation: content_list items first (each once), delta-level fields only for what they did not give. */
  private delta(d: Json): void {
    const type = d.type;
    const cl = d.content_list;
    let flags = 0;
    const list = Array.isArray(cl) && cl.length > 0 ? (cl as unknown[]) : undefined;
    let listHasText = false;
    if (list) {
      for (let i = 0; i < list.length; i++) {
        const it = list[i] as Json;
        if (it && typeof it === 'object' && isTextItem(it) && typeof it.text === 'string' && it.text !== '') {
          listHasText = true;
          break;
        }
      }
    }
    // Delta-level text (variant A; or B/C when content_list lacks it) comes before list items, as it would in
    // a non-stream message whose content precedes its tool_use items.
    if (!listHasText && (type === undefined || type === 'text')) {
      const s =
        typeof d.content === 'string' && d.content !== '' ? d.content : typeof d.text === 'string' ? d.text : '';
      if (s !== '') {
        this.emit({ type: 'text', text: s });
        flags |= F_TEXT;
      }
    }
    if (list) {
      for (let i = 0; i < list.length; i++) {
        const it = list[i] as Json;
        if (it && typeof it === 'object') flags |= this.item(it);
      }
    }
    if (type === 'text') return;
    // Flattened tool fields (variant C) or a nested delta.tool_use.
    if (type === 'tool_use' || type === undefined) {
      const nested = d.tool_use;
      const tu = nested && typeof nested === 'object' ? (nested as Json) : d;
      if (!(flags & F_TOOL)) {
        const id = tu.tool_use_id;
        if ((typeof id === 'string' && id !== '') || (type === 'tool_use' && typeof tu.name === 'string' && tu.name !== ''))
          this.startTool(tu.tool_use_id, tu.name);
      }
      if (!(flags & F_INPUT) && tu.input !== undefined && (type === 'tool_use' || tu !== d || this.toolOpen)) {
        this.input(tu.input);
      }
    }
    if (!(flags & F_THINK)) {
      if (type === 'anthropic' || d.anthropic !== undefined || (type === undefined && d.thinking !== undefined))
        this.thinking(d.anthropic ?? d);
      else if (type === 'openai' || d.openai !== undefined || (type === undefined && d.reasoning !== undefined))
        this.reasoning(d.openai ?? d);
    }
  }

  private item(it: Json): number {
    const t = it.type;
    if (isTextItem(it)) {
      const s = it.text;
      if (typeof s === 'string' && s !== '') {
        this.emit({ type: 'text', text: s });
        return F_TEXT;
      }
      return 0;
    }
    if (
      t === 'tool_use' ||
      it.tool_use_id !== undefined ||
      it.input !== undefined ||
      (it.name !== undefined && t === undefined) ||
      it.tool_use !== undefined
    ) {
      const nested = it.tool_use;
      const tu = nested && typeof nested === 'object' ? (nested as Json) : it;
      let f = 0;
      if ((typeof tu.tool_use_id === 'string' && tu.tool_use_id !== '') || (typeof tu.name === 'string' && tu.name !== '')) {
        this.startTool(tu.tool_use_id, tu.name);
        f |= F_TOOL;
      }
      if (tu.input !== undefined) {
        this.input(tu.input);
        f |= F_INPUT;
      }
      return f;
    }
    if (t === 'anthropic' || t === 'thinking' || it.anthropic !== undefined || it.thinking !== undefined) {
      return this.thinking(it.anthropic ?? it) ? F_THINK : 0;
    }
    if (t === 'openai' || it.openai !== undefined || it.reasoning !== undefined) {
      return this.reasoning(it.openai ?? it) ? F_THINK : 0;
    }
    return 0;
  }

  private startTool(rawId: unknown, rawName: unknown): void {
    const id = typeof rawId === 'string' && rawId !== '' ? rawId : '';
    if (this.toolOpen && (id === '' || id === this.toolId)) {
      // The same call repeated (variant C repeats the id at delta level), or a name-only continuation.
      return;
    }
    this.closeTool();
    const index = this.toolCount++;
    this.toolOpen = true;
    this.toolId = id || randomId('toolu_', 12);
    this.toolHasArgs = false;
    this.emit({ type: 'tool_call_start', index, id: this.toolId, name: typeof rawName === 'string' ? rawName : '' });
  }

  private input(raw: unknown): void {
    let s: string;
    if (typeof raw === 'string') s = raw;
    else if (raw !== null && typeof raw === 'object') s = JSON.stringify(raw);
    else return;
    if (s === '') return; // parameterless tools stream input:"" — `{}` is supplied at tool end
    if (!this.toolOpen) {
      this.fail(this.upstream('Cortex streamed tool input without starting a tool call'));
      return;
    }
    this.toolHasArgs = true;
    this.emit({ type: 'tool_call_delta', index: this.toolCount - 1, argumentsFragment: s });
  }

  private closeTool(): void {
    if (!this.toolOpen) return;
    this.toolOpen = false;
    const index = this.toolCount - 1;
    // Clients always get valid JSON arguments, even for parameterless tools that streamed nothing.
    if (!this.toolHasArgs) this.emit({ type: 'tool_call_delta', index, argumentsFragment: '{}' });
    this.emit({ type: 'tool_call_end', index });
  }

  /** {thinking:{thinking?,signature?}} or {thinking:"…"} (§3.2 [INF] nesting). */
  private thinking(x: unknown): boolean {
    if (!x || typeof x !== 'object') return false;
    const th = (x as Json).thinking;
    let text = '';
    let signature: string | undefined;
    if (typeof th === 'string') text = th;
    else if (th && typeof th === 'object') {
      const o = th as Json;
      if (typeof o.thinking === 'string') text = o.thinking;
      else if (typeof o.text === 'string') text = o.text;
      if (typeof o.signature === 'string' && o.signature !== '') signature = o.signature;
    }
    const sig = (x as Json).signature;
    if (signature === undefined && typeof sig === 'string' && sig !== '') signature = sig;
    if (text === '' && signature === undefined) return false;
    this.emit(signature !== undefined ? { type: 'thinking', text, signature } : { type: 'thinking', text });
    return true;
  }

  /** OpenAI reasoning summaries become thinking text; encrypted_content cannot be shown and is dropped. */
  private reasoning(x: unknown): boolean {
    if (!x || typeof x !== 'object') return false;
    const r = (x as Json).reasoning;
    if (!r || typeof r !== 'object') return false;
    const summary = (r as Json).summary;
    let text = '';
    if (typeof summary === 'string') text = summary;
    else if (Array.isArray(summary))
      for (const s of summary) {
        if (typeof s === 'string') text += s;
        else if (s && typeof s === 'object' && typeof (s as Json).text === 'string') text += (s as Json).text as string;
      }
    if (text === '') return false;
    this.emit({ type: 'thinking', text });
    return true;
  }

  private requestId(obj?: Json): string | undefined {
    if (this.ctx.requestId) return this.ctx.requestId;
    if (obj && typeof obj.request_id === 'string') return obj.request_id;
    return this.id || undefined;
  }

  private upstream(message: string): ProxyError {
    return upstreamError(message, this.requestId());
  }

  private midStreamError(err: unknown, obj: Json): ProxyError {
    let message = '';
    let code: string | undefined;
    if (typeof err === 'string') message = err;
    else if (err && typeof err === 'object') {
      const e = err as Json;
      if (typeof e.message === 'string') message = e.message;
      if (typeof e.code === 'string' || typeof e.code === 'number') code = String(e.code);
    }
    const rid = this.requestId(obj);
    const text =
      `Cortex failed during the answer: ${scrubSnowflakeText(message) || 'unknown error'}` +
      (code ? ` (code ${code})` : '') +
      (rid ? ` (Snowflake request id: ${rid})` : '');
    return new ProxyError('upstream', text, { code, requestId: rid });
  }
}

function isTextItem(it: Json): boolean {
  const t = it.type;
  if (t === 'text') return true;
  return t === undefined && typeof it.text === 'string' && it.tool_use_id === undefined && it.input === undefined && it.name === undefined;
}

function createStreamDecoder(ctx: DecoderContext): StreamDecoder {
  return new CompleteDecoder(ctx);
}

/** A whole 200 JSON body: the §3.7 non-stream answer, or an error dressed as 200 (390112 session expired). */
function decodeJson(body: unknown, ctx: DecoderContext, emit: Emit): void {
  decodeChoicesJson(body, new CompleteDecoder(ctx), ctx, emit);
}


function unsupportedFields(req: ChatRequest): string[] {
  return req.stop !== undefined && req.stop.length > 0 ? ['stop'] : [];
}


declare module '../config/types.js' {
  interface WireNames {
    complete: true;
  }
}

/**
 * inference:complete serves every model and has no AI Gateway path (a gateway deployment's explicit cortex_api
 * complete goes to the account); every account serves it, so the v1 wires fall back to it when an account refuses them
 * (whenRefused). cortex_api auto takes it for
 * structured output on a model that is neither Claude nor OpenAI: Cortex's v1 chat honours response_format for OpenAI
 * and Claude models only ("❌ Ignored" for the rest, compatibility chart at
 * https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api), while inference:complete's
 * response_format is documented for every model it serves (docs/cortex-limits.md).
 */
export const completeWire: Wire = {
  name: 'complete',
  path: COMPLETE_PATH,
  auto: (s) => s.info.family !== 'claude' && s.info.family !== 'openai' && s.req?.responseFormat?.type === 'json',
  maxImages: MAX_IMAGES,
  probe: oneTokenProbe,
  encodeRequest,
  createStreamDecoder,
  decodeJson,
  unsupportedFields,
};
