// What the configured models can do, for clients that ask: GET /v1/models (OpenAI list + Anthropic fields +
// the metadata other clients read: context_length and top_provider (OpenRouter-style, read by Cline/Roo/Kilo and
// many UIs), max_input_tokens/max_output_tokens (LiteLLM), architecture, supported_parameters, capabilities) and
// GET /v1/model/info (LiteLLM's per-deployment model_info, read by Roo Code's and Cline's LiteLLM providers).
// Nothing secret: no api_base, no credential.
import type { Deployment } from '../config/types.js';
import { deploymentInfo, knownModelIds, type ModelInfo } from '../cortex/models.js';
import { isPattern, nameFor } from '../cortex/wildcards.js';
import { listModels } from '../snowflake/diagnose.js';
import { embeddingsRoute } from './embeddings.js';
import type { Route } from './route.js';
import { sendJson } from './http.js';
import type { AppContext, Exchange } from './context.js';

/** The deployments the exchange's client may see (a virtual key with a model list sees only those). */
function visible(ctx: AppContext, x: Exchange | undefined, ds: Deployment[]): Deployment[] {
  const allows = ctx.allows;
  return allows && x ? ds.filter((d) => allows(x, d.modelName)) : ds;
}

/**
 * One concrete deployment per name a client can ask for, in config order: exact model_names, then the aliases that
 * are not hidden, then for each wildcard model_name the account's models it serves (GET /api/v2/cortex/models,
 * cached), named the way the wildcard expects them (cortex/* → cortex/<id>).
 */
export async function listedDeployments(ctx: AppContext): Promise<Deployment[]> {
  const seen = new Set<string>();
  const out: Deployment[] = [];
  const add = (name: string, d: Deployment | undefined) => {
    if (!d || seen.has(name)) return;
    seen.add(name);
    out.push(d.modelName === name ? d : { ...d, modelName: name });
  };
  for (const d of ctx.config.deployments) if (!isPattern(d.modelName)) add(d.modelName, d);
  for (const [alias, a] of Object.entries(ctx.router.aliasTable)) if (!a.hidden) add(alias, ctx.router.peek(alias)?.[0]);
  const wild = ctx.config.deployments.filter((d) => isPattern(d.modelName));
  for (const w of wild) {
    if (!isPattern(w.cortexModel)) continue;
    for (const id of await accountModels(ctx, w)) {
      const name = nameFor(w.modelName, w.cortexModel, id);
      if (name !== undefined && !seen.has(name)) add(name, ctx.router.peek(name)?.[0]);
    }
  }
  return out;
}

const MODELS_TTL_MS = 10 * 60_000;
const MODELS_RETRY_MS = 60_000;
const modelCache = new WeakMap<AppContext, Map<string, { until: number; ids: Promise<string[]> }>>();

/**
 * The Cortex models the account behind a wildcard deployment offers, from GET /api/v2/cortex/models, kept 10 min.
 * When the account does not answer, the model catalogue's ids for a minute (a list is better than none here; a
 * request for a model the account lacks still gets Cortex's own answer).
 */
function accountModels(ctx: AppContext, d: Deployment): Promise<string[]> {
  let byAccount = modelCache.get(ctx);
  if (!byAccount) modelCache.set(ctx, (byAccount = new Map()));
  const key = d.apiBase;
  const hit = byAccount.get(key);
  if (hit && hit.until > Date.now()) return hit.ids;
  const entry = { until: Date.now() + MODELS_TTL_MS, ids: Promise.resolve<string[]>([]) };
  entry.ids = listModels({ apiBase: d.apiBase, auth: d.auth }, 10_000).then(
    (r) => {
      if (r.ok) return r.models;
      ctx.log.info(`GET /api/v2/cortex/models answered ${r.answer.status}: /v1/models lists the catalogue's models for ${d.modelName}`);
      entry.until = Date.now() + MODELS_RETRY_MS;
      return knownModelIds();
    },
    (err: Error) => {
      ctx.log.info(`GET /api/v2/cortex/models failed (${err.message.slice(0, 120)}): /v1/models lists the catalogue's models for ${d.modelName}`);
      entry.until = Date.now() + MODELS_RETRY_MS;
      return knownModelIds();
    },
  );
  byAccount.set(key, entry);
  return entry.ids;
}

