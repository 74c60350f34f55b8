// What the configured models can do, for clients that ask: GET /v1/models (OpenAI list + Anthropic fields +
// the metadata other clients read: context_length and top_provider (OpenRouter-style, read by Cline/Roo/Kilo and
// many UIs), max_input_tokens/max_output_tokens (LiteLLM), architecture, supported_parameters, capabilities) and
// GET /v1/model/info (LiteLLM's per-deployment model_info, read by Roo Code's and Cline's LiteLLM providers).
// Nothing secret: no api_base, no credential.
import type { Deployment } from '../config/types.js';
import { deploymentInfo, type ModelInfo } from '../cortex/models.js';
import { embeddingsRoute } from '../cortex/embed.js';
import type { Route } from './app.js';
import { sendJson } from './http.js';
import type { ProxyContext } from './proxy.js';

/** One deployment per model name (the first configured), in config order. */
function byName(deployments: Deployment[]): Deployment[] {
  const seen = new Set<string>();
  const out: Deployment[] = [];
  for (const d of deployments) {
    if (seen.has(d.modelName)) continue;
    seen.add(d.modelName);
    out.push(d);
  }
  return out;
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
export function modelList(ctx: ProxyContext) {
  const created = Math.floor(Date.now() / 1000);
  const createdAt = new Date(created * 1000).toISOString();
  const ds = byName(ctx.config.deployments);
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
export function modelInfoList(ctx: ProxyContext) {
  return {
    data: ctx.config.deployments.map((d) => {
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

const modelInfoRoute: Route = { method: 'GET', handle: (ctx, _req, res) => sendJson(res, 200, modelInfoList(ctx), ctx.extraHeaders) };

/** Routes owned here (spread into app.ts ROUTES). */
export const CATALOGUE_ROUTES: Record<string, Route> = {
  '/v1/embeddings': embeddingsRoute,
  '/embeddings': embeddingsRoute,
  '/v1/model/info': modelInfoRoute,
  '/model/info': modelInfoRoute,
};
