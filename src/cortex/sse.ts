// A small push-style Server-Sent Events parser (WHATWG rules, only what an upstream client needs):
// LF / CRLF / CR line ends (a CR at a chunk edge is remembered so a following LF is not a second line),
// a leading BOM, `:` comments, multi-line `data:` joined with "\n", `event:` names (events not named
// `message` are skipped), any chunk split. It hands each event's data to one handler object, so the
// hot path allocates no closures; it scans with indexOf, never with regexes.

export interface SseHandler {
  /** One complete `message` event's data (data lines joined with "\n"). */
  onData(data: string): void;
}

export class SseParser {
  private readonly handler: SseHandler;
  /** Unfinished line carried over from the previous chunk. */
  private pending = '';
  /** Last chunk ended in CR: an LF at the start of the next chunk belongs to it. */
  private skipLF = false;
  private started = false;
  private data = '';
  private hasData = false;
  private eventName = '';

  /** Deliver events of every name, not only `message` (Anthropic streams name each event and repeat it as `type`). */
  private readonly allEvents: boolean;

  constructor(handler: SseHandler, opts: { allEvents?: boolean } = {}) {
    this.handler = handler;
    this.allEvents = opts.allEvents === true;
  }

  feed(chunk: string): void {
    if (chunk.length === 0) return;
    let text = chunk;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.skipLF) {
      this.skipLF = false;
      if (text.charCodeAt(0) === 10) text = text.slice(1);
    }
    if (this.pending.length > 0) {
      text = this.pending + text;
      this.pending = '';
    }
    const len = text.length;
    let pos = 0;
    let lf = text.indexOf('\n');
    let cr = text.indexOf('\r');
    while (lf !== -1 || cr !== -1) {
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 < len) next = text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
        else {
          next = len;
          this.skipLF = true;
        }
      } else {
        end = lf;
        next = lf + 1;
      }
      this.line(text, pos, end);
      pos = next;
      if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
    }
    if (pos < len) this.pending = pos === 0 ? text : text.slice(pos);
  }

  /**
   * The body ended. Unlike a browser, a final event without its blank line is still delivered: a stream cut
   * mid-event then surfaces as truncated JSON (an error) instead of silently losing the tail.
   */
  end(): void {
    if (this.pending.length > 0) {
      const text = this.pending;
      this.pending = '';
      this.line(text, 0, text.length);
    }
    this.dispatch();
  }

  private line(text: string, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    const first = text.charCodeAt(start);
    if (first === 58 /* : */) return; // comment
    // Fast path: `data:`.
    if (first === 100 /* d */ && end - start >= 5 && text.startsWith('data:', start)) {
      let v = start + 5;
      if (v < end && text.charCodeAt(v) === 32) v++;
      const value = text.slice(v, end);
      if (this.hasData) this.data += '\n' + value;
      else {
        this.data = value;
        this.hasData = true;
      }
      return;
    }
    let colon = text.indexOf(':', start);
    if (colon === -1 || colon > end) colon = end;
    const nameLen = colon - start;
    let v = colon + 1;
    if (v < end && text.charCodeAt(v) === 32) v++;
    if (nameLen === 5 && text.startsWith('event', start)) {
      this.eventName = v < end ? text.slice(v, end) : '';
    } else if (nameLen === 4 && text.startsWith('data', start)) {
      // `data` with no colon: an empty data line.
      if (this.hasData) this.data += '\n';
      else {
        this.data = '';
        this.hasData = true;
      }
    }
    // id, retry and unknown fields carry nothing this proxy needs.
  }

  private dispatch(): void {
    const deliver = this.hasData && (this.allEvents || this.eventName === '' || this.eventName === 'message');
    const data = this.data;
    this.data = '';
    this.hasData = false;
    this.eventName = '';
    if (deliver) this.handler.onData(data);
  }
}

/** All `message` data payloads of a complete SSE text (tests and one-shot bodies). */
export function parseSse(text: string): string[] {
  const out: string[] = [];
  const p = new SseParser({ onData: (d) => out.push(d) });
  p.feed(text);
  p.end();
  return out;
}
