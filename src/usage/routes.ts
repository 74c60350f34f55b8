// HTTP routes of usage and metrics (spread into app.ts ROUTES):
//   GET /metrics         Prometheus text format; needs the master key unless general_settings.public_metrics
//   GET /ui              the dashboard page and its files (public: they hold no data; the login form asks for the key)
//   GET /ui/api/stats    the JSON the dashboard polls (needs the master key)
import type { ServerResponse } from 'node:http';
import type { Route } from '../server/route.js';
import type { AppContext } from '../server/context.js';
import { sendJson } from '../server/http.js';
import { ProxyError } from '../core/errors.js';
import { asset } from '../ui/assets.js';
import { telemetryOf, type Telemetry } from './telemetry.js';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function telemetry(ctx: AppContext): Telemetry {
  const t = telemetryOf(ctx);
  if (!t) throw new ProxyError('not_found', 'metrics are not enabled in this server');
  return t;
}

const file = (name: string): Route => ({
  method: 'GET',
  public: true,
  quiet: true,
  handle(ctx, _req, res) {
    const a = asset(name);
    if (!a) throw new ProxyError('not_found', `the dashboard file ${name} is missing from this build (reinstall cortex-proxy, or run npm run build in a clone)`);
    res.writeHead(200, {
      'content-type': a.type,
      'content-length': a.body.length,
      'cache-control': name === 'index.html' ? 'no-cache' : 'max-age=300',
      ...SECURITY_HEADERS,
      ...(name === 'index.html' ? { 'content-security-policy': CSP } : {}),
      ...ctx.extraHeaders,
    });
    res.end(a.body);
  },
});

async function metrics(ctx: AppContext, res: ServerResponse): Promise<void> {
  const t = telemetry(ctx);
  const text = t.shared ? await t.shared.metricsText() : t.metrics.render(); // serve --workers: every worker's
  res.writeHead(200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

async function stats(ctx: AppContext) {
  const t = telemetry(ctx);
  // serve --workers: the primary's statistics of every worker's requests (server/cluster.ts)
  const shared = t.shared ? await t.shared.stats() : undefined;
  const c = ctx.config;
  const seen = new Set<string>();
  const models: Array<{ name: string; cortex_model: string; wire: string }> = [];
  for (const d of c.deployments) {
    if (seen.has(d.modelName)) continue;
    seen.add(d.modelName);
    models.push({ name: d.modelName, cortex_model: d.cortexModel, wire: d.wire });
  }
  return {
    version: t.metrics.version,
    demo: c.demo,
    master_key_required: Boolean(c.settings.masterKey),
    models,
    in_flight: shared ? shared.inFlight : t.metrics.inFlightCount(),
    usage_log: shared ? shared.usageLog : t.usageLog ? t.usageLog.dir : null,
    credits_note: 'estimated AI credits (usage/rates.ts defaults or general_settings.credit_rates); Snowflake bills from CORTEX_REST_API_USAGE_HISTORY',
    ...(shared ? shared.live : t.live.snapshot()),
  };
}

const page = file('index.html');

export const USAGE_ROUTES: Record<string, Route> = {
  '/metrics': { method: 'GET', quiet: true, public: (ctx) => ctx.config.settings.publicMetrics === true, handle: (ctx, _req, res) => metrics(ctx, res) },
  '/ui': page,
  '/ui/': page,
  '/ui/app.js': file('app.js'),
  '/ui/style.css': file('style.css'),
  '/ui/uPlot.js': file('uPlot.js'),
  '/ui/uPlot.css': file('uPlot.css'),
  // Browsers ask for it with every dashboard visit: an empty answer, cached for a day, and no log line.
  '/favicon.ico': {
    method: 'GET',
    public: true,
    quiet: true,
    handle(ctx, _req, res) {
      res.writeHead(204, { 'cache-control': 'public, max-age=86400', ...SECURITY_HEADERS, ...ctx.extraHeaders });
      res.end();
    },
  },
  '/ui/api/stats': {
    method: 'GET',
    quiet: true,
    handle: async (ctx, _req, res) => sendJson(res, 200, await stats(ctx), { 'cache-control': 'no-store', ...SECURITY_HEADERS, ...ctx.extraHeaders }),
  },
};
