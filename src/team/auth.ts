// Client authentication (called by server/app.ts for every non-public route): the key comes as
// `Authorization: Bearer`, `x-api-key` or `api-key` (Azure-style clients). The master key is the admin; a virtual
// key (team/gateway.ts mirror) is a client with its own policy, refused on admin routes. Digests are compared in
// constant time for the master key; a virtual key is found by the sha256 of a 256-bit secret.
// Virtual keys are enforced whenever they exist (docs/admission.md): without a master key, a request presenting a
// virtual key gets its policy, and once any unrevoked virtual key exists a model request without a known key is
// refused (otherwise a limited user would simply leave the key out). With no master key and no virtual keys
// (local use), client authentication stays off.
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ProxyError } from '../core/errors.js';
import type { AppContext, Exchange } from '../server/context.js';
import { gatewayOf, setPrincipal } from './gateway.js';
import type { KeyRecord } from './keys.js';

/** Paths a virtual key may not use: administration and team-wide statistics. */
export function adminOnlyPath(path: string): boolean {
  return path.startsWith('/admin/') || path === '/admin' || path === '/metrics' || path.startsWith('/ui/api/');
}

export function clientKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth && auth.slice(0, 7).toLowerCase() === 'bearer ') return auth.slice(7).trim() || undefined;
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x) return x;
  const a = req.headers['api-key']; // Azure-style clients
  if (typeof a === 'string' && a) return a;
  return undefined;
}

/** The request carries the master key (compared in constant time over digests). */
export function isMasterKey(ctx: AppContext, req: IncomingMessage): boolean {
  const master = ctx.config.settings.masterKey;
  const key = clientKey(req);
  if (!master || !key) return false;
  return timingSafeEqual(sha256(key), sha256(master));
}

/** One-shot digest: a fraction of createHash's cost, on every authenticated request. */
const sha256 = (s: string): Buffer => hash('sha256', s, 'buffer');

const WRONG_KEY = 'missing or wrong API key: send the master key or a virtual key as "Authorization: Bearer <key>" (or x-api-key).';
/** On the admin and statistics routes only the master key works (a virtual key gets 403): say so. */
const wrongKey = (path: string) =>
  adminOnlyPath(path) ? `missing or wrong API key: ${path.startsWith('/ui/api/') ? 'the dashboard' : path} needs the master key as "Authorization: Bearer <key>" (or x-api-key); virtual keys are not accepted here.` : WRONG_KEY;
const NEED_VIRTUAL_KEY = 'missing or wrong API key: this proxy uses virtual keys, so every request needs one as "Authorization: Bearer <key>" (or x-api-key).';

/**
 * The authorizer for one app. Returns undefined when the request may go on synchronously (the common case), or a
 * promise when a virtual key had to be looked up in the store; throws (or rejects) a ProxyError otherwise.
 */
export function createAuthorizer(ctx: AppContext): (req: IncomingMessage, path: string, x: Exchange) => void | Promise<void> {
  const master = ctx.config.settings.masterKey ? sha256(ctx.config.settings.masterKey) : undefined;
  const accept = (k: KeyRecord | undefined, path: string, x: Exchange, strict: boolean): void => {
    if (!k) {
      if (master) throw new ProxyError('auth', wrongKey(path), { code: 'invalid_api_key' });
      if (strict) throw new ProxyError('auth', NEED_VIRTUAL_KEY, { code: 'invalid_api_key' });
      return; // no master key and no virtual keys: client authentication is off; an unknown key is fine
    }
    if (adminOnlyPath(path)) throw new ProxyError('permission', `${path} needs the master key; the key '${k.label}' is a virtual key`, { code: 'admin_only' });
    x.keyLabel = k.label;
    setPrincipal(x, k);
  };
  return (req, path, x) => {
    const key = clientKey(req);
    const team = gatewayOf(ctx);
    // Without a master key, virtual keys in use make a key mandatory on every route but the admin/statistics ones
    // (those stay as they are without a master key: the admin routes refuse, a virtual key is refused on all of them).
    const strict = !master && !!team?.keysInUse && !adminOnlyPath(path);
    if (!key) {
      if (master) throw new ProxyError('auth', wrongKey(path), { code: 'invalid_api_key' });
      if (strict) throw new ProxyError('auth', NEED_VIRTUAL_KEY, { code: 'invalid_api_key' });
      return;
    }
    if (!master && !team) return;
    const digest = sha256(key);
    if (master && timingSafeEqual(digest, master)) {
      x.keyLabel = 'master';
      return;
    }
    if (!team) throw new ProxyError('auth', wrongKey(path), { code: 'invalid_api_key' });
    const found = team.lookup(digest.toString('hex'));
    if (found instanceof Promise) {
      // Without a master key and without virtual keys client auth is off: an unknown key must not wait for a
      // store re-read (100 ms).
      if (!master && !strict) {
        found.catch(() => undefined);
        return;
      }
      return found.then((k) => accept(k, path, x, strict));
    }
    accept(found, path, x, strict);
  };
}
