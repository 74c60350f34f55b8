// What the CLI's checks know about Snowflake's answers: what a token is, why a credential was refused (the
// quickstart's troubleshooting table, reference/cortex-api.md §6–§7), whether a model answers, and which available
// model is nearest to one that does not. Messages never contain a credential.
import { gatewayTarget } from '../cortex/gateway.js';
import type { Deployment, UpstreamAuth } from '../config/types.js';
import type { ChatRequest } from '../core/types.js';
import type { Wire } from '../cortex/wire.js';
import { modelInfo } from '../cortex/models.js';
import { editDistance } from '../core/edit-distance.js';
import { scrubSnowflakeText } from '../cortex/snowflake-errors.js';
import { call, NetworkFailure, type Answer, type Target } from './http.js';

// ───────────────────────────── tokens ─────────────────────────────

export interface TokenFacts {
  /** pat: a JWT-like PAT (ES256 / iss SF:…); keypair-jwt: an RS256 key-pair JWT; opaque: anything else. */
  kind: 'pat' | 'keypair-jwt' | 'opaque' | 'master-key';
  /** From the token's exp claim, when it has one. */
  expiresAt?: Date;
}

export function tokenFacts(token: string): TokenFacts {
  if (/^sk-/.test(token)) return { kind: 'master-key' };
  const parts = token.split('.');
  if (parts.length === 3) {
    try {
      const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
      const exp = typeof payload?.exp === 'number' ? new Date(payload.exp * 1000) : undefined;
      if (header?.alg === 'RS256') return { kind: 'keypair-jwt', expiresAt: exp };
      if (header?.alg === 'ES256' || (typeof payload?.iss === 'string' && payload.iss.startsWith('SF:'))) return { kind: 'pat', expiresAt: exp };
      return { kind: 'opaque', expiresAt: exp };
    } catch {
      /* not a JWT */
    }
  }
  return { kind: 'opaque' };
}

// ───────────────────────────── refusals ─────────────────────────────

export type RefusalCause = 'expired-pat' | 'token-type' | 'no-cortex-role' | 'network-policy' | 'not-enabled' | 'unknown';

export interface Refusal {
  cause: RefusalCause;
  /** What happened, in the user's words (with Snowflake's scrubbed text). */
  detail: string;
  /** What to do. */
  fix: string;
}

/** What to do about a bad PAT; `next` says what follows (restart a running proxy, run init again), when anything. */
export function patFix(next?: string): string {
  return `create a new programmatic access token (Snowsight → your profile → Programmatic access tokens, or ALTER USER <you> ADD PROGRAMMATIC ACCESS TOKEN …) and put it in SNOWFLAKE_PAT (in .env next to the config; \`pat/\` prefix optional)${next ? `, ${next}` : ''}`;
}
/** After a new PAT: a proxy that is already running reads it only at start-up. */
export const RESTART_NOTE = 'then restart cortex-proxy serve if it is running';
const ROLE_FIX =
  "an admin runs: GRANT DATABASE ROLE SNOWFLAKE.CORTEX_USER TO ROLE <the PAT's role>; (or CORTEX_REST_API_USER); if the role has it, ask Snowflake whether the account is enabled for the Cortex REST API";
const NETWORK_FIX =
  "PATs need a network policy that allows this machine's IP: an admin adds your IP to the user's network policy (ALTER NETWORK POLICY … SET ALLOWED_IP_LIST = (…)), or assigns one (ALTER USER <you> SET NETWORK_POLICY = …)";

/** Why Snowflake refused a call (401/403, or an auth error dressed as 200/400). */
export function classifyRefusal(a: Pick<Answer, 'status' | 'body' | 'text'>): Refusal {
  const o = (a.body && typeof a.body === 'object' ? a.body : {}) as Record<string, unknown>;
  const message = typeof o.message === 'string' ? o.message : a.text;
  const code = typeof o.code === 'string' ? o.code : undefined;
  const said = `Snowflake answered ${a.status}: "${scrubSnowflakeText(message)}"${code ? ` (code ${code})` : ''}`;
  const m = message.toLowerCase();
  if (/network policy|not allowed to access snowflake|ip address/.test(m))
    return { cause: 'network-policy', detail: `a network policy blocks this machine. ${said}`, fix: NETWORK_FIX };
  if (/token type|token-type|keypair_jwt/.test(m))
    return {
      cause: 'token-type',
      detail: `the token was sent with the wrong token type. ${said}`,
      fix: 'a PAT must be sent as PROGRAMMATIC_ACCESS_TOKEN: write SNOWFLAKE_PAT=pat/<token> (or the bare token), not a key-pair JWT',
    };
  if (a.status === 403) {
    if (code === '003001' || /not allowed to access this endpoint/.test(m))
      return { cause: 'not-enabled', detail: `the account may not use this Cortex endpoint. ${said}`, fix: 'ask Snowflake support to enable the Cortex REST API for the account' };
    return { cause: 'no-cortex-role', detail: `the PAT's role may not use Cortex (it lacks SNOWFLAKE.CORTEX_USER), or the account is not enabled. ${said}`, fix: ROLE_FIX };
  }
  if (a.status === 401 || (code !== undefined && code.startsWith('3901')))
    return { cause: 'expired-pat', detail: `the credential was refused: the PAT is expired, revoked or mistyped. ${said}`, fix: patFix(RESTART_NOTE) };
  return { cause: 'unknown', detail: said, fix: 'check the credential and the account identifier' };
}

