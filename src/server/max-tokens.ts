// general_settings.min_output_tokens: a floor under the max_tokens sent upstream, so an agent whose client
// asks for too few tokens (Cursor's low defaults) does not get long tool-call arguments cut off. The wire
// still clamps to the model's limit; with no floor configured the client's value is respected.
import type { Deployment } from '../config/types.js';
import type { ChatRequest } from '../core/types.js';

/** Raises the request's max_tokens (or the model's configured default) to `floor` when it is below it. */
export function applyOutputFloor(chat: ChatRequest, deployment: Deployment, floor: number | undefined): void {
  if (floor === undefined) return;
  const effective = chat.maxTokens ?? deployment.maxTokens;
  if (effective !== undefined && effective < floor) chat.maxTokens = floor;
}
