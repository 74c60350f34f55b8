// OpenAI Responses API dialect (Codex CLI; Cursor agent mode reuses decodeResponsesBody on /chat/completions).
//
// Request:  instructions + input items → ChatRequest. Stateless: previous_response_id, conversation and
//           item_reference are refused (we store nothing); store:true is accepted but nothing is stored.
//           Custom (freeform/grammar) tools become function tools taking {input: string}; which names
//           were custom is remembered per ChatRequest in a WeakMap (customToolNames) so the encoders
//           can hand them back as custom_tool_call items with the raw input unwrapped.
//           Hosted/built-in tools (namespace, web_search, file_search, mcp, local_shell, …) are dropped.
// Stream:   canonical events → Responses SSE (`event: <type>\ndata: <json>`), one output item live at a
//           time (Codex rejects deltas outside the active item): items are opened in start order, later
//           ones buffer until the live one is done. Terminal event is always exactly one of
//           response.completed | response.incomplete (finish=length/content_filter, as OpenAI does) |
//           response.failed.
// Thinking: emitted as a `reasoning` item with summary_text; a Claude signature travels in
//           encrypted_content (our own prefix) so Codex's replay of the item restores the signed thinking.
import type {
  ChatRequest,
  FinalMessage,
  ImagePart,
  Message,
  Part,
  ReasoningEffort,
  StreamEvent,
  TextPart,
  Tool,
  ToolChoice,
  Usage,
} from '../core/types.js';
import { ProxyError, invalidRequest, type ErrorKind } from '../core/errors.js';
import { randomId } from '../core/ids.js';
import type { Dialect, ResponseMeta, StreamEncoder } from './dialect.js';
import { isObj, type Json, type Headers } from '../core/json.js';


const DIALECT = 'openai-responses';

// ---------------------------------------------------------------------------------------------
// Per-request state the canonical types cannot carry

const customTools = new WeakMap<ChatRequest, ReadonlySet<string>>();
const EMPTY_SET: ReadonlySet<string> = new Set();

/** Names of the tools the client declared as `type:"custom"` (freeform input) for this request. */
export function customToolNames(req: ChatRequest): ReadonlySet<string> {
  return customTools.get(req) ?? EMPTY_SET;
}

/** Carries the custom-tool set to a copy of the request (call this if the router clones ChatRequests). */
export function copyResponsesState(from: ChatRequest, to: ChatRequest): void {
  const s = customTools.get(from);
  if (s) customTools.set(to, s);
}

/**
 * The raw input of a custom tool call from the {"input": "..."} arguments the model produced for the
 * function we offered in its place. Falls back to the arguments text itself when it is not that shape.
 */
export function unwrapCustomToolInput(argumentsJson: string): string {
  try {
    const v = JSON.parse(argumentsJson) as unknown;
    if (isObj(v) && typeof v.input === 'string') return v.input;
    if (typeof v === 'string') return v;
  } catch {
    /* not JSON: the model wrote the raw input */
  }
  return argumentsJson;
}

const THINKING_BLOB = 'cortex-proxy.thinking.v1:';

function packThinking(text: string, signature: string): string {
  return THINKING_BLOB + Buffer.from(JSON.stringify({ t: text, s: signature })).toString('base64');
}

function unpackThinking(blob: unknown): { text: string; signature: string } | undefined {
  if (typeof blob !== 'string' || !blob.startsWith(THINKING_BLOB)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(blob.slice(THINKING_BLOB.length), 'base64').toString('utf8')) as unknown;
    if (isObj(v) && typeof v.t === 'string' && typeof v.s === 'string') return { text: v.t, signature: v.s };
  } catch {
    /* corrupted: drop it like any foreign encrypted reasoning */
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Request decoding


const fail = (message: string, param?: string): never => {
  throw invalidRequest(message, param);
};

function reqStr(v: unknown, param: string, nonEmpty = false): string {
  if (v === undefined || v === null) return fail(`'${param}' is required`, param);
  if (typeof v !== 'string') return fail(`'${param}' must be a string`, param);
  if (nonEmpty && v.length === 0) return fail(`'${param}' must not be empty`, param);
  return v;
}

function optStr(v: unknown, param: string): string | undefined {
  return v === undefined || v === null ? undefined : reqStr(v, param);
}

function num(v: unknown, param: string, min: number, max: number, integer = false): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    return fail(`'${param}' must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`, param);
  }
  return v;
}

/** Input items that carry nothing a Cortex model could use (hosted-tool transcripts, OpenAI-encrypted state). */
const SKIPPED_ITEM_TYPES = new Set([
  'reasoning', // handled specially: only our own signed-thinking blob is kept
  'compaction',
  'compaction_summary',
  'compaction_trigger',
  'web_search_call',
  'file_search_call',
  'image_generation_call',
  'code_interpreter_call',
  'computer_call',
  'computer_call_output',
  'mcp_list_tools',
  'mcp_approval_request',
  'mcp_approval_response',
  'tool_search_call',
  'tool_search_output',
  'ghost_snapshot',
  'program',
  'program_output',
]);

