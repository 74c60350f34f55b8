// Model name → the deployments to try, in order, and the wire each one uses.
//   - Several deployments of one model_name are used in turn (round robin); one that failed recently (within the
//     cooldown) is tried only after its healthy siblings.
//   - LiteLLM `fallbacks` ({"model-a": ["model-b", …]}) append model-b's deployments (then the next fallback's)
//     after model-a's: server/proxy.ts walks the list until one answers, as long as nothing was sent yet.
//   - A name is found the LiteLLM way (cortex/wildcards.ts): router_settings.model_group_alias first, then an exact
//     model_name, then a deployment's own litellm_params.model (`snowflake/<id>`), then wildcard model_names, most
//     specific first; a wildcard match becomes a concrete deployment (its `*` filled in), kept for later requests.
//     Last, the built-in aliases of config/model-names.ts: `cortex-<id>`, Claude Code's dated ids, and a Cortex id
//     that exactly one model_name serves.
//   - cortex_api auto asks the wires' auto rules (cortex/wires.ts): /v1/messages for Claude, /v1/chat/completions for
//     the rest, with the exceptions the rules name; the router remembers which wires each account (api_base) answered
//     403/404 on, for the rest of the process's life, and auto uses the wire those fall back to there (whenRefused).
import type { Deployment, Routing, WireName } from '../config/types.js';
import type { ChatRequest } from '../core/types.js';
import { ProxyError } from '../core/errors.js';
import { deploymentInfo, knownModelIds } from './models.js';
import { aliasCandidates } from '../config/model-names.js';
import { DeploymentLimits } from './deployment-limits.js';
import { isGatewayRefusal } from './gateway.js';
import { autoWire, gatewayWire } from './wires.js';
import type { AutoState } from './wire.js';
import { bySpecificity, compilePattern, fillTemplate, isPattern, matchPattern, type NamePattern } from './wildcards.js';

let known: Set<string> | undefined;
/**
 * A wildcard's filled-in id, or the Cortex id it stands for when the catalogue knows that one and not the id itself
 * (config/model-names.ts): Claude Code's `claude-sonnet-4-5-20250929` through `"*"` reaches `claude-sonnet-4-5`.
 */
function catalogueId(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  known ??= new Set(knownModelIds());
  if (known.has(id)) return id;
  return aliasCandidates(id).find((c) => known!.has(c)) ?? id;
}

/** Concrete deployments made from wildcard matches kept at most (a client inventing names cannot grow memory). */
const MAX_CONCRETE = 1024;

/** Cooldown when the config sets none. */
export const DEFAULT_COOLDOWN_MS = 30_000;

export interface Candidate {
  deployment: Deployment;
  /** The model name this candidate serves: the requested one, or a fallback's. */
  modelName: string;
  /** True for a fallback model's deployment (not the requested model_name's). */
  fallback: boolean;
}

export class Router {
  private readonly byName = new Map<string, Deployment[]>();
  private names: readonly string[] | undefined;
  /** litellm_params.model (snowflake/<id>) → its deployments: LiteLLM serves that name too. */
  private readonly byModel = new Map<string, Deployment[]>();
  /** Wildcard model_names, most specific first, each with its deployments. */
  private readonly patterns: Array<{ pattern: NamePattern; deployments: Deployment[] }> = [];
  /** Requested name → the concrete deployments a wildcard made for it (bounded, oldest dropped first). */
  private readonly concrete = new Map<string, Deployment[]>();
  private readonly aliases: Record<string, { model: string; hidden: boolean }>;
  private readonly turn = new Map<string, number>();
  private readonly fallbacks: Record<string, string[]>;
  private readonly cooldownMs: number;
  /** Deployment → when it last failed (ms since epoch); cleared when it answers. */
  private readonly failedAt = new Map<Deployment, number>();
  /** api_base → the wires its account answered 403/404 on: cortex_api auto keeps off them there (cortex/wires.ts keptOff). */
  private readonly refused = new Map<string, Set<WireName>>();
  /** rpm / tpm of the deployments (cortex/deployment-limits.ts). */
  readonly limits: DeploymentLimits;

