// The model catalogue: what each Cortex model can do (reference/cortex-api.md §9.2 for chat models; Snowflake's
// EMBED_TEXT_768/1024 and REST embed docs for embedding models). Used to clamp max_tokens, to refuse impossible
// requests before spending a round trip (cortex/preflight.ts), to pick reasoning controls per wire, and to
// describe models on GET /v1/models. Unknown models get permissive defaults so Cortex decides; a config's
// `model_info:` overrides any field per deployment (config/model-info.ts → Deployment.info → deploymentInfo).
import type { Deployment } from '../config/types.js';
import { editDistance } from '../core/edit-distance.js';
import { aliasCandidates } from '../config/model-names.js';
import type { ModelFamily, ModelInfo, ModelInfoOverride } from './model-types.js';

export type { ModelFamily, ModelInfo, ModelInfoOverride, ModelKind } from './model-types.js';

/** inference:complete caps max_tokens at 16,384 for every model (Jan-2026 REST docs). */
export const COMPLETE_MAX_TOKENS = 16_384;

const K = 1000;
/**
 * Images per request for vision models: 20 on Cortex's v1 endpoints, for Claude and OpenAI models alike
 * (docs/images.md); inference:complete takes at most 5 whatever the model (each wire's maxImages, cortex/wires.ts).
 */
const CLAUDE_IMAGES = 20;
const OPENAI_IMAGES = 20;

// id, context, max output, tools, vision, reasoning control.
// Context and output from Snowflake's model table (https://docs.snowflake.com/en/user-guide/snowflake-cortex/aisql-regional-availability,
// "Model restrictions"): claude-sonnet-4-6 1,000,000 / 64,000 and claude-opus-4-6 1,000,000 / 128,000, while
// claude-sonnet-4-5, -haiku-4-5 and -opus-4-5 stay at 200,000. The gpt-5 family's output: that table (AI_COMPLETE)
// says 8,192, the Cortex REST API's own rate-limit table says 16,384 (https://docs.snowflake.com/en/user-guide/
// snowflake-cortex/cortex-rest-api, "Rate limits", Max output): the REST figure is used, for the REST API is what
// cortex-proxy calls (docs/cortex-limits.md).
const CHAT_ROWS: Array<[string, number, number, boolean, boolean, boolean]> = [
  ['claude-3-5-sonnet', 200 * K, 8192, true, false, false],
  ['claude-3-7-sonnet', 200 * K, 32 * K, true, true, true],
  ['claude-4-sonnet', 200 * K, 32 * K, true, true, true],
  ['claude-4-opus', 200 * K, 8192, true, true, true],
  ['claude-sonnet-4-5', 200 * K, 64 * K, true, true, true],
  ['claude-haiku-4-5', 200 * K, 64 * K, true, true, true],
  ['claude-opus-4-5', 200 * K, 64 * K, true, true, true],
  ['claude-sonnet-4-6', 1000 * K, 64 * K, true, true, true],
  ['claude-opus-4-6', 1000 * K, 128 * K, true, true, true],
  ['openai-gpt-4.1', 128 * K, 32 * K, true, true, false],
  ['openai-gpt-5', 272 * K, 16_384, true, true, true],
  ['openai-gpt-5-mini', 272 * K, 16_384, true, true, true],
  ['openai-gpt-5-nano', 272 * K, 16_384, true, true, true],
  ['openai-gpt-5-chat', 128 * K, 16_384, true, true, false],
  ['openai-gpt-oss-120b', 128 * K, 8192, true, false, true],
  ['deepseek-r1', 32_768, 8192, false, false, false],
  ['mistral-large2', 128 * K, 8192, false, false, false],
  ['mistral-large', 32 * K, 8192, false, false, false],
  ['mistral-7b', 32 * K, 8192, false, false, false],
  ['llama3.1-8b', 128 * K, 8192, false, false, false],
  ['llama3.1-70b', 128 * K, 8192, false, false, false],
  ['llama3.1-405b', 128 * K, 8192, false, false, false],
  ['snowflake-llama-3.3-70b', 128 * K, 8192, false, false, false],
  ['llama4-maverick', 128 * K, 8192, false, false, false],
];

// id, dimensions, context (tokens). EMBED_TEXT_768 / EMBED_TEXT_1024 model lists; the REST embed page lists
// the first four per region. Context windows are from the AI_EMBED model table [INF: not verified per region].
const EMBED_ROWS: Array<[string, number, number]> = [
  ['snowflake-arctic-embed-m-v1.5', 768, 512],
  ['snowflake-arctic-embed-m', 768, 512],
  ['e5-base-v2', 768, 512],
  ['snowflake-arctic-embed-l-v2.0', 1024, 512],
  ['snowflake-arctic-embed-l-v2.0-8k', 1024, 8192],
  ['nv-embed-qa-4', 1024, 512],
  ['multilingual-e5-large', 1024, 512],
  ['voyage-multilingual-2', 1024, 32 * K],
];

function familyOf(id: string): ModelFamily {
  if (id.startsWith('claude')) return 'claude';
  if (id.startsWith('openai-')) return 'openai';
  if (id.startsWith('llama')) return 'llama';
  if (id.startsWith('mistral')) return 'mistral';
  if (id.startsWith('deepseek')) return 'deepseek';
  if (id.startsWith('snowflake')) return 'snowflake';
  return 'other';
}

