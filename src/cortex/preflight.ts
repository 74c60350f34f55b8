// Requests the catalogue says cannot succeed are refused before a round trip, with a 400 that names the model
// and the limit (every wire: called from server/proxy.ts once the deployment is known). What a single wire
// cannot carry (e.g. more than 5 images on inference:complete) stays with that wire.
import type { Deployment, WireName } from '../config/types.js';
import type { ChatRequest } from '../core/types.js';
import { ProxyError } from '../core/errors.js';
import { deploymentInfo, type ModelInfo } from './models.js';

/**
 * Bytes of prompt per token assumed by the context-window check. Real tokenizers average 3–4.5 bytes per token on
 * prose and code, so dividing by 6 undercounts: a prompt refused here is over the window by a wide margin, and a
 * prompt near the limit is left for Cortex to judge.
 */
export const LOWER_BOUND_BYTES_PER_TOKEN = 6;

/** Throws ProxyError(invalid_request) when the deployment's model cannot serve this chat request. */
export function preflightChat(chat: ChatRequest, d: Deployment, wire?: WireName): void {
  const info = deploymentInfo(d);
  const who = describe(chat.model, d);
  if (info.kind === 'embedding') {
    throw new ProxyError(
      'invalid_request',
      `${who} is an embedding model: it cannot chat. Use POST /v1/embeddings with it, or pick a chat model for this client.`,
      { param: 'model', code: 'model_not_supported' },
    );
  }
  const tools = chat.tools ?? [];
  if (tools.length > 0 && chat.toolChoice?.type !== 'none' && !info.tools) {
    throw new ProxyError(
      'invalid_request',
      `${who} does not support tool calling. Use a tool-capable model such as claude-sonnet-4-5, claude-4-sonnet or openai-gpt-4.1 for this client` +
        ` (or set model_info.supports_function_calling: true for this model if Cortex now supports it).`,
      { param: 'tools', code: 'tools_not_supported' },
    );
  }
  preflightImages(chat, d, wire);
  if (chat.responseFormat && !info.structuredOutput) {
    throw new ProxyError(
      'invalid_request',
      `${who} does not support structured output (response_format); remove it or pick another model (or set model_info.supports_response_schema: true).`,
      { param: 'response_format', code: 'response_format_not_supported' },
    );
  }
  const least = minimumPromptTokens(chat);
  if (least > info.contextWindow) {
    // "prompt is too long" first: Claude Code compacts the conversation on this wording; OpenAI clients read the code.
    throw new ProxyError(
      'invalid_request',
      `prompt is too long: at least ${least} tokens > ${info.contextWindow} maximum (the context window of ${who}). ` +
        'Shorten or compact the conversation, or use a model with a larger context window (model_info.max_input_tokens sets the limit).',
      { param: 'messages', code: 'context_length_exceeded' },
    );
  }
}

/**
 * Images per request on each wire. Cortex's v1 endpoints (/v1/chat/completions, /v1/messages) take at most 20
 * images (and 20 MiB of them: cortex/images.ts MAX_IMAGE_REQUEST_BASE64); inference:complete at most 5
 * (reference/cortex-api.md §2.5.5; sources and the conflicts between them: docs/images.md).
 */
export const WIRE_MAX_IMAGES: Record<WireName, number> = { openai: 20, anthropic: 20, responses: 20, complete: 5 };

/**
 * Vision and image-count checks for one deployment (and wire, when known). Run before any image URL is fetched
 * (server/proxy.ts), so a request with too many images costs no fetch, and again for each candidate.
 */
export function preflightImages(chat: ChatRequest, d: Deployment, wire?: WireName): void {
  const images = countImages(chat);
  if (images === 0) return;
  const info = deploymentInfo(d);
  const who = describe(chat.model, d);
  if (!info.vision) {
    throw new ProxyError(
      'invalid_request',
      `${who} does not accept images; use a vision model such as claude-sonnet-4-5 or openai-gpt-4.1 (or set model_info.supports_vision: true).`,
      { param: 'messages', code: 'images_not_supported' },
    );
  }
  const max = Math.min(info.maxImages, wire ? WIRE_MAX_IMAGES[wire] : Infinity);
  if (images > max) {
    const why = wire && WIRE_MAX_IMAGES[wire] < info.maxImages ? ` on ${wire === 'complete' ? 'inference:complete' : `the ${wire} wire`}` : '';
    throw new ProxyError(
      'invalid_request',
      `${who} accepts at most ${max} images per request${why}; this request has ${images}. Send fewer images (model_info.max_images_per_prompt sets the model's limit).`,
      { param: 'messages', code: 'too_many_images' },
    );
  }
}

/** Throws unless the deployment's model is an embedding model. */
export function preflightEmbedding(modelName: string, d: Deployment): ModelInfo {
  const info = deploymentInfo(d);
  if (info.kind !== 'embedding') {
    throw new ProxyError(
      'invalid_request',
      `${describe(modelName, d)} is a chat model, not an embedding model. Configure an embedding model such as ` +
        'snowflake-arctic-embed-m-v1.5 or snowflake-arctic-embed-l-v2.0 (model: snowflake/<id>) and ask for its model_name ' +
        '(or set model_info.mode: embedding for an embedding model cortex-proxy does not know).',
      { param: 'model', code: 'model_not_supported' },
    );
  }
  return info;
}

function describe(name: string, d: Deployment): string {
  return name === d.cortexModel ? `model "${name}"` : `model "${name}" (Cortex model ${d.cortexModel})`;
}

export function countImages(chat: ChatRequest): number {
  let n = 0;
  for (const m of chat.messages)
    for (const p of m.parts) {
      if (p.type === 'image') n++;
      else if (p.type === 'tool_result') for (const q of p.parts) if (q.type === 'image') n++;
    }
  return n;
}

/** A count of prompt tokens the real one is very unlikely to be below (see LOWER_BOUND_BYTES_PER_TOKEN). */
export function minimumPromptTokens(chat: ChatRequest): number {
  let bytes = 0;
  const add = (s: string | undefined) => {
    if (s) bytes += Buffer.byteLength(s, 'utf8');
  };
  add(chat.system);
  for (const m of chat.messages)
    for (const p of m.parts) {
      if (p.type === 'text' || p.type === 'thinking') add(p.text);
      else if (p.type === 'tool_call') {
        add(p.name);
        add(p.argumentsJson);
      } else if (p.type === 'tool_result') for (const q of p.parts) if (q.type === 'text') add(q.text);
    }
  for (const t of chat.tools ?? []) {
    add(t.name);
    add(t.description);
    bytes += JSON.stringify(t.jsonSchema ?? {}).length;
  }
  return Math.floor(bytes / LOWER_BOUND_BYTES_PER_TOKEN);
}
