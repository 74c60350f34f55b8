// Messages request → ChatRequest: strict about shapes it must understand (400s naming the field), lenient about
// what Anthropic keeps adding (unknown fields ignored, server tools dropped); count_tokens reads the same body.
import type { ChatRequest, ImagePart, Message, Part, ReasoningEffort, TextPart, Tool, ToolChoice } from '../../core/types.js';
import { ProxyError, invalidRequest } from '../../core/errors.js';
import { estimateInputTokens } from '../../core/tokens.js';
import { isObj, type Json, type Headers } from '../../core/json.js';
import { isPackedReasoning, unpackReasoning } from './reasoning-signature.js';

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

// ───────────────────────────────────────────── request decoding ─────────────────────────────────────────────

/** Content block types produced by Anthropic-executed (server) tools; they only appear in history replayed
 * from a real Anthropic session, and no Cortex model can continue them, so they are skipped. */
const SERVER_BLOCK = /^(server_tool_use|mcp_tool_use|mcp_tool_result|container_upload|.+_tool_result)$/;

interface DecodeState {
  /** tool_use id → tool name, filled as assistant turns are walked (tool_result carries no name). */
  toolNames: Map<string, string>;
  unsupported: Set<string>;
  systemParts: string[];
}

function decodeText(block: Json, path: string): TextPart {
  if (typeof block.text !== 'string') throw invalidRequest(`${path}.text: must be a string`, `${path}.text`);
  const part: TextPart = { type: 'text', text: block.text };
  if (isObj(block.cache_control)) part.cache = true;
  return part;
}

function decodeImage(block: Json, path: string): ImagePart {
  const src = block.source;
  if (!isObj(src)) throw invalidRequest(`${path}.source: must be an object`, `${path}.source`);
  let part: ImagePart;
  if (src.type === 'base64') {
    if (!isNonEmptyString(src.media_type))
      throw invalidRequest(`${path}.source.media_type: must be a non-empty string`, `${path}.source.media_type`);
    if (!isNonEmptyString(src.data))
      throw invalidRequest(`${path}.source.data: must be a non-empty base64 string`, `${path}.source.data`);
    part = { type: 'image', mediaType: src.media_type, base64: src.data };
  } else if (src.type === 'url') {
    if (!isNonEmptyString(src.url) || !/^https?:\/\//i.test(src.url))
      throw invalidRequest(`${path}.source.url: must be an http(s) URL`, `${path}.source.url`);
    part = { type: 'image', mediaType: '', url: src.url };
  } else {
    throw invalidRequest(
      `${path}.source.type: ${JSON.stringify(src.type)} is not supported (use "base64" or "url")`,
      `${path}.source.type`,
    );
  }
  if (isObj(block.cache_control)) part.cache = true;
  return part;
}

/** document blocks: text sources become text; PDFs/files cannot be carried, so they are refused (a silently
 * dropped document would make the model answer about something it never saw). */
function decodeDocument(block: Json, path: string): TextPart[] {
  const src = block.source;
  if (!isObj(src)) throw invalidRequest(`${path}.source: must be an object`, `${path}.source`);
  const title = typeof block.title === 'string' && block.title ? `${block.title}\n\n` : '';
  if (src.type === 'text') {
    if (typeof src.data !== 'string') throw invalidRequest(`${path}.source.data: must be a string`, `${path}.source.data`);
    return [{ type: 'text', text: title + src.data }];
  }
  if (src.type === 'content') {
    const inner = Array.isArray(src.content) ? src.content : typeof src.content === 'string' ? [src.content] : null;
    if (!inner) throw invalidRequest(`${path}.source.content: must be a string or an array`, `${path}.source.content`);
    const texts = inner.map((c, i) =>
      typeof c === 'string' ? c : isObj(c) && c.type === 'text' ? decodeText(c, `${path}.source.content[${i}]`).text : '',
    );
    return [{ type: 'text', text: title + texts.filter(Boolean).join('\n\n') }];
  }
  throw invalidRequest(
    `${path}: document blocks with a ${JSON.stringify(src.type)} source (PDF/file) are not supported by cortex-proxy; send the text instead`,
    `${path}.source.type`,
  );
}

/** search_result blocks are user-supplied data: keep their content as text. */
function decodeSearchResult(block: Json, path: string): TextPart {
  const content = Array.isArray(block.content) ? block.content : [];
  const body = content
    .map((c, i) => (isObj(c) && c.type === 'text' ? decodeText(c, `${path}.content[${i}]`).text : ''))
    .filter(Boolean)
    .join('\n\n');
  const head = [block.title, block.source].filter((s) => typeof s === 'string' && s).join('\n');
  return { type: 'text', text: head ? `${head}\n\n${body}` : body };
}

function noteUnknown(st: DecodeState, type: unknown) {
  st.unsupported.add(`content block type ${JSON.stringify(typeof type === 'string' ? type : String(type))}`);
}

/** Content of a tool_result: string or blocks of text/image (+ tolerated search_result/document). */
function decodeToolResultContent(content: unknown, path: string, st: DecodeState): Array<TextPart | ImagePart> {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) throw invalidRequest(`${path}: must be a string or an array of blocks`, path);
  const parts: Array<TextPart | ImagePart> = [];
  content.forEach((b, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(b)) throw invalidRequest(`${p}: must be an object`, p);
    switch (b.type) {
      case 'text':
      case 'input_text': {
        const t = decodeText(b, p);
        if (t.text) parts.push(t);
        break;
      }
      case 'image':
        parts.push(decodeImage(b, p));
        break;
      case 'search_result':
        parts.push(decodeSearchResult(b, p));
        break;
      case 'document':
        parts.push(...decodeDocument(b, p));
        break;
      default:
        noteUnknown(st, b.type);
    }
  });
  return parts;
}

