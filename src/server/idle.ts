// request_timeout counted between stream *events*, not bytes. undici's bodyTimeout restarts on every byte, so an
// upstream that sends only SSE comments (`: keep-alive`) or events that carry nothing would hold a stream open
// forever; this watchdog cuts the upstream body once `timeoutMs` pass without an event. Time spent waiting for a
// slow client (the body paused by backpressure, or holding data not read yet) does not count: the upstream is not
// the one being slow then.
import type { UpstreamBody } from '../cortex/upstream-body.js';

export interface IdleWatch {
  /** Set by the caller whenever an event was decoded (one store: this runs per event). */
  seen: boolean;
}

/**
 * Destroys `body` with a body-timeout error (cortex/client.ts connectionError → 504 "sent nothing for N s
 * (request_timeout)") after `timeoutMs` without `seen` being set. Checks four times per timeout; stops by itself
 * when the body closes.
 */
export function watchIdle(body: UpstreamBody, timeoutMs: number): IdleWatch {
  const watch: IdleWatch = { seen: false };
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    // Data waiting in the body (or a paused body) means the proxy is waiting for its client, not for Snowflake.
    if (watch.seen || body.paused || body.buffered > 0) {
      watch.seen = false;
      last = now;
      return;
    }
    if (now - last < timeoutMs) return;
    clearInterval(timer);
    const err = Object.assign(new Error(`no stream event for ${timeoutMs} ms`), { code: 'UND_ERR_BODY_TIMEOUT' });
    body.destroy(err);
  }, Math.max(25, Math.floor(timeoutMs / 4)));
  timer.unref();
  body.onClose(() => clearInterval(timer));
  return watch;
}
