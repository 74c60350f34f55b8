// Routing keys of a LiteLLM-style config: `fallbacks` (under router_settings or litellm_settings, LiteLLM's form
// `[{"model-a": ["model-b", …]}]`) and router_settings.cooldown_time. Called from config/load.ts with its file
// context, so every problem names its line; fallback names are checked against model_list once it is read.
//
//   router_settings:
//     fallbacks:
//       - claude-sonnet-4-5: [claude-4-sonnet, openai-gpt-4.1]    # tried in this order, before any output was sent
//     cooldown_time: 30                                # s a failed deployment waits behind its siblings
import { isMap, isScalar, isSeq } from 'yaml';
import type { Deployment, Routing } from './types.js';
import { DEFAULT_COOLDOWN_MS } from '../cortex/router.js';
import { isPattern } from '../cortex/wildcards.js';
import { parseModelGroupAlias, servedBy, type PendingAlias } from './litellm-routing.js';

import type { Entry, RoutingReader } from './reader.js';
export type { Entry, RoutingReader };

/** A fallback list as written, with its YAML nodes for line-numbered errors after model_list is known. */
export interface FallbackRule {
  from: string;
  fromNode: unknown;
  to: Array<{ name: string; node: unknown }>;
  where: string;
}

export interface PendingRouting {
  rules: FallbackRule[];
  cooldownMs?: number;
  aliases?: PendingAlias[];
  /** router_settings.timeout / stream_timeout (ms) and num_retries: defaults for every deployment. */
  timeoutMs?: number;
  streamTimeoutMs?: number;
  numRetries?: number;
}

export const ROUTER_KEYS = ['fallbacks', 'cooldown_time', 'model_group_alias', 'timeout', 'stream_timeout', 'num_retries'];
/** LiteLLM router_settings keys cortex-proxy does not implement (warned about, not errors). */
const ROUTER_LITELLM = new Set([
  'routing_strategy', 'routing_strategy_args', 'allowed_fails',
  'allowed_fails_policy', 'retry_policy', 'retry_after', 'default_fallbacks', 'context_window_fallbacks',
  'content_policy_fallbacks', 'enable_pre_call_checks', 'redis_host', 'redis_port',
  'redis_password', 'redis_url', 'cache_responses', 'enable_tag_filtering', 'provider_budget_config',
  'model_group_retry_policy', 'disable_cooldowns', 'optional_pre_call_checks', 'max_fallbacks',
]);

const FALLBACK_HINT = 'write it the LiteLLM way:\n    fallbacks:\n      - claude-sonnet-4-5: [claude-4-sonnet, openai-gpt-4.1]';

const isEmpty = (n: unknown) => n === null || n === undefined || (isScalar(n) && n.value === null);

/** `fallbacks:` — a list of one-key mappings (or one mapping) from a model_name to the model_names to try next. */
export function parseFallbacks(ctx: RoutingReader, e: Entry, name: string, out: PendingRouting): void {
  const node = ctx.deref(e.value);
  if (isEmpty(node)) return;
  const maps: unknown[] = isSeq(node) ? node.items.map((n) => ctx.deref(n)) : isMap(node) ? [node] : [];
  if (maps.length === 0) ctx.fail(node, `${name} must be a list of "model: [fallback models]" mappings`, FALLBACK_HINT);
  maps.forEach((m, i) => {
    const where = isSeq(node) ? `${name}[${i}]` : name;
    if (!isMap(m)) ctx.fail(m, `${where} must be a mapping "model: [fallback models]"`, FALLBACK_HINT);
    for (const f of ctx.entries(m, where)) {
      const from = f.key.trim();
      const v = ctx.deref(f.value);
      const items: unknown[] = isSeq(v) ? v.items : isEmpty(v) ? [] : [v];
      const to: FallbackRule['to'] = [];
      items.forEach((item, j) => {
        const s = ctx.string({ key: from, keyNode: item, value: ctx.deref(item) }, `${where}.${from}[${j}]`, 'openai-gpt-4.1');
        if (s) to.push({ name: s, node: item });
      });
      if (to.length === 0) ctx.fail(f.keyNode, `${where}.${from} lists no fallback models`, FALLBACK_HINT);
      out.rules.push({ from, fromNode: f.keyNode, to, where: `${where}.${from}` });
    }
  });
}

