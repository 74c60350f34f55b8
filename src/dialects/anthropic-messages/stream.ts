// Canonical events → the SSE sequence the Anthropic SDK's MessageStream accumulates, one open block at a time.
import type { ChatRequest, StreamEvent, Usage } from '../../core/types.js';
import { ProxyError } from '../../core/errors.js';
import { randomId } from '../../core/ids.js';
import { BYTES_PER_TOKEN, estimateInputTokens } from '../../core/tokens.js';
import type { ResponseMeta, StreamEncoder } from '../dialect.js';
import type { Json } from '../../core/json.js';
import { anthropicUsage, cacheCreation, stopReason, type AnthropicUsage } from './encode.js';
import { encodeErrorBody } from './errors.js';
import { packReasoning } from './reasoning-signature.js';

const frame = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;

type OpenBlock =
  | { kind: 'text' }
  | { kind: 'thinking'; signed: boolean }
  | { kind: 'tool'; toolIndex: number };

export class AnthropicStreamEncoder implements StreamEncoder {
  private started = false;
  private done = false;
  private open: OpenBlock | null = null;
  private nextBlock = 0;
  private usage: Usage | undefined;
  private estimatedInput: number | undefined;
  private sawToolCall = false;
  /** Tool indexes whose block was opened (and possibly closed). */
  private toolsSeen = new Set<number>();
  /** Fragments that arrived before their tool_call_start (defensive; the contract says start comes first). */
  private early = new Map<number, string[]>();
  /** Characters of output streamed, for an output estimate when the upstream never reports usage. */
  private outChars = 0;

  constructor(
    private readonly req: ChatRequest,
    private readonly meta: ResponseMeta,
  ) {}

  private inputEstimate(): number {
    return (this.estimatedInput ??= estimateInputTokens(this.req));
  }

  /** Usage for message_start: the real one if known, else an estimate (0 breaks Claude Code's cost tracking). */
  private startUsage(): AnthropicUsage {
    if (this.usage && this.usage.promptTokens > 0) return { ...anthropicUsage(this.usage), output_tokens: 1 };
    return { input_tokens: this.inputEstimate(), cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 };
  }