function imagesFor(family: ModelFamily, vision: boolean): number {
  if (!vision) return 0;
  return family === 'claude' ? CLAUDE_IMAGES : OPENAI_IMAGES;
}

/** The chat (completion) models cortex-proxy knows, by Cortex id. The emulator serves these. */
export const KNOWN_MODELS: ReadonlyMap<string, ModelInfo> = new Map(
  CHAT_ROWS.map(([id, contextWindow, maxOutputTokens, tools, vision, reasoning]): [string, ModelInfo] => {
    const family = familyOf(id);
    return [
      id,
      { id, kind: 'chat', family, contextWindow, maxOutputTokens, tools, vision, maxImages: imagesFor(family, vision), structuredOutput: true, reasoning, known: true },
    ];
  }),
);

/** The embedding models cortex-proxy knows (POST /api/v2/cortex/inference:embed), by Cortex id. */
export const EMBEDDING_MODELS: ReadonlyMap<string, ModelInfo> = new Map(
  EMBED_ROWS.map(([id, dimensions, contextWindow]): [string, ModelInfo] => [
    id,
    {
      id,
      kind: 'embedding',
      family: familyOf(id),
      contextWindow,
      maxOutputTokens: 0,
      tools: false,
      vision: false,
      maxImages: 0,
      structuredOutput: false,
      reasoning: false,
      dimensions,
      known: true,
    },
  ]),
);

/** Every Cortex id in the catalogue (chat and embedding), for "did you mean" hints. */
export function knownModelIds(): string[] {
  return [...KNOWN_MODELS.keys(), ...EMBEDDING_MODELS.keys()];
}

/**
 * The catalogue id a mistyped or foreign id most likely means: an OpenAI name without Cortex's prefix (gpt-5 →
 * openai-gpt-5), an alias of the naming rule (config/model-names.ts: claude-sonnet-4-5-20250929), else the nearest
 * known id within two edits. undefined for a known id, or when nothing is close.
 */
export function suggestModelId(id: string): string | undefined {
  const known = knownModelIds();
  if (known.includes(id)) return undefined;
  const bare = id.replace(/^(openai|anthropic|snowflake|cortex)[/-]/i, '');
  for (const c of [bare, `openai-${bare}`, ...aliasCandidates(id), ...aliasCandidates(bare)]) if (known.includes(c)) return c;
  let best: string | undefined;
  let bestD = 3;
  for (const c of known) {
    for (const from of [id, `openai-${bare}`]) {
      const d = editDistance(from.toLowerCase(), c, bestD);
      if (d < bestD) [best, bestD] = [c, d];
    }
  }
  return best;
}

/** A guess for an id that is in neither table: embedding-looking ids are embedding models. */
function looksLikeEmbedding(id: string): boolean {
  return /embed|(^|-)e5-|^voyage/i.test(id);
}

/** Facts for a Cortex model id; unknown ids (new or fine-tuned models) are assumed capable so Cortex decides. */
export function modelInfo(id: string): ModelInfo {
  const known = KNOWN_MODELS.get(id) ?? EMBEDDING_MODELS.get(id);
  if (known) return known;
  const family = familyOf(id);
  if (looksLikeEmbedding(id)) {
    return { id, kind: 'embedding', family, contextWindow: 512, maxOutputTokens: 0, tools: false, vision: false, maxImages: 0, structuredOutput: false, reasoning: false, known: false };
  }
  const capable = family === 'claude' || family === 'openai' || family === 'other';
  return {
    id,
    kind: 'chat',
    family,
    contextWindow: 128 * K,
    maxOutputTokens: COMPLETE_MAX_TOKENS,
    tools: capable,
    vision: capable,
    maxImages: capable ? imagesFor(family, true) : 0,
    structuredOutput: true,
    reasoning: family === 'claude' || family === 'openai',
    known: false,
  };
}

const merged = new WeakMap<object, ModelInfo>();

/** Catalogue facts for a deployment: its Cortex id's entry (or model_info.base_model's) with model_info applied. */
export function deploymentInfo(d: Pick<Deployment, 'cortexModel'> & { info?: ModelInfoOverride }): ModelInfo {
  const o = d.info;
  if (!o) return modelInfo(d.cortexModel);
  const cached = merged.get(o);
  if (cached && cached.id === d.cortexModel) return cached;
  const base = modelInfo(o.baseModel ?? d.cortexModel);
  const info: ModelInfo = { ...base, id: d.cortexModel, family: familyOf(o.baseModel ?? d.cortexModel) };
  if (o.kind !== undefined && o.kind !== base.kind) {
    // Switching kind without a base: start from that kind's defaults rather than the other kind's numbers.
    const fresh = o.kind === 'embedding' ? modelInfo('unknown-embed') : modelInfo('unknown-chat-model');
    Object.assign(info, { ...fresh, id: info.id, family: info.family, known: false });
  }
  for (const [k, v] of Object.entries(o)) if (v !== undefined && k !== 'baseModel') (info as unknown as Record<string, unknown>)[k] = v;
  if (o.vision === false && o.maxImages === undefined) info.maxImages = 0;
  if (o.vision === true && o.maxImages === undefined && info.maxImages === 0) info.maxImages = imagesFor(info.family, true);
  merged.set(o, info);
  return info;
}
