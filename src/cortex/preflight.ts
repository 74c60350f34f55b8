// Requests the catalogue says cannot succeed are refused before a round trip, with a 400 that names the model
// and the limit (every wire: called from server/proxy.ts once the deployment is known). The refusals and their
// wording are cortex/plan.ts's, which the wires apply again when they encode; a wire's own image limit is declared
// on the wire (cortex/wires.ts).
import type { Deployment, WireName } from '../config/types.js';
import type { ChatRequest } from '../core/types.js';
import { ProxyError } from '../core/errors.js';
import { deploymentInfo, type ModelInfo } from './models.js';
import { checkImages, checkTools, countImages, describeModel } from './plan.js';
import { WIRES, endpointOf } from './wires.js';

/**
 * Bytes of prompt per token assumed by the context-window check. Real tokenizers average 3–4.5 bytes per token on
 * prose and code, so dividing by 6 undercounts: a prompt refused here is over the window by a wide margin, and a
 * prompt near the limit is left for Cortex to judge.
 */
export const LOWER_BOUND_BYTES_PER_TOKEN = 6;

/** Throws ProxyError(invalid_request) when the deployment's model cannot serve this chat request. */
export function preflightChat(chat: ChatRequest, d: Deployment, wire?: WireName): void {
  const info = deploymentInfo(d);
  const who = describeModel(chat.model, d);
  if (info.kind === 'embedding') {
    throw new ProxyError(
      'invalid_request',
      `${who} is an embedding model: it cannot chat. Use POST /v1/embeddings with it, or pick a chat model for this client.`,
      { param: 'model', code: 'model_not_supported' },
    );
  }
  checkTools(chat, who, info, false); // tool history on such a model: the wire refuses it, in the same words
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
 * Vision and image-count checks for one deployment (and wire, when known: its declared maxImages, cortex/wires.ts).
 * Run before any image URL is fetched (server/proxy.ts), so a request with too many images costs no fetch, and again
 * for each candidate.
 */
export function preflightImages(chat: ChatRequest, d: Deployment, wire?: WireName): void {
  const images = countImages(chat);
  if (images === 0) return;
  const w = wire ? WIRES[wire] : undefined;
  checkImages(images, describeModel(chat.model, d), deploymentInfo(d), w && { max: w.maxImages, where: endpointOf(w).replace(/^\//, '') });
}

/** Throws unless the deployment's model is an embedding model. */
export function preflightEmbedding(modelName: string, d: Deployment): ModelInfo {
  const info = deploymentInfo(d);
  if (info.kind !== 'embedding') {
    throw new ProxyError(
      'invalid_request',
      `${describeModel(modelName, d)} is a chat model, not an embedding model. Configure an embedding model such as ` +
        'snowflake-arctic-embed-m-v1.5 or snowflake-arctic-embed-l-v2.0 (model: snowflake/<id>) and ask for its model_name ' +
        '(or set model_info.mode: embedding for an embedding model cortex-proxy does not know).',
      { param: 'model', code: 'model_not_supported' },
    );
  }
  return info;
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
