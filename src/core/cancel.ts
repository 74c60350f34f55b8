// A cancellation token for one exchange: what an AbortController did per request (the client left, a deadline
// passed), without the EventTarget an AbortSignal builds and the listener undici adds to it — both were a measurable
// share of the CPU per request (bench/README.md).

const noop = () => undefined;

export class Cancel {
  aborted = false;
  private listeners: Array<() => void> | undefined;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const l = this.listeners;
    this.listeners = undefined;
    if (l) for (const fn of l) fn();
  }

  /** Calls fn once when this is aborted (at once if it already is); returns what removes fn again. */
  onAbort(fn: () => void): () => void {
    if (this.aborted) {
      fn();
      return noop;
    }
    (this.listeners ??= []).push(fn);
    return () => {
      const l = this.listeners;
      const i = l ? l.indexOf(fn) : -1;
      if (i >= 0) l!.splice(i, 1);
    };
  }

  /** A token aborted with this one, or on its own (a deadline); `detach` unhooks it from this one when done. */
  child(): { cancel: Cancel; detach: () => void } {
    const cancel = new Cancel();
    return { cancel, detach: this.onAbort(() => cancel.abort()) };
  }
}
