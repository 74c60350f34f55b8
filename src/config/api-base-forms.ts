// Which Cortex endpoint a deployment names by how it is written, as LiteLLM users write it:
//   - model: snowflake/<id> with api_base …/api/v2/cortex/inference:complete (LiteLLM's Snowflake page,
//     https://docs.litellm.ai/docs/providers/snowflake) → inference:complete; …/cortex/v1/chat/completions →
//     /v1/chat/completions; …/cortex/v1/messages → /v1/messages; …/cortex/v1/responses → /v1/responses (any wire's
//     path: cortex/wires.ts endpointEndings, read in config/account.ts); …/api/v2 or …/cortex/v1 → cortex_api auto.
//   - model: openai/<id> with api_base …/api/v2/cortex/v1 (LiteLLM's OpenAI-compatible route, which appends
//     /chat/completions) → /v1/chat/completions; model: anthropic/<id> with api_base …/api/v2/cortex (LiteLLM's
//     Anthropic route appends /v1/messages) or …/cortex/v1 → /v1/messages
//     (https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api).
// litellm_params.cortex_api, when given, still decides.
import type { Deployment, WireName } from './types.js';
import type { RoutingReader } from './routing.js';
import { deploymentInfo } from '../cortex/models.js';
import { isPattern } from '../cortex/wildcards.js';
import { WIRES, endpointEndings, endpointOf } from '../cortex/wires.js';

export const PROVIDER_WIRES: Record<string, WireName | undefined> = { openai: 'openai', anthropic: 'anthropic' };

export const PROVIDER_HINT =
  'point it at Cortex: api_base: https://<account>.snowflakecomputing.com/api/v2/cortex/v1 (or write model: snowflake/<cortex model>)';

// A Cortex v1 URL: the account's …/api/v2/cortex[/v1[/<a v1 wire's endpoint>]], or the AI Gateway endpoint (cortex/gateway.ts:
// LiteLLM's openai/ route takes <gateway>/v1, its anthropic/ route <gateway>) with /v1 or a wire's gateway path.
const V1_ACCOUNT = new RegExp(`/api/v2(?:/cortex|/cortex/v1|${endpointEndings('account', (p) => p.startsWith('/cortex/v1/')).pattern})$`);
const V1_GATEWAY = new RegExp(`/api/v2/aigateways/[A-Za-z_][A-Za-z0-9_$]*(?:/v1|${endpointEndings('gateway').pattern})?$`, 'i');

/** An openai/ or anthropic/ deployment must name Cortex, never the provider's own API. */
export function checkProviderBase(ctx: RoutingReader, model: string, wire: WireName, rawBase: string, node: unknown): void {
  let path = '';
  try {
    path = new URL(rawBase.trim()).pathname.replace(/\/+$/, '');
  } catch {
    return; // normaliseApiBase has refused it already
  }
  if (!V1_ACCOUNT.test(path) && !V1_GATEWAY.test(path))
    ctx.fail(node, `${model.slice(0, model.indexOf('/'))}/ models are served only through Cortex's ${endpointOf(WIRES[wire])} endpoint, and this api_base is not a Cortex v1 URL`, PROVIDER_HINT);
}

/** The wire an api_base or provider prefix names, checked against the models it serves (cortex/wires.ts: /v1/messages serves Claude only). */
export function endpointWire(ctx: RoutingReader, wire: WireName, d: Deployment, node: unknown, name: string): WireName {
  const serves = WIRES[wire].serves;
  if (serves && !isPattern(d.cortexModel) && !serves.test(deploymentInfo(d)))
    ctx.fail(node, `${name}: Cortex's ${endpointOf(WIRES[wire])} serves ${serves.label} only, and '${d.cortexModel}' is not one`, 'use model: openai/<id> with api_base …/api/v2/cortex/v1, or snowflake/<id>');
  return wire;
}
