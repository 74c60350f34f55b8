// Canonical events → Responses SSE (`event: <type>\ndata: <json>`), one output item live at a time, ending on exactly
// one of response.completed | response.incomplete | response.failed.
import type { ChatRequest, FinalMessage, OpenAIReasoning, StreamEvent, Usage } from '../../core/types.js';
import { ProxyError } from '../../core/errors.js';
import type { Json } from '../../core/json.js';
import type { ResponseMeta, StreamEncoder } from '../dialect.js';
import { customToolNames, unwrapCustomToolInput } from '../freeform.js';
import { customCallItem, functionCallItem, itemId, messageItem, reasoningItem, responseObject, terminalFor, type Status } from './encode.js';
import { failedError } from './errors.js';

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
  /** OpenAI reasoning item: set at start (id) and completed when the upstream item is done. */
  openai?: OpenAIReasoning;
  /** A reasoning summary part has been opened (opened lazily: items without a summary have none). */
  partOpen?: boolean;
}

export class ResponsesStreamEncoder implements StreamEncoder {
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
        if (!s.partOpen) {
          s.partOpen = true;
          this.emit('response.reasoning_summary_part.added', { ...this.ids(s), summary_index: 0, part: { type: 'summary_text', text: '' } });
        }
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
        if (s.partOpen) {
          const part = { type: 'summary_text', text: s.text };
          this.emit('response.reasoning_summary_text.done', { ...this.ids(s), summary_index: 0, text: s.text });
          this.emit('response.reasoning_summary_part.done', { ...this.ids(s), summary_index: 0, part });
        }
        item = reasoningItem(s.id, s.text, s.signature, s.openai && { ...s.openai, id: s.id });
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

  /** An OpenAI reasoning item starts (a slot carrying Cortex's id) or is done (sealed with what the client replays). */
  private reasoningEvent(phase: 'start' | 'done', item: OpenAIReasoning & { id: string }): void {
    const cur = this.textual;
    if (phase === 'start') {
      if (cur) this.endSlot(cur);
      const s: Slot = { kind: 'reasoning', id: item.id, text: '', ended: false, outputIndex: -1, openai: { id: item.id } };
      this.textual = s;
      this.add(s);
      return;
    }
    let s = cur?.kind === 'reasoning' && cur.openai?.id === item.id ? cur : undefined;
    if (!s) {
      if (cur) this.endSlot(cur);
      const text = (item.summary ?? []).join('\n\n');
      s = { kind: 'reasoning', id: item.id, text: '', ended: false, outputIndex: -1 };
      this.add(s);
      if (text) this.append(s, text);
    }
    s.openai = { ...item };
    this.textual = undefined;
    this.endSlot(s);
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
      case 'reasoning_item':
        this.reasoningEvent(e.phase, e.item);
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