function decodeToolInput(input: unknown, path: string): string {
  if (input === undefined || input === null) return '{}';
  if (isObj(input)) return JSON.stringify(input);
  if (typeof input === 'string') {
    // Some clients replay the arguments as JSON text; accept it when it is an object.
    try {
      if (isObj(JSON.parse(input))) return input;
    } catch {
      /* fall through */
    }
  }
  throw invalidRequest(`${path}: must be an object`, path);
}

function decodeBlocks(role: 'user' | 'assistant', content: unknown[], path: string, st: DecodeState): Part[] {
  const parts: Part[] = [];
  content.forEach((b, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(b)) throw invalidRequest(`${p}: must be an object`, p);
    const type = b.type;
    switch (type) {
      case 'text':
      case 'input_text': {
        // input_text: Responses-style parts some bridges send (LiteLLM #23841).
        const t = decodeText(b, p);
        if (t.text) parts.push(t); // empty text blocks are rejected by Claude upstreams
        return;
      }
      case 'image':
        parts.push(decodeImage(b, p));
        return;
      case 'document':
        parts.push(...decodeDocument(b, p));
        return;
      case 'search_result':
        parts.push(decodeSearchResult(b, p));
        return;
      case 'tool_use': {
        if (role !== 'assistant') throw invalidRequest(`${p}: tool_use blocks belong in assistant messages`, `${p}.type`);
        if (!isNonEmptyString(b.id)) throw invalidRequest(`${p}.id: must be a non-empty string`, `${p}.id`);
        if (!isNonEmptyString(b.name)) throw invalidRequest(`${p}.name: must be a non-empty string`, `${p}.name`);
        st.toolNames.set(b.id, b.name);
        parts.push({ type: 'tool_call', id: b.id, name: b.name, argumentsJson: decodeToolInput(b.input, `${p}.input`) });
        return;
      }
      case 'tool_result': {
        if (role !== 'user') throw invalidRequest(`${p}: tool_result blocks belong in user messages`, `${p}.type`);
        if (!isNonEmptyString(b.tool_use_id))
          throw invalidRequest(`${p}.tool_use_id: must be a non-empty string`, `${p}.tool_use_id`);
        const name = st.toolNames.get(b.tool_use_id);
        if (name === undefined)
          throw invalidRequest(
            `${p}.tool_use_id: no earlier tool_use block has id ${JSON.stringify(b.tool_use_id)}`,
            `${p}.tool_use_id`,
          );
        if (b.is_error !== undefined && typeof b.is_error !== 'boolean')
          throw invalidRequest(`${p}.is_error: must be a boolean`, `${p}.is_error`);
        parts.push({
          type: 'tool_result',
          callId: b.tool_use_id,
          name,
          parts: decodeToolResultContent(b.content, `${p}.content`, st),
          ...(b.is_error === true ? { isError: true } : {}),
        });
        return;
      }
      case 'thinking': {
        if (role !== 'assistant') return; // meaningless outside assistant turns
        if (typeof b.thinking !== 'string') throw invalidRequest(`${p}.thinking: must be a string`, `${p}.thinking`);
        const sig = typeof b.signature === 'string' && b.signature ? b.signature : undefined;
        if (sig && isPackedReasoning(sig)) {
          // An OpenAI reasoning item we handed out (reasoning-signature.ts): back to ThinkingPart.openai, never a
          // signature; a corrupted blob leaves unsigned thinking, which no wire replays.
          const openai = unpackReasoning(sig);
          if (openai) parts.push({ type: 'thinking', text: b.thinking, openai });
          else if (b.thinking) parts.push({ type: 'thinking', text: b.thinking });
          return;
        }
        if (!b.thinking && !sig) return;
        parts.push(sig ? { type: 'thinking', text: b.thinking, signature: sig } : { type: 'thinking', text: b.thinking });
        return;
      }
      case 'redacted_thinking':
        return; // encrypted, Anthropic-only: the canonical request cannot carry it
      default:
        if (typeof type === 'string' && SERVER_BLOCK.test(type)) return;
        if (typeof type !== 'string') throw invalidRequest(`${p}.type: must be a string`, `${p}.type`);
        noteUnknown(st, type);
    }
  });
  return parts;
}

