// Wires metrics, live statistics and the usage log to an app's exchange hooks (context.onStart / onExchange and
// the upstream client's onResponse). One Telemetry per AppContext; routes find it with telemetryOf(ctx).
import type { AppContext } from '../server/context.js';
import { Metrics } from './metrics.js';
import { LiveStats } from './live.js';
import { mergeRates, type CreditRates } from './rates.js';
import { toRecord, type UsageRecord } from './record.js';
import { defaultUsageDir, UsageLog } from './log.js';

export interface Telemetry {
  metrics: Metrics;
  live: LiveStats;
  rates: CreditRates;
  /** Consumers of usage records (the usage log, tests). Called synchronously; must not block. */
  sinks: Array<(r: UsageRecord) => void>;
  /** The usage log, when open (serve opens it; in-process apps do not). */
  usageLog?: UsageLog;
  /**
   * serve --workers (server/cluster.ts): this process is one of several workers; /metrics and /ui/api/stats show
   * the whole server's figures, gathered by the primary, instead of this process's.
   */
  shared?: {
    metricsText(): Promise<string>;
    stats(): Promise<{ live: ReturnType<LiveStats['snapshot']>; inFlight: number; usageLog: string | null }>;
  };
}

const installed = new WeakMap<AppContext, Telemetry>();

export function installTelemetry(ctx: AppContext, version: string): Telemetry {
  const existing = installed.get(ctx);
  if (existing) return existing;
  const names = ctx.router.modelNames;
  const rates = mergeRates(ctx.config.settings.creditRates);
  const t: Telemetry = {
    metrics: new Metrics(names, ctx.config.deployments.map((d) => d.cortexModel), version),
    live: new LiveStats(rates, new Set(names)),
    rates,
    sinks: [],
  };
  installed.set(ctx, t);
  const defaultKey = ctx.config.settings.masterKey ? 'unauthenticated' : 'none';
  const demo = ctx.config.demo;
  let complained = false;
  (ctx.onStart ??= []).push((x) => t.metrics.start(x));
  ctx.onExchange.push((x, req) => {
    try {
      const now = performance.now();
      t.metrics.finish(x, req, now - x.startedAt);
      if (x.dialect === 'http') return; // not a chat exchange: no usage record
      const rec = toRecord(x, req, defaultKey, now);
      if (demo) rec.demo = true;
      t.live.add(rec);
      for (const sink of t.sinks) sink(rec);
    } catch (err) {
      if (!complained) ctx.log.error(`usage/metrics: ${(err as Error)?.stack ?? err}`);
      complained = true;
    }
  });
  ctx.upstream.onResponse = (d, status) => t.metrics.upstream(d.cortexModel, status);
  t.metrics.upstreamSockets = () => ctx.upstream.stats();
  return t;
}

export function telemetryOf(ctx: AppContext): Telemetry | undefined {
  return installed.get(ctx);
}

/**
 * Opens the usage log (unless disable_spend_logs) and feeds it every usage record. Returns the log, whose
 * close() must be awaited at shutdown so the last records reach the disk.
 */
export function openUsageLog(ctx: AppContext, t: Telemetry): UsageLog | undefined {
  const s = ctx.config.settings;
  if (s.disableSpendLogs) return undefined;
  const log = new UsageLog(s.usageLogDir ?? defaultUsageDir(), {
    maxFileBytes: s.usageLogMaxBytes,
    onError: (m) => ctx.log.warn(m),
  });
  t.usageLog = log;
  t.sinks.push((r) => log.append(r));
  return log;
}