/** History items of built-in tools that come in call/output pairs; kept as ordinary tool calls/results. */
const BUILTIN_CALL_ITEMS: Record<string, { name: string; argsField: string }> = {
  local_shell_call: { name: 'local_shell', argsField: 'action' },
  shell_call: { name: 'shell', argsField: 'action' },
  apply_patch_call: { name: 'apply_patch', argsField: 'operation' },
};
const BUILTIN_OUTPUT_ITEMS = new Set(['local_shell_call_output', 'shell_call_output', 'apply_patch_call_output']);

const EFFORTS: Record<string, ReasoningEffort | null> = {
  none: 'none',
  minimal: 'minimal',
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'high',
};

interface ToolsDecoded {
  tools: Tool[];
  custom: Set<string>;
}

export function customToolSchema(tool: Json, param: string): Record<string, unknown> {
  const format = tool.format;
  let description = 'The raw input for this tool as plain text (not JSON-encoded).';
  if (isObj(format) && format.type === 'grammar') {
    const syntax = typeof format.syntax === 'string' ? format.syntax : 'lark';
    const definition = reqStr(format.definition, `${param}.format.definition`);
    description =
      `The raw input for this tool as plain text (not JSON-encoded). It must match this ${syntax} grammar:\n` +
      definition;
  } else if (format !== undefined && format !== null && !(isObj(format) && format.type === 'text')) {
    fail(`'${param}.format' must be {type:"text"} or {type:"grammar",syntax,definition}`, `${param}.format`);
  }
  return {
    type: 'object',
    properties: { input: { type: 'string', description } },
    required: ['input'],
  };
}

function decodeTools(raw: unknown, param: string, into: ToolsDecoded): void {
  if (raw === undefined || raw === null) return;
  if (!Array.isArray(raw)) return void fail(`'${param}' must be an array`, param);
  raw.forEach((t, i) => {
    const p = `${param}[${i}]`;
    if (!isObj(t)) return void fail(`'${p}' must be an object`, p);
    const type = reqStr(t.type, `${p}.type`);
    if (type === 'function') {
      // Flat Responses shape; also the nested Chat shape Cursor sometimes mixes in.
      const f = isObj(t.function) ? t.function : t;
      const name = reqStr(f.name, `${p}.name`, true);
      const description = optStr(f.description, `${p}.description`);
      const params = f.parameters;
      if (params !== undefined && params !== null && !isObj(params)) fail(`'${p}.parameters' must be an object`, p);
      const tool: Tool = { name, jsonSchema: isObj(params) ? params : { type: 'object', properties: {} } };
      if (description) tool.description = description;
      into.tools.push(tool);
    } else if (type === 'custom') {
      const name = reqStr(t.name, `${p}.name`, true);
      const description = optStr(t.description, `${p}.description`);
      const tool: Tool = { name, jsonSchema: customToolSchema(t, p) };
      if (description) tool.description = description;
      into.tools.push(tool);
      into.custom.add(name);
    }
    // Every other type (namespace, web_search*, file_search, mcp, computer*, code_interpreter,
    // image_generation, local_shell, shell, apply_patch, tool_search, and types newer than this code)
    // is a hosted/built-in tool nothing here can run: dropped, so the rest of the request still works.
  });
}

function decodeImage(part: Json, param: string): ImagePart {
  if (part.file_id !== undefined && part.file_id !== null) {
    fail(
      `'${param}.file_id' is not supported: cortex-proxy stores no files; send the image as a data: URL`,
      `${param}.file_id`,
    );
  }
  // Responses: image_url is a string; Chat (Cursor mixes shapes): {url, detail}.
  const rawUrl = isObj(part.image_url) ? part.image_url.url : part.image_url;
  const url = reqStr(rawUrl, `${param}.image_url`, true);
  const detailRaw = isObj(part.image_url) ? part.image_url.detail : part.detail;
  const detail = detailRaw === 'low' || detailRaw === 'high' || detailRaw === 'auto' ? detailRaw : undefined;
  let img: ImagePart;
  const m = /^data:([^;,]*)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  if (m) {
    const mediaType = m[1].toLowerCase();
    if (!mediaType.startsWith('image/')) fail(`'${param}.image_url' must be an image data: URL`, param);
    img = { type: 'image', mediaType, base64: m[2] };
  } else if (/^https?:\/\//i.test(url)) {
    img = { type: 'image', mediaType: '', url };
  } else {
    return fail(`'${param}.image_url' must be an https URL or a base64 data: URL`, param);
  }
  if (detail) img.detail = detail;
  return img;
}

