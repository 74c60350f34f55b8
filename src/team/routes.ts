// HTTP routes of the team gateway (spread into app.ts ROUTES):
//   GET  /health/ready        200 when the team store (and Redis, when configured) answer, else 503 (public: {status}
//                             only; the details with the master key)
//   GET  /admin/keys          the keys with this period's spend (?all=true: revoked ones too)
//   POST /admin/keys/create   {label, owner?, models?, rpm?, tpm?, max_parallel?, budget_tokens? | budget_credits?,
//                             budget_period?, expires?} → 201 with the plain key (shown once)
//   POST /admin/keys/revoke   {id}  (id, label or hint)
//   POST /admin/keys/rotate   {id, grace?}  → the new plain key; the old one works for `grace` (e.g. "10m")
// The /admin routes need the master key (team/auth.ts refuses virtual keys on them).
import type { IncomingMessage } from 'node:http';
import type { Route } from '../server/route.js';
import type { AppContext } from '../server/context.js';
import { parseJson, readBody, sendJson } from '../server/http.js';
import { ProxyError } from '../core/errors.js';
import { createKey, listKeys, revokeKey, rotateKey } from './admin.js';
import { gatewayOf, type TeamGateway } from './gateway.js';
import { KeyInputError, parseDuration } from './keys.js';
import { StoreConflict, StoreNotFound } from './store.js';
import { isMasterKey } from './auth.js';

const NO_STORE = { 'cache-control': 'no-store' };

function team(ctx: AppContext): TeamGateway {
  if (!ctx.config.settings.masterKey)
    throw new ProxyError('permission', 'the /admin routes need a master key: set general_settings.master_key (or use the cortex-proxy keys command on the server)', { code: 'admin_only' });
  const g = gatewayOf(ctx);
  if (!g) throw new ProxyError('not_found', 'the team gateway is not running in this server');
  return g;
}

async function body(ctx: AppContext, req: IncomingMessage): Promise<Record<string, unknown>> {
  const b = parseJson(await readBody(req, 64 * 1024));
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ProxyError('invalid_request', 'the body must be a JSON object');
  return b as Record<string, unknown>;
}

function ref(b: Record<string, unknown>): string {
  const id = b.id ?? b.key_id ?? b.label;
  if (typeof id !== 'string' || !id.trim()) throw new ProxyError('invalid_request', 'give the key as {"id": "<id, label or hint>"}', { param: 'id' });
  return id;
}

/** Store and input errors as HTTP errors. */
async function admin<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof KeyInputError) throw new ProxyError('invalid_request', err.message);
    if (err instanceof StoreConflict) throw new ProxyError('invalid_request', err.message, { status: 409, code: 'conflict' });
    if (err instanceof StoreNotFound) throw new ProxyError('not_found', err.message);
    if (err instanceof ProxyError) throw err;
    throw new ProxyError('unavailable', `the team store did not answer: ${(err as Error).message}`);
  }
}

export const TEAM_ROUTES: Record<string, Route> = {
  '/health/ready': {
    method: 'GET',
    public: true,
    quiet: true,
    async handle(ctx, req, res) {
      // Anyone (a load balancer, a probe) learns ready or not; the store's state and error text need the master key.
      const admin = isMasterKey(ctx, req);
      const g = gatewayOf(ctx);
      if (!g) return sendJson(res, 200, admin ? { status: 'ready', team: false } : { status: 'ready' }, { ...NO_STORE, ...ctx.extraHeaders });
      const r = await g.readiness();
      const status = r.ready ? 'ready' : 'not ready';
      const body = admin ? { status, store: { kind: g.store.kind, state: r.store }, limits: { kind: g.limiter.kind, state: r.limits }, keys: r.keys } : { status };
      sendJson(res, r.ready ? 200 : 503, body, { ...NO_STORE, ...ctx.extraHeaders });
    },
  },
  '/admin/keys': {
    method: 'GET',
    async handle(ctx, req, res) {
      const g = team(ctx);
      const all = /[?&]all=(1|true)\b/.test(req.url ?? '');
      sendJson(res, 200, { keys: await admin(() => listKeys(g.store, { all })) }, NO_STORE);
    },
  },
  '/admin/keys/create': {
    method: 'POST',
    async handle(ctx, req, res) {
      const g = team(ctx);
      const b = await body(ctx, req);
      const out = await admin(() => createKey(g.store, b));
      await g.refresh().catch(() => {});
      sendJson(res, 201, { key: out.key, ...out.info, note: 'the key is shown only once: store it now' }, NO_STORE);
    },
  },
  '/admin/keys/revoke': {
    method: 'POST',
    async handle(ctx, req, res) {
      const g = team(ctx);
      const b = await body(ctx, req);
      const info = await admin(() => revokeKey(g.store, ref(b)));
      await g.refresh().catch(() => {});
      sendJson(res, 200, info, NO_STORE);
    },
  },
  '/admin/keys/rotate': {
    method: 'POST',
    async handle(ctx, req, res) {
      const g = team(ctx);
      const b = await body(ctx, req);
      const out = await admin(async () => {
        const grace = b.grace === undefined || b.grace === null ? 0 : typeof b.grace === 'string' ? parseDuration(b.grace) : NaN;
        if (!Number.isFinite(grace)) throw new KeyInputError('grace must be a duration such as "10m" or "1h"');
        return rotateKey(g.store, ref(b), grace);
      });
      await g.refresh().catch(() => {});
      sendJson(res, 200, { key: out.key, ...out.info, note: 'the key is shown only once: store it now' }, NO_STORE);
    },
  },
};
