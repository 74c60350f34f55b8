// Browser defences, checked by server/app.ts before anything else on every request (docs/SECURITY.md):
//   - Host: the Host header must name this proxy (DNS rebinding: a web page whose name resolves to 127.0.0.1 would
//     otherwise read /v1/models, /metrics, /ui/api/stats and spend credits as a "same-origin" page). Allowed: any IP
//     literal (a rebinding page needs a name it controls; an IP-literal Host means the client dialled that address),
//     `localhost`, the --host name, the tunnel's public host, os.hostname() when listening on every interface, and
//     general_settings.allowed_hosts. Any port: a mismatch only happens through deliberate forwarding (docker -p,
//     ssh -L), and pages on another local port are cross-origin, refused by the Origin check. Else 421.
//   - Origin / Sec-Fetch-Site: a request from a web page of another origin (Origin header, or Sec-Fetch-Site
//     cross-site/same-site on requests without one, e.g. <img>, no-cors fetch) is refused with 403 unless its origin
//     is in general_settings.cors_origins. Top-level GET navigations (a link to /ui) pass: the page cannot read them.
//   - POST bodies must be JSON (415 for text/plain, forms, multipart: the types a page can send cross-site without a
//     preflight). A POST without any content type passes (curl --data-binary @file, some HTTP libraries): browsers
//     always label a body they send cross-site, and the Origin check refuses those anyway.
//   - CORS only for general_settings.cors_origins: preflights answered with the route's methods and the headers the
//     page asked for; answers carry Access-Control-Allow-Origin for that origin only. No CORS header otherwise.
//
//   general_settings:
//     allowed_hosts: [cortex.example.com, "*.internal.example.com"]   # "*" turns the Host check off
//     cors_origins: ["https://chat.example.com"]                        # browser apps that call the proxy directly
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import os from 'node:os';
import type { Settings } from '../config/types.js';
import { ProxyError } from '../core/errors.js';
import { clip } from './redact.js';

const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '', '*', '[::]']);

/** `name[:port]` or `[v6][:port]` → lower-case name without brackets or trailing dot, and the port if any. */
function splitHost(host: string): { name: string; port?: string } {
  const h = host.trim().toLowerCase();
  let name: string;
  let port: string | undefined;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    name = end === -1 ? h : h.slice(1, end);
    const rest = end === -1 ? '' : h.slice(end + 1);
    if (rest.startsWith(':')) port = rest.slice(1);
  } else {
    const colon = h.lastIndexOf(':');
    if (colon !== -1 && h.indexOf(':') === colon) {
      name = h.slice(0, colon);
      port = h.slice(colon + 1);
    } else name = h;
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  return { name, port };
}

interface HostRule {
  /** Exact name, or a suffix starting with '.' (from `*.example.com` / `.example.com`). */
  name: string;
  suffix: boolean;
  port?: string;
}

export class BrowserGuard {
  private readonly rules: HostRule[] = [{ name: 'localhost', suffix: false }];
  private anyHost = false;
  private readonly origins = new Set<string>();

  constructor(settings: Pick<Settings, 'allowedHosts' | 'corsOrigins'>) {
    for (const h of settings.allowedHosts ?? []) this.allowHost(h);
    for (const o of settings.corsOrigins ?? []) this.origins.add(normaliseOrigin(o));
  }

  /** Adds a host clients may name: an allowed_hosts entry, the --host address, or a tunnel's URL. */
  allowHost(entry: string): void {
    let e = entry.trim().toLowerCase();
    if (e.includes('://')) {
      try {
        e = new URL(e).host;
      } catch {
        return;
      }
    }
    if (e === '*') {
      this.anyHost = true;
      return;
    }
    if (WILDCARD_BINDS.has(e)) {
      // Listening on every interface: the machine's own name is one clients use.
      const me = os.hostname().toLowerCase();
      if (me) this.rules.push({ name: me, suffix: false });
      return;
    }
    const suffix = e.startsWith('*.') || e.startsWith('.');
    const { name, port } = splitHost(suffix ? e.slice(e.indexOf('.')) : e);
    if (name) this.rules.push({ name, suffix, port });
  }

