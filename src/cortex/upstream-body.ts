// The body of an upstream answer, fed straight from undici's dispatch callbacks: no Readable stream, no async
// iterator, no event emitter per chunk (each was a measurable share of the CPU per request and per streamed chunk:
// bench/README.md). One reader at a time; backpressure goes back to the socket through undici's pause/resume.

/** What the body needs from the call that produces it (cortex/client.ts). */
export interface BodySource {
  /** Stops the upstream call (the socket is closed: the rest of the answer is not wanted). */
  abort(err: Error): void;
  /** Lets a paused call go on reading. */
  resume(): void;
}

type OnChunk = (chunk: Buffer) => boolean | Promise<boolean>;

/** Keeps reading while fewer bytes than this wait for a reader; more pause the socket. */
const HIGH_WATER = 64 * 1024;

export class UpstreamBody {
  /** Chunks not handed to a reader yet (none attached, or it is paused). */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private reader: OnChunk | undefined;
  private settle: ((err?: unknown) => void) | undefined;
  private ended = false;
  private failure: unknown;
  private closed = false;
  private closeListeners: Array<() => void> | undefined;
  /** The reader asked to wait (its promise is pending). */
  paused = false;
  /** The producer was told to stop reading (held data over HIGH_WATER, or the reader paused). */
  private throttled = false;

  constructor(private readonly source: BodySource) {}

  // ---- producer side (the dispatch handler) ----

  /** One chunk from the socket; false asks undici to pause until source.resume(). */
  push(chunk: Buffer): boolean {
    if (this.closed) return false;
    if (this.reader && !this.paused && this.held.length === 0) {
      this.deliver(chunk);
      if (this.closed) return false;
      if (!this.paused) return true;
    } else {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (!this.paused && this.heldBytes <= HIGH_WATER) return true;
    }
    this.throttled = true; // drain() resumes the socket once the reader caught up
    return false;
  }

  end(): void {
    if (this.closed) return;
    this.ended = true;
    if (this.reader && !this.paused && this.held.length === 0) this.finish();
  }

  fail(err: unknown): void {
    if (this.closed) return;
    this.failure = err;
    this.finish(err);
  }

  // ---- reader side ----

  /** Bytes received and not handed to the reader yet. */
  get buffered(): number {
    return this.heldBytes;
  }

  /**
   * Calls onChunk for every chunk until the body ends. onChunk answers true (go on at once), false (stop: the
   * call is aborted and the promise resolves) or a promise of either (reading waits until it settles, so a slow
   * client slows the upstream read). Rejects with the body's error or with what onChunk threw.
   */
  forEach(onChunk: OnChunk): Promise<void> {
    if (this.reader) return Promise.reject(new Error('the upstream body has a reader already'));
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return this.failure === undefined ? resolve() : reject(this.failure);
      this.reader = onChunk;
      this.settle = (err) => (err === undefined ? resolve() : reject(err));
      this.drain();
    });
  }

  /** The whole body as text; past `max` bytes the rest is read and dropped (an error page may be huge). */
  async text(max = Infinity): Promise<string> {
    const parts: Buffer[] = [];
    let size = 0;
    await this.forEach((chunk) => {
      if (size < max) parts.push(chunk);
      size += chunk.length;
      return true;
    });
    const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    return (max < size ? buf.subarray(0, max) : buf).toString('utf8');
  }

  /** Stops reading: aborts the call; a reader waiting on forEach gets `err`, or resolves without one. */
  destroy(err?: Error): void {
    if (this.closed) return;
    this.finish(err);
    this.source.abort(err ?? Object.assign(new Error('upstream body closed by the proxy'), { code: 'UND_ERR_ABORTED' }));
  }

  /** Calls fn once the body is over (ended, failed or destroyed). */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else (this.closeListeners ??= []).push(fn);
  }

  private deliver(chunk: Buffer): void {
    let go: boolean | Promise<boolean>;
    try {
      go = this.reader!(chunk);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    if (go === true) return;
    if (go === false) {
      this.destroy();
      return;
    }
    this.paused = true;
    go.then(
      (ok) => {
        if (this.closed) return;
        this.paused = false;
        if (!ok) return this.destroy();
        this.drain();
      },
      (err) => this.destroy(err as Error),
    );
  }

  /** Hands held chunks to the reader until it pauses, then finishes or lets the socket read again. */
  private drain(): void {
    while (this.held.length > 0 && !this.paused && !this.closed) {
      const chunk = this.held.shift()!;
      this.heldBytes -= chunk.length;
      this.deliver(chunk);
    }
    if (this.closed || this.paused) return;
    if (this.ended) return this.finish();
    if (this.throttled) {
      this.throttled = false;
      this.source.resume();
    }
  }

  private finish(err?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.held = [];
    this.heldBytes = 0;
    const settle = this.settle;
    this.settle = undefined;
    this.reader = undefined;
    settle?.(err);
    const l = this.closeListeners;
    this.closeListeners = undefined;
    if (l) for (const fn of l) fn();
  }
}