function supportedParameters(info: ModelInfo): string[] {
  if (info.kind === 'embedding') return ['encoding_format', 'dimensions'];
  const p = ['max_tokens', 'temperature', 'top_p', 'stream'];
  if (info.tools) p.push('tools', 'tool_choice');
  if (info.structuredOutput) p.push('response_format', 'structured_outputs');
  if (info.reasoning) p.push('reasoning', 'include_reasoning', info.family === 'openai' ? 'reasoning_effort' : 'thinking');
  return p;
}

/** The metadata fields of one model entry. */
export function modelMetadata(d: Deployment): Record<string, unknown> {
  const info = deploymentInfo(d);
  const embedding = info.kind === 'embedding';
  const input = info.vision ? ['text', 'image'] : ['text'];
  const output = embedding ? ['embeddings'] : ['text'];
  const m: Record<string, unknown> = {
    cortex_model: d.cortexModel,
    mode: info.kind,
    context_length: info.contextWindow,
    max_input_tokens: info.contextWindow,
    max_output_tokens: info.maxOutputTokens,
    top_provider: { context_length: info.contextWindow, max_completion_tokens: embedding ? null : info.maxOutputTokens, is_moderated: false },
    architecture: { modality: `${input.join('+')}->${output.join('+')}`, input_modalities: input, output_modalities: output },
    supported_parameters: supportedParameters(info),
    capabilities: {
      chat: !embedding,
      embeddings: embedding,
      function_calling: info.tools,
      vision: info.vision,
      structured_output: info.structuredOutput,
      reasoning: info.reasoning,
    },
  };
  if (info.dimensions !== undefined) m.dimensions = info.dimensions;
  if (info.maxImages > 0) m.max_images_per_prompt = info.maxImages;
  return m;
}

/** GET /v1/models. */
export async function modelList(ctx: AppContext, x?: Exchange) {
  const created = Math.floor(Date.now() / 1000);
  const createdAt = new Date(created * 1000).toISOString();
  const ds = visible(ctx, x, await listedDeployments(ctx));
  return {
    object: 'list',
    // OpenAI fields, the Anthropic ones Claude Code's gateway model discovery reads, then the catalogue's.
    data: ds.map((d) => ({
      id: d.modelName,
      object: 'model',
      created,
      owned_by: 'snowflake-cortex',
      type: 'model',
      display_name: d.modelName,
      created_at: createdAt,
      ...modelMetadata(d),
    })),
    has_more: false,
    first_id: ds[0]?.modelName ?? null,
    last_id: ds[ds.length - 1]?.modelName ?? null,
  };
}

/** GET /v1/model/info: LiteLLM's shape, one entry per deployment. */
export async function modelInfoList(ctx: AppContext, x?: Exchange) {
  const listed = await listedDeployments(ctx);
  // Every deployment of each exact name (LiteLLM lists deployments), one entry per other listed name.
  const ds = [...ctx.config.deployments.filter((d) => !isPattern(d.modelName)), ...listed.filter((d) => !ctx.config.deployments.includes(d))];
  return {
    data: visible(ctx, x, ds).map((d) => {
      const info = deploymentInfo(d);
      const mi: Record<string, unknown> = {
        mode: info.kind,
        litellm_provider: 'snowflake',
        max_tokens: info.kind === 'embedding' ? info.contextWindow : info.maxOutputTokens,
        max_input_tokens: info.contextWindow,
        max_output_tokens: info.maxOutputTokens,
        supports_function_calling: info.tools,
        supports_tool_choice: info.tools,
        supports_vision: info.vision,
        supports_response_schema: info.structuredOutput,
        supports_reasoning: info.reasoning,
        supports_system_messages: info.kind === 'chat',
      };
      if (info.maxImages > 0) mi.max_images_per_prompt = info.maxImages;
      if (info.dimensions !== undefined) mi.output_vector_size = info.dimensions;
      return { model_name: d.modelName, litellm_params: { model: `snowflake/${d.cortexModel}` }, model_info: mi };
    }),
  };
}

const modelInfoRoute: Route = { method: 'GET', handle: async (ctx, _req, res, x) => sendJson(res, 200, await modelInfoList(ctx, x), ctx.extraHeaders) };

/** Routes owned here (spread into app.ts ROUTES). */
export const CATALOGUE_ROUTES: Record<string, Route> = {
  '/v1/embeddings': embeddingsRoute,
  '/embeddings': embeddingsRoute,
  '/v1/model/info': modelInfoRoute,
  '/model/info': modelInfoRoute,
};
