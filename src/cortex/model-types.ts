// What a model can do, as types only (the catalogue with its values is cortex/models.ts): config/types.ts names
// them for model_info overrides without importing the catalogue, which itself reads the config's types.
export type ModelKind = 'chat' | 'embedding';
export type ModelFamily = 'claude' | 'openai' | 'llama' | 'mistral' | 'deepseek' | 'snowflake' | 'other';

export interface ModelInfo {
  id: string;
  /** chat (inference:complete, v1 chat/messages) or embedding (inference:embed). */
  kind: ModelKind;
  family: ModelFamily;
  /** Largest prompt in tokens (LiteLLM max_input_tokens). */
  contextWindow: number;
  /** Largest answer in tokens (LiteLLM max_output_tokens); 0 for embedding models. */
  maxOutputTokens: number;
  /** Tool (function) calling. */
  tools: boolean;
  /** Image input. */
  vision: boolean;
  /** Images per request the model accepts (the complete wire caps this further at 5). */
  maxImages: number;
  /** response_format json_schema / json_object. */
  structuredOutput: boolean;
  /**
   * Takes a reasoning control: Claude extended thinking (`anthropic.thinking` / `thinking`) or OpenAI reasoning
   * effort (`openai.reasoning` / `reasoning_effort`), chosen by family. Models that reason without a control
   * (deepseek-r1) are false: there is nothing to send.
   */
  reasoning: boolean;
  /** Embedding vector length (embedding models only). */
  dimensions?: number;
  /** In the built-in catalogue (false: defaults guessed for an id cortex-proxy does not know). */
  known: boolean;
}

/** Overrides from a config's model_info (any subset; `kind` switches chat ⇄ embedding). */
export type ModelInfoOverride = Partial<Omit<ModelInfo, 'id' | 'family' | 'known'>> & {
  /** model_info.base_model: start from this catalogue entry instead of the deployment's own id. */
  baseModel?: string;
};