  constructor(
    deployments: Deployment[],
    routing: Partial<Routing> = {},
    private readonly now: () => number = Date.now,
  ) {
    for (const d of deployments) {
      if (isPattern(d.modelName)) {
        const group = this.patterns.find((g) => g.pattern.source === d.modelName);
        if (group) group.deployments.push(d);
        else this.patterns.push({ pattern: compilePattern(d.modelName), deployments: [d] });
        continue;
      }
      const list = this.byName.get(d.modelName);
      if (list) list.push(d);
      else this.byName.set(d.modelName, [d]);
      const key = `snowflake/${d.cortexModel}`;
      if (!this.byModel.has(key)) this.byModel.set(key, []);
      this.byModel.get(key)!.push(d);
    }
    this.patterns.sort((a, b) => bySpecificity(a.pattern, b.pattern));
    this.aliases = routing.aliases ?? {};
    this.fallbacks = routing.fallbacks ?? {};
    this.cooldownMs = routing.cooldownMs ?? DEFAULT_COOLDOWN_MS;
    this.limits = new DeploymentLimits(now);
  }

  /** The configured names: exact model_names, then wildcard patterns as written. */
  get modelNames(): readonly string[] {
    // Fixed once built; computed once (the upstream client takes it on every call, for a not-found message).
    return (this.names ??= [...this.byName.keys(), ...this.patterns.map((g) => g.pattern.source)]);
  }

  /** Whether a request for this name would find a deployment (aliases, exact names, litellm_params.model, wildcards). */
  serves(model: string): boolean {
    return this.lookup(model) !== undefined;
  }

  /**
   * The deployments serving a requested name and the key their round robin and fallbacks are kept under, or
   * undefined for an unknown name (LiteLLM's order: alias, model_name, litellm_params.model, wildcard).
   */
  private lookup(requested: string): { key: string; list: Deployment[]; group?: string } | undefined {
    const model = this.aliases[requested]?.model ?? requested;
    const exact = this.byName.get(model);
    if (exact) return { key: model, list: exact };
    const own = this.byModel.get(model);
    if (own) return { key: model, list: own };
    const made = this.concrete.get(model);
    if (made) return { key: model, list: made, group: made[0]?.pattern };
    for (const g of this.patterns) {
      const caps = matchPattern(g.pattern, model);
      if (!caps) continue;
      const list: Deployment[] = [];
      for (const d of g.deployments) {
        const id = catalogueId(fillTemplate(d.cortexModel, caps));
        if (id !== undefined) list.push({ ...d, modelName: model, cortexModel: id, pattern: d.modelName });
      }
      if (list.length === 0) continue; // the match is no Cortex id (e.g. a path): a less specific pattern may do
      if (this.concrete.size >= MAX_CONCRETE) this.concrete.delete(this.concrete.keys().next().value!);
      this.concrete.set(model, list);
      return { key: model, list, group: g.pattern.source };
    }
    return this.builtInAlias(model);
  }

  /** The one naming rule's aliases (config/model-names.ts), after everything the config says found nothing. */
  private builtInAlias(model: string): { key: string; list: Deployment[] } | undefined {
    for (const id of [model, ...aliasCandidates(model)]) {
      for (const name of id === model ? [`cortex-${id}`] : [id, `cortex-${id}`]) {
        const list = this.byName.get(name);
        if (list) return { key: name, list };
      }
      const own = this.byModel.get(`snowflake/${id}`);
      if (own && new Set(own.map((d) => d.modelName)).size === 1) return { key: own[0].modelName, list: this.byName.get(own[0].modelName) ?? own };
    }
    return undefined;
  }

  private unknown(model: string): ProxyError {
    return new ProxyError(
      'not_found',
      `model '${model.length > 100 ? model.slice(0, 100) + '…' : model}' is not configured in cortex-proxy. Configured models: ${this.modelNames.join(', ')}. ` +
        'Add it to model_list in the config (model_name: <name>, litellm_params.model: snowflake/<cortex model>).',
      { code: 'model_not_found', param: 'model' },
    );
  }

  /** The configured name a requested name reaches (itself, an alias's target, a built-in alias's model_name). */
  nameOf(model: string): string | undefined {
    return this.lookup(model)?.key;
  }

  /** The deployments a name reaches now (no round-robin turn taken), or undefined when none does. */
  peek(model: string): Deployment[] | undefined {
    return this.lookup(model)?.list;
  }

  /** router_settings.model_group_alias, as configured. */
  get aliasTable(): Readonly<Record<string, { model: string; hidden: boolean }>> {
    return this.aliases;
  }

