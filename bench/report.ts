// Figures from raw job results, the targets, and the Markdown tables of bench/README.md.

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x));
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One contender's figures in one round (NaN where not measured). */
export interface RoundFigures {
  c1?: { p50: number; p99: number; n: number; errors: number; cpuUsPerReq?: number };
  ttft?: { p50: number; n: number; errors: number; framesPerStream: number };
  c32?: { rps: number; n: number; errors: number; cpuUsPerReq?: number; busy?: number };
  c128?: { rps: number; n: number; errors: number; cpuUsPerReq?: number; busy?: number };
  stream?: { cpuUsPerChunk?: number; n: number; errors: number; framesPerStream: number };
}

/** The figures the tables show, medians over rounds. */
export interface Summary {
  p50Ms: number;
  p99Ms: number;
  addedP50Ms: number;
  addedP99Ms: number;
  rps32: number;
  rps128: number;
  cpuUsPerReq: number;
  ttftMs: number;
  addedTtftMs: number;
  cpuUsPerChunk: number;
  coldStartMs: number;
  coldStartCpuMs: number;
  idleRssMb: number;
  peakRssMb: number;
  afterRssMb: number;
  /** Throughput at c=128 with serve --workers N (the every-core phase), and its ratio to one worker's in that phase. */
  rps128Workers?: number;
  workersRatio?: number;
  errors: number;
}

/** One fresh cortex-proxy at c=128 in the every-core phase. */
export interface WorkersRun {
  round: number;
  workers: number;
  rps: number;
  errors: number;
  /** CPU of the whole server (primary and workers) per request, µs; of it, the primary's (N workers only). */
  cpuUsPerReq: number;
  primaryUsPerReq?: number;
  /** Cores' worth of CPU the server used, and the load generator with the emulator (they share one core). */
  proxyCores: number;
  peerCores: number;
  /** Busy fraction of each core of the machine (other sessions' work included). */
  coreBusy: number[];
}

export interface WorkersPhase {
  n: number;
  concurrency: number;
  durationMs: number;
  runs: WorkersRun[];
}

/** Medians over the rounds for one worker count. */
export function workersFigures(p: WorkersPhase, workers: number) {
  const rs = p.runs.filter((r) => r.workers === workers);
  const cores = rs[0]?.coreBusy.length ?? 0;
  return {
    rps: median(rs.map((r) => r.rps)),
    cpuUsPerReq: median(rs.map((r) => r.cpuUsPerReq)),
    primaryUsPerReq: median(rs.map((r) => r.primaryUsPerReq ?? NaN)),
    proxyCores: median(rs.map((r) => r.proxyCores)),
    peerCores: median(rs.map((r) => r.peerCores)),
    coreBusy: Array.from({ length: cores }, (_, i) => median(rs.map((r) => r.coreBusy[i]))),
    errors: rs.reduce((n, r) => n + r.errors, 0),
  };
}

export interface ContenderResult {
  name: string;
  label: string;
  kind: 'floor' | 'proxy';
  floor?: string;
  /** How requests reach the upstream (for the README). */
  route: string;
  rounds: RoundFigures[];
  coldStartMs: number[];
  /** CPU time the process used from spawn to its first served request. */
  coldStartCpuMs?: number[];
  memory?: { idleRssMb: number; peakRssMb: number[]; afterRssMb: number[]; streams: number; streamErrors: number };
  summary?: Summary;
  /** serve --workers N against one worker (the "every core" phase; cortex-proxy (complete) only). */
  workers?: WorkersPhase;
  skipped?: string;
  /** The first failed request's error, when any failed. */
  firstError?: string;
}

