// Every client on /chat/completions (Cursor, Continue, Aider, the OpenAI SDKs, …): one dialect that accepts the three
// body shapes Cursor posts to the chat path (clients-and-peers.md §0.2, §2.2) and always answers in Chat Completions
// (SSE or JSON):
//
//   chat       standard Chat Completions (Ask mode, the Azure deployment path): straight to openai-chat;
//   responses  a Responses-API body (agent mode, GPT-like names: `input`, flat tools, `type:"custom"` grammar
//              tools such as ApplyPatch, reasoning/text/include/store/prompt_cache_retention…): decodeResponsesBody;
//   blocks     Anthropic-style content inside `messages` (Claude-like names: tool_use/tool_result blocks, system
//              as a block array or a top-level `system`, cache_control, {name,input_schema} tools), possibly
//              mixed with Chat-style turns and nested/flat tools: rewritten into a Chat body, then openai-chat.
//
// The shape is read from the body, never from the path or the model name. Detection is a single pass over
// the messages that allocates nothing; standard bodies go to openai-chat untouched.
//
// Custom (freeform) tools are offered upstream as functions taking {"input": string} (customToolSchema) and
// come back as ordinary `type:"function"` tool_calls whose `arguments` is the raw input text — what Cursor's
// agent passes to its local patch parser. The stream unwraps the {"input": "…"} JSON incrementally, so a long
// patch still streams. Replayed history carrying the raw text is wrapped again before it goes upstream.
import type { ChatRequest, FinalMessage } from '../core/types.js';
import { ProxyError, invalidRequest } from '../core/errors.js';
import type { Dialect, ResponseMeta, StreamEncoder } from './dialect.js';
import { openaiChat } from './openai-chat/index.js';
import { decodeResponsesBody } from './openai-responses/index.js';
import { customToolNames, customToolSchema, FreeformStream, unwrapCustomToolInput, wrapFreeform } from './freeform.js';
import { isObj, unset, type Json, type Headers } from '../core/json.js';


const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

export type CursorShape = 'chat' | 'responses' | 'blocks';

/** Content block types that only Anthropic-style bodies carry (openai-chat would refuse them). */
const BLOCK_TYPES = new Set(['tool_use', 'tool_result', 'image', 'document', 'thinking', 'redacted_thinking', 'search_result']);

/** A tool entry openai-chat cannot take as is: Anthropic {name,input_schema}, custom/freeform, hosted types. */
function toolNeedsWork(t: unknown): boolean {
  if (!isObj(t)) return false; // openai-chat names the error
  if (unset(t.type)) return !isObj(t.function) && t.input_schema !== undefined;
  return t.type !== 'function';
}

/** Which of Cursor's body shapes this is. Cheap: no allocation, one pass over messages and tools. */
export function detectShape(body: unknown): CursorShape {
  if (!isObj(body)) return 'chat'; // openai-chat answers the error
  const messages = body.messages;
  if (!Array.isArray(messages)) return unset(body.input) ? 'chat' : 'responses';
  if (!unset(body.system)) return 'blocks';
  if (Array.isArray(body.tools)) for (const t of body.tools) if (toolNeedsWork(t)) return 'blocks';
  if (isObj(body.tool_choice) && body.tool_choice.type === 'custom') return 'blocks';
  for (const m of messages) {
    if (!isObj(m)) continue;
    const c = m.content;
    if (Array.isArray(c)) for (const b of c) if (isObj(b) && typeof b.type === 'string' && BLOCK_TYPES.has(b.type)) return 'blocks';
    if (Array.isArray(m.tool_calls)) for (const tc of m.tool_calls) if (isObj(tc) && tc.type === 'custom') return 'blocks';
  }
  return 'chat';
}

// ---------------------------------------------------------------------------------------------
// Tools: every form Cursor mixes → what the target decoder takes.

/**
 * Chat target: nested and flat function tools stay; Anthropic {name, input_schema} (also `type:"custom"` with
 * an input_schema, Anthropic's spelling of an ordinary tool) becomes a nested function; OpenAI custom tools
 * become functions taking {input} and are recorded; hosted/server tools (web_search, bash_2025…, …) are dropped.
 */
