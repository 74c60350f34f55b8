// The registry of upstream wires: one line per wire. Config validation (cortex_api), the router's auto choice, the
// AI Gateway's choice, doctor's probes, the request log and the test harness read the wires here, so a new wire is
// one file (cortex/<wire>.ts: the codec and what cortex/wire.ts asks it to declare) plus one line below.
import type { CortexApi, Deployment, WireName } from '../config/types.js';
import type { ProxyError } from '../core/errors.js';
import type { AutoState, Wire } from './wire.js';
import { deploymentInfo } from './models.js';
import { completeWire } from './complete.js';
import { openaiWire } from './openai-wire.js';
import { anthropicWire } from './anthropic-wire.js';
import { responsesWire } from './responses-wire.js';

/**
 * Every wire, by name. The order is the order of the `auto` rules (the first wire whose rule holds takes the
 * request), of doctor's probes and of the cortex_api values an error lists.
 */
export const WIRES: Record<WireName, Wire> = { complete: completeWire, openai: openaiWire, anthropic: anthropicWire, responses: responsesWire };

/** The wire names, in registry order. */
export const WIRE_NAMES = Object.keys(WIRES) as WireName[];

/** litellm_params.cortex_api's values: `auto`, then every wire's name. */
export const CORTEX_API_VALUES: readonly CortexApi[] = ['auto', ...WIRE_NAMES];

export function isWireName(v: string): v is WireName {
  return Object.hasOwn(WIRES, v);
}

/** The endpoint a wire calls, as logs and errors name it (/v1/messages, /inference:complete). */
export function endpointOf(w: Wire): string {
  return w.path.replace(/^\/cortex(?=\/)/, '');
}

/**
 * The endings of an api_base that name a wire, as a regular-expression alternation, and the wire each names:
 * every wire's account path under …/api/v2 (/cortex/inference:complete, /cortex/v1/responses), or its AI Gateway path
 * under …/aigateways/<name> (/v1/messages). config/account.ts, config/api-base-forms.ts and cortex/gateway.ts read
 * api_bases with them, so a new wire's endpoint is an api_base form without an edit there.
 */
export function endpointEndings(where: 'account' | 'gateway', only: (path: string) => boolean = () => true): { pattern: string; wireAt(path: string): WireName | undefined } {
  const byPath = new Map<string, WireName>();
  for (const w of Object.values(WIRES)) {
    const path = where === 'account' ? w.path : w.gatewayPath;
    if (path !== undefined && only(path)) byPath.set(path.toLowerCase(), w.name);
  }
  const pattern = [...byPath.keys()].map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return { pattern, wireAt: (path) => byPath.get(path.toLowerCase()) };
}

const NONE: ReadonlySet<WireName> = new Set();

/**
 * The wire `cortex_api: auto` picks: the first whose rule holds, in registry order, else the 'otherwise' wire; then,
 * on an account that refused it (`refused`: the wires it answered 403/404 on, router.rememberRefused), the wire it
 * falls back to (whenRefused), as often as that is refused too.
 */
export function autoWire(s: AutoState, refused: ReadonlySet<WireName> = NONE): WireName {
  let w = ruleWire(s);
  for (let next = WIRES[w].whenRefused; next !== undefined && keptOff(w, refused); next = WIRES[w].whenRefused) w = next;
  return w;
}

function ruleWire(s: AutoState): WireName {
  let otherwise: WireName | undefined;
  for (const w of Object.values(WIRES)) {
    if (w.auto === 'otherwise') otherwise ??= w.name;
    else if (w.auto(s)) return w.name;
  }
  if (!otherwise) throw new Error('cortex/wires.ts: no wire says auto: otherwise');
  return otherwise;
}

/**
 * Whether cortex_api auto keeps off a wire on an account that refused the `refused` wires: the wire was refused; or it
 * falls back to the same wire as a refused one (one entitlement: a 403 on /v1/messages sends the account's
 * /v1/chat/completions requests to inference:complete too); or the wire it falls back to is kept off (where
 * /v1/chat/completions is refused, /v1/responses is not tried).
 */
function keptOff(w: WireName, refused: ReadonlySet<WireName>): boolean {
  if (refused.has(w)) return true;
  const next = WIRES[w].whenRefused;
  if (next === undefined || refused.size === 0) return false;
  for (const r of refused) if (WIRES[r].whenRefused === next) return true;
  return keptOff(next, refused);
}

/**
 * Whether a failed call says the account does not serve the wire's endpoint, for cortex_api auto to remember: a 403
 * or 404 to an auto deployment on the account's own paths (the AI Gateway's answers are the gateway's, not the
 * endpoint's). server/proxy.ts then tries the wire's whenRefused, or forgets the refusal that led to a wire without one.
 */
export function isEndpointRefusal(d: Deployment, err: ProxyError): boolean {
  return d.wire === 'auto' && !d.gateway && (err.status === 403 || err.status === 404);
}

/** The state of a deployment with no request (doctor, the AI Gateway). */
export function plainState(d: Deployment): AutoState {
  return { info: deploymentInfo(d) };
}

/**
 * The wire an AI Gateway deployment uses: its cortex_api when that wire serves the model through the gateway (or has
 * no gateway path: inference:complete goes to the account), else what auto picks without a request (Claude →
 * /v1/messages, other models → /v1/chat/completions). Never a fallback around the gateway.
 */
export function gatewayWire(d: Deployment): WireName {
  const s = plainState(d);
  if (d.wire !== 'auto') {
    const w = WIRES[d.wire];
    if (!w.gatewayPath || !w.gatewayServes || w.gatewayServes.test(s.info)) return d.wire;
  }
  return autoWire(s);
}

/**
 * The wires a deployment may use, in registry order (doctor probes each): the AI Gateway's one wire, its cortex_api,
 * or for auto the wire a plain request gets and the ones it falls back to on an account that refuses them.
 */
export function wiresFor(d: Deployment): WireName[] {
  if (d.gateway) return [gatewayWire(d)];
  if (d.wire !== 'auto') return [d.wire];
  const picked = new Set<WireName>();
  for (let w: WireName | undefined = autoWire(plainState(d)); w !== undefined && !picked.has(w); w = WIRES[w].whenRefused) picked.add(w);
  return WIRE_NAMES.filter((n) => picked.has(n));
}
