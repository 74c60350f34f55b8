// serve --workers N (general_settings.workers): one primary process and N workers (node:cluster; Node 20 has no
// SO_REUSEPORT, so the primary owns the listening socket and hands connections to the workers round-robin).
//
//   primary ── config, start-up checks, the demo emulator, the tunnel, the banner, SIGTERM/SIGINT
//     │        the usage log (single writer: no torn or interleaved lines), live statistics (/ui),
//     │        the failed-key counts, per-key limits of the embedded team store (rpm, tpm, in flight, budgets)
//     ├── worker 1 ── createApp + team gateway: serves requests; usage records → primary (one IPC message per tick)
//     └── worker N      /metrics, /ui/api/stats: asks the primary, which sums every worker's series
//
// Why through the primary: a worker's usage record is a message on its IPC channel; the primary is the only
// process that writes the log (usage/log.ts batches as with one process), so lines never interleave, whatever
// their length (O_APPEND is only atomic per write, and a pipe's PIPE_BUF does not apply to files). Limits of the
// embedded store are decided by one MemoryLimiter in the primary (one IPC round trip per admitted request); with
// general_settings.redis_url every worker uses Redis directly, as replicas do. Wrong API keys are counted in every
// worker at once (each failure is broadcast), so the limit holds whichever worker a client reaches.
// /metrics sums the workers' counters at scrape time: the totals are the whole server's whichever worker answers.
// A worker that crashes is replaced (backoff 0.25 s doubling up to 8 s); its counters up to the last scrape stay in
// the sums. Five crashes within a minute stop the server with a message (a crash loop is a bug, not load).
// SIGTERM/SIGINT to the primary: every worker stops accepting, lets its in-flight answers finish (shutdown_timeout),
// sends its last records; the primary writes them and exits 0.
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/types.js';
import type { Logger } from './log.js';
import type { App } from './app.js';
import { VERSION } from './app.js';
import { Router } from '../cortex/router.js';
import { Metrics, type MetricsDump } from '../usage/metrics.js';
import { LiveStats } from '../usage/live.js';
import { mergeRates } from '../usage/rates.js';
import type { UsageRecord } from '../usage/record.js';
import { defaultUsageDir, UsageLog } from '../usage/log.js';
import type { Telemetry } from '../usage/telemetry.js';
import { FailedAuthLimiter, WINDOW_MS as AUTH_WINDOW_MS } from './tunnel-guard.js';
import { MemoryLimiter, type AdmitRequest, type AdmitResult, type Limiter } from '../team/limits.js';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from './limits.js';

/** Which part of serve --workers this process plays. */
export function clusterRole(workers: number): 'single' | 'primary' | 'worker' {
  if (cluster.isWorker) return 'worker';
  return workers > 1 ? 'primary' : 'single';
}

// ─────────────────────────────── messages ───────────────────────────────

interface Init {
  demo?: { apiBase: string; token: string; databasePath?: string };
  tunnelTool?: string;
  /** Where to listen (the configured port; the real one once every first-wave worker is gone). */
  port: number;
  authFailures: Array<[string, number]>;
  allowHosts: string[];
}

interface TeamInfo {
  keysInUse: boolean;
  keyCount: number;
  store: string;
  limits: 'redis' | 'memory';
}

type ToPrimary =
  | { t: 'cp:req'; id: number; op: 'init' | 'metrics' | 'stats' | 'admit' | 'settle'; arg?: unknown }
  | { t: 'cp:records'; recs: UsageRecord[] }
  | { t: 'cp:dump'; id: number; dump: MetricsDump }
  | { t: 'cp:authfail'; addr: string; at: number }
  | { t: 'cp:listening'; port: number; address: string; family: string; team: TeamInfo };

type ToWorker =
  | { t: 'cp:res'; id: number; value?: unknown; error?: string }
  | { t: 'cp:dump?'; id: number }
  | { t: 'cp:authfail'; addr: string; at: number }
  | { t: 'cp:allow-host'; host: string }
  | { t: 'cp:stop' };

const RPC_TIMEOUT_MS = 10_000;
const DUMP_TIMEOUT_MS = 2_000;

// ─────────────────────────────── worker ───────────────────────────────

/** A worker's link to the primary (serve.ts calls joinCluster when cluster.isWorker). */
export class WorkerLink {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private records: UsageRecord[] = [];
  private scheduled = false;
  private metrics?: Metrics;
  private failed?: SharedFailedAuthLimiter;
  private app?: App;
  private onStop?: () => void;
  init!: Init;

  constructor() {
    process.on('message', (m: ToWorker) => this.receive(m));
  }

