// Failed API keys are counted per real client address (server/client-address.ts: the connection's address, or the
// forwarded one from a trusted proxy; under serve --tunnel the tunnel process on this machine is trusted). After
// MAX_FAILURES within WINDOW_MS that address gets 429 (in the route's error format, with Retry-After) for every
// further wrong key until its failures age out, so a leaked URL cannot be used to hammer the key check — but a
// request with a right key always passes: one attacker behind the same address (a NAT, a load balancer that is
// not in trusted_proxies) cannot lock everybody else out.
// Without a tunnel, clients whose address is on this machine are exempt (one misconfigured local agent must not
// slow down the others); behind a local reverse proxy listed in trusted_proxies the forwarded address counts.
// Installed on an App through context.authFailed (called by app.ts when the key check fails).
import type { IncomingMessage } from 'node:http';
import { ProxyError } from '../core/errors.js';
import type { App } from './app.js';
import type { Logger } from './log.js';
import { LOOPBACK_CIDRS, TrustedProxies, clientAddressOf } from './client-address.js';

export const MAX_FAILURES = 10;
export const WINDOW_MS = 10 * 60_000;
/** Addresses tracked at most (oldest forgotten first), so a flood of addresses cannot grow memory without bound. */
const MAX_TRACKED = 10_000;

const LOOPBACK = new TrustedProxies(LOOPBACK_CIDRS);

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

  /** Counts a failure (`at`: when, for failures another worker of serve --workers saw; server/cluster.ts). */
  fail(addr: string, at = this.now()): void {
    const list = this.prune(addr) ?? [];
    list.push(at);
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

/** serve --tunnel: the tunnel process (on this machine) and trusted_proxies forward the client's address. */
export function installTunnelGuard(app: App, log: Logger, tool?: string, limiter = new FailedAuthLimiter()): FailedAuthLimiter {
  const trusted = new TrustedProxies([...LOOPBACK_CIDRS, ...(app.context.config.settings.trustedProxies ?? [])]);
  const addressOf = clientAddressOf(trusted, { preferCfConnectingIp: tool === 'cloudflared' });
  app.context.clientAddress = addressOf;
  return limitFailedAuth(app, log, limiter, addressOf, () => false, 'tunnel: ');
}

/**
 * Without a tunnel: the same limit per client address (the socket's, or the forwarded one from trusted_proxies),
 * for clients on other machines. Clients on this machine are exempt.
 */
export function installFailedAuthLimit(app: App, log: Logger, limiter = new FailedAuthLimiter(), exempt = (addr: string) => LOOPBACK.has(addr)): FailedAuthLimiter {
  const trusted = new TrustedProxies(app.context.config.settings.trustedProxies ?? []);
  const addressOf = clientAddressOf(trusted);
  if (trusted.size > 0) app.context.clientAddress = addressOf; // the request log shows the real client
  return limitFailedAuth(app, log, limiter, addressOf, exempt, '');
}

function limitFailedAuth(
  app: App,
  log: Logger,
  limiter: FailedAuthLimiter,
  addressOf: (req: IncomingMessage) => string,
  exempt: (addr: string) => boolean,
  prefix: string,
): FailedAuthLimiter {
  app.context.authFailed = (req, _err, x) => {
    const addr = addressOf(req);
    if (exempt(addr)) return undefined;
    const wait = limiter.retryAfter(addr); // throttled before this attempt?
    limiter.fail(addr); // failures while throttled count too: hammering keeps the address throttled
    if (wait === 0) {
      if (limiter.retryAfter(addr) > 0) log.warn(`${prefix}${addr} sent ${limiter.max} wrong API keys within ${limiter.windowMs / 60_000} min; its wrong keys get 429 for now (right keys still pass)`);
      return undefined;
    }
    x.remote ??= addr;
    const again = limiter.retryAfter(addr);
    return new ProxyError('rate_limit', `too many requests with a wrong API key from ${addr}; try again in ${again} s with the right key.`, { code: 'too_many_failed_auth', retryAfter: again });
  };
  return limiter;
}