/** Content of a message or a tool output: a string or an array of parts. */
function decodeContent(
  content: unknown,
  param: string,
  opts: { images: boolean },
): Array<TextPart | ImagePart> {
  if (typeof content === 'string') return content.length ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) return fail(`'${param}' must be a string or an array of content parts`, param);
  const out: Array<TextPart | ImagePart> = [];
  content.forEach((part, i) => {
    const p = `${param}[${i}]`;
    if (!isObj(part)) return void fail(`'${p}' must be an object`, p);
    switch (part.type) {
      case 'input_text':
      case 'output_text':
      case 'text': {
        const text = reqStr(part.text, `${p}.text`);
        if (text.length) out.push({ type: 'text', text });
        return;
      }
      case 'refusal': {
        const text = reqStr(part.refusal, `${p}.refusal`);
        if (text.length) out.push({ type: 'text', text });
        return;
      }
      case 'input_image':
      case 'image_url':
        if (!opts.images) return void fail(`'${p}': images are only allowed in user content`, p);
        out.push(decodeImage(part, p));
        return;
      case 'input_file':
        return void fail(`'${p}': input_file is not supported by cortex-proxy`, p);
      case 'input_audio':
        return void fail(`'${p}': audio input is not supported by cortex-proxy`, p);
      default:
        return void fail(`'${p}.type' ${JSON.stringify(part.type)} is not a supported content part`, p);
    }
  });
  return out;
}

function decodeToolOutput(output: unknown, param: string): { parts: Array<TextPart | ImagePart>; isError?: boolean } {
  // Older Codex builds sent failures as {content, success:false}.
  if (isObj(output) && ('content' in output || 'success' in output)) {
    const parts = decodeContent(output.content ?? '', `${param}.content`, { images: true });
    return output.success === false ? { parts, isError: true } : { parts };
  }
  if (output === undefined || output === null) return { parts: [] };
  return { parts: decodeContent(output, param, { images: true }) };
}

/** Arguments text kept as the client sent it; an empty string becomes '{}' so every wire can parse it. */
function argumentsText(v: unknown, param: string): string {
  if (isObj(v)) return JSON.stringify(v); // some clients send the object itself
  const s = reqStr(v, param);
  return s.trim().length ? s : '{}';
}

class MessageBuilder {
  readonly messages: Message[] = [];
  readonly system: string[] = [];
  /** call_id → tool name, to name tool results. Map (not object) so client ids cannot hit prototypes. */
  readonly callNames = new Map<string, string>();

