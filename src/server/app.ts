// The HTTP surface: routing, client auth, body limits, error envelopes and the per-request log line.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/types.js';
import { ProxyError, asProxyError } from '../core/errors.js';
import type { Dialect } from '../dialects/dialect.js';
import { openaiChat } from '../dialects/openai-chat.js';
import { anthropicMessages, countTokens } from '../dialects/anthropic-messages.js';
import { openaiResponses } from '../dialects/openai-responses.js';
import { Router } from '../cortex/router.js';
import { Upstream } from '../cortex/client.js';
import type { Logger } from './log.js';
import { parseJson, readBody, sendJson } from './http.js';
import { proxyChat, type Exchange, type ProxyContext } from './proxy.js';

export const VERSION = '0.1.0';

export interface App {
  server: Server;
  context: ProxyContext;
  close(): Promise<void>;
}

/** Chat routes and the dialect each speaks. The /v1 prefix is optional (Cursor and others vary). */
const CHAT_ROUTES: Record<string, Dialect> = {
  '/v1/chat/completions': openaiChat,
  '/chat/completions': openaiChat,
  '/v1/messages': anthropicMessages,
  '/v1/responses': openaiResponses,
  '/responses': openaiResponses,
};

export function createApp(config: Config, log: Logger): App {
  const router = new Router(config.deployments);
  const upstream = new Upstream(config.settings, log);
  const context: ProxyContext = {
    config,
    router,
    upstream,
    log,
    extraHeaders: config.demo ? { 'x-cortex-proxy-demo': 'true' } : {},
  };
  const masterKeyDigest = config.settings.masterKey ? digest(config.settings.masterKey) : undefined;
  log.addSecret(config.settings.masterKey);
  for (const d of config.deployments) log.addSecret(d.auth.token);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const x: Exchange = { startedAt: performance.now(), dialect: 'http', retries: 0 };
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const chatDialect = CHAT_ROUTES[path];
    // Errors go out in the envelope of the dialect the route speaks.
    const envelope = chatDialect ?? (path.startsWith('/v1/messages') ? anthropicMessages : openaiChat);
    x.dialect = envelope.name;
    try {
      if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
        return sendJson(res, 200, health(config), context.extraHeaders);
      }
      if (masterKeyDigest && !authorized(req, masterKeyDigest)) {
        throw new ProxyError('auth', 'missing or wrong API key: send the master key as "Authorization: Bearer <key>" (or x-api-key).', {
          code: 'invalid_api_key',
        });
      }
      if (chatDialect) {
        if (req.method !== 'POST') throw new ProxyError('invalid_request', `${path} takes POST`, { status: 405 });
        const body = parseJson(await readBody(req, config.settings.maxBodyBytes));
        await proxyChat(context, chatDialect, body, req, res, x);
        return;
      }
      if (path === '/v1/messages/count_tokens' && req.method === 'POST') {
        const body = parseJson(await readBody(req, config.settings.maxBodyBytes));
        return sendJson(res, 200, countTokens(body, req.headers), context.extraHeaders);
      }
      if ((path === '/v1/models' || path === '/models') && req.method === 'GET') {
        return sendJson(res, 200, modelList(router.modelNames), context.extraHeaders);
      }
      throw new ProxyError('not_found', `no route ${req.method} ${path}. cortex-proxy serves POST /v1/chat/completions, POST /v1/messages, POST /v1/responses, GET /v1/models and GET /health.`);
    } catch (err) {
      const e = asProxyError(err);
      if (e.kind === 'internal') log.error(`${req.method} ${path}: ${(err as Error)?.stack ?? String(err)}`);
      x.error = e.message;
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
      logExchange(log, req.method ?? '', path, res, x);
    }
  };

  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
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
      await upstream.close();
    },
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Compares digests (fixed length) in constant time, so response timing says nothing about the key. */
function authorized(req: IncomingMessage, expected: Buffer): boolean {
  const auth = req.headers.authorization;
  let key: string | undefined;
  if (auth && auth.slice(0, 7).toLowerCase() === 'bearer ') key = auth.slice(7).trim();
  else if (typeof req.headers['x-api-key'] === 'string') key = req.headers['x-api-key'];
  if (!key) return false;
  return timingSafeEqual(digest(key), expected);
}

function health(config: Config) {
  return {
    status: 'ok',
    version: VERSION,
    demo: config.demo,
    models: config.deployments.length,
    ...(config.demo ? { note: 'demo mode: answers come from the built-in Cortex emulator. Set SNOWFLAKE_ACCOUNT and SNOWFLAKE_PAT, or start with --config litellm_config.yaml, to connect a Snowflake account.' } : {}),
  };
}

function modelList(names: string[]) {
  const created = Math.floor(Date.now() / 1000);
  return {
    object: 'list',
    data: names.map((id) => ({ id, object: 'model', created, owned_by: 'snowflake-cortex', type: 'model', display_name: id, created_at: new Date(created * 1000).toISOString() })),
    has_more: false,
    first_id: names[0] ?? null,
    last_id: names[names.length - 1] ?? null,
  };
}

function logExchange(log: Logger, method: string, path: string, res: ServerResponse, x: Exchange): void {
  if (!log.enabled('info')) return;
  const status = res.statusCode;
  const ms = (performance.now() - x.startedAt).toFixed(1);
  let line = `${method} ${path} status=${status} ${ms}ms`;
  if (x.model) line += ` model=${x.model}`;
  if (x.ttftMs !== undefined) line += ` ttft=${x.ttftMs.toFixed(1)}ms`;
  if (x.usage) line += ` tokens=${x.usage.promptTokens}+${x.usage.completionTokens}`;
  if (x.retries) line += ` retries=${x.retries}`;
  if (x.requestId) line += ` sf_request_id=${x.requestId}`;
  if (!res.writableEnded) line += ' client_closed=true';
  if (x.error) line += ` error="${x.error.slice(0, 300).replace(/"/g, "'")}"`;
  (status >= 500 ? log.warn : log.info)(line);
}