function systemText(v: unknown, path: string): string[] {
  if (typeof v === 'string') return v ? [v] : [];
  if (!Array.isArray(v)) throw invalidRequest(`${path}: must be a string or an array of text blocks`, path);
  const out: string[] = [];
  v.forEach((b, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(b) || (b.type !== 'text' && b.type !== 'input_text'))
      throw invalidRequest(`${p}: system blocks must be {"type":"text","text":…}`, p);
    const t = decodeText(b, p).text;
    if (t) out.push(t);
  });
  return out;
}

function decodeMessages(v: unknown, st: DecodeState): Message[] {
  if (!Array.isArray(v)) throw invalidRequest('messages: must be an array', 'messages');
  const out: Message[] = [];
  v.forEach((m, i) => {
    const p = `messages[${i}]`;
    if (!isObj(m)) throw invalidRequest(`${p}: must be an object`, p);
    if (m.role === 'system') {
      // Newer Claude Code betas may put a system message inside messages; merge instead of 400-ing.
      st.systemParts.push(...systemText(m.content, `${p}.content`));
      return;
    }
    if (m.role !== 'user' && m.role !== 'assistant')
      throw invalidRequest(`${p}.role: must be "user" or "assistant"`, `${p}.role`);
    let parts: Part[];
    if (typeof m.content === 'string') parts = m.content ? [{ type: 'text', text: m.content }] : [];
    else if (Array.isArray(m.content)) parts = decodeBlocks(m.role, m.content, `${p}.content`, st);
    else throw invalidRequest(`${p}.content: must be a string or an array of content blocks`, `${p}.content`);
    if (parts.length) out.push({ role: m.role, parts });
  });
  if (!out.length) throw invalidRequest('messages: at least one user or assistant message with content is required', 'messages');
  return out;
}

