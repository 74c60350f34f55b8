// What Cortex models can do (reference/cortex-api.md §9.2). Used to clamp max_tokens and to refuse
// impossible requests before spending a round trip. Unknown models get permissive defaults.

export interface ModelInfo {
  id: string;
  contextWindow: number;
  maxOutputTokens: number;
  tools: boolean;
  vision: boolean;
  family: 'claude' | 'openai' | 'llama' | 'mistral' | 'deepseek' | 'snowflake' | 'other';
}

/** inference:complete caps max_tokens at 16,384 for every model (Jan-2026 REST docs). */
export const COMPLETE_MAX_TOKENS = 16_384;

const K = 1000;
const rows: Array<[string, number, number, boolean, boolean]> = [
  // id, context, max output, tools, vision
  ['claude-3-5-sonnet', 200 * K, 8192, true, false],
  ['claude-3-7-sonnet', 200 * K, 32 * K, true, true],
  ['claude-4-sonnet', 200 * K, 32 * K, true, true],
  ['claude-4-opus', 200 * K, 8192, true, true],
  ['claude-sonnet-4-5', 200 * K, 64 * K, true, true],
  ['claude-haiku-4-5', 200 * K, 64 * K, true, true],
  ['claude-opus-4-5', 200 * K, 64 * K, true, true],
  ['claude-sonnet-4-6', 200 * K, 64 * K, true, true],
  ['claude-opus-4-6', 200 * K, 128 * K, true, true],
  ['openai-gpt-4.1', 128 * K, 32 * K, true, true],
  ['openai-gpt-5', 272 * K, 8192, true, true],
  ['openai-gpt-5-mini', 272 * K, 8192, true, true],
  ['openai-gpt-5-nano', 272 * K, 8192, true, true],
  ['openai-gpt-5-chat', 128 * K, 8192, true, true],
  ['openai-gpt-oss-120b', 128 * K, 8192, true, false],
  ['deepseek-r1', 32_768, 8192, false, false],
  ['mistral-large2', 128 * K, 8192, false, false],
  ['mistral-large', 32 * K, 8192, false, false],
  ['mistral-7b', 32 * K, 8192, false, false],
  ['llama3.1-8b', 128 * K, 8192, false, false],
  ['llama3.1-70b', 128 * K, 8192, false, false],
  ['llama3.1-405b', 128 * K, 8192, false, false],
  ['snowflake-llama-3.3-70b', 128 * K, 8192, false, false],
  ['llama4-maverick', 128 * K, 8192, false, false],
];

function familyOf(id: string): ModelInfo['family'] {
  if (id.startsWith('claude')) return 'claude';
  if (id.startsWith('openai-')) return 'openai';
  if (id.startsWith('llama')) return 'llama';
  if (id.startsWith('mistral')) return 'mistral';
  if (id.startsWith('deepseek')) return 'deepseek';
  if (id.startsWith('snowflake')) return 'snowflake';
  return 'other';
}

export const KNOWN_MODELS: ReadonlyMap<string, ModelInfo> = new Map(
  rows.map(([id, contextWindow, maxOutputTokens, tools, vision]) => [
    id,
    { id, contextWindow, maxOutputTokens, tools, vision, family: familyOf(id) },
  ]),
);

/** Facts for a Cortex model id; unknown ids (new or fine-tuned models) are assumed capable so Cortex decides. */
export function modelInfo(id: string): ModelInfo {
  const known = KNOWN_MODELS.get(id);
  if (known) return known;
  const family = familyOf(id);
  const capable = family === 'claude' || family === 'openai' || family === 'other';
  return { id, contextWindow: 128 * K, maxOutputTokens: COMPLETE_MAX_TOKENS, tools: capable, vision: capable, family };
}
