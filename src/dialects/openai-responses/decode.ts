// Responses request → ChatRequest: instructions + input items, tools (custom/freeform ones marked `freeform`,
// hosted ones dropped), tool_choice, reasoning, text format; stateless, so stored-response references are refused.
import type { ChatRequest, ImagePart, Message, Part, ReasoningEffort, TextPart, Tool, ToolChoice } from '../../core/types.js';
import { invalidRequest } from '../../core/errors.js';
import { isObj, type Json, type Headers } from '../../core/json.js';
import { customToolSchema, hasStringInput } from '../freeform.js';
import { unpackThinking } from './reasoning-blob.js';

export const DIALECT = 'openai-responses';

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
  'reasoning', // handled specially: our signed-thinking blob, or an OpenAI item with encrypted_content
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
      const tool: Tool = { name, jsonSchema: customToolSchema(t, p), freeform: true };
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
        if (thinking) {
          b.push('assistant', [{ type: 'thinking', text: thinking.text, signature: thinking.signature }]);
          return;
        }
        // An OpenAI reasoning item (Cortex's, from an earlier turn on the Responses wire): kept whole, so that wire
        // can send it back. Without encrypted_content it is a reference to stored state, which nothing keeps
        // (store:false): dropped, as OpenAI itself would refuse it.
        const enc = item.encrypted_content;
        if (typeof enc !== 'string' || enc === '') return;
        const id = optStr(item.id, `${p}.id`); // Codex replays reasoning items without their id
        const summary: string[] = [];
        if (item.summary !== undefined && item.summary !== null) {
          if (!Array.isArray(item.summary)) return void fail(`'${p}.summary' must be an array`, `${p}.summary`);
          item.summary.forEach((s, j) => {
            if (!isObj(s)) return void fail(`'${p}.summary[${j}]' must be an object`, `${p}.summary[${j}]`);
            summary.push(reqStr(s.text, `${p}.summary[${j}].text`));
          });
        }
        b.push('assistant', [{ type: 'thinking', text: summary.join('\n\n'), openai: id ? { id, encryptedContent: enc, summary } : { encryptedContent: enc, summary } }]);
        return;
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
    const summary = (body.reasoning as Json).summary;
    if (summary === 'auto' || summary === 'concise' || summary === 'detailed') req.reasoning = { ...req.reasoning, summary };
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
  // truncation, safety_identifier, stream_options, max_tool_calls, text.verbosity. include is not needed: reasoning
  // items always carry the encrypted_content Cortex gave (the Responses wire always asks for it).

  const userAgent = headerValue(headers, 'user-agent');
  req.client = userAgent ? { dialect: DIALECT, userAgent } : { dialect: DIALECT };
  return req;
}
