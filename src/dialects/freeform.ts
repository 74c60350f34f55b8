// Freeform (custom/grammar) tools for every dialect that takes them (Responses; Cursor on /chat/completions): offered
// upstream as a function taking {"input": string} and marked `freeform` in the canonical Tool; their calls go back
// to the client with the raw input, unwrapped whole (JSON answers) or incrementally (streams).
import { invalidRequest } from '../core/errors.js';
import { isObj, type Json } from '../core/json.js';
import type { ChatRequest, StreamEvent } from '../core/types.js';
import type { StreamEncoder } from './dialect.js';

const NONE: ReadonlySet<string> = new Set();

/** Names of the tools the client declared as freeform (`type:"custom"`) in this request. */
export function customToolNames(req: ChatRequest): ReadonlySet<string> {
  const names = req.tools?.filter((t) => t.freeform).map((t) => t.name);
  return names?.length ? new Set(names) : NONE;
}

/** The function schema offered upstream for a custom tool: one string `input` (its grammar, if any, in the description). */
export function customToolSchema(tool: Json, param: string): Record<string, unknown> {
  const format = tool.format;
  let description = 'The raw input for this tool as plain text (not JSON-encoded).';
  if (isObj(format) && format.type === 'grammar') {
    const syntax = typeof format.syntax === 'string' ? format.syntax : 'lark';
    const definition = format.definition;
    if (typeof definition !== 'string') throw invalidRequest(`'${param}.format.definition' ${definition === undefined || definition === null ? 'is required' : 'must be a string'}`, `${param}.format.definition`);
    description =
      `The raw input for this tool as plain text (not JSON-encoded). It must match this ${syntax} grammar:\n` +
      definition;
  } else if (format !== undefined && format !== null && !(isObj(format) && format.type === 'text')) {
    throw invalidRequest(`'${param}.format' must be {type:"text"} or {type:"grammar",syntax,definition}`, `${param}.format`);
  }
  return {
    type: 'object',
    properties: { input: { type: 'string', description } },
    required: ['input'],
  };
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

/** The arguments are already the {"input": "…"} object offered upstream. */
export function hasStringInput(argumentsJson: string): boolean {
  try {
    const v = JSON.parse(argumentsJson) as unknown;
    return isObj(v) && typeof v.input === 'string';
  } catch {
    return false;
  }
}

/** Arguments of a replayed freeform call as the {"input": …} object offered upstream. */
export function wrapFreeform(args: string): string {
  return hasStringInput(args) ? args : JSON.stringify({ input: args });
}

/** Passes events to the Chat encoder, turning freeform calls' {"input": "…"} argument stream into the raw text. */
export class FreeformStream implements StreamEncoder {
  private readonly open = new Map<number, FreeformArgs>();

  constructor(
    private readonly inner: StreamEncoder,
    private readonly custom: ReadonlySet<string>,
  ) {}

  private flush(index: number, args: FreeformArgs): string {
    this.open.delete(index);
    const rest = args.end();
    return rest ? this.inner.event({ type: 'tool_call_delta', index, argumentsFragment: rest }) : '';
  }

  event(e: StreamEvent): string {
    switch (e.type) {
      case 'tool_call_start':
        if (this.custom.has(e.name) && !this.open.has(e.index)) this.open.set(e.index, new FreeformArgs());
        return this.inner.event(e);
      case 'tool_call_delta': {
        const args = this.open.get(e.index);
        if (!args) return this.inner.event(e);
        const text = args.feed(e.argumentsFragment);
        return text ? this.inner.event({ ...e, argumentsFragment: text }) : '';
      }
      case 'tool_call_end': {
        const args = this.open.get(e.index);
        return (args ? this.flush(e.index, args) : '') + this.inner.event(e);
      }
      case 'finish': {
        let out = '';
        for (const [index, args] of this.open) out += this.flush(index, args);
        return out + this.inner.event(e);
      }
      default:
        return this.inner.event(e);
    }
  }

  end(): string {
    return this.inner.end();
  }
}

const HEAD = /^\s*\{\s*"input"\s*:\s*"/;
const HEAD_COMPACT = '{"input":"';
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Incremental decoder of `{"input": "<json string>"}` fragments into the raw string. Anything else (other keys
 * first, a non-string input) is buffered and unwrapped at the end by unwrapCustomToolInput.
 */
export class FreeformArgs {
  private state: 'head' | 'string' | 'done' | 'raw' = 'head';
  /** head/raw: the text so far; string: an escape sequence cut by a fragment boundary. */
  private buf = '';
  /** A high surrogate held back until its pair arrives. */
  private high = '';

  feed(fragment: string): string {
    switch (this.state) {
      case 'head': {
        this.buf += fragment;
        const m = HEAD.exec(this.buf);
        if (m) {
          const rest = this.buf.slice(m[0].length);
          this.buf = '';
          this.state = 'string';
          return this.decode(rest);
        }
        if (!HEAD_COMPACT.startsWith(this.buf.replace(/\s+/g, ''))) this.state = 'raw';
        return '';
      }
      case 'string':
        return this.decode(fragment);
      case 'raw':
        this.buf += fragment;
        return '';
      default:
        return '';
    }
  }

  /** What is still owed at the end of the call. */
  end(): string {
    if (this.state === 'head' || this.state === 'raw') {
      const all = this.buf;
      this.buf = '';
      this.state = 'done';
      return all === '' ? '' : unwrapCustomToolInput(all);
    }
    const tail = this.high;
    this.high = '';
    this.state = 'done';
    return tail;
  }

  private decode(s: string): string {
    if (this.buf) {
      s = this.buf + s;
      this.buf = '';
    }
    let out = this.high;
    this.high = '';
    let i = 0;
    while (i < s.length) {
      let j = i;
      while (j < s.length) {
        const c = s.charCodeAt(j);
        if (c === 34 || c === 92) break; // " or \
        j++;
      }
      if (j > i) out += s.slice(i, j);
      if (j >= s.length) break;
      if (s.charCodeAt(j) === 34) {
        this.state = 'done'; // the closing quote: whatever follows is not part of the input
        break;
      }
      // an escape sequence, possibly cut by the fragment boundary
      if (j + 1 >= s.length) {
        this.buf = s.slice(j);
        break;
      }
      const e = s[j + 1];
      if (e === 'u') {
        if (j + 6 > s.length) {
          this.buf = s.slice(j);
          break;
        }
        const code = Number.parseInt(s.slice(j + 2, j + 6), 16);
        out += Number.isNaN(code) ? s.slice(j, j + 6) : String.fromCharCode(code);
        i = j + 6;
      } else {
        out += ESCAPES[e] ?? e;
        i = j + 2;
      }
    }
    const last = out.charCodeAt(out.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.high = out.slice(-1);
      out = out.slice(0, -1);
    }
    return out;
  }
}