  /** The next deployment of a model name (round robin), ignoring health. Throws not_found for an unknown name. */
  resolve(model: string): Deployment {
    const found = this.lookup(model);
    if (!found) throw this.unknown(model);
    const { key, list } = found;
    if (list.length === 1) return list[0];
    const i = (this.turn.get(key) ?? 0) % list.length;
    this.turn.set(key, (i + 1) % list.length);
    return list[i];
  }

  /**
   * Everything to try for one request, in order: the model's deployments (round robin, recently failed ones last),
   * then each configured fallback model's deployments the same way. Throws not_found for an unknown name.
   */
  candidates(model: string): Candidate[] {
    const found = this.lookup(model);
    if (!found) throw this.unknown(model);
    const out: Candidate[] = [];
    for (const d of this.ordered(found.key, found.list)) out.push({ deployment: d, modelName: model, fallback: false });
    const next = this.fallbacks[model] ?? this.fallbacks[found.key] ?? (found.group ? this.fallbacks[found.group] : undefined) ?? [];
    for (const name of next) {
      const f = name === model ? undefined : this.lookup(name);
      if (!f) continue;
      for (const d of this.ordered(f.key, f.list)) if (!out.some((c) => c.deployment === d)) out.push({ deployment: d, modelName: name, fallback: true });
    }
    return out;
  }

  private ordered(key: string, list: Deployment[]): Deployment[] {
    if (list.length === 1) return list;
    const start = (this.turn.get(key) ?? 0) % list.length;
    this.turn.set(key, (start + 1) % list.length);
    const rotated = [...list.slice(start), ...list.slice(0, start)];
    const cooling = (d: Deployment) => this.isCooling(d);
    return [...rotated.filter((d) => !cooling(d)), ...rotated.filter(cooling)];
  }

  private isCooling(d: Deployment): boolean {
    const t = this.failedAt.get(d);
    if (t === undefined) return false;
    if (this.now() - t < this.cooldownMs) return true;
    this.failedAt.delete(d);
    return false;
  }

  /** The deployment failed before any output: its siblings go first for the cooldown. */
  markFailed(d: Deployment): void {
    this.failedAt.set(d, this.now());
  }

  /** The deployment answered. */
  markOk(d: Deployment): void {
    if (this.failedAt.size > 0) this.failedAt.delete(d);
  }

  /**
   * The wire this deployment uses now: the AI Gateway's (cortex/wires.ts gatewayWire), its cortex_api, or for auto the
   * first wire whose auto rule takes this request (cortex/wires.ts autoWire: the rules live in the wires' files).
   */
  wireFor(d: Deployment, req?: AutoState['req']): WireName {
    if (d.gateway) return gatewayWire(d); // the AI Gateway's paths by family, never a fallback around it
    if (d.wire !== 'auto') return d.wire;
    return autoWire({ info: deploymentInfo(d), req }, this.refused.get(d.apiBase));
  }

  /** The account behind api_base answered 403/404 on this wire: auto deployments there use its whenRefused from now on. */
  rememberRefused(apiBase: string, wire: WireName): void {
    const set = this.refused.get(apiBase);
    if (set) set.add(wire);
    else this.refused.set(apiBase, new Set([wire]));
  }

  /** Undo rememberRefused (the wire it fell back to was refused the same way: the answer said nothing about the endpoint). */
  forgetRefused(apiBase: string, wire: WireName): void {
    this.refused.get(apiBase)?.delete(wire);
  }
}

/**
 * Whether an error before any output should move on to the next candidate. Everything that another deployment or
 * model could answer differently does: rate limits (after the client's retries), Snowflake failures and timeouts,
 * credential/permission/endpoint problems of that account, a model unknown to or unavailable in its region.
 * Client errors (a malformed request, too large, an impossible schema) would fail the same way everywhere.
 */
export function shouldFallback(err: ProxyError): boolean {
  if (isGatewayRefusal(err)) return false; // the AI Gateway's budget, quota or allowlist said no: no way around it
  switch (err.kind) {
    case 'rate_limit':
    case 'upstream':
    case 'unavailable':
    case 'timeout':
    case 'auth':
    case 'permission':
    case 'not_found':
    case 'budget':
      return err.message !== 'client disconnected';
    case 'invalid_request':
      return isModelUnavailable(err);
    default:
      return false;
  }
}

/** Snowflake's "unavailable in your region" or "unknown model" (the REST catalogue of this account lacks it). */
export function isModelUnavailable(err: ProxyError): boolean {
  return err.code === '300014' || /not available in your Snowflake account's region|does not know this model id/.test(err.message);
}