  push(role: 'user' | 'assistant', parts: Part[]): void {
    if (!parts.length) return;
    const last = this.messages[this.messages.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else this.messages.push({ role, parts });
  }

  toolCall(id: string, name: string, argumentsJson: string): void {
    this.callNames.set(id, name);
    this.push('assistant', [{ type: 'tool_call', id, name, argumentsJson }]);
  }

  toolResult(callId: string, output: unknown, param: string, isErrorHint?: boolean): void {
    const name = this.callNames.get(callId);
    if (name === undefined) {
      return fail(`'${param}.call_id' ${JSON.stringify(callId)} has no matching tool call earlier in input`, `${param}.call_id`);
    }
    const { parts, isError } = decodeToolOutput(output, `${param}.output`);
    const part: Part = { type: 'tool_result', callId, name, parts };
    if (isError || isErrorHint) part.isError = true;
    this.push('user', [part]);
  }
}

function decodeInput(input: unknown, b: MessageBuilder, tools: ToolsDecoded): void {
  if (typeof input === 'string') {
    b.push('user', input.length ? [{ type: 'text', text: input }] : []);
    return;
  }
  if (!Array.isArray(input)) return void fail(`'input' must be a string or an array of items`, 'input');
  input.forEach((item, i) => {
    const p = `input[${i}]`;
    if (!isObj(item)) return void fail(`'${p}' must be an object`, p);
    const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
    if (typeof type !== 'string') return void fail(`'${p}.type' is required`, `${p}.type`);
    switch (type) {
      case 'message': {
        const role = item.role;
        if (role === 'system' || role === 'developer') {
          const parts = decodeContent(item.content, `${p}.content`, { images: false });
          const text = parts.map((x) => (x as TextPart).text).join('\n');
          if (text.length) b.system.push(text);
        } else if (role === 'user' || role === 'assistant') {
          b.push(role, decodeContent(item.content, `${p}.content`, { images: role === 'user' }));
        } else {
          fail(`'${p}.role' must be one of user, assistant, system, developer`, `${p}.role`);
        }
        return;
      }
      case 'function_call': {
        const callId = reqStr(item.call_id, `${p}.call_id`, true);
        const name = reqStr(item.name, `${p}.name`, true);
        let args = argumentsText(item.arguments, `${p}.arguments`);
        // A custom tool replayed in function form (Cursor history) must match the {input} schema we offer.
        if (tools.custom.has(name) && !hasStringInput(args)) args = JSON.stringify({ input: args });
        b.toolCall(callId, name, args);
        return;
      }
      case 'custom_tool_call': {
        const callId = reqStr(item.call_id, `${p}.call_id`, true);
        const name = reqStr(item.name, `${p}.name`, true);
        const input = reqStr(item.input, `${p}.input`);
        b.toolCall(callId, name, JSON.stringify({ input }));
        return;
      }
      case 'function_call_output':
      case 'custom_tool_call_output': {
        const callId = reqStr(item.call_id, `${p}.call_id`, true);
        b.toolResult(callId, item.output, p);
        return;
      }
      case 'mcp_call': {
        // One item holds call and result; kept so the transcript stays coherent.
        const id = reqStr(item.id, `${p}.id`, true);
        const name = reqStr(item.name, `${p}.name`, true);
        b.toolCall(id, name, argumentsText(item.arguments ?? '{}', `${p}.arguments`));
        const out = item.error ?? item.output ?? '';
        b.toolResult(id, typeof out === 'string' ? out : JSON.stringify(out), p, item.error != null);
        return;
      }
      case 'reasoning': {
        const thinking = unpackThinking(item.encrypted_content);
        if (thinking) b.push('assistant', [{ type: 'thinking', text: thinking.text, signature: thinking.signature }]);
        return; // anything else (OpenAI-encrypted reasoning, bare summaries) means nothing to Cortex
      }
      case 'additional_tools':
        decodeTools(item.tools, `${p}.tools`, tools);
        return;
      case 'item_reference':
        return void fail(
          `'${p}': item_reference is not supported: cortex-proxy keeps no conversation state; send the full item`,
          p,
        );
      default: {
        const builtin = BUILTIN_CALL_ITEMS[type];
        if (builtin) {
          const callId = reqStr(item.call_id ?? item.id, `${p}.call_id`, true);
          b.toolCall(callId, builtin.name, JSON.stringify(item[builtin.argsField] ?? {}));
          return;
        }
        if (BUILTIN_OUTPUT_ITEMS.has(type)) {
          const callId = reqStr(item.call_id ?? item.id, `${p}.call_id`, true);
          const out = item.output;
          b.toolResult(callId, typeof out === 'string' || out === undefined ? out : JSON.stringify(out), p);
          return;
        }
        if (SKIPPED_ITEM_TYPES.has(type)) return;
        // Unknown item: skip it unless it carries conversation content we would silently lose.
        if (['content', 'output', 'arguments', 'input', 'text'].some((k) => item[k] !== undefined && item[k] !== null)) {
          fail(`'${p}.type' ${JSON.stringify(type)} is not supported by cortex-proxy`, `${p}.type`);
        }
        return;
      }
    }
  });
}

function hasStringInput(argumentsJson: string): boolean {
  try {
    const v = JSON.parse(argumentsJson) as unknown;
    return isObj(v) && typeof v.input === 'string';
  } catch {
    return false;
  }
}

function decodeToolChoice(raw: unknown, tools: ToolsDecoded): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (raw === 'auto' || raw === 'none' || raw === 'required') return { type: raw };
  if (!isObj(raw)) return fail(`'tool_choice' must be "auto", "none", "required" or an object`, 'tool_choice');
  const known = (name: string) => {
    if (!tools.tools.some((t) => t.name === name)) fail(`'tool_choice' names unknown tool ${JSON.stringify(name)}`, 'tool_choice');
  };
  if (raw.type === 'function' || raw.type === 'custom') {
    const fn = isObj(raw.function) ? raw.function : raw; // Chat-shaped {type:function,function:{name}} too
    const name = reqStr(fn.name, 'tool_choice.name', true);
    known(name);
    return { type: 'tool', name };
  }
  if (raw.type === 'allowed_tools') {
    if (!Array.isArray(raw.tools)) return fail(`'tool_choice.tools' must be an array`, 'tool_choice.tools');
    const allowed = new Set<string>();
    for (const t of raw.tools) if (isObj(t) && typeof t.name === 'string') allowed.add(t.name);
    tools.tools = tools.tools.filter((t) => allowed.has(t.name));
    return raw.mode === 'required' ? { type: 'required' } : { type: 'auto' };
  }
  return fail(
    `'tool_choice' of type ${JSON.stringify(raw.type)} names a built-in OpenAI tool that cortex-proxy does not provide`,
    'tool_choice',
  );
}

