// Prometheus metrics, hand-written (text exposition format 0.0.4): a few Map lookups per finished exchange on the
// hot path, all formatting at scrape time. Label values are bounded: model names outside the config become
// "other", user-agent families come from a fixed list, status codes and error kinds are small sets.
import type { IncomingMessage } from 'node:http';
import type { Exchange } from '../server/context.js';

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly bounds: number[]) {
    this.counts = new Array(bounds.length).fill(0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]) {
        this.counts[i]++;
        return;
      }
    }
  }
}

// Label values come from small sets (configured model names, kinds, statuses), so their escaped forms are cached.
const escaped = new Map<string, string>();
function esc(v: string): string {
  let e = escaped.get(v);
  if (e === undefined) {
    e = v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    if (escaped.size < 10_000) escaped.set(v, e);
  }
  return e;
}

/** `k1="v1",k2="v2"` (the map key and the exposition text at once). */
function labels(pairs: Array<[string, string]>): string {
  let s = '';
  for (const [k, v] of pairs) s += `${s ? ',' : ''}${k}="${esc(v)}"`;
  return s;
}

function num(n: number): string {
  if (Number.isInteger(n)) return String(n);
  if (n === Infinity) return '+Inf';
  return String(Math.round(n * 1e6) / 1e6);
}

export class Metrics {
  private readonly models: Set<string>;
  private readonly cortexModels: Set<string>;
  private readonly requests = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
  private readonly retries = new Map<string, number>();
  private readonly upstreamCodes = new Map<string, number>();
  private readonly closed = new Map<string, number>();
  private readonly fallbacks = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly ttft = new Map<string, Histogram>();
  /** The in-flight series each started exchange was counted under (its wire may change on a retry). */
  private readonly started = new WeakMap<Exchange, string>();
  /** Start time (serve --workers: the primary's, set on the merged view). */
  startSeconds = Date.now() / 1000;
  /** The upstream client's sockets (cortex/client.ts Upstream.stats), read when scraped. */
  upstreamSockets?: () => { busy: number; idle: number; queued: number };

  constructor(
    modelNames: readonly string[],
    cortexModels: string[],
    readonly version: string,
  ) {
    this.models = new Set(modelNames);
    this.cortexModels = new Set(cortexModels);
  }

  private model(m: string | undefined): string {
    if (!m) return 'none';
    return this.models.has(m) ? m : 'other';
  }

  /** A chat exchange was routed and is about to call Cortex. */
  start(x: Exchange): void {
    const key = `model="${esc(this.model(x.model))}",wire="${esc(x.wire ?? 'none')}",stream="${x.stream === true}"`;
    this.started.set(x, key);
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
  }

  /** Any finished HTTP exchange (chat or not). Label strings are concatenated directly: this runs per request. */
  finish(x: Exchange, _req: IncomingMessage, latencyMs: number): void {
    const started = this.started.get(x);
    if (started !== undefined) {
      this.started.delete(x);
      this.inFlight.set(started, (this.inFlight.get(started) ?? 1) - 1);
    }
    const mw = `model="${esc(this.model(x.model))}",wire="${esc(x.wire ?? 'none')}"`;
    const dialect = esc(x.dialect);
    if (x.error) inc(this.errors, `kind="${esc(x.errorKind ?? 'upstream')}",dialect="${dialect}",${mw}`);
    if (x.dialect === 'http') return; // only chat exchanges below
    inc(this.requests, `dialect="${dialect}",${mw},status="${x.status ?? 0}"`);
    hist(this.latency, `${mw},stream="${x.stream === true}"`, LATENCY_BUCKETS).observe(latencyMs / 1000);
    if (x.ttftMs !== undefined) hist(this.ttft, mw, TTFT_BUCKETS).observe(x.ttftMs / 1000);
    if (x.retries) inc(this.retries, mw, x.retries);
    if (x.clientClosed) inc(this.closed, mw);
    const u = x.usage;
    if (u) {
      inc(this.tokens, `${mw},type="prompt"`, u.promptTokens);
      inc(this.tokens, `${mw},type="completion"`, u.completionTokens);
      if (u.cachedTokens) inc(this.tokens, `${mw},type="cached"`, u.cachedTokens);
      if (u.cacheWriteTokens) inc(this.tokens, `${mw},type="cache_write"`, u.cacheWriteTokens);
    }
    if ((x as Exchange & { fallback?: string }).fallback) inc(this.fallbacks, mw);
  }

  /** One upstream HTTP answer (every attempt, retries included); status 0 = no answer (connection failure, timeout). */
  upstream(cortexModel: string, status: number): void {
    const m = this.cortexModels.has(cortexModel) ? cortexModel : 'other';
    inc(this.upstreamCodes, labels([['cortex_model', m], ['code', status ? String(status) : 'none']]));
  }