  hostAllowed(host: string | undefined): boolean {
    if (this.anyHost || host === undefined) return true; // no Host at all: HTTP/1.0, never a browser
    const { name, port } = splitHost(host);
    if (isIP(name)) return true;
    for (const r of this.rules) {
      if (r.port !== undefined && r.port !== (port ?? '')) continue;
      if (r.suffix ? name.endsWith(r.name) && name.length > r.name.length : name === r.name) return true;
    }
    return false;
  }

  /** The origin's CORS grant: 'same' (the page is the proxy itself, e.g. /ui), 'cors' (configured), or undefined. */
  originGrant(origin: string, host: string | undefined): 'same' | 'cors' | undefined {
    const o = origin.trim().toLowerCase();
    if (this.origins.has(o)) return 'cors';
    if (host === undefined) return undefined;
    const m = /^(https?):\/\/([^/]+)$/.exec(o);
    if (!m) return undefined;
    const dflt = m[1] === 'https' ? '443' : '80';
    const a = splitHost(m[2]);
    const b = splitHost(host);
    return a.name === b.name && (a.port || dflt) === (b.port || dflt) ? 'same' : undefined;
  }

  /**
   * Refuses (throws) a request a web page sent from elsewhere; answers CORS preflights (returns true: done).
   * Adds the CORS headers for a configured origin to `res`.
   */
  check(req: IncomingMessage, res: ServerResponse, methods: string): boolean {
    const host = req.headers.host;
    if (!this.hostAllowed(host)) {
      throw new ProxyError(
        'permission',
        `the Host header '${clip(host ?? '')}' does not name this proxy, so the request is refused (protection against DNS rebinding). If clients reach cortex-proxy under this name, add it to general_settings.allowed_hosts.`,
        { status: 421, code: 'host_not_allowed' },
      );
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const grant = this.originGrant(origin, host);
      if (!grant) {
        throw new ProxyError(
          'permission',
          `requests from web pages at '${clip(origin)}' are refused: a page on another site must not spend your Cortex credits. To let a browser app call the proxy, add its origin to general_settings.cors_origins.`,
          { code: 'origin_not_allowed' },
        );
      }
      if (grant === 'cors') {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('vary', 'Origin');
        if (req.method === 'OPTIONS') {
          const asked = req.headers['access-control-request-headers'];
          const headers = typeof asked === 'string' && /^[\w\-, ]{1,2000}$/.test(asked) ? asked : 'authorization, content-type, x-api-key';
          res.writeHead(204, {
            'access-control-allow-methods': methods,
            'access-control-allow-headers': headers,
            'access-control-max-age': '600',
            'content-length': '0',
          });
          res.end();
          return true;
        }
        res.setHeader('access-control-expose-headers', 'x-request-id, retry-after, x-cortex-proxy-warning');
      }
      return false;
    }
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      // A top-level GET navigation (a link to /ui from elsewhere) cannot be read by the page that made it.
      const navigation = (req.method === 'GET' || req.method === 'HEAD') && req.headers['sec-fetch-mode'] === 'navigate' && req.headers['sec-fetch-dest'] === 'document';
      if (!navigation) throw new ProxyError('permission', 'cross-site requests from web pages are refused: a page on another site must not use this proxy.', { code: 'cross_site_not_allowed' });
    }
    return false;
  }
}

const JSON_TYPE = /^(application\/json|application\/[\w.+-]+\+json)$/;

/** POST bodies are JSON: 415 for text/plain, forms, multipart and other types (see the header). */
export function requireJsonBody(req: IncomingMessage): void {
  const ct = req.headers['content-type'];
  if (ct === undefined || ct.trim() === '') return;
  const type = ct.split(';')[0].trim().toLowerCase();
  if (JSON_TYPE.test(type)) return;
  // curl -d sends a form type unless told otherwise: say how to fix that.
  const hint = type === 'application/x-www-form-urlencoded' ? "; with curl, add -H 'content-type: application/json'" : '';
  throw new ProxyError('invalid_request', `the request body must be JSON sent with content-type: application/json (got '${clip(ct, 60)}')${hint}`, {
    status: 415,
    code: 'unsupported_media_type',
  });
}

function normaliseOrigin(o: string): string {
  return o.trim().toLowerCase().replace(/\/+$/, '');
}