function headerValue(h: Headers, name: string): string | undefined {
  const v = h[name] ?? h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Responses body → ChatRequest. Exported for the Cursor shim (agent mode posts this shape to
 * /chat/completions). Throws ProxyError('invalid_request').
 */
export function decodeResponsesBody(body: unknown, headers: Headers): ChatRequest {
  if (!isObj(body)) return fail('the request body must be a JSON object');
  const model = reqStr(body.model, 'model', true);

  if (body.previous_response_id !== undefined && body.previous_response_id !== null && body.previous_response_id !== '') {
    fail(
      'previous_response_id is not supported: cortex-proxy keeps no conversation state; send the full input (Codex does this with store=false)',
      'previous_response_id',
    );
  }
  if (body.conversation !== undefined && body.conversation !== null) {
    fail('conversation is not supported: cortex-proxy keeps no conversation state; send the full input', 'conversation');
  }
  if (body.prompt !== undefined && body.prompt !== null) {
    fail('prompt templates are not supported: cortex-proxy stores no prompts; send instructions and input', 'prompt');
  }
  if (body.input === undefined || body.input === null) fail(`'input' is required`, 'input');

  const tools: ToolsDecoded = { tools: [], custom: new Set() };
  decodeTools(body.tools, 'tools', tools);

  const b = new MessageBuilder();
  const instructions = optStr(body.instructions, 'instructions');
  if (instructions) b.system.push(instructions);
  decodeInput(body.input, b, tools);
  if (!b.messages.length) fail(`'input' must contain at least one user or assistant message`, 'input');

  const seen = new Set<string>();
  for (const t of tools.tools) {
    if (seen.has(t.name)) fail(`tool name ${JSON.stringify(t.name)} is declared twice`, 'tools');
    seen.add(t.name);
  }

  let toolChoice = decodeToolChoice(body.tool_choice, tools);
  if (!tools.tools.length && toolChoice) {
    if (toolChoice.type === 'required') {
      fail(`'tool_choice' is "required" but no supported tools were given (hosted tools are dropped)`, 'tool_choice');
    }
    toolChoice = undefined;
  }

  const stream = body.stream ?? false;
  if (typeof stream !== 'boolean') fail(`'stream' must be a boolean`, 'stream');

  const req: ChatRequest = {
    model,
    messages: b.messages,
    stream: stream as boolean,
    includeUsage: true,
    unsupported: [],
  };
  if (b.system.length) req.system = b.system.join('\n\n');
  if (tools.tools.length) req.tools = tools.tools;
  if (toolChoice) req.toolChoice = toolChoice;

  const maxTokens = num(body.max_output_tokens, 'max_output_tokens', 1, Number.MAX_SAFE_INTEGER, true);
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  const temperature = num(body.temperature, 'temperature', 0, 2);
  if (temperature !== undefined) req.temperature = temperature;
  const topP = num(body.top_p, 'top_p', 0, 1);
  if (topP !== undefined) req.topP = topP;

  if (body.reasoning !== undefined && body.reasoning !== null) {
    if (!isObj(body.reasoning)) fail(`'reasoning' must be an object`, 'reasoning');
    const effort = (body.reasoning as Json).effort;
    if (effort !== undefined && effort !== null) {
      if (typeof effort !== 'string' || !Object.hasOwn(EFFORTS, effort)) {
        return fail(`'reasoning.effort' must be one of ${Object.keys(EFFORTS).join(', ')}`, 'reasoning.effort');
      }
      const e = EFFORTS[effort];
      if (e) req.reasoning = { effort: e };
    }
  }

  if (body.text !== undefined && body.text !== null) {
    if (!isObj(body.text)) fail(`'text' must be an object`, 'text');
    const format = (body.text as Json).format; // text.verbosity: no Cortex equivalent, ignored
    if (format !== undefined && format !== null) {
      if (!isObj(format)) fail(`'text.format' must be an object`, 'text.format');
      const f = format as Json;
      if (f.type === 'json_schema') {
        if (!isObj(f.schema)) fail(`'text.format.schema' must be an object`, 'text.format.schema');
        req.responseFormat = { type: 'json', schema: f.schema as Record<string, unknown> };
        const name = optStr(f.name, 'text.format.name');
        if (name) req.responseFormat.name = name;
      } else if (f.type === 'json_object') {
        req.responseFormat = { type: 'json' };
      } else if (f.type !== 'text') {
        fail(`'text.format.type' must be text, json_object or json_schema`, 'text.format.type');
      }
    }
  }

  // Parameters that change the answer but that nothing downstream can honour: drop_params decides.
  if (typeof body.top_logprobs === 'number' && body.top_logprobs > 0) req.unsupported.push('top_logprobs');
  if (body.background === true) req.unsupported.push('background');
  // Accepted and ignored: include, store (nothing is stored either way), prompt_cache_key,
  // prompt_cache_retention, metadata, user, client_metadata, parallel_tool_calls, service_tier,
  // truncation, safety_identifier, stream_options, max_tool_calls, text.verbosity, reasoning.summary.

  const userAgent = headerValue(headers, 'user-agent');
  req.client = userAgent ? { dialect: DIALECT, userAgent } : { dialect: DIALECT };
  if (tools.custom.size) customTools.set(req, tools.custom);
  return req;
}

// ---------------------------------------------------------------------------------------------
// Response encoding (shared by stream and non-stream)

function usageObject(u: Usage) {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedTokens ?? 0, cache_write_tokens: u.cacheWriteTokens ?? 0 },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.totalTokens,
  };
}

