// The one accumulator: canonical StreamEvents → FinalMessage, for every non-streaming answer.
// Push-style so `agg.push` can be handed to a wire decoder as its `emit` callback.
import type { FinalMessage, FinishReason, StreamEvent, Usage } from './types.js';
import { ProxyError } from './errors.js';
import { ZERO_USAGE } from './finish.js';
import { nowSeconds, randomId } from './ids.js';

interface ToolCallAcc {
  id: string;
  name: string;
  args: string;
}

export interface AggregateDefaults {
  /** Used when no `start` event carries an id. */
  id?: string;
  /** Used when no `start` event carries `created`. */
  created?: number;
}

export class Aggregator {
  private id?: string;
  private created?: number;
  private text = '';
  private readonly thinking: FinalMessage['thinking'] = [];
  /** The last thinking segment is an OpenAI reasoning item already sealed (done): more thinking starts a new one. */
  private sealed = false;
  /** True while the last content event was thinking (consecutive thinking joins one segment). */
  private inThinking = false;
  private readonly calls = new Map<number, ToolCallAcc>();
  private usage?: Usage;
  private finishReason?: FinishReason;
  private err?: ProxyError;

  constructor(private readonly defaults: AggregateDefaults = {}) {}

  /** Feed one event. An arrow property, so it can be passed as an `Emit` callback unbound. */
  readonly push = (e: StreamEvent): void => {
    if (e.type === 'error') {
      this.err ??= e.error;
      return;
    }
    // Nothing after the end counts (a decoder must emit exactly one finish or error).
    if (this.finishReason !== undefined || this.err) return;
    switch (e.type) {
      case 'start':
        if (this.id === undefined && e.id) this.id = e.id;
        if (this.created === undefined && e.created !== undefined) this.created = e.created;
        return;
      case 'text':
        this.text += e.text;
        if (e.text) this.inThinking = false;
        return;
      case 'thinking': {
        const last = this.thinking[this.thinking.length - 1];
        // A signature closes its segment; text or a tool call between thinking starts a new one.
        if (this.inThinking && last && last.signature === undefined && !this.sealed) {
          last.text += e.text;
          if (e.signature !== undefined) last.signature = e.signature;
        } else {
          const seg: { text: string; signature?: string } = { text: e.text };
          if (e.signature !== undefined) seg.signature = e.signature;
          this.thinking.push(seg);
          this.sealed = false;
        }
        this.inThinking = true;
        return;
      }
      case 'reasoning_item': {
        const last = this.thinking[this.thinking.length - 1];
        if (e.phase === 'start') {
          this.thinking.push({ text: '', openai: { id: e.item.id } });
          this.sealed = false;
          this.inThinking = true;
          return;
        }
        const seg = last?.openai?.id === e.item.id && !this.sealed ? last : undefined;
        const item = { ...e.item };
        if (seg) seg.openai = item;
        else this.thinking.push({ text: (item.summary ?? []).join('\n\n'), openai: item });
        this.sealed = true;
        return;
      }
      case 'tool_call_start':
        if (!this.calls.has(e.index)) this.calls.set(e.index, { id: e.id, name: e.name, args: '' });
        this.inThinking = false;
        return;
      case 'tool_call_delta': {
        // A fragment for a call that never started has no id/name to attach to: dropped.
        const call = this.calls.get(e.index);
        if (call) call.args += e.argumentsFragment;
        return;
      }
      case 'tool_call_end':
        return;
      case 'usage':
        this.usage = e.usage;
        return;
      case 'finish':
        if (e.usage) this.usage = e.usage;
        this.finishReason = e.reason;
        return;
    }
  };

  /** The error event, if one came (the server answers with an HTTP error instead of a message). */
  get error(): ProxyError | undefined {
    return this.err;
  }

  /** A `finish` event has been seen. */
  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  /**
   * The final message. Throws the ProxyError of an `error` event, or an `upstream` ProxyError when the
   * events ended without a `finish` (never guess a finish reason: a cut-off tool call must not look runnable).
   */
  result(): FinalMessage {
    if (this.err) throw this.err;
    if (this.finishReason === undefined) {
      throw new ProxyError('upstream', 'the upstream answer ended without a finish');
    }
    const toolCalls: FinalMessage['toolCalls'] = [];
    for (const c of this.calls.values()) {
      toolCalls.push({ id: c.id, name: c.name, argumentsJson: c.args === '' ? '{}' : c.args });
    }
    return {
      id: this.id ?? this.defaults.id ?? randomId('msg_'),
      created: this.created ?? this.defaults.created ?? nowSeconds(),
      text: this.text,
      // Empty unsigned segments (an OpenAI reasoning item that never came with content) carry nothing.
      thinking: this.thinking.filter((t) => t.text || t.signature || t.openai?.encryptedContent).map((t) => ({ ...t })),
      toolCalls,
      finishReason: this.finishReason,
      usage: { ...(this.usage ?? ZERO_USAGE) },
    };
  }
}

/** Convenience: aggregate a complete list of events (throws like `Aggregator.result`). */
export function aggregate(events: Iterable<StreamEvent>, defaults?: AggregateDefaults): FinalMessage {
  const agg = new Aggregator(defaults);
  for (const e of events) agg.push(e);
  return agg.result();
}
