// rpm / tpm of a deployment (LiteLLM's per-deployment limits): requests and tokens over the last 60 s. A deployment
// over either limit is passed over for its siblings and fallbacks (server/proxy.ts); when every candidate is over,
// the client gets 429 with Retry-After = the seconds until the oldest count leaves the window.
// The counting is the team gateway's limiter (team/limits.ts), under the key `deployment:<model_list[i]>`: in this
// process, or with serve --workers in the primary for every worker (server/cluster.ts), so the limit holds for the
// whole server. The concrete copies of a wildcard deployment share its limits object, hence its budget.
import type { Deployment } from '../config/types.js';
import { ProxyError } from '../core/errors.js';
import { randomId } from '../core/ids.js';
import { MemoryLimiter, type Limiter } from '../team/limits.js';

/** The 429 a client gets when every deployment of its model is over its rpm/tpm (Cortex was not called). */
export function overLimit(model: string, waitMs: number): ProxyError {
  const secs = Math.max(1, Math.ceil(waitMs / 1000));
  return new ProxyError('rate_limit', `model '${model.slice(0, 100)}' is over its configured rpm/tpm limit; try again in ${secs} s.`, { code: 'deployment_rate_limit', retryAfter: secs });
}

export type Admission = { ok: true; release(tokens: number): void } | { ok: false; waitMs: number };

const FREE: Admission = { ok: true, release: () => undefined };

export class DeploymentLimits {
  private limiter: Limiter;
  constructor(now: () => number = Date.now) {
    this.limiter = new MemoryLimiter(now);
  }

  /** serve --workers: count in the primary (one limiter for every worker). */
  use(limiter: Limiter): void {
    this.limiter = limiter;
  }

  /** Takes a request slot of the deployment, or says how long until one frees up. release() with the tokens used. */
  async admit(d: Deployment): Promise<Admission> {
    const l = d.limits;
    if (!l || (l.rpm === undefined && l.tpm === undefined)) return FREE;
    const keyId = `deployment:${l.id}`;
    const reqId = randomId('dl-', 16);
    const r = await this.limiter.admit({ keyId, reqId, rpm: l.rpm, tpm: l.tpm });
    if (!r.ok) return { ok: false, waitMs: Math.max(1, r.retryAfterMs) };
    let done = false;
    return {
      ok: true,
      release: (tokens) => {
        if (done) return;
        done = true;
        this.limiter.settle(keyId, reqId, tokens > 0 ? tokens : 0).catch(() => undefined);
      },
    };
  }
}
