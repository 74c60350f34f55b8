// rpm / tpm of a deployment (LiteLLM's per-deployment limits): requests and tokens over the last 60 s, counted in
// this process. A deployment over either limit is passed over for its siblings and fallbacks (server/proxy.ts); when
// every candidate is over, the client gets 429 with Retry-After = the seconds until the oldest count leaves the window.
// Keyed by the limits object, which the concrete copies of a wildcard deployment share (one budget per entry).
import type { Deployment } from '../config/types.js';
import { ProxyError } from '../core/errors.js';

/** The 429 a client gets when every deployment of its model is over its rpm/tpm (Cortex was not called). */
export function overLimit(model: string, waitMs: number): ProxyError {
  const secs = Math.max(1, Math.ceil(waitMs / 1000));
  return new ProxyError('rate_limit', `model '${model.slice(0, 100)}' is over its configured rpm/tpm limit; try again in ${secs} s.`, { code: 'deployment_rate_limit', retryAfter: secs });
}

const WINDOW_MS = 60_000;
/** Counts kept per deployment at most (rpm beyond this is treated as this; memory stays bounded). */
const MAX_ENTRIES = 100_000;

interface Window {
  /** Start times of requests within the window (oldest first). */
  requests: number[];
  /** [time, tokens] of finished exchanges within the window. */
  tokens: Array<[number, number]>;
  tokenSum: number;
}

export class DeploymentLimits {
  private readonly windows = new WeakMap<object, Window>();
  constructor(private readonly now: () => number = Date.now) {}

  private window(limits: object): Window {
    let w = this.windows.get(limits);
    if (!w) this.windows.set(limits, (w = { requests: [], tokens: [], tokenSum: 0 }));
    const cutoff = this.now() - WINDOW_MS;
    let i = 0;
    while (i < w.requests.length && w.requests[i] <= cutoff) i++;
    if (i) w.requests.splice(0, i);
    while (w.tokens.length && w.tokens[0][0] <= cutoff) w.tokenSum -= w.tokens.shift()![1];
    return w;
  }

  /** 0 when the deployment may take a request now, else ms until it may. */
  waitMs(d: Deployment): number {
    const l = d.limits;
    if (!l) return 0;
    const w = this.window(l);
    const now = this.now();
    let wait = 0;
    const rpm = l.rpm === undefined ? undefined : Math.min(l.rpm, MAX_ENTRIES);
    if (rpm !== undefined && w.requests.length >= rpm) wait = w.requests[w.requests.length - rpm] + WINDOW_MS - now;
    if (l.tpm !== undefined && w.tokenSum >= l.tpm) {
      // Until enough of the oldest token counts leave the window to bring the sum under the limit.
      let sum = w.tokenSum;
      for (const [t, n] of w.tokens) {
        sum -= n;
        if (sum < l.tpm) {
          wait = Math.max(wait, t + WINDOW_MS - now);
          break;
        }
      }
    }
    return Math.max(0, wait);
  }

  /** A request was sent to the deployment. */
  countRequest(d: Deployment): void {
    if (!d.limits?.rpm) return;
    const w = this.window(d.limits);
    w.requests.push(this.now());
    if (w.requests.length > MAX_ENTRIES) w.requests.shift();
  }

  /** An exchange with the deployment used these tokens (prompt + completion). */
  countTokens(d: Deployment, tokens: number): void {
    if (!d.limits?.tpm || !(tokens > 0)) return;
    const w = this.window(d.limits);
    w.tokens.push([this.now(), tokens]);
    w.tokenSum += tokens;
    if (w.tokens.length > MAX_ENTRIES) w.tokenSum -= w.tokens.shift()![1];
  }
}
