// Chat Completions request → ChatRequest, validated field by field (a hostile body is never spread), every error in
// OpenAI's own wording naming the parameter.
import type { ChatRequest, ImagePart, Message, Part, ReasoningEffort, TextPart, Tool, ToolCallPart, ToolChoice, ToolResultPart } from '../../core/types.js';
import { invalidRequest } from '../../core/errors.js';
import { isObj, unset, type Headers, type Json as Obj } from '../../core/json.js';

// ---------------------------------------------------------------------------------------------
// Errors in OpenAI's own wording, always naming the parameter.

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a decimal';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  return 'an object';
}
/** A client value quoted for an error message, cut short (bodies can be huge). */
function show(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  return JSON.stringify(s.length > 64 ? s.slice(0, 64) + '…' : s);
}
function missing(param: string): never {
  throw invalidRequest(`Missing required parameter: '${param}'.`, param);
}
function badType(param: string, expected: string, got: unknown): never {
  throw invalidRequest(`Invalid type for '${param}': expected ${expected}, but got ${kindOf(got)} instead.`, param);
}
function badValue(param: string, why: string): never {
  throw invalidRequest(`Invalid value for '${param}': ${why}`, param);
}

function str(v: unknown, param: string): string {
  if (typeof v !== 'string') return unset(v) ? missing(param) : badType(param, 'a string', v);
  return v;
}
function optStr(v: unknown, param: string): string | undefined {
  if (unset(v)) return undefined;
  if (typeof v !== 'string') badType(param, 'a string', v);
  return v;
}
function optNum(v: unknown, param: string, min: number, max: number): number | undefined {
  if (unset(v)) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) badType(param, 'a number', v);
  if (v < min || v > max) badValue(param, `expected a number between ${min} and ${max}, got ${v}.`);
  return v;
}
function optInt(v: unknown, param: string, min: number): number | undefined {
  if (unset(v)) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) badType(param, 'an integer', v);
  if (v < min) badValue(param, `expected an integer >= ${min}, got ${v}.`);
  return v;
}
function optBool(v: unknown, param: string): boolean | undefined {
  if (unset(v)) return undefined;
  if (typeof v !== 'boolean') badType(param, 'a boolean', v);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Content parts

const isEphemeral = (p: Obj) => isObj(p.cache_control) && p.cache_control.type === 'ephemeral';

function textPart(text: string, p?: Obj): TextPart {
  const part: TextPart = { type: 'text', text };
  if (p && isEphemeral(p)) part.cache = true;
  return part;
}

const DETAILS = new Set(['auto', 'low', 'high']);

function imagePart(p: Obj, path: string): ImagePart {
  // Chat: image_url {url, detail}; Responses-style input_image: image_url is the URL string itself.
  const ref = p.image_url;
  let url: unknown;
  let detail: unknown = p.detail;
  let urlPath = `${path}.image_url`;
  if (isObj(ref)) {
    url = ref.url;
    urlPath += '.url';
    if (!unset(ref.detail)) detail = ref.detail;
  } else {
    url = ref;
  }
  const u = str(url, urlPath);
  const part = parseImageUrl(u, urlPath);
  if (!unset(detail)) {
    if (typeof detail !== 'string' || !DETAILS.has(detail)) badValue(`${path}.image_url.detail`, `expected 'auto', 'low' or 'high'.`);
    part.detail = detail as ImagePart['detail'];
  }
  if (isEphemeral(p)) part.cache = true;
  return part;
}

function parseImageUrl(u: string, param: string): ImagePart {
  if (/^https?:\/\//i.test(u)) return { type: 'image', mediaType: '', url: u };
  if (u.length < 5 || u.slice(0, 5).toLowerCase() !== 'data:') {
    badValue(param, 'expected a data: URL (data:image/png;base64,…) or an http(s) URL.');
  }
  const comma = u.indexOf(',');
  if (comma < 0) badValue(param, 'malformed data: URL (no comma).');
  const meta = u.slice(5, comma).split(';');
  const mediaType = meta[0]!.trim().toLowerCase();
  if (!mediaType.startsWith('image/')) badValue(param, `the data: URL is not an image (${show(mediaType)}).`);
  const isBase64 = meta.some((m, i) => i > 0 && m.trim().toLowerCase() === 'base64');
  let base64 = u.slice(comma + 1);
  if (!isBase64) {
    try {
      base64 = Buffer.from(decodeURIComponent(base64), 'utf8').toString('base64');
    } catch {
      badValue(param, 'malformed percent-encoding in the data: URL.');
    }
  }
  if (base64.length === 0) badValue(param, 'the data: URL has no data.');
  return { type: 'image', mediaType, base64 };
}

/** User or tool content: a string or an array of text/image parts (a user turn needs at least one). */
function userParts(content: unknown, path: string, allowEmpty = false): Array<TextPart | ImagePart> {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return unset(content) ? missing(path) : badType(path, 'a string or an array of content parts', content);
  if (content.length === 0 && !allowEmpty) badValue(path, 'expected a string or a non-empty array of content parts.');
  const out: Array<TextPart | ImagePart> = [];
  for (let j = 0; j < content.length; j++) {
    const p: unknown = content[j];
    const pp = `${path}[${j}]`;
    if (!isObj(p)) badType(pp, 'an object', p);
    switch (p.type) {
      case 'text':
      case 'input_text':
        out.push(textPart(str(p.text, `${pp}.text`), p));
        break;
      case 'image_url':
      case 'input_image':
        out.push(imagePart(p, pp));
        break;
      default:
        unknownPart(p.type, pp);
    }
  }
  return out;
}

function unknownPart(type: unknown, pp: string): never {
  if (unset(type)) missing(`${pp}.type`);
  if (typeof type !== 'string') badType(`${pp}.type`, 'a string', type);
  return badValue(`${pp}.type`, `unsupported content part type ${show(type)}.`);
}

/** System/developer content as one string (parts joined with blank lines). */
function systemText(content: unknown, path: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return unset(content) ? missing(path) : badType(path, 'a string or an array of text parts', content);
  const texts: string[] = [];
  for (let j = 0; j < content.length; j++) {
    const p: unknown = content[j];
    const pp = `${path}[${j}]`;
    if (!isObj(p)) badType(pp, 'an object', p);
    if (p.type !== 'text' && p.type !== 'input_text') {
      if (unset(p.type) || typeof p.type !== 'string') unknownPart(p.type, pp);
      badValue(`${pp}.type`, `only text parts are allowed in system/developer messages, got ${show(p.type)}.`);
    }
    const t = str(p.text, `${pp}.text`);
    if (t) texts.push(t);
  }
  return texts.join('\n\n');
}

/** Assistant content: string | null | array of text (or refusal) parts; empty text is dropped. */
function assistantText(content: unknown, path: string, out: Part[]): void {
  if (unset(content)) return;
  if (typeof content === 'string') {
    if (content) out.push({ type: 'text', text: content });
    return;
  }
  if (!Array.isArray(content)) badType(path, 'a string, null or an array of text parts', content);
  for (let j = 0; j < content.length; j++) {
    const p: unknown = content[j];
    const pp = `${path}[${j}]`;
    if (!isObj(p)) badType(pp, 'an object', p);
    let t: string;
    if (p.type === 'text' || p.type === 'output_text' || p.type === 'input_text') t = str(p.text, `${pp}.text`);
    else if (p.type === 'refusal') t = str(p.refusal, `${pp}.refusal`);
    else unknownPart(p.type, pp);
    if (t) out.push(textPart(t, p));
  }
}

/** Tool-call arguments as JSON text; a (sloppy) object is serialised, empty means no arguments. */
function argumentsJson(v: unknown, param: string): string {
  if (unset(v)) return '{}';
  if (typeof v === 'string') return v === '' ? '{}' : v;
  if (isObj(v)) return JSON.stringify(v);
  return badType(param, 'a string', v);
}

// ---------------------------------------------------------------------------------------------
// Messages

interface History {
  system: string[];
  messages: Message[];
  /** tool_call id → tool name, from earlier assistant turns. */
  nameById: Map<string, string>;
  /** tool name → latest call id (for the legacy `function` role, which answers by name). */
  idByName: Map<string, string>;
  /** The user message that collects consecutive tool results. */
  toolTurn?: Message;
}

function decodeMessage(m: unknown, i: number, h: History): void {
  const path = `messages[${i}]`;
  if (!isObj(m)) badType(path, 'an object', m);
  const role = m.role;
  if (role !== 'tool' && role !== 'function') h.toolTurn = undefined;
  switch (role) {
    case 'system':
    case 'developer': {
      const t = systemText(m.content, `${path}.content`);
      if (t) h.system.push(t);
      return;
    }
    case 'user':
      h.messages.push({ role: 'user', parts: userParts(m.content, `${path}.content`) });
      return;
    case 'assistant':
      decodeAssistant(m, path, i, h);
      return;
    case 'tool': {
      const callId = str(m.tool_call_id, `${path}.tool_call_id`);
      const name = h.nameById.get(callId);
      if (name === undefined) {
        badValue(`${path}.tool_call_id`, `no earlier assistant tool call has the id ${show(callId)}.`);
      }
      pushToolResult(h, callId, name, m.content, `${path}.content`);
      return;
    }
    case 'function': {
      const name = str(m.name, `${path}.name`);
      const callId = h.idByName.get(name);
      if (callId === undefined) badValue(`${path}.name`, `no earlier assistant function_call is named ${show(name)}.`);
      pushToolResult(h, callId, name, m.content, `${path}.content`);
      return;
    }
    default:
      if (unset(role)) missing(`${path}.role`);
      if (typeof role !== 'string') badType(`${path}.role`, 'a string', role);
      badValue(`${path}.role`, `unknown role ${show(role)}; expected system, developer, user, assistant or tool.`);
  }
}

function pushToolResult(h: History, callId: string, name: string, content: unknown, path: string): void {
  // An empty result is a tool_result without content, not an empty text block.
  const parts = content === '' ? [] : userParts(content, path, true);
  const part: ToolResultPart = { type: 'tool_result', callId, name, parts };
  if (h.toolTurn) h.toolTurn.parts.push(part);
  else {
    h.toolTurn = { role: 'user', parts: [part] };
    h.messages.push(h.toolTurn);
  }
}

function decodeAssistant(m: Obj, path: string, i: number, h: History): void {
  const parts: Part[] = [];
  const reasoning = optStr(m.reasoning_content, `${path}.reasoning_content`);
  if (reasoning) parts.push({ type: 'thinking', text: reasoning });
  assistantText(m.content, `${path}.content`, parts);

  const calls = m.tool_calls;
  if (!unset(calls)) {
    if (!Array.isArray(calls)) badType(`${path}.tool_calls`, 'an array', calls);
    for (let j = 0; j < calls.length; j++) {
      const c: unknown = calls[j];
      const cp = `${path}.tool_calls[${j}]`;
      if (!isObj(c)) badType(cp, 'an object', c);
      if (!unset(c.type) && c.type !== 'function') badValue(`${cp}.type`, `only 'function' tool calls are supported, got ${show(c.type)}.`);
      const id = str(c.id, `${cp}.id`);
      if (!isObj(c.function)) {
        if (unset(c.function)) missing(`${cp}.function`);
        badType(`${cp}.function`, 'an object', c.function);
      }
      const name = str(c.function.name, `${cp}.function.name`);
      const part: ToolCallPart = { type: 'tool_call', id, name, argumentsJson: argumentsJson(c.function.arguments, `${cp}.function.arguments`) };
      parts.push(part);
      h.nameById.set(id, name);
      h.idByName.set(name, id);
    }
  }
  const fc = m.function_call;
  if (!unset(fc)) {
    const fp = `${path}.function_call`;
    if (!isObj(fc)) badType(fp, 'an object', fc);
    const name = str(fc.name, `${fp}.name`);
    // Legacy calls have no id: a deterministic one keeps the prompt identical across turns (prompt cache).
    const id = `call_fn_${i}`;
    parts.push({ type: 'tool_call', id, name, argumentsJson: argumentsJson(fc.arguments, `${fp}.arguments`) });
    h.nameById.set(id, name);
    h.idByName.set(name, id);
  }
  // content null/"" with no calls (or tool_calls: []) carries nothing: no empty turn is kept.
  if (parts.length > 0) h.messages.push({ role: 'assistant', parts });
}

// ---------------------------------------------------------------------------------------------
// Tools

function decodeFunction(fn: Obj, path: string): Tool {
  const name = str(fn.name, `${path}.name`);
  if (name === '') badValue(`${path}.name`, 'a tool name cannot be empty.');
  const tool: Tool = { name, jsonSchema: { type: 'object', properties: {} } };
  const description = optStr(fn.description, `${path}.description`);
  if (description !== undefined) tool.description = description;
  const params = fn.parameters;
  if (!unset(params)) {
    if (!isObj(params)) badType(`${path}.parameters`, 'an object (a JSON Schema)', params);
    tool.jsonSchema = params;
  }
  return tool;
}

function decodeTools(body: Obj): Tool[] {
  const tools: Tool[] = [];
  const t = body.tools;
  if (!unset(t)) {
    if (!Array.isArray(t)) badType('tools', 'an array', t);
    for (let i = 0; i < t.length; i++) {
      const x: unknown = t[i];
      const p = `tools[${i}]`;
      if (!isObj(x)) badType(p, 'an object', x);
      if (!unset(x.type) && x.type !== 'function') badValue(`${p}.type`, `only 'function' tools are supported, got ${show(x.type)}.`);
      if (isObj(x.function)) tools.push(decodeFunction(x.function, `${p}.function`));
      // Flat Responses-style {type:"function", name, parameters}, which Cursor mixes in.
      else if (unset(x.function) && typeof x.name === 'string') tools.push(decodeFunction(x, p));
      else if (unset(x.function)) missing(`${p}.function`);
      else badType(`${p}.function`, 'an object', x.function);
    }
  }
  const f = body.functions;
  if (!unset(f)) {
    if (!Array.isArray(f)) badType('functions', 'an array', f);
    for (let i = 0; i < f.length; i++) {
      const x: unknown = f[i];
      if (!isObj(x)) badType(`functions[${i}]`, 'an object', x);
      tools.push(decodeFunction(x, `functions[${i}]`));
    }
  }
  return tools;
}

function decodeToolChoice(body: Obj, tools: Tool[]): ToolChoice | undefined {
  let v = body.tool_choice;
  let param = 'tool_choice';
  if (unset(v) && !unset(body.function_call)) {
    v = body.function_call;
    param = 'function_call';
  }
  if (unset(v)) return undefined;
  let choice: ToolChoice;
  if (typeof v === 'string') {
    if (v === 'auto' || v === 'none' || v === 'required') choice = { type: v };
    else return badValue(param, `expected 'auto', 'none', 'required' or a named function, got ${show(v)}.`);
  } else if (isObj(v)) {
    // {type:"function",function:{name}} (chat), {name} (legacy function_call), {type:"function",name} (Responses),
    // {type:"auto"|"any"|"tool"} (Anthropic-style, which Cursor sends for Claude-like names).
    const type = v.type;
    if (type === 'auto' || type === 'none' || type === 'required') choice = { type };
    else if (type === 'any') choice = { type: 'required' };
    else if (type === 'function' || type === 'tool' || unset(type)) {
      let name: string;
      if (isObj(v.function)) name = str(v.function.name, `${param}.function.name`);
      else if (!unset(v.name)) name = str(v.name, `${param}.name`);
      else return missing(param === 'function_call' ? 'function_call.name' : `${param}.function.name`);
      const namePath = isObj(v.function) ? `${param}.function.name` : `${param}.name`;
      if (!tools.some((t) => t.name === name)) badValue(namePath, `no tool named ${show(name)} is among the request's tools.`);
      choice = { type: 'tool', name };
    } else return badValue(`${param}.type`, `unsupported tool_choice type ${show(type)}.`);
  } else return badType(param, "'auto', 'none', 'required' or an object", v);

  if (tools.length === 0) {
    // auto/none without tools mean nothing; forcing a call without tools cannot be served.
    if (choice.type === 'auto' || choice.type === 'none') return undefined;
    badValue(param, `tool_choice ${show(choice.type)} needs 'tools'.`);
  }
  return choice;
}

// ---------------------------------------------------------------------------------------------
// Request

const EFFORTS = new Set(['none', 'minimal', 'low', 'medium', 'high']);

export function decodeRequest(body: unknown, headers: Headers): ChatRequest {
  if (!isObj(body)) throw invalidRequest('The request body must be a JSON object.');
  const model = str(body.model, 'model');
  if (model === '') badValue('model', 'the model name cannot be empty.');

  const rawMessages = body.messages;
  if (!Array.isArray(rawMessages)) {
    if (unset(rawMessages)) missing('messages');
    badType('messages', 'an array', rawMessages);
  }
  if (rawMessages.length === 0) badValue('messages', 'expected a non-empty array.');
  const h: History = { system: [], messages: [], nameById: new Map(), idByName: new Map() };
  for (let i = 0; i < rawMessages.length; i++) decodeMessage(rawMessages[i], i, h);

  const stream = optBool(body.stream, 'stream') ?? false;
  let includeUsage = false;
  if (!unset(body.stream_options)) {
    if (!isObj(body.stream_options)) badType('stream_options', 'an object', body.stream_options);
    includeUsage = stream && optBool(body.stream_options.include_usage, 'stream_options.include_usage') === true;
  }

  const req: ChatRequest = { model, messages: h.messages, stream, includeUsage, unsupported: [] };
  if (h.system.length) req.system = h.system.join('\n\n');

  const tools = decodeTools(body);
  if (tools.length) req.tools = tools;
  const toolChoice = decodeToolChoice(body, tools);
  if (toolChoice) req.toolChoice = toolChoice;

  const maxTokens = optInt(body.max_tokens, 'max_tokens', 1);
  const maxCompletion = optInt(body.max_completion_tokens, 'max_completion_tokens', 1);
  if (maxCompletion !== undefined || maxTokens !== undefined) req.maxTokens = maxCompletion ?? maxTokens;
  const temperature = optNum(body.temperature, 'temperature', 0, 2);
  if (temperature !== undefined) req.temperature = temperature;
  const topP = optNum(body.top_p, 'top_p', 0, 1);
  if (topP !== undefined) req.topP = topP;

  const stop = body.stop;
  if (typeof stop === 'string') req.stop = [stop];
  else if (Array.isArray(stop)) {
    if (stop.length > 4) badValue('stop', `at most 4 stop sequences are allowed, got ${stop.length}.`);
    for (let i = 0; i < stop.length; i++) if (typeof stop[i] !== 'string') badType(`stop[${i}]`, 'a string', stop[i]);
    if (stop.length) req.stop = stop as string[];
  } else if (!unset(stop)) badType('stop', 'a string or an array of strings', stop);

  const rf = body.response_format;
  if (!unset(rf)) {
    if (!isObj(rf)) badType('response_format', 'an object', rf);
    if (rf.type === 'json_object') req.responseFormat = { type: 'json' };
    else if (rf.type === 'json_schema') {
      const js = rf.json_schema;
      if (!isObj(js)) {
        if (unset(js)) missing('response_format.json_schema');
        badType('response_format.json_schema', 'an object', js);
      }
      const format: NonNullable<ChatRequest['responseFormat']> = { type: 'json' };
      const name = optStr(js.name, 'response_format.json_schema.name');
      if (name !== undefined) format.name = name;
      if (!unset(js.schema)) {
        if (!isObj(js.schema)) badType('response_format.json_schema.schema', 'an object', js.schema);
        format.schema = js.schema;
      }
      req.responseFormat = format;
    } else if (rf.type !== 'text') {
      if (unset(rf.type)) missing('response_format.type');
      badValue('response_format.type', `expected 'text', 'json_object' or 'json_schema', got ${show(rf.type)}.`);
    }
  }

  const effort = body.reasoning_effort;
  if (!unset(effort)) {
    if (typeof effort !== 'string') badType('reasoning_effort', 'a string', effort);
    // 'none' asks for no reasoning (passed to Cortex's v1 chat as is); 'xhigh' (newer OpenAI models) is the most the canonical request can say.
    if (effort === 'xhigh') req.reasoning = { effort: 'high' };
    else if (EFFORTS.has(effort)) req.reasoning = { effort: effort as ReasoningEffort };
    else badValue('reasoning_effort', `expected 'none', 'minimal', 'low', 'medium' or 'high', got ${show(effort)}.`);
  }

  // Parameters that change the answer but that the canonical request cannot carry: drop_params decides.
  const u = req.unsupported;
  const n = optInt(body.n, 'n', 1);
  if (n !== undefined && n > 1) u.push('n');
  if (optBool(body.logprobs, 'logprobs') === true) u.push('logprobs');
  if (optInt(body.top_logprobs, 'top_logprobs', 0) !== undefined) u.push('top_logprobs');
  if (optInt(body.seed, 'seed', Number.MIN_SAFE_INTEGER) !== undefined) u.push('seed');
  const pp = optNum(body.presence_penalty, 'presence_penalty', -2, 2);
  if (pp !== undefined && pp !== 0) u.push('presence_penalty');
  const fp = optNum(body.frequency_penalty, 'frequency_penalty', -2, 2);
  if (fp !== undefined && fp !== 0) u.push('frequency_penalty');
  const lb = body.logit_bias;
  if (!unset(lb)) {
    if (!isObj(lb)) badType('logit_bias', 'an object', lb);
    if (Object.keys(lb).length > 0) u.push('logit_bias');
  }
  if (!unset(body.audio)) u.push('audio');
  const modalities = body.modalities;
  if (!unset(modalities)) {
    if (!Array.isArray(modalities)) badType('modalities', 'an array', modalities);
    if (modalities.some((x) => x !== 'text')) u.push('modalities');
  }
  if (!unset(body.web_search_options)) u.push('web_search_options');
  // Accepted and ignored (no effect on the answer's content): user, metadata, store, service_tier,
  // parallel_tool_calls, prediction, prompt_cache_key, prompt_cache_retention, safety_identifier, verbosity.

  let ua = headers['user-agent'];
  if (Array.isArray(ua)) ua = ua[0];
  req.client = ua ? { dialect: 'openai-chat', userAgent: ua } : { dialect: 'openai-chat' };
  return req;
}

