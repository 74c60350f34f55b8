// Per-key limits: requests per minute, tokens per minute, requests in flight, and the budget's reservations.
// One decision per request, atomic: in this process (MemoryLimiter) or, with general_settings.redis_url, in Redis
// for every replica at once (team/redis-limits.ts runs the same rules as one Lua script).
//
// Rules (both implementations):
//   rpm          sliding minute: refused when `rpm` requests were admitted in the last 60 s
//   tpm          sliding minute of per-second buckets: refused while the last 60 s already used `tpm` tokens
//                (a request's tokens count when it finishes)
//   max_parallel refused while that many of the key's requests are in flight
//   budget       refused when the period's committed spend reached the limit; otherwise a request must fit
//                its worst case (estimated prompt + max output) into what is left after the worst cases of the
//                key's requests in flight — unless none is in flight: then it runs alone. So spend passes the
//                budget by at most one request (with Redis: across all replicas; without: per process).
// In-flight entries carry a lease (renewed while the request runs), so a replica that dies frees its slots.

export interface AdmitRequest {
  keyId: string;
  /** Unique per request (the lease and reservation name). */
  reqId: string;
  rpm?: number;
  tpm?: number;
  maxParallel?: number;
  budget?: {
    limit: number;
    /** Committed spend of the period (from the store). */
    spent: number;
    /** This request's worst case, in the budget's unit. */
    cost: number;
  };
}

export type Refusal = 'rpm' | 'tpm' | 'parallel' | 'budget' | 'budget_busy';
export type AdmitResult = { ok: true } | { ok: false; reason: Refusal; retryAfterMs: number };

export interface Limiter {
  readonly kind: 'memory' | 'redis';
  admit(a: AdmitRequest): Promise<AdmitResult>;
  /** The request is over: frees its slot and reservation, and counts its tokens for tpm. */
  settle(keyId: string, reqId: string, tokens: number): Promise<void>;
  /** Extends the leases of requests still running. */
  renew(entries: Array<{ keyId: string; reqId: string }>): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const WINDOW_MS = 60_000;
export const LEASE_MS = 60_000;

interface KeyState {
  admitted: number[];
  /** second → tokens */
  buckets: Map<number, number>;
  /** reqId → reserved cost */
  inflight: Map<string, number>;
}

export class MemoryLimiter implements Limiter {
  readonly kind = 'memory' as const;
  private readonly keys = new Map<string, KeyState>();

  constructor(private readonly now: () => number = Date.now) {}

  private state(id: string): KeyState {
    let s = this.keys.get(id);
    if (!s) this.keys.set(id, (s = { admitted: [], buckets: new Map(), inflight: new Map() }));
    return s;
  }

  async admit(a: AdmitRequest): Promise<AdmitResult> {
    return this.admitSync(a);
  }

  admitSync(a: AdmitRequest): AdmitResult {
    const now = this.now();
    const s = this.state(a.keyId);
    while (s.admitted.length && s.admitted[0] <= now - WINDOW_MS) s.admitted.shift();
    if (a.rpm !== undefined && s.admitted.length >= a.rpm) return { ok: false, reason: 'rpm', retryAfterMs: s.admitted[s.admitted.length - a.rpm] + WINDOW_MS - now };
    if (a.tpm !== undefined) {
      const sec = Math.floor(now / 1000);
      let used = 0;
      const live: Array<[number, number]> = [];
      for (const [b, n] of s.buckets) {
        if (b <= sec - 60) s.buckets.delete(b);
        else {
          used += n;
          live.push([b, n]);
        }
      }
      if (used >= a.tpm) {
        live.sort((x, y) => x[0] - y[0]);
        let left = used;
        let at = now + 1000;
        for (const [b, n] of live) {
          left -= n;
          at = (b + 61) * 1000;
          if (left < a.tpm) break;
        }
        return { ok: false, reason: 'tpm', retryAfterMs: at - now };
      }
    }
    if (a.maxParallel !== undefined && s.inflight.size >= a.maxParallel) return { ok: false, reason: 'parallel', retryAfterMs: 1000 };
    if (a.budget) {
      const b = a.budget;
      if (b.spent >= b.limit) return { ok: false, reason: 'budget', retryAfterMs: 0 };
      let reserved = 0;
      for (const n of s.inflight.values()) reserved += n;
      if (s.inflight.size > 0 && b.spent + reserved + b.cost > b.limit) return { ok: false, reason: 'budget_busy', retryAfterMs: 1000 };
    }
    s.admitted.push(now);
    s.inflight.set(a.reqId, a.budget?.cost ?? 0);
    return { ok: true };
  }

  async settle(keyId: string, reqId: string, tokens: number): Promise<void> {
    const s = this.keys.get(keyId);
    if (!s) return;
    s.inflight.delete(reqId);
    if (tokens > 0) {
      const sec = Math.floor(this.now() / 1000);
      s.buckets.set(sec, (s.buckets.get(sec) ?? 0) + tokens);
    }
    if (s.inflight.size === 0 && s.admitted.length === 0 && s.buckets.size === 0) this.keys.delete(keyId);
  }

  async renew(): Promise<void> {}
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