function decodeTools(v: unknown): { tools: Tool[]; dropped: Set<string> } {
  const dropped = new Set<string>();
  if (v === undefined || v === null) return { tools: [], dropped };
  if (!Array.isArray(v)) throw invalidRequest('tools: must be an array', 'tools');
  const tools: Tool[] = [];
  const seen = new Set<string>();
  v.forEach((t, i) => {
    const p = `tools[${i}]`;
    if (!isObj(t)) throw invalidRequest(`${p}: must be an object`, p);
    if (t.type !== undefined && t.type !== null && t.type !== 'custom') {
      // Anthropic-defined tools (web_search_20250305, bash_20250124, text_editor_…, computer_…, mcp_toolset…):
      // Cortex cannot run or declare them, so they are dropped (their name is kept to drop a tool_choice on it).
      if (typeof t.name === 'string') dropped.add(t.name);
      return;
    }
    if (!isNonEmptyString(t.name)) throw invalidRequest(`${p}.name: must be a non-empty string`, `${p}.name`);
    if (seen.has(t.name)) throw invalidRequest(`${p}.name: duplicate tool name ${JSON.stringify(t.name)}`, `${p}.name`);
    seen.add(t.name);
    if (t.input_schema !== undefined && !isObj(t.input_schema))
      throw invalidRequest(`${p}.input_schema: must be a JSON Schema object`, `${p}.input_schema`);
    if (t.description !== undefined && typeof t.description !== 'string')
      throw invalidRequest(`${p}.description: must be a string`, `${p}.description`);
    const tool: Tool = {
      name: t.name,
      jsonSchema: (t.input_schema as Json | undefined) ?? { type: 'object', properties: {} },
    };
    if (t.description) tool.description = t.description;
    tools.push(tool); // cache_control, input_examples, strict, defer_loading: not carried
  });
  return { tools, dropped };
}

function decodeToolChoice(v: unknown, tools: Tool[], dropped: Set<string>): ToolChoice | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw invalidRequest('tool_choice: must be an object', 'tool_choice');
  let choice: ToolChoice;
  switch (v.type) {
    case 'auto':
      choice = { type: 'auto' };
      break;
    case 'any':
      choice = { type: 'required' };
      break;
    case 'none':
      choice = { type: 'none' };
      break;
    case 'tool':
      if (!isNonEmptyString(v.name)) throw invalidRequest('tool_choice.name: must be a non-empty string', 'tool_choice.name');
      if (dropped.has(v.name)) return undefined; // it named a server tool we dropped (LiteLLM #25477)
      if (!tools.some((t) => t.name === v.name))
        throw invalidRequest(`tool_choice.name: no tool named ${JSON.stringify(v.name)} in tools`, 'tool_choice.name');
      choice = { type: 'tool', name: v.name };
      break;
    default:
      throw invalidRequest('tool_choice.type: must be "auto", "any", "tool" or "none"', 'tool_choice.type');
  }
  // disable_parallel_tool_use: ignored. No tools left (all were server tools) → no tool_choice.
  return tools.length ? choice : undefined;
}

const EFFORTS: Record<string, ReasoningEffort> = { low: 'low', medium: 'medium', high: 'high', max: 'high', minimal: 'minimal' };

function decodeThinking(v: unknown, outputConfig: unknown): ChatRequest['reasoning'] {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw invalidRequest('thinking: must be an object', 'thinking');
  const effort = isObj(outputConfig) && typeof outputConfig.effort === 'string' ? EFFORTS[outputConfig.effort] : undefined;
  switch (v.type) {
    case 'disabled':
      return undefined;
    case 'enabled': {
      const b = v.budget_tokens;
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 1)
        throw invalidRequest('thinking.budget_tokens: must be a positive integer', 'thinking.budget_tokens');
      return effort ? { budgetTokens: b, effort } : { budgetTokens: b };
    }
    case 'adaptive':
      // The model picks its own budget; output_config.effort (default high, per Anthropic) guides it.
      return { effort: effort ?? 'high' };
    default:
      throw invalidRequest('thinking.type: must be "enabled", "disabled" or "adaptive"', 'thinking.type');
  }
}

function optNumber(body: Json, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw invalidRequest(`${key}: must be a number between ${min} and ${max}`, key);
  return v;
}

