// In-memory statistics since the proxy started, for the dashboard (/ui/api/stats) and serve's status line:
// totals, the last 60 minutes per minute, tokens by model and client, recent requests and errors, and
// latency/TTFT percentiles over the last 1,000 requests. Adding a record is O(1); percentiles are computed
// when a snapshot is asked for.
import { estimateCredits, rateFor, type CreditRates } from './rates.js';
import type { UsageRecord } from './record.js';

const MINUTES = 60;
const RECENT = 50;
const ERRORS = 20;
const SAMPLES = 1000;
const PER_MINUTE_SAMPLES = 300;

export interface Totals {
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  total_tokens: number;
  /** Estimated AI credits of the requests whose model has a rate. */
  credits: number;
  /** Requests that used tokens but whose model has no rate (not in `credits`). */
  unrated: number;
}

export const emptyTotals = (): Totals => ({
  requests: 0,
  errors: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  cached_tokens: 0,
  total_tokens: 0,
  credits: 0,
  unrated: 0,
});

/** Adds one record to a running total; returns its estimated credits (undefined: no rate). */
export function addTo(t: Totals, r: UsageRecord, rates: CreditRates, credits: number | undefined | null = null): number | undefined {
  t.requests++;
  if (r.error_kind || r.status >= 400) t.errors++;
  t.prompt_tokens += r.prompt_tokens;
  t.completion_tokens += r.completion_tokens;
  t.cached_tokens += r.cached_tokens;
  t.total_tokens += r.prompt_tokens + r.completion_tokens;
  const c = credits === null ? estimateCredits(r, rates) : credits;
  if (c === undefined) t.unrated++;
  else t.credits += c;
  return c;
}

interface Minute {
  /** Minutes since the epoch. */
  t: number;
  requests: number;
  errors: number;
  prompt: number;
  completion: number;
  latency: number[];
  ttft: number[];
}

class Ring<T> {
  private items: T[] = [];
  private next = 0;
  constructor(private readonly size: number) {}
  push(v: T): void {
    if (this.items.length < this.size) this.items.push(v);
    else this.items[this.next] = v;
    this.next = (this.next + 1) % this.size;
  }
  /** Oldest first. */
  values(): T[] {
    return this.items.length < this.size ? [...this.items] : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const pcts = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), n: s.length };
};

export class LiveStats {
  readonly startedAt = Date.now();
  readonly totals = emptyTotals();
  private readonly minutes: Minute[] = [];
  private readonly byModel = new Map<string, Totals>();
  private readonly byClient = new Map<string, Totals>();
  private readonly recent = new Ring<{ r: UsageRecord; credits: number | null }>(RECENT);
  private readonly errors = new Ring<UsageRecord>(ERRORS);
  private readonly latency = new Ring<number>(SAMPLES);
  private readonly ttft = new Ring<number>(SAMPLES);

  constructor(
    private readonly rates: CreditRates,
    /** Model names from the config: other names are counted under "other" (bounded memory). */
    private readonly modelNames: ReadonlySet<string>,
    private readonly now: () => number = Date.now,
  ) {}

  add(r: UsageRecord): void {
    const credits = addTo(this.totals, r, this.rates);
    const model = r.model && this.modelNames.has(r.model) ? r.model : r.model ? 'other' : 'none';
    addTo(group(this.byModel, model), r, this.rates, credits);
    addTo(group(this.byClient, r.client), r, this.rates, credits);
    const m = this.minute(Math.floor(Date.parse(r.ts) / 60_000) || Math.floor(this.now() / 60_000));
    if (m) {
      m.requests++;
      if (r.error_kind || r.status >= 400) m.errors++;
      m.prompt += r.prompt_tokens;
      m.completion += r.completion_tokens;
      if (m.latency.length < PER_MINUTE_SAMPLES) m.latency.push(r.latency_ms);
      if (r.ttft_ms !== null && m.ttft.length < PER_MINUTE_SAMPLES) m.ttft.push(r.ttft_ms);
    }
    this.latency.push(r.latency_ms);
    if (r.ttft_ms !== null) this.ttft.push(r.ttft_ms);
    this.recent.push({ r, credits: credits ?? null }); // copied only when a snapshot is taken
    if (r.error_kind || r.status >= 400) this.errors.push(r);
  }

  /** The bucket of minute `t` (creating it), or undefined when it is older than the window. */
  private minute(t: number): Minute | undefined {
    const last = this.minutes[this.minutes.length - 1];
    if (last && last.t === t) return last;
    if (last && t < last.t) return this.minutes.find((m) => m.t === t);
    const m: Minute = { t, requests: 0, errors: 0, prompt: 0, completion: 0, latency: [], ttft: [] };
    this.minutes.push(m);
    while (this.minutes.length > 0 && this.minutes[0].t <= t - MINUTES) this.minutes.shift();
    return m;
  }

  /** The JSON the dashboard polls. */
  snapshot() {
    const nowMin = Math.floor(this.now() / 60_000);
    const series = { t: [] as number[], requests: [] as number[], errors: [] as number[], prompt_tokens: [] as number[], completion_tokens: [] as number[], latency_p50: [] as Array<number | null>, latency_p90: [] as Array<number | null>, ttft_p50: [] as Array<number | null> };
    const byT = new Map(this.minutes.map((m) => [m.t, m]));
    for (let t = nowMin - MINUTES + 1; t <= nowMin; t++) {
      const m = byT.get(t);
      series.t.push(t * 60);
      series.requests.push(m?.requests ?? 0);
      series.errors.push(m?.errors ?? 0);
      series.prompt_tokens.push(m?.prompt ?? 0);
      series.completion_tokens.push(m?.completion ?? 0);
      const lat = m ? [...m.latency].sort((a, b) => a - b) : [];
      series.latency_p50.push(percentile(lat, 50));
      series.latency_p90.push(percentile(lat, 90));
      series.ttft_p50.push(m ? percentile([...m.ttft].sort((a, b) => a - b), 50) : null);
    }
    const rows = (map: Map<string, Totals>) =>
      [...map].map(([key, t]) => ({ key, ...t })).sort((a, b) => b.total_tokens - a.total_tokens || b.requests - a.requests);
    return {
      started_at: new Date(this.startedAt).toISOString(),
      now: new Date(this.now()).toISOString(),
      totals: { ...this.totals },
      per_minute: series,
      latency_ms: pcts(this.latency.values()),
      ttft_ms: pcts(this.ttft.values()),
      by_model: rows(this.byModel),
      by_client: rows(this.byClient),
      recent: this.recent.values().reverse().map(({ r, credits }) => ({ ...r, credits })),
      errors: this.errors.values().reverse(),
    };
  }

  hasRate(model: string | null, cortexModel: string | null): boolean {
    return rateFor({ model, cortex_model: cortexModel }, this.rates) !== undefined;
  }
}

function group(map: Map<string, Totals>, key: string): Totals {
  let t = map.get(key);
  if (!t) {
    t = emptyTotals();
    map.set(key, t);
  }
  return t;
}
