// The HTTP surface: a route table, client auth, body limits, error envelopes, and the per-request log line.
// Features add routes to ROUTES (one line each) and listen to finished exchanges via context.onExchange.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../config/types.js';
import { ProxyError, asProxyError } from '../core/errors.js';
import type { Dialect } from '../dialects/dialect.js';
import { openaiChat } from '../dialects/openai-chat/index.js';
import { anthropicMessages, countTokensOf } from '../dialects/anthropic-messages/index.js';
import { DIALECTS } from '../dialects/index.js';
import { azureDeployment, chatCompletions, withDeploymentModel } from '../dialects/chat-completions.js';
import { Router } from '../cortex/router.js';
import { Upstream } from '../cortex/client.js';
import { attachAuth } from '../snowflake/auth.js';
import type { Logger } from './log.js';
import { parseJson, readBody, sendJson } from './http.js';
import { proxyChat } from './proxy.js';
import type { AppContext, Exchange } from './context.js';
import type { Route } from './route.js';
import { CATALOGUE_ROUTES, modelList } from './catalogue.js';
import { USAGE_ROUTES } from '../usage/routes.js';
import { installTelemetry, telemetryOf } from '../usage/telemetry.js';
import { httpServerOptions } from './limits.js';
import { createAuthorizer } from '../team/auth.js';
import { TEAM_ROUTES } from '../team/routes.js';
import { BrowserGuard, requireJsonBody } from './browser-guard.js';
import { MAX_NAME_CHARS, presentedKey, redactText, safeError } from './redact.js';

export const VERSION = '0.1.0';

export interface App {
  server: Server;
  context: AppContext;
  close(): Promise<void>;
}

const chat = (dialect: Dialect): Route => ({
  method: 'POST',
  envelope: dialect,
  async handle(ctx, req, res, x) {
    x.dialect = dialect.name;
    await proxyChat(ctx, dialect, await readJson(ctx, req), req, res, x);
  },
});

const models: Route = {
  method: 'GET',
  handle: async (ctx, _req, res, x) => sendJson(res, 200, await modelList(ctx, x), ctx.extraHeaders),
};

/** POST /v1/messages/count_tokens: answered locally, but admitted like every model route (the key's model list). */
const countTokensRoute: Route = {
  method: 'POST',
  envelope: anthropicMessages,
  async handle(ctx, req, res, x) {
    const { model, input_tokens } = countTokensOf(await readJson(ctx, req), req.headers);
    if (ctx.admit) await ctx.admit(x, { model, free: true }, req);
    sendJson(res, 200, { input_tokens }, ctx.extraHeaders);
  },
};

/** path → route. The /v1 prefix is optional where clients vary (Cursor, Continue, Codex base URLs). */
export const ROUTES: Record<string, Route> = {
  ...Object.fromEntries(DIALECTS.flatMap((d) => (d.paths ?? []).map((p) => [p, chat(d)]))), // dialects/index.ts
  '/v1/messages/count_tokens': countTokensRoute,
  '/v1/models': models,
  '/models': models,
  '/health': { method: 'GET', public: true, handle: (ctx, _req, res) => sendJson(res, 200, health(ctx.config), ctx.extraHeaders) },
  // Claude Code probes `HEAD /` before it starts; answer like /health rather than with a 401.
  '/': { method: 'GET', public: true, handle: (ctx, _req, res) => sendJson(res, 200, health(ctx.config), ctx.extraHeaders) },
  ...CATALOGUE_ROUTES, // /v1/embeddings, /embeddings (server/embeddings.ts), /v1/model/info, /model/info
  ...USAGE_ROUTES, // /metrics, /ui, /ui/api/stats
  ...TEAM_ROUTES, // /health/ready, /admin/keys… (team/routes.ts)
};

/**
 * Routes with a path parameter, tried only when no exact route matched (the common paths stay one lookup):
 * Cursor's Azure-style `POST /openai/deployments/{deployment}/chat/completions?api-version=…`, where the
 * deployment name is the model.
 */
function paramRoute(path: string): Route | undefined {
  const deployment = azureDeployment(path);
  if (deployment === undefined) return undefined;
  return {
    method: 'POST',
    envelope: chatCompletions,
    async handle(ctx, req, res, x) {
      x.dialect = chatCompletions.name;
      await proxyChat(ctx, chatCompletions, withDeploymentModel(await readJson(ctx, req), deployment), req, res, x);
    },
  };
}

async function readJson(ctx: AppContext, req: IncomingMessage): Promise<unknown> {
  return parseJson(await readBody(req, ctx.config.settings.maxBodyBytes));
}