export function summarize(c: ContenderResult, floor: ContenderResult | undefined): Summary {
  const r = c.rounds;
  const pick = (f: (x: RoundFigures) => number | undefined) => median(r.map((x) => f(x) ?? NaN));
  const added = (f: (x: RoundFigures) => number | undefined) =>
    floor ? median(r.map((x, i) => (f(x) ?? NaN) - (f(floor.rounds[i] ?? {}) ?? NaN))) : NaN;
  const errors = r.reduce((n, x) => n + (x.c1?.errors ?? 0) + (x.ttft?.errors ?? 0) + (x.c32?.errors ?? 0) + (x.c128?.errors ?? 0) + (x.stream?.errors ?? 0), 0);
  return {
    p50Ms: pick((x) => x.c1?.p50),
    p99Ms: pick((x) => x.c1?.p99),
    addedP50Ms: c.kind === 'floor' ? 0 : added((x) => x.c1?.p50),
    addedP99Ms: c.kind === 'floor' ? 0 : added((x) => x.c1?.p99),
    rps32: pick((x) => x.c32?.rps),
    rps128: pick((x) => x.c128?.rps),
    cpuUsPerReq: pick((x) => x.c32?.cpuUsPerReq),
    ttftMs: pick((x) => x.ttft?.p50),
    addedTtftMs: c.kind === 'floor' ? 0 : added((x) => x.ttft?.p50),
    cpuUsPerChunk: pick((x) => x.stream?.cpuUsPerChunk),
    coldStartMs: median(c.coldStartMs),
    coldStartCpuMs: median(c.coldStartCpuMs ?? []),
    idleRssMb: c.memory?.idleRssMb ?? NaN,
    peakRssMb: c.memory ? Math.max(...c.memory.peakRssMb) : NaN,
    afterRssMb: c.memory ? c.memory.afterRssMb[c.memory.afterRssMb.length - 1] : NaN,
    rps128Workers: c.workers ? workersFigures(c.workers, c.workers.n).rps : undefined,
    workersRatio: c.workers ? workersFigures(c.workers, c.workers.n).rps / workersFigures(c.workers, 1).rps : undefined,
    errors: errors + (c.memory?.streamErrors ?? 0) + (c.workers?.runs.reduce((n, r) => n + r.errors, 0) ?? 0),
  };
}

export interface Target {
  key: keyof Summary;
  label: string;
  limit: number;
  /** true: the value must be ≤ limit; false: ≥ limit. */
  atMost: boolean;
  unit: string;
}

export const TARGETS: Target[] = [
  { key: 'addedP50Ms', label: 'added p50 at c=1', limit: 0.5, atMost: true, unit: 'ms' },
  { key: 'addedP99Ms', label: 'added p99 at c=1', limit: 1.5, atMost: true, unit: 'ms' },
  { key: 'cpuUsPerReq', label: 'CPU per non-streaming request', limit: 250, atMost: true, unit: 'µs' },
  { key: 'rps32', label: 'throughput on one core (c=32)', limit: 4000, atMost: false, unit: 'req/s' },
  { key: 'addedTtftMs', label: 'added stream TTFT', limit: 0.5, atMost: true, unit: 'ms' },
  { key: 'cpuUsPerChunk', label: 'CPU per translated chunk', limit: 40, atMost: true, unit: 'µs' },
  { key: 'idleRssMb', label: 'idle RSS', limit: 60, atMost: true, unit: 'MB' },
  { key: 'afterRssMb', label: 'RSS after load', limit: 90, atMost: true, unit: 'MB' },
  { key: 'coldStartMs', label: 'cold start to first served request', limit: 250, atMost: true, unit: 'ms' },
];

export function met(t: Target, v: number): boolean | undefined {
  if (!Number.isFinite(v)) return undefined;
  return t.atMost ? v <= t.limit : v >= t.limit;
}

// ---- Markdown -------------------------------------------------------------------------------------------------

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(digits)) : '–');
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
// A ratio of a negative difference (a peer within noise of its floor) means nothing: shown as –.
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && a >= 0 && b > 0 ? `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}×` : '–');

interface Row {
  label: string;
  value: (s: Summary, c: ContenderResult) => string;
  target?: string;
}

