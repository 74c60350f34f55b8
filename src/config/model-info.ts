// model_info: per model_list entry, LiteLLM's keys for what a model can do. They override the built-in catalogue
// (cortex/models.ts) for that deployment, so a model cortex-proxy does not know yet (or a changed limit) needs
// no release:
//
//   - model_name: my-new-claude
//     litellm_params: { model: snowflake/claude-sonnet-5 }
//     model_info:
//       base_model: claude-sonnet-4-5        # start from this catalogue entry
//       max_input_tokens: 1000000
//       max_output_tokens: 64000
//
// Called from config/load.ts with the file context (line-numbered errors and warnings).
import type { ModelInfoOverride } from '../cortex/model-types.js';

/** The parts of load.ts's FileCtx this parser uses (structural: method parameters are bivariant, so FileCtx fits). */
export interface Entry {
  key: string;
  keyNode: unknown;
  value: unknown;
}
export interface ModelInfoReader {
  entries(node: unknown, where: string): Entry[];
  bool(e: Entry, name: string): boolean | undefined;
  number(e: Entry, name: string, ok: (n: number) => boolean, expected: string, example: string): number | undefined;
  string(e: Entry, name: string, example: string): string | undefined;
  fail(node: unknown, detail: string, hint: string): never;
  unknown(e: Entry, section: string, known: readonly string[], litellm: ReadonlySet<string>): void;
}

const BOOL_KEYS: Record<string, 'tools' | 'vision' | 'structuredOutput' | 'reasoning'> = {
  supports_function_calling: 'tools',
  supports_vision: 'vision',
  supports_response_schema: 'structuredOutput',
  supports_reasoning: 'reasoning',
};
const INT_KEYS: Record<string, { field: 'contextWindow' | 'maxOutputTokens' | 'maxImages' | 'dimensions'; min: number; example: string }> = {
  max_input_tokens: { field: 'contextWindow', min: 1, example: '200000' },
  max_output_tokens: { field: 'maxOutputTokens', min: 1, example: '64000' },
  max_images_per_prompt: { field: 'maxImages', min: 0, example: '20' },
  output_vector_size: { field: 'dimensions', min: 1, example: '1024' },
};
/** Keys cortex-proxy reads. `id` and `description` are labels: accepted, nothing to do. */
export const MODEL_INFO_KEYS = ['mode', 'base_model', 'max_tokens', ...Object.keys(INT_KEYS), ...Object.keys(BOOL_KEYS), 'id', 'description'];
/** LiteLLM model_info keys with no effect here (costs, provider bookkeeping, capabilities Cortex has no switch for). */
const LITELLM_ONLY = new Set([
  'input_cost_per_token', 'output_cost_per_token', 'input_cost_per_second', 'output_cost_per_second',
  'cache_read_input_token_cost', 'cache_creation_input_token_cost', 'output_cost_per_reasoning_token',
  'input_cost_per_image', 'supports_parallel_function_calling', 'supports_tool_choice', 'supports_prompt_caching',
  'supports_system_messages', 'supports_audio_input', 'supports_audio_output', 'supports_pdf_input',
  'supports_web_search', 'supports_computer_use', 'supports_assistant_prefill', 'supports_native_streaming',
  'supports_embedding_image_input', 'litellm_provider', 'tpm', 'rpm', 'access_groups', 'team_id', 'db_model',
  'tier', 'health_check_model', 'key',
]);
const MODES: Record<string, 'chat' | 'embedding'> = { chat: 'chat', completion: 'chat', responses: 'chat', embedding: 'embedding' };

/**
 * Parses one model_list entry's model_info mapping into catalogue overrides.
 * @param where e.g. `model_list[2]` (for messages)
 */
export function parseModelInfo(ctx: ModelInfoReader, e: Entry, where: string): ModelInfoOverride | undefined {
  const node = e.value as { value?: unknown; items?: unknown } | null;
  if (node === null || (node.items === undefined && node.value === null)) return undefined; // `model_info:` left empty
  const c = ctx;
  const section = `${where}.model_info`;
  const o: ModelInfoOverride = {};
  let legacyMax: number | undefined;
  for (const f of c.entries(e.value, section)) {
    const name = `${section}.${f.key}`;
    const b = BOOL_KEYS[f.key];
    if (b) {
      const v = c.bool(f, name);
      if (v !== undefined) o[b] = v;
      continue;
    }
    const n = INT_KEYS[f.key];
    if (n) {
      const v = c.number(f, name, (x) => Number.isInteger(x) && x >= n.min, n.min > 0 ? 'a positive integer' : 'a non-negative integer', n.example);
      if (v !== undefined) o[n.field] = v;
      continue;
    }
    switch (f.key) {
      case 'mode': {
        const v = c.string(f, name, 'chat');
        if (v === undefined) break;
        const kind = MODES[v.trim().toLowerCase()];
        if (!kind) c.fail(f.value, `${name} must be chat or embedding (got ${JSON.stringify(v.slice(0, 40))})`, 'write mode: chat, or mode: embedding for an inference:embed model');
        o.kind = kind;
        break;
      }
      case 'base_model': {
        const v = c.string(f, name, 'claude-sonnet-4-5');
        if (v === undefined) break;
        const id = v.trim().replace(/^snowflake\//i, '');
        if (!/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(id))
          c.fail(f.value, `${name} '${id.slice(0, 60)}' is not a Cortex model id`, 'write base_model: <a Cortex id cortex-proxy knows>, e.g. base_model: claude-sonnet-4-5');
        o.baseModel = id;
        break;
      }
      case 'max_tokens':
        // LiteLLM's legacy key: the output limit (max_output_tokens wins when both are given).
        legacyMax = c.number(f, name, (x) => Number.isInteger(x) && x > 0, 'a positive integer', '8192');
        break;
      case 'id':
      case 'description':
        break;
      default:
        c.unknown(f, section, MODEL_INFO_KEYS, LITELLM_ONLY);
    }
  }
  if (legacyMax !== undefined && o.maxOutputTokens === undefined) o.maxOutputTokens = legacyMax;
  return Object.keys(o).length > 0 ? o : undefined;
}