export function createApp(config: Config, log: Logger): App {
  const router = new Router(config.deployments, config.routing);
  const upstream = new Upstream(config.settings, log);
  const context: AppContext = {
    config,
    router,
    upstream,
    log,
    extraHeaders: config.demo ? { 'x-cortex-proxy-demo': 'true' } : {},
    onExchange: [],
    browser: new BrowserGuard(config.settings),
  };
  installTelemetry(context, VERSION); // metrics, dashboard statistics, usage records (usage/telemetry.ts)
  const authorize = createAuthorizer(context); // team/auth.ts: master key → admin; virtual key → its policy
  log.addSecret(config.settings.masterKey);
  for (const d of config.deployments) attachAuth(d.auth, log); // registers PATs, and every JWT/OAuth token as it is minted or read

  let active = 0; // exchanges whose finally has not run yet: close() waits for them (their usage records)
  let drained: (() => void) | undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    active++;
    const x: Exchange = { startedAt: performance.now(), dialect: 'http', retries: 0 };
    if (context.clientAddress) x.remote = context.clientAddress(req); // tunnelled or behind trusted_proxies: the real client
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = ROUTES[path] ?? paramRoute(path);
    // Errors go out in the envelope of the dialect the route speaks.
    const envelope = route?.envelope ?? (path.startsWith('/v1/messages') ? anthropicMessages : openaiChat);
    try {
      // Host, Origin and CORS before anything else: a web page elsewhere gets nothing (server/browser-guard.ts).
      if (context.browser.check(req, res, route ? `${route.method}, OPTIONS` : 'GET, POST, OPTIONS')) return;
      const open = typeof route?.public === 'function' ? route.public(context) : route?.public;
      if (!open) {
        try {
          const pending = authorize(req, path, x);
          if (pending) await pending;
        } catch (err) {
          // A wrong key is counted per client address; a throttled address gets 429 (a right key always passes).
          if (err instanceof ProxyError && err.kind === 'auth' && context.authFailed) throw context.authFailed(req, err, x) ?? err;
          throw err;
        }
      }
      if (!route) {
        throw new ProxyError('not_found', `no route ${req.method} ${path}. cortex-proxy serves POST /v1/chat/completions, POST /v1/messages, POST /v1/responses, POST /v1/embeddings, GET /v1/models and GET /health.`);
      }
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      if (method !== route.method) throw new ProxyError('invalid_request', `${path} takes ${route.method}`, { status: 405 });
      if (method === 'POST') requireJsonBody(req); // 415 for the body types a page can send cross-site
      await route.handle(context, req, res, x);
    } catch (err) {
      // Snowflake's or a library's text may quote a secret, a client's string may be 2 MB: made safe once, here.
      const e = safeError(log, asProxyError(err), presentedKey(req));
      if (e.kind === 'internal') log.error(`${req.method} ${path}: ${(err as Error)?.stack ?? String(err)}`);
      x.error = e.message;
      x.errorKind = e.kind;
      if (!res.headersSent) {
        const headers: Record<string, string> = { ...context.extraHeaders };
        const requestId = e.requestId ?? x.requestId;
        if (requestId) headers['x-request-id'] = requestId;
        if (e.retryAfter !== undefined) headers['retry-after'] = String(e.retryAfter);
        sendJson(res, e.status, envelope.encodeError(e), headers);
      } else if (!res.writableEnded) {
        res.destroy();
      }
    } finally {
      x.status = res.statusCode;
      const key = presentedKey(req);
      if (x.model !== undefined) x.model = redactText(log, x.model, key, MAX_NAME_CHARS);
      if (x.error !== undefined) x.error = redactText(log, x.error, key);
      x.clientClosed = !res.writableEnded;
      if (!route?.quiet || log.enabled('debug')) logExchange(log, req.method ?? '', path, x);
      for (const listener of context.onExchange) listener(x, req);
      if (--active === 0) drained?.();
    }
  };

  const server = createServer(httpServerOptions(config.settings), (req, res) => {
    void handle(req, res);
  });
  return {
    server,
    context,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      if (active > 0) await new Promise<void>((resolve) => (drained = resolve));
      await upstream.close();
      await telemetryOf(context)?.usageLog?.close(); // the last usage records reach the disk
    },
  };
}

function health(config: Config) {
  return {
    status: 'ok',
    name: 'cortex-proxy', // lets `doctor` tell its own proxy from another program on the port
    version: VERSION,
    demo: config.demo,
    models: config.deployments.length,
    ...(config.demo
      ? { note: 'demo mode: answers come from the built-in Cortex emulator. Set SNOWFLAKE_ACCOUNT and SNOWFLAKE_PAT, or start with --config litellm_config.yaml, to connect a Snowflake account.' }
      : {}),
  };
}

const CONTROL = /[\x00-\x1f\x7f]/;
const CONTROL_ALL = /[\x00-\x1f\x7f]/g;

function logExchange(log: Logger, method: string, path: string, x: Exchange): void {
  if (!log.enabled('info')) return;
  const ms = (performance.now() - x.startedAt).toFixed(1);
  let line = `${method} ${path} status=${x.status} ${ms}ms`;
  if (x.model) line += ` model=${x.model}`;
  if (x.ttftMs !== undefined) line += ` ttft=${x.ttftMs.toFixed(1)}ms`;
  if (x.usage) line += ` tokens=${x.usage.promptTokens}+${x.usage.completionTokens}`;
  if (x.retries) line += ` retries=${x.retries}`;
  if (x.fallback) line += ` fallback=${x.fallback}`;
  if (x.requestId) line += ` sf_request_id=${x.requestId}`;
  if (x.trace) line += ` trace_id=${x.trace.traceId}`;
  if (x.remote) line += ` remote=${x.remote}`;
  if (x.clientClosed) line += ' client_closed=true';
  if (x.error) line += ` error="${x.error.slice(0, 300).replace(/"/g, "'")}"`;
  // Model names and error texts come from clients: a newline or a terminal escape must not forge or colour a line.
  if (CONTROL.test(line)) line = line.replace(CONTROL_ALL, (c) => (c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  (x.status !== undefined && x.status >= 500 ? log.warn : log.info)(line);
}