// ───────────────────────────── models ─────────────────────────────

export type ModelsResult = { ok: true; models: string[] } | { ok: false; answer: Answer };

/** GET /api/v2/cortex/models with a {} body (§3.8: without one Snowflake answers 415). */
export async function listModels(target: Target, timeoutMs = 30_000): Promise<ModelsResult> {
  const a = await call(target, 'GET', '/cortex/models', {}, { timeoutMs, headers: { accept: 'application/json' } });
  const models = (a.body as { models?: unknown })?.models;
  if (a.status === 200 && Array.isArray(models)) return { ok: true, models: models.filter((m): m is string => typeof m === 'string') };
  return { ok: false, answer: a };
}

export type ProbeOutcome =
  | { ok: true; ms: number; requestId?: string }
  | { ok: false; ms: number; reason: 'region' | 'unknown-model' | 'refused' | 'error' | 'network' | 'not-applicable'; detail: string; refusal?: Refusal; requestId?: string };

/** A 1-token request for the deployment's model on one wire. */
export async function probeModel(deployment: Deployment, wire: Wire, timeoutMs = 60_000): Promise<ProbeOutcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const chat: ChatRequest = wire.probe(deployment); // each wire declares its probe (cortex/wires.ts)
  let encoded;
  try {
    encoded = wire.encodeRequest(chat, deployment);
  } catch (err) {
    return { ok: false, ms: ms(), reason: 'not-applicable', detail: (err as Error).message };
  }
  let a: Answer;
  try {
    const target = gatewayTarget(deployment, encoded.path); // an AI Gateway deployment is probed through the gateway's path
    a = await call({ apiBase: target.deployment.apiBase, auth: deployment.auth }, 'POST', target.path, encoded.body, { timeoutMs, headers: (encoded as { headers?: Record<string, string> }).headers });
  } catch (err) {
    if (err instanceof NetworkFailure) return { ok: false, ms: ms(), reason: 'network', detail: err.message };
    throw err;
  }
  const o = (a.body && typeof a.body === 'object' ? a.body : {}) as Record<string, unknown>;
  const message = typeof o.message === 'string' ? o.message : a.text;
  const rid = a.requestId;
  if (a.status === 200) {
    // A 200 can still be an error: a JSON body with a code (390112), or an SSE stream carrying {"error":…}.
    if (a.contentType.includes('application/json') && typeof o.code === 'string' && !('choices' in o))
      return { ok: false, ms: ms(), reason: 'refused', detail: `Cortex answered 200 with an error: ${scrubSnowflakeText(message)}`, refusal: classifyRefusal({ ...a, status: 401 }), requestId: rid };
    const streamErr = /^data:\s*(\{"error".*)$/m.exec(a.text);
    if (streamErr) return { ok: false, ms: ms(), reason: 'error', detail: `Cortex sent an error in the stream: ${scrubSnowflakeText(streamErr[1])}`, requestId: rid };
    return { ok: true, ms: ms(), requestId: rid };
  }
  const m = message.toLowerCase();
  if (a.status === 401 || a.status === 403) return { ok: false, ms: ms(), reason: 'refused', detail: classifyRefusal(a).detail, refusal: classifyRefusal(a), requestId: rid };
  if (/unavailable in your region|cross[- ]region/.test(m)) return { ok: false, ms: ms(), reason: 'region', detail: `${deployment.cortexModel} is not available in the account's region`, requestId: rid };
  if (/unknown model/.test(m) || o.code === '300014') return { ok: false, ms: ms(), reason: 'unknown-model', detail: `Cortex does not know the model id ${deployment.cortexModel}`, requestId: rid };
  return { ok: false, ms: ms(), reason: 'error', detail: `Cortex answered ${a.status}: ${scrubSnowflakeText(message)}`, requestId: rid };
}

/** The available model most like `id`: same family first, tool support kept when `id` has it, then the closest name. */
export function nearestModel(id: string, available: readonly string[]): string | undefined {
  const want = modelInfo(id);
  let best: string | undefined;
  let bestScore = Infinity;
  for (const cand of available) {
    if (cand === id) continue;
    const info = modelInfo(cand);
    let score = editDistance(id, cand, Infinity);
    if (info.family !== want.family) score += 100;
    if (want.tools && !info.tools) score += 50;
    if (score < bestScore) {
      bestScore = score;
      best = cand;
    }
  }
  return best;
}


/** The bearer secret of a credential, when it is a static one (for token checks; never printed). */
export function staticToken(auth: UpstreamAuth): string | undefined {
  const a = auth as { type: string; token?: unknown };
  return typeof a.token === 'string' ? a.token : undefined;
}