function chatTools(raw: unknown[], custom: Set<string>): unknown[] {
  const out: unknown[] = [];
  raw.forEach((t, i) => {
    const p = `tools[${i}]`;
    if (!isObj(t) || !toolNeedsWork(t)) return void out.push(t);
    if (t.input_schema !== undefined && (unset(t.type) || t.type === 'custom')) {
      out.push({ type: 'function', function: anthropicFunction(t, p) });
    } else if (t.type === 'custom') {
      if (!nonEmpty(t.name)) throw invalidRequest(`'${p}.name' must be a non-empty string`, `${p}.name`);
      const fn: Json = { name: t.name, parameters: customToolSchema(t, p) };
      if (typeof t.description === 'string') fn.description = t.description;
      out.push({ type: 'function', function: fn });
      custom.add(t.name);
    }
    // any other type: a hosted tool nothing here can run; dropped so the rest of the request still works
  });
  return out;
}

function anthropicFunction(t: Json, p: string): Json {
  if (!nonEmpty(t.name)) throw invalidRequest(`'${p}.name' must be a non-empty string`, `${p}.name`);
  if (!isObj(t.input_schema)) throw invalidRequest(`'${p}.input_schema' must be an object (a JSON Schema)`, `${p}.input_schema`);
  const fn: Json = { name: t.name, parameters: t.input_schema };
  if (typeof t.description === 'string') fn.description = t.description;
  return fn;
}

/** Responses target: only Anthropic-form tools need rewriting (into flat functions); the rest it decodes itself. */
function responsesTools(raw: unknown): unknown {
  if (!Array.isArray(raw) || !raw.some((t) => isObj(t) && unset(t.type) && t.input_schema !== undefined)) return raw;
  return raw.map((t, i) =>
    isObj(t) && unset(t.type) && t.input_schema !== undefined ? { type: 'function', ...anthropicFunction(t, `tools[${i}]`) } : t,
  );
}

// ---------------------------------------------------------------------------------------------
// Anthropic-style blocks inside `messages` → a Chat Completions body.

interface Rewritten {
  body: Json;
  custom: Set<string>;
  /** Index in the rewritten messages → index in the client's (-1: the top-level system). */
  origin: number[];
  /** tool_use ids whose tool_result said is_error. */
  errors: Set<string>;
}

function imageUrl(b: Json, p: string): Json {
  const src = b.source;
  if (!isObj(src)) throw invalidRequest(`'${p}.source' must be an object`, `${p}.source`);
  let url: string;
  if (src.type === 'base64') {
    if (!nonEmpty(src.media_type) || !nonEmpty(src.data))
      throw invalidRequest(`'${p}.source' needs a media_type and base64 data`, `${p}.source`);
    url = `data:${src.media_type};base64,${src.data}`;
  } else if (src.type === 'url' && nonEmpty(src.url)) {
    url = src.url;
  } else {
    throw invalidRequest(`'${p}.source.type' must be "base64" or "url"`, `${p}.source.type`);
  }
  return { type: 'image_url', image_url: { url } };
}

function blockText(b: Json, p: string): string {
  if (b.type === 'document') {
    const src = b.source;
    if (isObj(src) && src.type === 'text' && typeof src.data === 'string') return src.data;
    throw invalidRequest(`'${p}': only text documents are supported; send a PDF or file as text`, `${p}.source`);
  }
  // search_result: its text content
  const content = Array.isArray(b.content) ? b.content : [];
  return content.map((c) => (isObj(c) && typeof c.text === 'string' ? c.text : '')).filter(Boolean).join('\n\n');
}

/** A user (or tool) content part: Anthropic image/document blocks become Chat parts; the rest passes through. */
function userPart(b: unknown, p: string): unknown {
  if (!isObj(b)) return b;
  if (b.type === 'image' && b.source !== undefined) return imageUrl(b, p);
  if (b.type === 'document' || b.type === 'search_result') return { type: 'text', text: blockText(b, p) };
  return b;
}

function toolResultContent(c: unknown, p: string): unknown {
  if (unset(c)) return '';
  if (!Array.isArray(c)) return c; // a string, or openai-chat names the error
  return c.map((b, k) => userPart(b, `${p}[${k}]`));
}

function rewriteUser(m: Json, i: number, out: Json[], rw: Rewritten): void {
  const c = m.content as unknown[];
  const rest: unknown[] = [];
  let results = 0;
  c.forEach((b, j) => {
    const p = `messages[${i}].content[${j}]`;
    if (isObj(b) && b.type === 'tool_result') {
      if (!nonEmpty(b.tool_use_id)) throw invalidRequest(`'${p}.tool_use_id' must be a non-empty string`, `${p}.tool_use_id`);
      if (b.is_error === true) rw.errors.add(b.tool_use_id);
      out.push({ role: 'tool', tool_call_id: b.tool_use_id, content: toolResultContent(b.content, `${p}.content`) });
      rw.origin.push(i);
      results++;
    } else {
      rest.push(userPart(b, p));
    }
  });
  // Tool results first (Anthropic's rule), then whatever the user wrote; an empty content stays for openai-chat to refuse.
  if (rest.length > 0 || results === 0) {
    out.push({ ...m, content: rest });
    rw.origin.push(i);
  }
}