  private receive(m: ToWorker): void {
    switch (m?.t) {
      case 'cp:res': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.value);
        return;
      }
      case 'cp:dump?':
        this.send({ t: 'cp:dump', id: m.id, dump: this.metrics ? this.metrics.dump() : emptyDump() });
        return;
      case 'cp:authfail':
        this.failed?.remember(m.addr, m.at);
        return;
      case 'cp:allow-host':
        this.app?.context.browser.allowHost(m.host);
        return;
      case 'cp:stop':
        this.onStop?.();
        return;
    }
  }

  private send(m: ToPrimary, done?: () => void): void {
    if (!process.connected) return done?.();
    process.send!(m, undefined, {}, () => done?.());
  }

  rpc<T>(op: Extract<ToPrimary, { t: 'cp:req' }>['op'], arg?: unknown): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the primary process did not answer '${op}' within ${RPC_TIMEOUT_MS / 1000} s`));
      }, RPC_TIMEOUT_MS);
      timer.unref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.send({ t: 'cp:req', id, op, arg });
    });
  }

  /** The failed-key limiter every worker shares (failures are broadcast through the primary). */
  failedAuthLimiter(): FailedAuthLimiter {
    this.failed = new SharedFailedAuthLimiter((addr, at) => this.send({ t: 'cp:authfail', addr, at }));
    for (const [addr, at] of this.init.authFailures) this.failed.remember(addr, at);
    return this.failed;
  }

  /** The embedded store's limits, decided by the primary for every worker. */
  limiter(): Limiter {
    return new PrimaryLimiter(this);
  }

  /** Usage records go to the primary (the single writer of the usage log); /metrics and /ui ask the primary. */
  attach(app: App, t: Telemetry): void {
    this.app = app;
    this.metrics = t.metrics;
    for (const h of this.init.allowHosts) app.context.browser.allowHost(h);
    t.sinks.push((r) => {
      this.records.push(r);
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => void this.flushRecords());
    });
    t.shared = {
      metricsText: () => this.rpc<string>('metrics'),
      stats: () => this.rpc('stats'),
    };
  }

  /** Sends the queued usage records; resolves once they are on the IPC channel. */
  flushRecords(): Promise<void> {
    this.scheduled = false;
    if (!this.records.length) return Promise.resolve();
    const recs = this.records;
    this.records = [];
    return new Promise((resolve) => this.send({ t: 'cp:records', recs }, resolve));
  }

  /** Listening: tells the primary (with what the banner shows), and stops when the primary says so. */
  ready(addr: AddressInfo, team: TeamInfo, stop: () => void): void {
    this.onStop = stop;
    this.send({ t: 'cp:listening', port: addr.port, address: addr.address, family: addr.family, team });
  }
}

/** Waits for the primary's set-up (the demo emulator's address, the tunnel tool, failures seen so far). */
export async function joinCluster(): Promise<WorkerLink> {
  const link = new WorkerLink();
  link.init = await link.rpc<Init>('init');
  return link;
}

class SharedFailedAuthLimiter extends FailedAuthLimiter {
  constructor(private readonly publish: (addr: string, at: number) => void) {
    super();
  }
  override fail(addr: string, at = Date.now()): void {
    super.fail(addr, at);
    this.publish(addr, at);
  }
  /** A failure another worker saw. */
  remember(addr: string, at: number): void {
    super.fail(addr, at);
  }
}

class PrimaryLimiter implements Limiter {
  readonly kind = 'memory' as const;
  constructor(private readonly link: WorkerLink) {}
  admit(a: AdmitRequest): Promise<AdmitResult> {
    return this.link.rpc<AdmitResult>('admit', a);
  }
  async settle(keyId: string, reqId: string, tokens: number): Promise<void> {
    await this.link.rpc('settle', [keyId, reqId, tokens]);
  }
  async renew(): Promise<void> {} // the primary's entries have no lease: a dead worker's are freed when it exits
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

function emptyDump(): MetricsDump {
  return { counters: { requests: [], errors: [], tokens: [], retries: [], upstreamCodes: [], closed: [], fallbacks: [], inFlight: [] }, latency: [], ttft: [] };
}

// ─────────────────────────────── primary ───────────────────────────────

export interface PrimaryOptions {
  config: Config;
  log: Logger;
  workers: number;
  port: number;
  host: string;
  demo?: { apiBase: string; token: string; databasePath?: string };
  tunnelTool?: string;
  /** Called once every worker listens (the banner, the tunnel). */
  onReady(base: string, port: number, team: TeamInfo, usageDir: string | undefined, pids: number[]): Promise<void> | void;
  /** Called after the workers stopped (tunnel, emulator). */
  onStopped(): Promise<void>;
}

const CRASH_WINDOW_MS = 60_000;
const CRASH_LIMIT = 5;
/** Past shutdown_timeout, a worker gets this long to write its last records before it is killed. */
const LAST_RESORT_MS = 8_000;

export interface Primary {
  stop(reason: string, code?: number): Promise<never>;
  allowHost(host: string): void;
}

export async function runPrimary(o: PrimaryOptions): Promise<Primary> {
  const { config, log } = o;
  const s = config.settings;
  const router = new Router(config.deployments, config.routing);
  const names = router.modelNames;
  const cortexModels = config.deployments.map((d) => d.cortexModel);
  const rates = mergeRates(s.creditRates);
  const live = new LiveStats(rates, new Set(names));
  const startSeconds = Date.now() / 1000;
  const usageLog = s.disableSpendLogs ? undefined : new UsageLog(s.usageLogDir ?? defaultUsageDir(), { maxFileBytes: s.usageLogMaxBytes, onError: (m) => log.warn(m) });
  const limiter = new MemoryLimiter();
  /** `${keyId}\0${reqId}` → worker id: a dead worker's admissions are freed. */
  const admitted = new Map<string, number>();
  const authFailures: Array<[string, number]> = [];
  const allowHosts: string[] = [];
  /** Counters of workers that are gone (their last dump, without in-flight). */
  const retired = new Metrics(names, cortexModels, VERSION);
  const lastDump = new Map<number, MetricsDump>();
  const dumpWaits = new Map<number, (d: MetricsDump) => void>();
  let dumpSeq = 0;

  const alive = new Map<number, Worker>();
  const listening = new Set<number>();
  let actualPort: number | undefined;
  let firstWave = true;
  let up = false;
  let stopping = false;
  const crashes: number[] = [];
  let onAllListening: ((team: TeamInfo, addr: { port: number; address: string; family: string }) => void) | undefined;
  let failStart: ((err: Error) => void) | undefined;

  // A worker's channel can close between the check and the write: the callback takes that error (without one,
  // it would be an 'error' event, and a crash of the primary).
  const post = (w: Worker, m: ToWorker) => {
    if (w.isConnected()) w.send(m, undefined, () => {});
  };
  const broadcast = (m: ToWorker, except?: number) => {
    for (const [id, w] of alive) if (id !== except) post(w, m);
  };

  const collect = async (): Promise<Metrics> => {
    const merged = new Metrics(names, cortexModels, VERSION);
    merged.startSeconds = startSeconds;
    merged.absorb(retired.dump());
    const dumps = await Promise.all(
      [...alive.values()].filter((w) => w.isConnected()).map(
        (w) =>
          new Promise<MetricsDump | undefined>((resolve) => {
            const id = ++dumpSeq;
            const timer = setTimeout(() => {
              dumpWaits.delete(id);
              resolve(lastDump.get(w.id)); // a busy worker: its last known figures
            }, DUMP_TIMEOUT_MS);
            dumpWaits.set(id, (d) => {
              clearTimeout(timer);
              lastDump.set(w.id, d);
              resolve(d);
            });
            post(w, { t: 'cp:dump?', id });
          }),
      ),
    );
    const sockets = { busy: 0, idle: 0, queued: 0 };
    for (const d of dumps) {
      if (!d) continue;
      merged.absorb(d);
      if (d.sockets) for (const k of ['busy', 'idle', 'queued'] as const) sockets[k] += d.sockets[k];
    }
    merged.upstreamSockets = () => sockets;
    return merged;
  };

  const answer = async (w: Worker, m: Extract<ToPrimary, { t: 'cp:req' }>): Promise<unknown> => {
    switch (m.op) {
      case 'init':
        return {
          demo: o.demo,
          tunnelTool: o.tunnelTool,
          port: !firstWave && listening.size === 0 && actualPort !== undefined ? actualPort : o.port,
          authFailures: authFailures.filter(([, at]) => at > Date.now() - AUTH_WINDOW_MS),
          allowHosts,
        } satisfies Init;
      case 'metrics':
        return (await collect()).render();
      case 'stats': {
        const merged = await collect();
        return { live: live.snapshot(), inFlight: merged.inFlightCount(), usageLog: usageLog ? usageLog.dir : null };
      }
      case 'admit': {
        const a = m.arg as AdmitRequest;
        const r = limiter.admitSync(a);
        if (r.ok) admitted.set(`${a.keyId}\0${a.reqId}`, w.id);
        return r;
      }
      case 'settle': {
        const [keyId, reqId, tokens] = m.arg as [string, string, number];
        admitted.delete(`${keyId}\0${reqId}`);
        await limiter.settle(keyId, reqId, tokens);
        return true;
      }
    }
  };

  const onMessage = (w: Worker, m: ToPrimary) => {
    switch (m?.t) {
      case 'cp:req':
        answer(w, m).then(
          (value) => post(w, { t: 'cp:res', id: m.id, value }),
          (err: Error) => post(w, { t: 'cp:res', id: m.id, error: err.message }),
        );
        return;
      case 'cp:records':
        for (const r of m.recs) {
          usageLog?.append(r);
          live.add(r);
        }
        return;
      case 'cp:dump':
        dumpWaits.get(m.id)?.(m.dump);
        dumpWaits.delete(m.id);
        return;
      case 'cp:authfail':
        authFailures.push([m.addr, m.at]);
        if (authFailures.length > 20_000) authFailures.splice(0, authFailures.length - 10_000);
        broadcast({ t: 'cp:authfail', addr: m.addr, at: m.at }, w.id);
        return;
      case 'cp:listening':
        listening.add(w.id);
        actualPort ??= m.port;
        if (firstWave && listening.size === o.workers) {
          firstWave = false;
          onAllListening?.(m.team, m);
        } else if (up) log.info(`worker ${w.id} (pid ${w.process.pid}) is serving`);
        return;
    }
  };

  const fork = () => {
    const w = cluster.fork();
    alive.set(w.id, w);
    w.on('message', (m: ToPrimary) => onMessage(w, m));
    w.on('error', (err) => log.debug(`worker ${w.id}: ${err.message}`)); // its exit is handled below
    w.on('exit', (code, signal) => {
      alive.delete(w.id);
      listening.delete(w.id);
      // Its admissions end with it; its counters stay in the sums (as of its last scrape).
      for (const [k, id] of admitted) {
        if (id !== w.id) continue;
        admitted.delete(k);
        const [keyId, reqId] = k.split('\0');
        void limiter.settle(keyId, reqId, 0);
      }
      const d = lastDump.get(w.id);
      if (d) retired.absorb(d, { inFlight: false });
      lastDump.delete(w.id);
      if (stopping) return;
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      if (!up) {
        failStart?.(new Error(`a worker stopped while starting (${how})`));
        return;
      }
      const now = Date.now();
      crashes.push(now);
      while (crashes.length && crashes[0] <= now - CRASH_WINDOW_MS) crashes.shift();
      if (crashes.length >= CRASH_LIMIT) {
        log.error(`workers crashed ${crashes.length} times within ${CRASH_WINDOW_MS / 1000} s (the last: worker ${w.id}, ${how}); stopping the server: the log above says why`);
        void primary.stop('crash loop', 1);
        return;
      }
      const delay = Math.min(250 * 2 ** (crashes.length - 1), 8000);
      log.warn(`worker ${w.id} (pid ${w.process.pid}) stopped unexpectedly (${how}); starting a new one in ${(delay / 1000).toFixed(2)} s`);
      // Not unref'd: when every worker is gone, the listening socket is closed and this timer is all that keeps the
      // primary alive (it exited 0 there, silently, when all workers died at once).
      setTimeout(() => {
        if (!stopping) fork();
      }, delay);
    });
  };

  const primary: Primary = {
    allowHost(host: string) {
      allowHosts.push(host);
      broadcast({ t: 'cp:allow-host', host });
    },
    async stop(reason: string, code = 0): Promise<never> {
      if (stopping) process.exit(1); // a second signal: stop now
      stopping = true;
      log.info(`${reason}: finishing in-flight requests, then stopping`);
      const exits = [...alive.values()].map((w) => new Promise<void>((resolve) => {
        if (w.isDead()) return resolve();
        let exited = false;
        let disconnected = !w.isConnected();
        const check = () => exited && disconnected && resolve();
        w.once('exit', () => ((exited = true), check()));
        w.once('disconnect', () => ((disconnected = true), check()));
      }));
      broadcast({ t: 'cp:stop' });
      const kill = setTimeout(() => {
        for (const w of alive.values()) w.process.kill('SIGKILL');
      }, (s.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS) + LAST_RESORT_MS);
      kill.unref();
      await Promise.all(exits);
      clearTimeout(kill);
      await o.onStopped().catch(() => {});
      await usageLog?.close(); // every worker's last records are in: the primary writes them
      process.exit(code);
    },
  };

  const started = new Promise<{ team: TeamInfo; addr: { port: number; address: string; family: string } }>((resolve, reject) => {
    onAllListening = (team, addr) => resolve({ team, addr });
    failStart = reject;
  });
  for (let i = 0; i < o.workers; i++) fork();
  let first: { team: TeamInfo; addr: { port: number; address: string; family: string } };
  try {
    first = await started;
  } catch (err) {
    stopping = true;
    for (const w of alive.values()) w.process.kill('SIGTERM');
    // The worker said why on stderr (it shares the primary's); this is the summary.
    process.stderr.write(`cortex-proxy: ${(err as Error).message}; stopping\n`);
    process.exit(2);
  }
  up = true;
  const host = first.addr.family === 'IPv6' || first.addr.family === '6' ? `[${first.addr.address}]` : first.addr.address;
  await o.onReady(`http://${host}:${first.addr.port}`, first.addr.port, first.team, usageLog?.dir, [...alive.values()].map((w) => w.process.pid!));
  return primary;
}