const ROWS: Row[] = [
  { label: 'latency p50 at c=1 (ms)', value: (s) => fmt(s.p50Ms) },
  { label: '**added p50 at c=1 (ms)**', value: (s, c) => (c.kind === 'floor' ? '(floor)' : fmt(s.addedP50Ms)), target: '≤ 0.5' },
  { label: 'latency p99 at c=1 (ms)', value: (s) => fmt(s.p99Ms) },
  { label: '**added p99 at c=1 (ms)**', value: (s, c) => (c.kind === 'floor' ? '(floor)' : fmt(s.addedP99Ms)), target: '≤ 1.5' },
  { label: '**throughput c=32 (req/s)**', value: (s) => int(s.rps32), target: '≥ 4,000' },
  { label: 'throughput c=128 (req/s)', value: (s) => int(s.rps128) },
  { label: 'throughput c=128, `serve --workers N` (req/s; × one worker, same phase)', value: (s) => (s.rps128Workers === undefined ? '–' : `${int(s.rps128Workers)} (${fmt(s.workersRatio ?? NaN)}×)`) },
  { label: '**CPU per request (µs)**', value: (s, c) => (c.kind === 'floor' ? '–' : int(s.cpuUsPerReq)), target: '≤ 250' },
  { label: 'one core\'s capacity, 10⁶ ÷ CPU per request (req/s)', value: (s, c) => (c.kind === 'floor' ? '–' : int(1e6 / s.cpuUsPerReq)), target: '≥ 4,000' },
  { label: 'stream TTFT p50 (ms)', value: (s) => fmt(s.ttftMs) },
  { label: '**added stream TTFT (ms)**', value: (s, c) => (c.kind === 'floor' ? '(floor)' : fmt(s.addedTtftMs)), target: '≤ 0.5' },
  { label: '**CPU per streamed chunk (µs)**', value: (s, c) => (c.kind === 'floor' ? '–' : fmt(s.cpuUsPerChunk, 1)), target: '≤ 40' },
  { label: '**idle RSS (MB)**', value: (s) => fmt(s.idleRssMb, 1), target: '≤ 60' },
  { label: 'peak RSS, 1,000 concurrent streams (MB)', value: (s) => fmt(s.peakRssMb, 1) },
  { label: '**RSS after load (MB)**', value: (s) => fmt(s.afterRssMb, 1), target: '≤ 90' },
  { label: '**cold start to first served request (ms)**', value: (s) => fmt(s.coldStartMs, 0), target: '≤ 250' },
  { label: 'CPU used by the cold start (ms)', value: (s) => fmt(s.coldStartCpuMs, 0) },
  { label: 'failed requests', value: (s) => String(s.errors) },
];

export function figuresTable(cs: ContenderResult[]): string {
  const shown = cs.filter((c) => c.summary);
  const head = `| | ${shown.map((c) => c.label).join(' | ')} | target (cortex-proxy) |`;
  const sep = `|---|${shown.map(() => '---:').join('|')}|---|`;
  const body = ROWS.map((r) => `| ${r.label} | ${shown.map((c) => r.value(c.summary!, c)).join(' | ')} | ${r.target ?? ''} |`);
  return [head, sep, ...body].join('\n');
}

const RATIO_ROWS: Array<[string, keyof Summary]> = [
  ['latency p50 at c=1', 'p50Ms'],
  ['added p50 at c=1', 'addedP50Ms'],
  ['added p99 at c=1', 'addedP99Ms'],
  ['throughput c=32', 'rps32'],
  ['throughput c=128', 'rps128'],
  ['CPU per request', 'cpuUsPerReq'],
  ['added stream TTFT', 'addedTtftMs'],
  ['CPU per streamed chunk', 'cpuUsPerChunk'],
  ['idle RSS', 'idleRssMb'],
  ['RSS after load', 'afterRssMb'],
  ['cold start', 'coldStartMs'],
];

