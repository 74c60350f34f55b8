// The canonical vocabulary: every client dialect decodes into ChatRequest, every upstream wire
// encodes from it, and every upstream stream decodes into StreamEvents (see docs/ARCHITECTURE.md).

export interface TextPart {
  type: 'text';
  text: string;
  /** Client asked for a prompt-cache breakpoint here (Anthropic/Cortex `cache_control: ephemeral`). */
  cache?: boolean;
}

export interface ImagePart {
  type: 'image';
  /** e.g. image/png. Empty while only `url` is known. */
  mediaType: string;
  /** Base64 data (no data: prefix). Absent when the image is still a remote URL to fetch. */
  base64?: string;
  /** Remote http(s) URL; resolved to base64 before an upstream that cannot fetch URLs. */
  url?: string;
  detail?: 'auto' | 'low' | 'high';
  cache?: boolean;
}

export interface ToolCallPart {
  type: 'tool_call';
  id: string;
  name: string;
  /** The arguments exactly as a JSON text (what OpenAI clients send and expect back). */
  argumentsJson: string;
}

export interface ToolResultPart {
  type: 'tool_result';
  callId: string;
  /** Tool name; decoders fill it from the earlier tool call with the same id when the client omits it. */
  name: string;
  parts: Array<TextPart | ImagePart>;
  isError?: boolean;
}

/**
 * An OpenAI Responses reasoning item as Cortex issued it: what must come back unchanged on the next turn for a
 * stateless (store:false) conversation to keep the model's reasoning. Never an Anthropic signature.
 */
export interface OpenAIReasoning {
  /** The item id Cortex/OpenAI gave it (rs_…); absent when the client replayed the item without it (Codex does). */
  id?: string;
  /** The opaque reasoning state (asked for with include: ["reasoning.encrypted_content"]). */
  encryptedContent?: string;
  /** The summary texts, one per summary part, as given. */
  summary?: string[];
}

export interface ThinkingPart {
  type: 'thinking';
  /** Readable thinking (Claude) or the reasoning summary (OpenAI). */
  text: string;
  /** Anthropic thinking signature: only a Claude wire sends it back. */
  signature?: string;
  /** An OpenAI reasoning item: only the Responses wire sends it back (never as a Claude thinking block). */
  openai?: OpenAIReasoning;
}

export type Part = TextPart | ImagePart | ToolCallPart | ToolResultPart | ThinkingPart;

export interface Message {
  role: 'user' | 'assistant';
  parts: Part[];
}

export interface Tool {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  jsonSchema: Record<string, unknown>;
  /**
   * The client declared it freeform (OpenAI `type:"custom"`, text or grammar input): offered upstream as a function
   * taking {"input": string}, its calls go back to the client as the raw input (dialects/freeform.ts).
   */
  freeform?: boolean;
}

export type ToolChoice =
  | { type: 'auto' }
  | { type: 'none' }
  | { type: 'required' }
  | { type: 'tool'; name: string };

/** `none` asks for no reasoning (OpenAI's reasoning_effort: none). */
export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high';

export interface ChatRequest {
  /** The model name the client asked for (a configured model_name / alias). */
  model: string;
  /** All system/developer instructions, joined. */
  system?: string;
  messages: Message[];
  tools?: Tool[];
  toolChoice?: ToolChoice;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  /** `json` with a schema for json_schema, without one for json_object. */
  responseFormat?: { type: 'json'; schema?: Record<string, unknown>; name?: string };
  /** summary: the client asked for reasoning summaries (OpenAI Responses `reasoning.summary`). */
  reasoning?: { effort?: ReasoningEffort; budgetTokens?: number; summary?: 'auto' | 'concise' | 'detailed' };
  stream: boolean;
  /** OpenAI stream_options.include_usage: the client wants a final usage chunk. */
  includeUsage: boolean;
  /**
   * Client parameters that change what the model does but that the canonical request cannot carry
   * (e.g. n>1, logprobs, seed, penalties). drop_params decides: drop them, or answer 400.
   */
  unsupported: string[];
  /** Client-side identity for logs (user-agent family etc.); never sent upstream. */
  client?: { dialect: string; userAgent?: string };
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Prompt tokens served from the prompt cache (included in promptTokens). */
  cachedTokens?: number;
  /** Prompt tokens written to the prompt cache (included in promptTokens). */
  cacheWriteTokens?: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export type StreamEvent =
  | { type: 'start'; id: string; created?: number }
  | { type: 'text'; text: string }
  | { type: 'thinking'; text: string; signature?: string }
  /** An OpenAI reasoning item begins (its thinking text follows) or is done (sealed with encrypted_content/summary). */
  | { type: 'reasoning_item'; phase: 'start' | 'done'; item: OpenAIReasoning & { id: string } }
  | { type: 'tool_call_start'; index: number; id: string; name: string }
  | { type: 'tool_call_delta'; index: number; argumentsFragment: string }
  | { type: 'tool_call_end'; index: number }
  | { type: 'usage'; usage: Usage }
  | { type: 'finish'; reason: FinishReason; usage?: Usage }
  | { type: 'error'; error: import('./errors.js').ProxyError };

/** The final assistant turn, built from events by core/aggregate.ts (non-streaming answers). */
export interface FinalMessage {
  id: string;
  created: number;
  text: string;
  thinking: Array<{ text: string; signature?: string; openai?: OpenAIReasoning }>;
  toolCalls: Array<{ id: string; name: string; argumentsJson: string }>;
  finishReason: FinishReason;
  usage: Usage;
}