type Status = 'completed' | 'incomplete' | 'failed' | 'in_progress';

function responseObject(
  req: ChatRequest,
  meta: ResponseMeta,
  status: Status,
  output: unknown[],
  extra: { usage?: Usage; error?: { code: string; message: string }; incompleteReason?: string } = {},
) {
  const tc = req.toolChoice;
  return {
    id: meta.id,
    object: 'response',
    created_at: meta.created,
    status,
    background: false,
    error: extra.error ?? null,
    incomplete_details: extra.incompleteReason ? { reason: extra.incompleteReason } : null,
    instructions: null, // not echoed: Codex's instructions are large and the client already has them
    max_output_tokens: req.maxTokens ?? null,
    model: meta.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: req.reasoning?.effort ?? null, summary: null },
    store: false,
    temperature: req.temperature ?? null,
    text: { format: { type: 'text' } },
    tool_choice: !tc ? 'auto' : tc.type === 'tool' ? { type: 'function', name: tc.name } : tc.type,
    tools: [],
    top_p: req.topP ?? null,
    truncation: 'disabled',
    usage: extra.usage ? usageObject(extra.usage) : null,
    metadata: {},
  };
}

function terminalFor(reason: FinalMessage['finishReason']): { status: Status; incompleteReason?: string } {
  if (reason === 'length') return { status: 'incomplete', incompleteReason: 'max_output_tokens' };
  if (reason === 'content_filter') return { status: 'incomplete', incompleteReason: 'content_filter' };
  return { status: 'completed' };
}

const messageItem = (id: string, text: string, status: Status) => ({
  id,
  type: 'message',
  status,
  role: 'assistant',
  content: [{ type: 'output_text', text, annotations: [] }],
});

function reasoningItem(id: string, text: string, signature: string | undefined) {
  const item: Json = { id, type: 'reasoning', summary: text ? [{ type: 'summary_text', text }] : [] };
  if (signature) item.encrypted_content = packThinking(text, signature);
  return item;
}

const functionCallItem = (id: string, callId: string, name: string, args: string, status: Status) => ({
  id,
  type: 'function_call',
  status,
  call_id: callId,
  name,
  arguments: args,
});

const customCallItem = (id: string, callId: string, name: string, input: string, status: Status) => ({
  id,
  type: 'custom_tool_call',
  status,
  call_id: callId,
  name,
  input,
});

const itemId = (prefix: string) => randomId(prefix, 12);

function encodeResponse(msg: FinalMessage, req: ChatRequest, meta: ResponseMeta): unknown {
  const { status, incompleteReason } = terminalFor(msg.finishReason);
  const custom = customToolNames(req);
  const output: unknown[] = [];
  for (const t of msg.thinking) output.push(reasoningItem(itemId('rs_'), t.text, t.signature));
  if (msg.text) output.push(messageItem(itemId('msg_'), msg.text, status));
  for (const c of msg.toolCalls) {
    output.push(
      custom.has(c.name)
        ? customCallItem(itemId('ctc_'), c.id, c.name, unwrapCustomToolInput(c.argumentsJson), status)
        : functionCallItem(itemId('fc_'), c.id, c.name, c.argumentsJson.trim() ? c.argumentsJson : '{}', status),
    );
  }
  return responseObject(req, meta, status, output, { usage: msg.usage, incompleteReason });
}

// ---------------------------------------------------------------------------------------------
// Stream encoding

type SlotKind = 'message' | 'reasoning' | 'function' | 'custom';

interface Slot {
  kind: SlotKind;
  id: string;
  /** Everything received so far (text, thinking or arguments). */
  text: string;
  ended: boolean;
  outputIndex: number;
  callId?: string;
  name?: string;
  signature?: string;
}

const ERROR_CODES: Partial<Record<ErrorKind, string>> = {
  rate_limit: 'rate_limit_exceeded',
  invalid_request: 'invalid_prompt',
  too_large: 'invalid_prompt',
  unprocessable: 'invalid_prompt',
  budget: 'insufficient_quota',
};

function failedError(err: ProxyError): { code: string; message: string } {
  // Codex retries rate limits after the delay it parses from "try again in Ns".
  if (err.kind === 'rate_limit') {
    const wait = err.retryAfter !== undefined ? ` Please try again in ${err.retryAfter}s.` : '';
    return { code: 'rate_limit_exceeded', message: err.message + wait };
  }
  return { code: err.code ?? ERROR_CODES[err.kind] ?? 'server_error', message: err.message };
}