function rewriteAssistant(m: Json, i: number, out: Json[], rw: Rewritten): void {
  const calls: Json[] = [];
  let content: unknown = m.content;
  let reasoning = typeof m.reasoning_content === 'string' ? m.reasoning_content : '';
  if (Array.isArray(m.content)) {
    const kept: unknown[] = [];
    m.content.forEach((b, j) => {
      const p = `messages[${i}].content[${j}]`;
      if (!isObj(b)) return void kept.push(b);
      switch (b.type) {
        case 'tool_use': {
          if (!nonEmpty(b.id)) throw invalidRequest(`'${p}.id' must be a non-empty string`, `${p}.id`);
          if (!nonEmpty(b.name)) throw invalidRequest(`'${p}.name' must be a non-empty string`, `${p}.name`);
          const input = b.input;
          let args = typeof input === 'string' ? input : JSON.stringify(unset(input) ? {} : input);
          if (rw.custom.has(b.name)) args = wrapFreeform(typeof input === 'string' ? input : args);
          calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: args } });
          return;
        }
        case 'thinking':
          if (typeof b.thinking === 'string') reasoning += b.thinking; // unsigned from here on: Cortex drops it
          return;
        case 'redacted_thinking':
          return;
        default:
          kept.push(b);
      }
    });
    content = kept.length ? kept : null;
  }
  if (Array.isArray(m.tool_calls)) {
    m.tool_calls.forEach((tc) => {
      if (!isObj(tc)) return void calls.push(tc);
      if (tc.type === 'custom' && isObj(tc.custom)) {
        // LiteLLM's Chat spelling of a freeform call: {type:"custom", custom:{name, input}}
        const input = typeof tc.custom.input === 'string' ? tc.custom.input : '';
        return void calls.push({ id: tc.id, type: 'function', function: { name: tc.custom.name, arguments: JSON.stringify({ input }) } });
      }
      const fn = tc.function;
      if (isObj(fn) && typeof fn.name === 'string' && rw.custom.has(fn.name) && typeof fn.arguments === 'string') {
        return void calls.push({ ...tc, function: { ...fn, arguments: wrapFreeform(fn.arguments) } });
      }
      calls.push(tc);
    });
  }
  const msg: Json = { ...m, content };
  if (calls.length) msg.tool_calls = calls;
  else delete msg.tool_calls; // `tool_calls: []` means no calls
  if (reasoning) msg.reasoning_content = reasoning;
  out.push(msg);
  rw.origin.push(i);
}

function systemText(system: unknown): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) throw invalidRequest(`'system' must be a string or an array of text blocks`, 'system');
  return system
    .map((b, j) => {
      if (typeof b === 'string') return b;
      if (!isObj(b) || typeof b.text !== 'string') throw invalidRequest(`'system[${j}]' must be a text block`, `system[${j}]`);
      return b.text;
    })
    .filter(Boolean)
    .join('\n\n');
}

function rewriteBlocks(body: Json): Rewritten {
  const rw: Rewritten = { body: { ...body }, custom: new Set(), origin: [], errors: new Set() };
  const b = rw.body;
  if (Array.isArray(body.tools)) b.tools = chatTools(body.tools, rw.custom);
  const tc = body.tool_choice;
  if (isObj(tc) && tc.type === 'custom') b.tool_choice = { type: 'function', function: { name: tc.name } };

  const out: Json[] = [];
  if (!unset(body.system)) {
    const s = systemText(body.system);
    if (s) {
      out.push({ role: 'system', content: s });
      rw.origin.push(-1);
    }
    delete b.system;
  }
  (body.messages as unknown[]).forEach((m, i) => {
    if (isObj(m) && m.role === 'user' && Array.isArray(m.content)) rewriteUser(m, i, out, rw);
    else if (isObj(m) && m.role === 'assistant') rewriteAssistant(m, i, out, rw);
    else if (isObj(m) && m.role === 'tool' && Array.isArray(m.content)) {
      out.push({ ...m, content: toolResultContent(m.content, `messages[${i}].content`) });
      rw.origin.push(i);
    } else {
      out.push(m as Json);
      rw.origin.push(i);
    }
  });
  b.messages = out;
  return rw;
}

