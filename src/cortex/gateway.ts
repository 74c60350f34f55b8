// The Snowflake Cortex AI Gateway as upstream (docs/ai-gateway.md). Facts, from
// https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-ai-gateway/inference [I] unless marked:
//   - the endpoint is https://<account-host>/api/v2/aigateways/SNOWFLAKE; accounts with private connectivity reach it
//     on another host, which SHOW AI GATEWAYS returns [I];
//   - append /v1/chat/completions or /v1/messages [I]; Claude answers only on /v1/messages and gets a 503 on
//     /chat/completions (snowflake-cli docs/ai-gateway.md, "Model identifiers");
//   - only traffic through the gateway gets its access control, traces and cost attribution; /api/v2/cortex skips
//     them [I] — so a governance refusal from the gateway is never answered by trying the account path instead;
//   - auth: Authorization: Bearer <PAT or OAuth token> [I]; key pair is not supported (snowflake-cli
//     docs/ai-gateway.md, "Known limitations");
//   - no model list on the gateway (snowflake-cli: "No model discovery"); inference:complete and embeddings are not
//     documented there, so they stay on the account's /api/v2/cortex (and model discovery uses its /models).
// A gateway deployment keeps `apiBase` = the account's …/api/v2 (complete, embed, models, doctor) and gets `gateway`
// = the gateway endpoint; only the v1 chat wires are sent there (gatewayTarget).
import type { Config, Deployment, WireName } from '../config/types.js';
import { ProxyError } from '../core/errors.js';
import { WIRES, endpointEndings, endpointOf, gatewayWire } from './wires.js';
import { scrubSnowflakeText } from './snowflake-errors.js';
import { AccountError, normaliseApiBase } from '../config/account.js';

/** The one gateway object of every account [G]. */
export const GATEWAY_NAME = 'SNOWFLAKE';
/** The gateway endpoint, alone or with /v1 or a wire's gateway path (cortex/wires.ts), as SHOW AI GATEWAYS and curl examples give it. */
const GATEWAY_PATH = new RegExp(`^(.*/api/v2)/aigateways/([A-Za-z_][A-Za-z0-9_$]{0,254})(?:/v1|${endpointEndings('gateway').pattern})?$`, 'i');

/**
 * A normalised api_base (config/account.ts normaliseApiBase: origin + path, no trailing slash) that is a gateway
 * endpoint, split into the account base and the gateway base; undefined for any other api_base. Accepts the endpoint
 * as SHOW AI GATEWAYS returns it on any host (private connectivity), with or without /v1 or a wire's path (/v1/messages).
 */
export function splitGatewayBase(normalised: string): { apiBase: string; gateway: string } | undefined {
  let u: URL;
  try {
    u = new URL(normalised);
  } catch {
    return undefined;
  }
  const m = GATEWAY_PATH.exec(u.pathname.replace(/\/+$/, ''));
  if (!m) return undefined;
  const origin = `${u.protocol}//${u.host}`;
  return { apiBase: origin + m[1], gateway: `${origin}${m[1]}/aigateways/${m[2]}` };
}

/** The gateway endpoint of an account base (…/api/v2), for cortex_gateway: true and SNOWFLAKE_AI_GATEWAY=1. */
export function gatewayOf(apiBase: string): string {
  return `${apiBase.replace(/\/+$/, '')}/aigateways/${GATEWAY_NAME}`;
}

/** Deployments whose gateway was decided by their own litellm_params (general_settings.cortex_gateway leaves them alone). */
export const gatewayChosen = new WeakSet<Deployment>();

/**
 * Zero-config mode: SNOWFLAKE_AI_GATEWAY=1|true|yes|on → the account's gateway; 0|false|no|off or unset → none; the
 * gateway endpoint itself (as SHOW AI GATEWAYS returns it) → that endpoint. SNOWFLAKE_ACCOUNT may also be the endpoint.
 */