class ResponsesStreamEncoder implements StreamEncoder {
  private seq = 0;
  private started = false;
  private done = false;
  private readonly output: unknown[] = [];
  private readonly queue: Slot[] = [];
  private live: Slot | undefined;
  /** The message or reasoning slot that text/thinking events currently append to. */
  private textual: Slot | undefined;
  private readonly tools = new Map<number, Slot>();
  private usage: Usage | undefined;
  /** Status given to items closed from here on (incomplete once finish says length/content_filter). */
  private closeStatus: Status = 'completed';
  private out = '';
  private readonly custom: ReadonlySet<string>;

  constructor(
    private readonly req: ChatRequest,
    private readonly meta: ResponseMeta,
  ) {
    this.custom = customToolNames(req);
  }

  private emit(type: string, payload: Json): void {
    const data = JSON.stringify({ type, sequence_number: this.seq++, ...payload });
    this.out += `event: ${type}\ndata: ${data}\n\n`;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.emit('response.created', { response: responseObject(this.req, this.meta, 'in_progress', []) });
    this.emit('response.in_progress', { response: responseObject(this.req, this.meta, 'in_progress', []) });
  }

  private ids(s: Slot) {
    return { item_id: s.id, output_index: s.outputIndex };
  }

  private open(s: Slot): void {
    s.outputIndex = this.output.length;
    switch (s.kind) {
      case 'message':
        this.output.push(null);
        this.emit('response.output_item.added', {
          output_index: s.outputIndex,
          item: { id: s.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
        });
        this.emit('response.content_part.added', {
          ...this.ids(s),
          content_index: 0,
          part: { type: 'output_text', text: '', annotations: [] },
        });
        break;
      case 'reasoning':
        this.output.push(null);
        this.emit('response.output_item.added', {
          output_index: s.outputIndex,
          item: { id: s.id, type: 'reasoning', summary: [] },
        });
        this.emit('response.reasoning_summary_part.added', {
          ...this.ids(s),
          summary_index: 0,
          part: { type: 'summary_text', text: '' },
        });
        break;
      case 'function':
        this.output.push(null);
        this.emit('response.output_item.added', {
          output_index: s.outputIndex,
          item: functionCallItem(s.id, s.callId!, s.name!, '', 'in_progress'),
        });
        break;
      case 'custom':
        this.output.push(null);
        this.emit('response.output_item.added', {
          output_index: s.outputIndex,
          item: customCallItem(s.id, s.callId!, s.name!, '', 'in_progress'),
        });
        break;
    }
    if (s.text) this.delta(s, s.text);
  }

  private delta(s: Slot, d: string): void {
    switch (s.kind) {
      case 'message':
        this.emit('response.output_text.delta', { ...this.ids(s), content_index: 0, delta: d, logprobs: [] });
        break;
      case 'reasoning':
        this.emit('response.reasoning_summary_text.delta', { ...this.ids(s), summary_index: 0, delta: d });
        break;
      case 'function':
        this.emit('response.function_call_arguments.delta', { ...this.ids(s), delta: d });
        break;
      case 'custom':
        break; // needs the complete arguments to unwrap {input}; sent whole at close
    }
  }

  private close(s: Slot): void {
    const status = this.closeStatus;
    let item: unknown;
    switch (s.kind) {
      case 'message': {
        const part = { type: 'output_text', text: s.text, annotations: [] };
        this.emit('response.output_text.done', { ...this.ids(s), content_index: 0, text: s.text, logprobs: [] });
        this.emit('response.content_part.done', { ...this.ids(s), content_index: 0, part });
        item = messageItem(s.id, s.text, status);
        break;
      }
      case 'reasoning': {
        const part = { type: 'summary_text', text: s.text };
        this.emit('response.reasoning_summary_text.done', { ...this.ids(s), summary_index: 0, text: s.text });
        this.emit('response.reasoning_summary_part.done', { ...this.ids(s), summary_index: 0, part });
        item = reasoningItem(s.id, s.text, s.signature);
        break;
      }
      case 'function': {
        const args = s.text.trim() ? s.text : '{}';
        this.emit('response.function_call_arguments.done', { ...this.ids(s), name: s.name, arguments: args });
        item = functionCallItem(s.id, s.callId!, s.name!, args, status);
        break;
      }
      case 'custom': {
        const input = unwrapCustomToolInput(s.text);
        if (input) this.emit('response.custom_tool_call_input.delta', { ...this.ids(s), delta: input });
        this.emit('response.custom_tool_call_input.done', { ...this.ids(s), input });
        item = customCallItem(s.id, s.callId!, s.name!, input, status);
        break;
      }
    }
    this.output[s.outputIndex] = item;
    this.emit('response.output_item.done', { output_index: s.outputIndex, item });
    this.live = undefined;
  }

  /** Opens queued items in order while nothing is live; items already ended close at once. */
  private pump(): void {
    while (!this.live && this.queue.length) {
      const s = this.queue.shift()!;
      this.live = s;
      this.open(s);
      if (s.ended) this.close(s);
    }
  }

  private add(s: Slot): void {
    this.queue.push(s);
    this.pump();
  }

  private endSlot(s: Slot): void {
    if (s.ended) return;
    s.ended = true;
    if (this.live === s) {
      this.close(s);
      this.pump();
    }
  }

  private append(s: Slot, d: string): void {
    s.text += d;
    if (this.live === s && d) this.delta(s, d);
  }

  private textEvent(kind: 'message' | 'reasoning', text: string, signature?: string): void {
    let s = this.textual;
    if (!s || s.kind !== kind) {
      if (!text && !signature) return;
      if (s) this.endSlot(s);
      s = { kind, id: itemId(kind === 'message' ? 'msg_' : 'rs_'), text: '', ended: false, outputIndex: -1 };
      this.textual = s;
      this.add(s);
    }
    if (signature) s.signature = signature;
    if (text) this.append(s, text);
  }

  private terminal(type: string, response: unknown): void {
    this.emit(type, { response });
    this.done = true;
  }

  private finish(reason: FinalMessage['finishReason']): void {
    const { status, incompleteReason } = terminalFor(reason);
    this.closeStatus = status;
    for (const s of [...(this.live ? [this.live] : []), ...this.queue]) s.ended = true;
    if (this.live) this.close(this.live);
    this.pump();
    const output = this.output.filter((o) => o !== null);
    const response = responseObject(this.req, this.meta, status, output, { usage: this.usage, incompleteReason });
    this.terminal(status === 'completed' ? 'response.completed' : 'response.incomplete', response);
  }

  private failed(err: ProxyError): void {
    const output = this.output.filter((o) => o !== null);
    this.terminal(
      'response.failed',
      responseObject(this.req, this.meta, 'failed', output, { usage: this.usage, error: failedError(err) }),
    );
  }

  event(e: StreamEvent): string {
    if (this.done) return '';
    this.out = '';
    this.start();
    switch (e.type) {
      case 'start':
        break;
      case 'text':
        this.textEvent('message', e.text);
        break;
      case 'thinking':
        this.textEvent('reasoning', e.text, e.signature);
        break;
      case 'tool_call_start': {
        if (this.textual) this.endSlot(this.textual);
        this.textual = undefined;
        const custom = this.custom.has(e.name);
        const s: Slot = {
          kind: custom ? 'custom' : 'function',
          id: itemId(custom ? 'ctc_' : 'fc_'),
          text: '',
          ended: false,
          outputIndex: -1,
          callId: e.id,
          name: e.name,
        };
        const prev = this.tools.get(e.index);
        if (prev) this.endSlot(prev);
        this.tools.set(e.index, s);
        this.add(s);
        break;
      }
      case 'tool_call_delta': {
        const s = this.tools.get(e.index);
        if (s && !s.ended) this.append(s, e.argumentsFragment);
        break;
      }
      case 'tool_call_end': {
        const s = this.tools.get(e.index);
        if (s) this.endSlot(s);
        break;
      }
      case 'usage':
        this.usage = e.usage;
        break;
      case 'finish':
        if (e.usage) this.usage = e.usage;
        this.finish(e.reason);
        break;
      case 'error':
        this.failed(e.error);
        break;
    }
    return this.out;
  }

  end(): string {
    if (this.done) return '';
    // The upstream stream stopped without finish or error: still end on a terminal event.
    this.out = '';
    this.start();
    this.failed(new ProxyError('upstream', 'the upstream stream ended before the response was complete'));
    return this.out;
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

const ERROR_TYPES: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  too_large: 'invalid_request_error',
  unprocessable: 'invalid_request_error',
  not_found: 'invalid_request_error',
  auth: 'authentication_error',
  permission: 'permission_error',
  budget: 'insufficient_quota',
  rate_limit: 'rate_limit_error',
  upstream: 'server_error',
  unavailable: 'server_error',
  timeout: 'server_error',
  internal: 'server_error',
};

function encodeError(err: ProxyError) {
  return {
    error: {
      message: err.message,
      type: ERROR_TYPES[err.kind] ?? 'server_error',
      param: err.param ?? null,
      code: err.code ?? (err.kind === 'not_found' ? 'model_not_found' : null),
    },
  };
}

export const openaiResponses: Dialect = {
  name: DIALECT,
  decodeRequest: decodeResponsesBody,
  createStreamEncoder: (req, meta) => new ResponsesStreamEncoder(req, meta),
  encodeResponse,
  encodeError,
};