/** openai-chat's errors name positions in the rewritten messages; point them at the client's own. */
function remapError(err: ProxyError, origin: number[]): ProxyError {
  const fix = (s: string) =>
    s.replace(/messages\[(\d+)\]/g, (all, n: string) => {
      const o = origin[Number(n)];
      return o === undefined ? all : o < 0 ? 'system' : `messages[${o}]`;
    });
  const message = fix(err.message);
  const param = err.param === undefined ? undefined : fix(err.param);
  if (message === err.message && param === err.param) return err;
  return new ProxyError(err.kind, message, { code: err.code, param, status: err.status });
}

// ---------------------------------------------------------------------------------------------
// Request

const intAtLeast1 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

function decodeRequest(body: unknown, headers: Headers): ChatRequest {
  const shape = detectShape(body);
  if (shape === 'chat') return openaiChat.decodeRequest(body, headers);
  const b = body as Json;
  let req: ChatRequest;
  if (shape === 'responses') {
    const tools = responsesTools(b.tools);
    req = decodeResponsesBody(tools === b.tools ? b : { ...b, tools }, headers);
    // The answer is Chat Completions: usage chunk only when asked for, as for any Chat client.
    req.includeUsage = req.stream && isObj(b.stream_options) && b.stream_options.include_usage === true;
    if (req.maxTokens === undefined) {
      const mt = intAtLeast1(b.max_completion_tokens) ? b.max_completion_tokens : intAtLeast1(b.max_tokens) ? b.max_tokens : undefined;
      if (mt !== undefined) req.maxTokens = mt;
    }
  } else {
    const rw = rewriteBlocks(b);
    try {
      req = openaiChat.decodeRequest(rw.body, headers);
    } catch (err) {
      throw err instanceof ProxyError ? remapError(err, rw.origin) : err;
    }
    if (rw.errors.size) markErrors(req, rw.errors);
    if (rw.custom.size) for (const t of req.tools ?? []) if (rw.custom.has(t.name)) t.freeform = true;
  }
  req.client = { ...req.client, dialect: `openai-chat/${shape}` };
  return req;
}

function markErrors(req: ChatRequest, ids: Set<string>): void {
  for (const m of req.messages) for (const p of m.parts) if (p.type === 'tool_result' && ids.has(p.callId)) p.isError = true;
}

// ---------------------------------------------------------------------------------------------
// Responses: openai-chat's encoders; freeform calls get their raw input as the arguments.

function encodeResponse(msg: FinalMessage, req: ChatRequest, meta: ResponseMeta): unknown {
  const custom = customToolNames(req);
  if (custom.size === 0 || !msg.toolCalls.some((c) => custom.has(c.name))) return openaiChat.encodeResponse(msg, req, meta);
  const toolCalls = msg.toolCalls.map((c) => (custom.has(c.name) ? { ...c, argumentsJson: unwrapCustomToolInput(c.argumentsJson) } : c));
  return openaiChat.encodeResponse({ ...msg, toolCalls }, req, meta);
}

function createStreamEncoder(req: ChatRequest, meta: ResponseMeta): StreamEncoder {
  const inner = openaiChat.createStreamEncoder(req, meta);
  const custom = customToolNames(req);
  return custom.size === 0 ? inner : new FreeformStream(inner, custom);
}


export const chatCompletions: Dialect = {
  name: 'openai-chat',
  idPrefix: openaiChat.idPrefix,
  paths: ['/v1/chat/completions', '/chat/completions'],
  decodeRequest,
  createStreamEncoder,
  encodeResponse,
  encodeError: openaiChat.encodeError,
};

// ---------------------------------------------------------------------------------------------
// The Azure-style path Cursor uses on plans without the base-URL override:
//   POST /openai/deployments/{deployment}/chat/completions?api-version=…  (the deployment decides the model)

const AZURE_PREFIX = '/openai/deployments/';
const AZURE_SUFFIX = '/chat/completions';

/** The deployment name of an Azure-style chat path (`/v1` in front tolerated), or undefined. */
export function azureDeployment(path: string): string | undefined {
  const start = path.startsWith(AZURE_PREFIX) ? AZURE_PREFIX.length : path.startsWith('/v1' + AZURE_PREFIX) ? AZURE_PREFIX.length + 3 : -1;
  if (start < 0 || !path.endsWith(AZURE_SUFFIX)) return undefined;
  const raw = path.slice(start, path.length - AZURE_SUFFIX.length);
  if (raw === '' || raw.includes('/')) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** The body with its model replaced by the deployment name (Azure semantics: the path, not the body, decides). */
export function withDeploymentModel(body: unknown, deployment: string): unknown {
  return isObj(body) ? { ...body, model: deployment } : body;
}
