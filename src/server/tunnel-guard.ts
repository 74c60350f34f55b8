// Stricter rules while the proxy is reachable through a public tunnel (serve --tunnel):
//   - the client address is the tunnel's forwarded one (CF-Connecting-IP, else the last X-Forwarded-For hop), trusted
//     only on connections from this machine (where the tunnel process runs), and it is shown in the request log;
//   - failed API keys are counted per client address: after MAX_FAILURES within WINDOW_MS that address gets 429
//     (in the route's error format, with Retry-After) until its failures age out, so a leaked URL cannot be used
//     to guess the master key.
// Without a tunnel the failed-key limit is on too, per socket address, for clients on other machines (--host);
// loopback clients are exempt (installFailedAuthLimit).
// Installed around an App without changing its routes: the request listener is wrapped, failures are observed
// through context.onExchange.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProxyError } from '../core/errors.js';
import { anthropicMessages } from '../dialects/anthropic-messages.js';
import { openaiChat } from '../dialects/openai-chat.js';
import type { App } from './app.js';
import type { Logger } from './log.js';
import { sendJson } from './http.js';

export const MAX_FAILURES = 10;
export const WINDOW_MS = 10 * 60_000;
/** Addresses tracked at most (oldest forgotten first), so a flood of addresses cannot grow memory without bound. */
const MAX_TRACKED = 10_000;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** The client's address: forwarded headers count only on loopback connections (the local tunnel process). */
export function clientAddress(req: IncomingMessage): string {
  const socketAddr = req.socket.remoteAddress ?? 'unknown';
  if (!LOOPBACK.test(socketAddr)) return socketAddr;
  const cf = req.headers['cf-connecting-ip'];
  if (typeof cf === 'string' && cf.trim()) return cf.trim();
  const xff = req.headers['x-forwarded-for'];
  const list = (Array.isArray(xff) ? xff.join(',') : xff ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  // The last hop is the one the tunnel added; earlier entries are whatever the client claimed.
  return list.length ? list[list.length - 1] : socketAddr;
}

export class FailedAuthLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    readonly max = MAX_FAILURES,
    readonly windowMs = WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `addr` may try again; 0 when it is not blocked. */
  retryAfter(addr: string): number {
    const list = this.prune(addr);
    if (!list || list.length < this.max) return 0;
    return Math.max(1, Math.ceil((list[list.length - this.max] + this.windowMs - this.now()) / 1000));
  }

  fail(addr: string): void {
    const list = this.prune(addr) ?? [];
    list.push(this.now());
    this.failures.delete(addr); // re-insert: Map order = least recently failed first
    this.failures.set(addr, list.slice(-this.max));
    if (this.failures.size > MAX_TRACKED) this.failures.delete(this.failures.keys().next().value!);
  }

  private prune(addr: string): number[] | undefined {
    const list = this.failures.get(addr);
    if (!list) return undefined;
    const cutoff = this.now() - this.windowMs;
    while (list.length && list[0] <= cutoff) list.shift();
    if (!list.length) this.failures.delete(addr);
    return list;
  }
}

const WRONG_KEY = 'missing or wrong API key';

export function installTunnelGuard(app: App, log: Logger, limiter = new FailedAuthLimiter()): FailedAuthLimiter {
  app.context.clientAddress = clientAddress;
  return limitFailedAuth(app, log, limiter, clientAddress, () => false, 'tunnel: ');
}

/**
 * Without a tunnel, the same failed-key limit per socket address, always on for clients on other machines (serve
 * --host). Loopback clients are exempt: one misconfigured local agent must not lock out the others on the machine.
 */
export function installFailedAuthLimit(app: App, log: Logger, limiter = new FailedAuthLimiter(), exempt = (addr: string) => LOOPBACK.test(addr)): FailedAuthLimiter {
  return limitFailedAuth(app, log, limiter, (req) => req.socket.remoteAddress ?? 'unknown', exempt, '');
}

function limitFailedAuth(
  app: App,
  log: Logger,
  limiter: FailedAuthLimiter,
  addressOf: (req: IncomingMessage) => string,
  exempt: (addr: string) => boolean,
  prefix: string,
): FailedAuthLimiter {
  app.context.onExchange.push((x, req) => {
    if (x.status === 401 && x.error?.startsWith(WRONG_KEY)) {
      const addr = addressOf(req);
      if (exempt(addr)) return;
      limiter.fail(addr);
      if (limiter.retryAfter(addr) > 0) log.warn(`${prefix}${addr} sent ${limiter.max} wrong API keys within ${limiter.windowMs / 60_000} min; refusing it for now`);
    }
  });
  const inner = app.server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  app.server.removeAllListeners('request');
  app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const addr = addressOf(req);
    const wait = exempt(addr) ? 0 : limiter.retryAfter(addr);
    if (wait === 0) {
      for (const l of inner) l.call(app.server, req, res);
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    const err = new ProxyError('rate_limit', `too many requests with a wrong API key from ${addr}; try again in ${wait} s with the right key.`, { code: 'too_many_failed_auth', retryAfter: wait });
    const envelope = path.startsWith('/v1/messages') ? anthropicMessages : openaiChat;
    log.info(`${req.method} ${path} status=429 remote=${addr} error="blocked after ${limiter.max} failed API keys"`);
    req.resume();
    sendJson(res, 429, envelope.encodeError(err), { 'retry-after': String(wait) });
  });
  return limiter;
}