function headerValue(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function decode(body: unknown, headers: Headers): ChatRequest {
  if (!isObj(body)) throw invalidRequest('request body must be a JSON object');
  if (!isNonEmptyString(body.model)) throw invalidRequest('model: must be a non-empty string', 'model');
  let maxTokens: number | undefined;
  if (body.max_tokens !== undefined && body.max_tokens !== null) {
    const m = body.max_tokens;
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 1)
      throw invalidRequest('max_tokens: must be a positive integer', 'max_tokens');
    maxTokens = m;
  } // Anthropic requires max_tokens; its absence is accepted here and the router applies the model's default.
  const st: DecodeState = { toolNames: new Map(), unsupported: new Set(), systemParts: [] };
  if (body.system !== undefined && body.system !== null) st.systemParts.push(...systemText(body.system, 'system'));
  const messages = decodeMessages(body.messages, st);
  const { tools, dropped } = decodeTools(body.tools);
  const toolChoice = decodeToolChoice(body.tool_choice, tools, dropped);

  let stop: string[] | undefined;
  if (body.stop_sequences !== undefined && body.stop_sequences !== null) {
    if (!Array.isArray(body.stop_sequences) || !body.stop_sequences.every((s) => typeof s === 'string'))
      throw invalidRequest('stop_sequences: must be an array of strings', 'stop_sequences');
    const s = (body.stop_sequences as string[]).filter(Boolean);
    if (s.length) stop = s;
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean')
    throw invalidRequest('stream: must be a boolean', 'stream');

  const temperature = optNumber(body, 'temperature', 0, 2);
  const topP = optNumber(body, 'top_p', 0, 1);
  if (optNumber(body, 'top_k', 0, Number.MAX_SAFE_INTEGER) !== undefined) st.unsupported.add('top_k');
  const reasoning = decodeThinking(body.thinking, body.output_config);

  let responseFormat: ChatRequest['responseFormat'];
  const fmt = isObj(body.output_config) ? body.output_config.format : undefined;
  if (isObj(fmt) && fmt.type === 'json_schema') {
    if (!isObj(fmt.schema)) throw invalidRequest('output_config.format.schema: must be an object', 'output_config.format.schema');
    responseFormat = { type: 'json', schema: fmt.schema };
  }
  // metadata, context_management, service_tier, container, mcp_servers, other output_config keys and any
  // future top-level field: accepted and not forwarded (LiteLLM #22963).

  const req: ChatRequest = {
    model: body.model,
    messages,
    stream: body.stream === true,
    includeUsage: true, // Anthropic streams always carry usage
    unsupported: [...st.unsupported],
    client: { dialect: 'anthropic-messages', userAgent: headerValue(headers, 'user-agent') },
  };
  if (st.systemParts.length) req.system = st.systemParts.join('\n\n');
  if (tools.length) req.tools = tools;
  if (toolChoice) req.toolChoice = toolChoice;
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  if (temperature !== undefined) req.temperature = temperature;
  if (topP !== undefined) req.topP = topP;
  if (stop) req.stop = stop;
  if (reasoning) req.reasoning = reasoning;
  if (responseFormat) req.responseFormat = responseFormat;
  return req;
}

export function safeDecode(body: unknown, headers: Headers): ChatRequest {
  try {
    return decode(body, headers ?? {});
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    // A body shape we did not anticipate must still be a clean 400, never a crash.
    throw invalidRequest('malformed Messages request body');
  }
}

/** POST /v1/messages/count_tokens: same body as /v1/messages (max_tokens optional). Throws invalid_request. */
export function countTokens(body: unknown, headers: Headers = {}): { input_tokens: number } {
  return { input_tokens: countTokensOf(body, headers).input_tokens };
}

/** countTokens, with the model the body names (admission checks it against the key's model list). */
export function countTokensOf(body: unknown, headers: Headers = {}): { model: string; input_tokens: number } {
  const req = safeDecode(body, headers);
  return { model: req.model, input_tokens: estimateInputTokens(req) };
}