  private ensureStarted(): string {
    if (this.started) return '';
    this.started = true;
    const usage = this.startUsage();
    return frame('message_start', {
      type: 'message_start',
      message: {
        id: this.meta.id,
        type: 'message',
        role: 'assistant',
        model: this.meta.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, cache_creation: cacheCreation(usage) },
      },
    });
  }

  private closeOpen(): string {
    if (!this.open) return '';
    this.open = null;
    return frame('content_block_stop', { type: 'content_block_stop', index: this.nextBlock - 1 });
  }

  private startBlock(block: OpenBlock, content: Json): string {
    const out = this.closeOpen();
    this.open = block;
    const index = this.nextBlock++;
    return out + frame('content_block_start', { type: 'content_block_start', index, content_block: content });
  }

  private delta(delta: Json): string {
    return frame('content_block_delta', { type: 'content_block_delta', index: this.nextBlock - 1, delta });
  }

  event(e: StreamEvent): string {
    if (this.done) return '';
    switch (e.type) {
      case 'start':
        return '';
      case 'usage':
        this.usage = e.usage;
        // Hold message_start until usage or content: usage that arrives first makes input_tokens exact.
        return this.started || e.usage.promptTokens <= 0 ? '' : this.ensureStarted();
      case 'text': {
        if (!e.text) return ''; // never an empty text block (LiteLLM #34692)
        let out = this.ensureStarted();
        if (this.open?.kind !== 'text') out += this.startBlock({ kind: 'text' }, { type: 'text', text: '' });
        this.outChars += e.text.length;
        return out + this.delta({ type: 'text_delta', text: e.text });
      }
      case 'thinking': {
        if (!e.text && !e.signature) return '';
        let out = this.ensureStarted();
        // A signature seals a thinking block; more thinking after it starts a new block.
        if (this.open?.kind !== 'thinking' || (this.open.signed && e.text))
          out += this.startBlock({ kind: 'thinking', signed: false }, { type: 'thinking', thinking: '', signature: '' });
        if (e.text) {
          this.outChars += e.text.length;
          out += this.delta({ type: 'thinking_delta', thinking: e.text });
        }
        if (e.signature) {
          (this.open as { signed: boolean }).signed = true;
          out += this.delta({ type: 'signature_delta', signature: e.signature });
        }
        return out;
      }
      case 'reasoning_item': {
        // An OpenAI reasoning item: its own thinking block, sealed with our signature blob when Cortex gave
        // encrypted_content (reasoning-signature.ts), so Claude Code's replay carries it back.
        if (e.phase === 'start') return this.open?.kind === 'thinking' ? this.closeOpen() : '';
        if (!e.item.encryptedContent) return '';
        let out = this.ensureStarted();
        if (this.open?.kind !== 'thinking' || this.open.signed)
          out += this.startBlock({ kind: 'thinking', signed: false }, { type: 'thinking', thinking: '', signature: '' });
        (this.open as { signed: boolean }).signed = true;
        return out + this.delta({ type: 'signature_delta', signature: packReasoning(e.item) });
      }
      case 'tool_call_start': {
        if (this.toolsSeen.has(e.index)) return ''; // repeated start for the same call: keep the first
        this.toolsSeen.add(e.index);
        this.sawToolCall = true;
        let out = this.ensureStarted();
        out += this.startBlock(
          { kind: 'tool', toolIndex: e.index },
          { type: 'tool_use', id: e.id || randomId('toolu_', 12), name: e.name, input: {} },
        );
        const early = this.early.get(e.index);
        if (early) {
          this.early.delete(e.index);
          for (const f of early) out += this.delta({ type: 'input_json_delta', partial_json: f });
        }
        return out;
      }
      case 'tool_call_delta': {
        if (!e.argumentsFragment) return '';
        this.outChars += e.argumentsFragment.length;
        if (this.open?.kind === 'tool' && this.open.toolIndex === e.index)
          return this.delta({ type: 'input_json_delta', partial_json: e.argumentsFragment });
        if (!this.toolsSeen.has(e.index)) {
          const list = this.early.get(e.index) ?? [];
          list.push(e.argumentsFragment);
          this.early.set(e.index, list);
          return '';
        }
        // Arguments for a call whose block is already closed (interleaved upstream calls): Anthropic blocks
        // cannot reopen, and appending elsewhere would corrupt JSON, so fail loudly instead.
        return this.event({
          type: 'error',
          error: new ProxyError('upstream', 'upstream interleaved the arguments of parallel tool calls; cannot stream them as Anthropic blocks'),
        });
      }
      case 'tool_call_end':
        return this.open?.kind === 'tool' && this.open.toolIndex === e.index ? this.closeOpen() : '';
      case 'finish': {
        if (e.usage) this.usage = e.usage;
        let out = this.ensureStarted() + this.closeOpen();
        this.early.clear(); // fragments whose start never came have no name to call: dropped (contract breach)
        this.done = true;
        const u = this.finalUsage();
        out += frame('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: stopReason(e.reason, this.sawToolCall), stop_sequence: null },
          usage: u,
        });
        return out + frame('message_stop', { type: 'message_stop' });
      }
      case 'error':
        this.done = true;
        return frame('error', encodeErrorBody(e.error));
      default:
        return '';
    }
  }

  /** Cumulative usage for message_delta; estimates stand in for whatever the upstream never reported. */
  private finalUsage(): AnthropicUsage {
    const u = this.usage ? anthropicUsage(this.usage) : undefined;
    const input = u && this.usage!.promptTokens > 0 ? u : { ...this.startUsage() };
    const output = u && u.output_tokens > 0 ? u.output_tokens : Math.ceil(this.outChars / BYTES_PER_TOKEN);
    return {
      input_tokens: input.input_tokens,
      cache_creation_input_tokens: input.cache_creation_input_tokens,
      cache_read_input_tokens: input.cache_read_input_tokens,
      output_tokens: output,
    };
  }

  end(): string {
    return '';
  }
}

