// What every upstream decoder shares: push-style plumbing over SseParser (events go to the emit of the current
// feed/end call), the failure path, the closing usage + finish events, and the start of every wire's decodeJson.
import type { ProxyError } from '../core/errors.js';
import { deriveFinishReason } from '../core/finish.js';
import { isObj, type Json } from '../core/json.js';
import type { Usage } from '../core/types.js';
import { upstreamError } from './snowflake-errors.js';
import { SseParser, type SseHandler } from './sse.js';
import type { DecoderContext, Emit, StreamDecoder } from './wire.js';

const noop: Emit = () => {};

export abstract class WireDecoder implements StreamDecoder, SseHandler {
  protected emit: Emit = noop;
  /** No event may follow a finish or an error. */
  protected done = false;
  private readonly parser: SseParser;

  constructor(
    protected readonly ctx: DecoderContext,
    sse: { allEvents?: boolean } = {},
  ) {
    this.parser = new SseParser(this, sse);
  }

  /** One SSE `data` payload. */
  abstract onData(data: string): void;

  /** The stream is over: flush what is open, then usage and exactly one finish (see closeWith), or an error. */
  abstract finish(): void;

  /** Sets where events go (decodeJson drives the decoder directly). */
  attach(emit: Emit): void {
    this.emit = emit;
  }

  feed(text: string, emit: Emit): void {
    if (this.done) return;
    this.emit = emit;
    this.parser.feed(text);
  }

  end(emit: Emit): void {
    if (this.done) return;
    this.emit = emit;
    this.parser.end();
    if (!this.done) this.bodyEnded();
  }

  /** The upstream body ended before the decoder finished on its own; by default that is the end of the answer. */
  protected bodyEnded(): void {
    this.finish();
  }

  protected fail(error: ProxyError): void {
    this.done = true;
    this.emit({ type: 'error', error });
  }

  /** The last events of every successful stream: usage (when known), then the finish with the shared rule. */
  protected closeWith(sawToolCall: boolean, upstreamReason: string | undefined, usage: Usage | undefined): void {
    this.done = true;
    if (usage) this.emit({ type: 'usage', usage });
    const reason = deriveFinishReason({ sawToolCall, upstreamReason, maxTokens: this.ctx.maxTokens, usage });
    this.emit(usage ? { type: 'finish', reason, usage } : { type: 'finish', reason });
  }
}

/** A whole 200 body as Wire.decodeJson gets it: as given, or parsed when it is still text (a string or Buffer).
 * Undefined, after emitting the upstream error, when that text is not JSON. */
export function bodyJson(body: unknown, ctx: DecoderContext, emit: Emit): { json: unknown } | undefined {
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) return { json: body };
  try {
    return { json: JSON.parse(body.toString()) };
  } catch {
    emit({ type: 'error', error: upstreamError('Cortex answered 200 with a body that is not JSON', ctx.requestId) });
    return undefined;
  }
}

/** decodeJson of the wires whose whole answer has a chat-completions chunk's shape (inference:complete,
 * /v1/chat/completions): an object without choices and without any error field is an upstream error; anything else
 * is read as one chunk (errors dressed as 200 included), then the answer finishes. */
export function decodeChoicesJson(body: unknown, dec: WireDecoder & { chunk(obj: Json): void }, ctx: DecoderContext, emit: Emit): void {
  const parsed = bodyJson(body, ctx, emit);
  if (!parsed) return;
  const obj = parsed.json as Json;
  if (isObj(obj) && obj.choices === undefined && obj.error === undefined && obj.code === undefined && obj.message === undefined) {
    emit({ type: 'error', error: upstreamError('Cortex answered 200 with JSON that has no choices', ctx.requestId) });
    return;
  }
  dec.attach(emit);
  dec.chunk(obj);
  dec.finish();
}