/** One table per measured wire: cortex-proxy's figure ÷ each peer's (below 1 is better, except throughput). */
export function ratioTables(cs: ContenderResult[]): string {
  const peers = ['direct', 'nginx', 'node-passthrough', 'portkey'].map((n) => cs.find((c) => c.name === n && c.summary)).filter((c) => c) as ContenderResult[];
  const out: string[] = [];
  for (const c of cs.filter((c) => c.name.startsWith('cortex-proxy') && c.summary)) {
    out.push(`| ${c.label} ÷ | ${peers.map((p) => p.label).join(' | ')} |`, `|---|${peers.map(() => '---:').join('|')}|`);
    for (const [label, key] of RATIO_ROWS) {
      const cells = peers.map((p) => (p.name === 'direct' && !['p50Ms', 'rps32', 'rps128'].includes(key) ? '' : ratio(c.summary![key] as number, p.summary![key] as number)));
      out.push(`| ${label} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

export function targetsTable(cs: ContenderResult[]): string {
  const ours = cs.filter((c) => c.name.startsWith('cortex-proxy') && c.summary);
  const lines = [`| target | ${ours.map((c) => c.label).join(' | ')} |`, `|---|${ours.map(() => '---').join('|')}|`];
  for (const t of TARGETS) {
    const cells = ours.map((c) => {
      const v = c.summary![t.key] as number;
      const ok = met(t, v);
      return `${ok === undefined ? '–' : ok ? '✅' : '❌'} ${t.key === 'rps32' ? int(v) : fmt(v, 2)}`;
    });
    lines.push(`| ${t.label} ${t.atMost ? '≤' : '≥'} ${t.limit.toLocaleString('en-US')} ${t.unit} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

const otherCores = (f: ReturnType<typeof workersFigures>) => Math.max(0, f.coreBusy.reduce((x, y) => x + y, 0) - f.proxyCores - f.peerCores);

/** The every-core phase as a table, and what limited it (a 2-core box shares its cores with the load generator). */
export function workersTable(p: WorkersPhase): string {
  const one = workersFigures(p, 1);
  const many = workersFigures(p, p.n);
  const pct = (xs: number[]) => xs.map((x) => (Number.isFinite(x) ? Math.round(x * 100) : '–')).join(' / ');
  const rows: Array<[string, string, string, string]> = [
    [`throughput c=${p.concurrency} (req/s)`, int(one.rps), int(many.rps), ratio(many.rps, one.rps)],
    ['CPU per request, every process of the server (µs)', int(one.cpuUsPerReq), int(many.cpuUsPerReq), ratio(many.cpuUsPerReq, one.cpuUsPerReq)],
    ['of it in the primary (hands out connections, writes the usage log from the workers\' records; µs)', '–', int(many.primaryUsPerReq), ''],
    ['cores used by cortex-proxy', fmt(one.proxyCores), fmt(many.proxyCores), ''],
    ['cores used by the load generator + emulator', fmt(one.peerCores), fmt(many.peerCores), ''],
    ['cores used by other work on the machine', fmt(otherCores(one)), fmt(otherCores(many)), ''],
    ['busy % of each core (whole machine)', pct(one.coreBusy), pct(many.coreBusy), ''],
    ['failed requests', String(one.errors), String(many.errors), ''],
  ];
  const cores = many.coreBusy.length;
  const busyCores = many.coreBusy.reduce((x, y) => x + y, 0);
  const other = otherCores(many);
  const scaling = ratio(many.rps, one.rps);
  const verdict =
    `With ${p.n} workers the ${cores} cores were ${Math.round((busyCores / Math.max(cores, 1)) * 100)} % busy: cortex-proxy used ${fmt(many.proxyCores)} cores, ` +
    `the load generator and the emulator ${fmt(many.peerCores)}, other work on the machine ${fmt(other)}. ` +
    `The load generator and the emulator share one core (core 1): at ${Math.round(many.peerCores * 100)} % of it they ${many.peerCores >= 0.9 ? 'were the limit' : 'were not the limit by themselves'}. ` +
    (busyCores >= 0.9 * cores
      ? `The machine, not cortex-proxy, was the limit, so ${scaling} is the scaling this box can show, not what ${p.n} cores would give the proxy alone: ` +
        `at ${int(many.cpuUsPerReq)} µs per request, ${p.n} cores of its own would serve ≈ ${int((p.n * 1e6) / many.cpuUsPerReq)} req/s (${p.n} × 10⁶ ÷ CPU per request).`
      : `The machine had room left, so ${scaling} is cortex-proxy's own scaling here.`);
  return [
    `**Every core** (\`serve --workers ${p.n}\` against one worker; cortex-proxy (complete), non-streaming, c=${p.concurrency}, ${(p.durationMs / 1000).toFixed(1)} s per run, a fresh server per run, alternating; medians of ${p.runs.length / 2} rounds). ` +
      `One worker is pinned to core 0 like every contender; the ${p.n} workers may use every core (taskset 0-${p.n - 1}), so they share core 1 with the load generator and the emulator.`,
    '',
    `| | 1 worker | ${p.n} workers | ${p.n} ÷ 1 |`,
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    verdict,
  ].join('\n');
}
