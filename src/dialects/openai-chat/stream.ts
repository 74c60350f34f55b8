// Canonical events → chat.completion.chunk SSE: exactly the chunk sequence strict clients need (clients-and-peers.md §3–4).
import type { ChatRequest, FinishReason, StreamEvent, Usage } from '../../core/types.js';
import type { ResponseMeta, StreamEncoder } from '../dialect.js';
import { int, usageJson } from './encode.js';
import { errorBody } from './errors.js';

const DONE = 'data: [DONE]\n\n';
const ROLE_DELTA = '{"role":"assistant","content":""}';

export class ChatStreamEncoder implements StreamEncoder {
  /** Everything up to the choices array, identical on every chunk. */
  private readonly head: string;
  private roleSent = false;
  private done = false;
  private ended = false;
  private usage?: Usage;
  /** Upstream tool index → the dense 0..n-1 index the client sees (clients index arrays with it). */
  private readonly toolIndex = new Map<number, number>();

  constructor(private readonly req: ChatRequest, meta: ResponseMeta) {
    this.head =
      `data: {"id":${JSON.stringify(meta.id)},"object":"chat.completion.chunk","created":${int(meta.created)},` +
      `"model":${JSON.stringify(meta.model)},"choices":[`;
  }

  private chunk(delta: string): string {
    return `${this.head}{"index":0,"delta":${delta},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  /** The role chunk, once, before anything else (openai-node throws "missing role" without it). */
  private role(): string {
    if (this.roleSent) return '';
    this.roleSent = true;
    return this.chunk(ROLE_DELTA);
  }

  event(e: StreamEvent): string {
    if (this.done) return '';
    switch (e.type) {
      case 'start':
        return this.role();
      case 'text':
        return e.text === '' ? '' : this.role() + this.chunk(`{"content":${JSON.stringify(e.text)}}`);
      case 'thinking':
        // Signatures have no place in Chat Completions; signature-only events write nothing.
        return e.text === '' ? '' : this.role() + this.chunk(`{"reasoning_content":${JSON.stringify(e.text)}}`);
      case 'tool_call_start': {
        if (this.toolIndex.has(e.index)) return '';
        const i = this.toolIndex.size;
        this.toolIndex.set(e.index, i);
        return (
          this.role() +
          this.chunk(
            `{"tool_calls":[{"index":${i},"id":${JSON.stringify(e.id)},"type":"function","function":{"name":${JSON.stringify(e.name)},"arguments":""}}]}`,
          )
        );
      }
      case 'tool_call_delta': {
        const i = this.toolIndex.get(e.index);
        // A fragment without its start has no id/name the client could attach it to.
        if (i === undefined || e.argumentsFragment === '') return '';
        return this.chunk(`{"tool_calls":[{"index":${i},"function":{"arguments":${JSON.stringify(e.argumentsFragment)}}}]}`);
      }
      case 'tool_call_end':
        return '';
      case 'usage':
        this.usage = e.usage;
        return '';
      case 'finish': {
        this.done = true;
        if (e.usage) this.usage = e.usage;
        let out = this.role() + `${this.head}{"index":0,"delta":{},"logprobs":null,"finish_reason":${JSON.stringify(e.reason satisfies FinishReason)}}]}\n\n`;
        if (this.req.includeUsage) out += `${this.head}],"usage":${JSON.stringify(usageJson(this.usage))}}\n\n`;
        return out;
      }
      case 'error':
        this.done = true;
        return `data: ${JSON.stringify(errorBody(e.error))}\n\n`;
      default:
        return '';
    }
  }

  end(): string {
    if (this.ended) return '';
    this.ended = true;
    return DONE;
  }
}