  /** The exposition text. */
  render(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string, series: Map<string, number>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [k, v] of series) out.push(`${name}{${k}} ${num(v)}`);
    };
    out.push('# HELP cortex_proxy_build_info cortex-proxy version.', '# TYPE cortex_proxy_build_info gauge', `cortex_proxy_build_info{version="${esc(this.version)}"} 1`);
    out.push('# HELP cortex_proxy_start_time_seconds Start time of the process since the Unix epoch.', '# TYPE cortex_proxy_start_time_seconds gauge', `cortex_proxy_start_time_seconds ${num(Math.floor(this.startSeconds))}`);
    family('cortex_proxy_requests_total', 'counter', 'Chat requests answered, by client dialect, model name, wire and HTTP status.', this.requests);
    family('cortex_proxy_errors_total', 'counter', 'Requests that failed (before or during the answer), by error kind.', this.errors);
    family('cortex_proxy_tokens_total', 'counter', 'Tokens reported by Cortex, by type (prompt, completion, cached, cache_write; cached and cache_write are part of prompt).', this.tokens);
    family('cortex_proxy_retries_total', 'counter', 'Upstream retries spent before an answer.', this.retries);
    family('cortex_proxy_upstream_responses_total', 'counter', 'Upstream answers by Cortex model and HTTP status (every attempt; code "none" = connection failure or timeout).', this.upstreamCodes);
    family('cortex_proxy_client_closed_total', 'counter', 'Requests whose client went away before the answer was complete.', this.closed);
    family('cortex_proxy_fallbacks_total', 'counter', 'Requests answered by a fallback model.', this.fallbacks);
    family('cortex_proxy_in_flight_requests', 'gauge', 'Chat requests in progress (stream="true": in-flight streams).', this.inFlight);
    const up = this.upstreamSockets?.();
    if (up) {
      out.push('# HELP cortex_proxy_upstream_connections Connections to Snowflake (state="busy": a request on it; "idle": kept alive for the next).', '# TYPE cortex_proxy_upstream_connections gauge');
      out.push(`cortex_proxy_upstream_connections{state="busy"} ${up.busy}`, `cortex_proxy_upstream_connections{state="idle"} ${up.idle}`);
      out.push('# HELP cortex_proxy_upstream_queued_requests Requests waiting for a connection to Snowflake.', '# TYPE cortex_proxy_upstream_queued_requests gauge', `cortex_proxy_upstream_queued_requests ${up.queued}`);
    }
    const histFamily = (name: string, help: string, series: Map<string, Histogram>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      for (const [k, h] of series) {
        let cum = 0;
        for (let i = 0; i < h.bounds.length; i++) {
          cum += h.counts[i];
          out.push(`${name}_bucket{${k},le="${num(h.bounds[i])}"} ${cum}`);
        }
        out.push(`${name}_bucket{${k},le="+Inf"} ${h.count}`, `${name}_sum{${k}} ${num(h.sum)}`, `${name}_count{${k}} ${h.count}`);
      }
    };
    histFamily('cortex_proxy_request_duration_seconds', 'Time from request to the end of the answer.', this.latency);
    histFamily('cortex_proxy_time_to_first_token_seconds', 'Time from request to the first text, thinking or tool-call token.', this.ttft);
    return out.join('\n') + '\n';
  }

  /** Every series as plain data (serve --workers: a worker's counters, sent to the primary to be summed). */
  dump(): MetricsDump {
    const hists = (m: Map<string, Histogram>) => [...m].map(([k, h]) => [k, h.counts.slice(), h.sum, h.count] as HistDump);
    return {
      counters: {
        requests: [...this.requests],
        errors: [...this.errors],
        tokens: [...this.tokens],
        retries: [...this.retries],
        upstreamCodes: [...this.upstreamCodes],
        closed: [...this.closed],
        fallbacks: [...this.fallbacks],
        inFlight: [...this.inFlight],
      },
      latency: hists(this.latency),
      ttft: hists(this.ttft),
      sockets: this.upstreamSockets?.(),
    };
  }

  /** Adds another process's series to these (serve --workers: the primary's merged view of every worker). */
  absorb(d: MetricsDump, opts: { inFlight?: boolean } = {}): void {
    for (const name of COUNTERS) {
      if (name === 'inFlight' && opts.inFlight === false) continue;
      const into = this[name];
      for (const [k, v] of d.counters[name] ?? []) inc(into, k, v);
    }
    const add = (into: Map<string, Histogram>, list: HistDump[], bounds: number[]) => {
      for (const [k, counts, sum, count] of list) {
        const h = hist(into, k, bounds);
        for (let i = 0; i < h.counts.length && i < counts.length; i++) h.counts[i] += counts[i];
        h.sum += sum;
        h.count += count;
      }
    };
    add(this.latency, d.latency, LATENCY_BUCKETS);
    add(this.ttft, d.ttft, TTFT_BUCKETS);
  }

  /** Current in-flight chat requests (all models). */
  inFlightCount(): number {
    let n = 0;
    for (const v of this.inFlight.values()) n += v;
    return n;
  }
}

const COUNTERS = ['requests', 'errors', 'tokens', 'retries', 'upstreamCodes', 'closed', 'fallbacks', 'inFlight'] as const;
type HistDump = [key: string, counts: number[], sum: number, count: number];

/** A Metrics' series as plain (IPC-serialisable) data. */
export interface MetricsDump {
  counters: Record<(typeof COUNTERS)[number], Array<[string, number]>>;
  latency: HistDump[];
  ttft: HistDump[];
  sockets?: { busy: number; idle: number; queued: number };
}

function inc(m: Map<string, number>, key: string, by = 1): void {
  m.set(key, (m.get(key) ?? 0) + by);
}

function hist(m: Map<string, Histogram>, key: string, bounds: number[]): Histogram {
  let h = m.get(key);
  if (!h) {
    h = new Histogram(bounds);
    m.set(key, h);
  }
  return h;
}
