// The client's real address, for the failed-key limiter and the request log (docs/SECURITY.md):
//   - the connection's address, unless that is a trusted proxy: general_settings.trusted_proxies (CIDRs), and under
//     `serve --tunnel` this machine (the tunnel process connects from loopback);
//   - from a trusted proxy, X-Forwarded-For is walked from the right (the hop each proxy appended) to the first address
//     that is not itself a trusted proxy; entries further left are whatever the client claimed and never count.
//     `Forwarded: for=` (RFC 7239) is read the same way when there is no X-Forwarded-For; CF-Connecting-IP only
//     when neither is there, or first under `serve --tunnel cloudflared` (Cloudflare's edge sets it, overwriting a
//     client's). From any other connection, all three headers are ignored.
//
//   general_settings:
//     trusted_proxies: [127.0.0.1, 10.0.0.0/8]   # your load balancer / reverse proxy; IPs or CIDRs
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { normaliseIp, parseCidr } from '../core/ip.js';

export const LOOPBACK_CIDRS = ['127.0.0.0/8', '::1/128'];

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(cidrs: string[]) {
    let n = 0;
    for (const c of cidrs) {
      const p = parseCidr(c);
      if (!p) continue;
      this.list.addSubnet(p.net, p.prefix, p.type);
      n++;
    }
    this.size = n;
  }

  has(ip: string): boolean {
    const v = isIP(ip);
    return v !== 0 && this.list.check(ip, v === 4 ? 'ipv4' : 'ipv6');
  }
}

function headerList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v.join(',') : v).split(',').map((s) => s.trim()).filter(Boolean);
}

/** The `for=` values of a Forwarded header, in order. */
function forwardedFor(v: string | string[] | undefined): string[] {
  const out: string[] = [];
  for (const element of headerList(v)) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq !== -1 && pair.slice(0, eq).trim().toLowerCase() === 'for') out.push(pair.slice(eq + 1).trim());
    }
  }
  return out;
}

/**
 * A function giving each request's client address. `preferCfConnectingIp`: the connection comes from cloudflared,
 * where CF-Connecting-IP is Cloudflare's own.
 */
export function clientAddressOf(trusted: TrustedProxies, opts: { preferCfConnectingIp?: boolean } = {}): (req: IncomingMessage) => string {
  return (req) => {
    const socket = normaliseIp(req.socket.remoteAddress ?? 'unknown');
    if (trusted.size === 0 || !trusted.has(socket)) return socket;
    const cf = req.headers['cf-connecting-ip'];
    const cfIp = typeof cf === 'string' ? normaliseIp(cf) : '';
    if (opts.preferCfConnectingIp && isIP(cfIp)) return cfIp;
    let chain = headerList(req.headers['x-forwarded-for']);
    if (chain.length === 0) chain = forwardedFor(req.headers.forwarded);
    if (chain.length === 0) return isIP(cfIp) ? cfIp : socket;
    let last = socket; // the nearest hop known so far
    for (let i = chain.length - 1; i >= 0; i--) {
      const ip = normaliseIp(chain[i]);
      if (!isIP(ip)) return last; // garbage (or "unknown"): nothing to its left can be believed
      if (!trusted.has(ip)) return ip;
      last = ip;
    }
    return last; // every hop is a trusted proxy: the leftmost is the client
  };
}