/** `router_settings:` — fallbacks and cooldown_time; LiteLLM's other router keys are warnings. */
export function parseRouterSettings(ctx: RoutingReader, e: Entry, out: PendingRouting): void {
  if (isEmpty(ctx.deref(e.value))) return;
  for (const f of ctx.entries(e.value, 'router_settings')) {
    const name = `router_settings.${f.key}`;
    switch (f.key) {
      case 'fallbacks':
        parseFallbacks(ctx, f, name, out);
        break;
      case 'cooldown_time': {
        const s = ctx.number(f, name, (n) => n >= 0 && n <= 86_400, 'a number of seconds from 0 to 86400', '30');
        if (s !== undefined) out.cooldownMs = Math.round(s * 1000);
        break;
      }
      case 'timeout':
      case 'stream_timeout': {
        const s = ctx.number(f, name, (n) => n > 0 && n <= 2_147_483, 'a positive number of seconds', '30');
        if (s !== undefined) out[f.key === 'timeout' ? 'timeoutMs' : 'streamTimeoutMs'] = Math.max(1, Math.round(s * 1000));
        break;
      }
      case 'num_retries':
        out.numRetries = ctx.number(f, name, (n) => Number.isInteger(n) && n >= 0 && n <= 10, 'an integer from 0 to 10', '2');
        break;
      case 'model_group_alias':
        parseModelGroupAlias(ctx, f, name, (out.aliases ??= []));
        break;
      default:
        ctx.unknown(f, 'router_settings', ROUTER_KEYS, ROUTER_LITELLM);
    }
  }
}

/** Checks every name against model_list and builds Config.routing (later rules for the same model add to it). */
export function finishRouting(ctx: RoutingReader, pending: PendingRouting, deployments: readonly Deployment[]): Routing | undefined {
  if (pending.rules.length === 0 && pending.cooldownMs === undefined && !pending.aliases?.length) return undefined;
  const names = [...new Set(deployments.map((d) => d.modelName))];
  const known = names.join(', ');
  const aliases: NonNullable<Routing['aliases']> = {};
  for (const a of pending.aliases ?? []) {
    if (!servedBy(deployments, a.model))
      ctx.fail(a.modelNode, `router_settings.model_group_alias.${a.name}: '${a.model}' is not a model_name in model_list`, `an alias points at a configured model: ${known}`);
    if (names.includes(a.name) && !isPattern(a.name))
      ctx.warn(a.nameNode, `router_settings.model_group_alias.${a.name}{at} has the name of a model_list entry; the alias wins (as in LiteLLM)`);
    aliases[a.name] = { model: a.model, hidden: a.hidden };
  }
  const serves = (n: string) => n in aliases || servedBy(deployments, n) || names.includes(n);
  const fallbacks: Record<string, string[]> = {};
  for (const r of pending.rules) {
    if (!serves(r.from))
      ctx.fail(r.fromNode, `${r.where}: '${r.from}' is not a model_name in model_list`, `fallbacks name configured models: ${known}`);
    const list = (fallbacks[r.from] ??= []);
    for (const t of r.to) {
      if (!serves(t.name))
        ctx.fail(t.node, `${r.where}: fallback '${t.name}' is not a model_name in model_list`, `fallbacks name configured models: ${known}`);
      if (t.name === r.from) {
        ctx.warn(t.node, `${r.where}{at} lists '${t.name}' as its own fallback — ignored`);
        continue;
      }
      if (!list.includes(t.name)) list.push(t.name);
    }
  }
  const routing: Routing = { fallbacks, cooldownMs: pending.cooldownMs ?? DEFAULT_COOLDOWN_MS };
  if (pending.aliases?.length) routing.aliases = aliases;
  return routing;
}