export function envGateway(env: NodeJS.ProcessEnv, apiBase: string): { apiBase: string; gateway?: string } {
  const own = splitGatewayBase(apiBase);
  const raw = env.SNOWFLAKE_AI_GATEWAY?.trim();
  if (raw === undefined || raw === '') return own ?? { apiBase };
  const v = raw.toLowerCase();
  if (['0', 'false', 'no', 'off'].includes(v)) {
    if (own) throw new AccountError('SNOWFLAKE_AI_GATEWAY is off but SNOWFLAKE_ACCOUNT is the Cortex AI Gateway endpoint', 'unset SNOWFLAKE_AI_GATEWAY, or set SNOWFLAKE_ACCOUNT to the account identifier');
    return { apiBase };
  }
  if (['1', 'true', 'yes', 'on'].includes(v)) return own ?? { apiBase, gateway: gatewayOf(apiBase) };
  let url: string | undefined;
  try {
    url = /^https?:\/\//i.test(raw) ? normaliseApiBase(raw).url : undefined;
  } catch {
    url = undefined;
  }
  const gw = url ? splitGatewayBase(url) : undefined;
  if (!gw)
    throw new AccountError(
      'SNOWFLAKE_AI_GATEWAY must be 1, 0, or the gateway endpoint (https://<host>/api/v2/aigateways/SNOWFLAKE)',
      'set SNOWFLAKE_AI_GATEWAY=1 to use the account\'s gateway, or paste the endpoint SHOW AI GATEWAYS returns',
    );
  return gw;
}

/** normaliseApiBase's "path does not end in /api/v2" remark is wrong for a gateway endpoint. */
export function isPathWarning(w: string): boolean {
  return /^api_base path '/.test(w);
}

/** Why this credential cannot be used with the gateway, or undefined. */
export function gatewayAuthProblem(auth: Deployment['auth']): string | undefined {
  if (auth.type === 'keypair' || auth.type === 'jwt')
    return 'the Cortex AI Gateway does not take key-pair JWTs yet (Snowflake documents PAT and OAuth bearer tokens)';
  return undefined;
}

export const GATEWAY_AUTH_HINT =
  'use a PAT (api_key: os.environ/SNOWFLAKE_PAT) or an OAuth token for this model, or remove cortex_gateway / the gateway api_base to call the account\'s /api/v2/cortex with the key pair';

const targets = new WeakMap<Deployment, Deployment>();
/** Deployments whose apiBase is their gateway (the copies gatewayTarget hands to the upstream client). */
const viaGateway = new WeakSet<Deployment>();

/**
 * Where one encoded call goes: the path of a wire with a gateway path (cortex/wires.ts) of a gateway deployment → the
 * gateway's path; everything else (inference:complete, inference:embed, models) → the account's api_base unchanged.
 */
export function gatewayTarget(d: Deployment, path: string): { deployment: Deployment; path: string } {
  const gatewayPath = d.gateway ? Object.values(WIRES).find((w) => w.path === path)?.gatewayPath : undefined;
  if (!d.gateway || !gatewayPath) return { deployment: d, path };
  let t = targets.get(d);
  if (!t) {
    t = { ...d, apiBase: d.gateway };
    targets.set(d, t);
    viaGateway.add(t);
  }
  return { deployment: t, path: gatewayPath };
}

/** This call goes to the gateway (a deployment from gatewayTarget). */
export function isGatewayCall(d: Deployment): boolean {
  return viaGateway.has(d);
}

/** Codes of gateway refusals: never retried, never answered by a fallback (router.shouldFallback). */
export const GATEWAY_REFUSAL_CODES = ['gateway_budget', 'gateway_quota', 'gateway_model_not_allowed', 'gateway_forbidden'] as const;

export function isGatewayRefusal(err: ProxyError): boolean {
  return err.code !== undefined && (GATEWAY_REFUSAL_CODES as readonly string[]).includes(err.code);
}

function bodyMessage(text: string): string {
  let msg = text;
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const e = j?.error;
    const inner = e && typeof e === 'object' ? (e as Record<string, unknown>).message : e;
    msg = [j?.message, inner, j?.detail].find((v) => typeof v === 'string' && v.trim() !== '') as string | undefined ?? text;
  } catch {
    /* not JSON: the text itself */
  }
  return scrubSnowflakeText(msg.replace(/\s+/g, ' ').trim()).slice(0, 300);
}

/**
 * A refusal from the gateway's governance as the error the client gets, or undefined for any other failure (which
 * the ordinary Snowflake mapping already describes). The documentation does not settle status codes or bodies for
 * allowlist, budget and quota refusals (docs/ai-gateway.md), so status and body are both read, defensively:
 *   402, or a body about a budget                         → budget exhausted            (HTTP 402)
 *   429 whose body speaks of a quota / block / limit      → per-user quota reached       (HTTP 429, no Retry-After)
 *   400/403/404 whose body says the model is not allowed  → model not on the allowlist   (HTTP 403)
 *   any other 403                                         → no USAGE on the gateway / no Cortex role (HTTP 403)
 * A plain 429 ("too many requests") stays a rate limit: retried a few times like any other.
 */
export function gatewayRefusal(d: Deployment, status: number, text: string, failure: ProxyError): ProxyError | undefined {
  const said = bodyMessage(text);
  const m = said.toLowerCase();
  const quote = said ? ` Snowflake said: "${said}".` : '';
  const rid = failure.requestId;
  const model = d.cortexModel;
  const make = (kind: ProxyError['kind'], code: (typeof GATEWAY_REFUSAL_CODES)[number], msg: string) =>
    new ProxyError(kind, `${msg}${quote}${rid ? ` (Snowflake request id ${rid})` : ''}`, { code, requestId: rid });
  if (status === 402 || ((status === 403 || status === 429) && /\bbudget\b/.test(m)))
    return make('budget', 'gateway_budget', `The Cortex AI Gateway refused the request: the budget for this user or team is exhausted. Ask a Snowflake admin to raise it; cortex-proxy does not retry it or send it around the gateway.`);
  if (status === 429 && /quota|blocked|limit (?:was )?(?:reached|exceeded)|exceeded .*limit|credit/.test(m))
    return make('rate_limit', 'gateway_quota', `The Cortex AI Gateway refused the request: this user's quota is used up (it resets with the quota's cycle, or minutes after an admin raises it). SNOWFLAKE.LOCAL.MY_BUDGET_SUMMARY() shows the limit and usage.`);
  if (((status === 403 || status === 404) && /not (?:in the )?allow|allowlist|not permitted|model .*not allowed|not allowed .*model/.test(m)) || (status === 400 && /allowlist|not in the allow/.test(m)))
    return make('permission', 'gateway_model_not_allowed', `The Cortex AI Gateway does not allow the model '${model}' (the gateway's model allowlist). Ask a Snowflake admin to add it to the gateway specification, or use an allowed model.`);
  if (status === 403)
    return make('permission', 'gateway_forbidden', `The Cortex AI Gateway refused access (403): the role needs USAGE on AI GATEWAY SNOWFLAKE (GRANT USAGE ON AI GATEWAY SNOWFLAKE TO ROLE <role>) and the SNOWFLAKE.CORTEX_USER database role.`);
  return undefined;
}

/** The start-up and doctor notes: which calls go to the gateway and which to the account path. */
export function gatewayNotes(config: Config): string[] {
  const gw = config.deployments.filter((d) => d.gateway);
  if (gw.length === 0) return [];
  const notes: string[] = [];
  const bases = [...new Set(gw.map((d) => d.gateway!))];
  // Each deployment's chat goes to its wire's gateway path (cortex/wires.ts gatewayWire), or to the account for a wire
  // without one (cortex_api: complete).
  const chat: string[] = [];
  const through = new Map<string, string[]>(); // gateway path → model names
  const account = new Map<WireName, string[]>(); // wire without a gateway path → model names
  for (const d of gw) {
    const w = WIRES[gatewayWire(d)];
    if (w.gatewayPath) {
      chat.push(d.modelName);
      through.set(w.gatewayPath, [...(through.get(w.gatewayPath) ?? []), d.modelName]);
    } else account.set(w.name, [...(account.get(w.name) ?? []), d.modelName]);
  }
  const paths = [...through].map(([p, names]) => `${names.join(', ')} on ${p}`).join('; ');
  if (chat.length) notes.push(`Cortex AI Gateway ${bases.join(', ')}: chat for ${chat.join(', ')} goes through it (${paths})`);
  const direct = [...account].map(([w, names]) => `, ${endpointOf(WIRES[w]).replace(/^\//, '')} (cortex_api: ${w}: ${names.join(', ')})`).join('');
  notes.push(
    `Cortex AI Gateway: embeddings${direct} and the model list use the account's /api/v2/cortex (the gateway serves neither); those calls skip the gateway's allowlist, traces and budgets`,
  );
  return notes;
}
