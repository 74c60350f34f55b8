// OpenAI Responses API dialect (Codex CLI; Cursor agent mode reuses decodeResponsesBody on /chat/completions).
// Files: decode.ts (request), encode.ts (JSON answer), stream.ts (SSE), errors.ts (envelopes), reasoning-blob.ts.
//
// Request:  instructions + input items → ChatRequest. Stateless: previous_response_id, conversation and
//           item_reference are refused (we store nothing); store:true is accepted but nothing is stored.
//           Custom (freeform/grammar) tools become function tools taking {input: string}, marked
//           `freeform` in the canonical Tool (dialects/freeform.ts), so the encoders hand their calls back
//           as custom_tool_call items with the raw input unwrapped.
//           Hosted/built-in tools (namespace, web_search, file_search, mcp, local_shell, …) are dropped.
// Stream:   canonical events → Responses SSE (`event: <type>\ndata: <json>`), one output item live at a
//           time (Codex rejects deltas outside the active item): items are opened in start order, later
//           ones buffer until the live one is done. Terminal event is always exactly one of
//           response.completed | response.incomplete (finish=length/content_filter, as OpenAI does) |
//           response.failed.
// Thinking: emitted as a `reasoning` item with summary_text; a Claude signature travels in
//           encrypted_content (our own prefix) so Codex's replay of the item restores the signed thinking.
import type { Dialect } from '../dialect.js';
import { DIALECT, decodeResponsesBody } from './decode.js';
import { encodeResponse } from './encode.js';
import { encodeError } from './errors.js';
import { ResponsesStreamEncoder } from './stream.js';

export { decodeResponsesBody };

export const openaiResponses: Dialect = {
  name: DIALECT,
  idPrefix: 'resp_',
  paths: ['/v1/responses', '/responses'],
  decodeRequest: decodeResponsesBody,
  createStreamEncoder: (req, meta) => new ResponsesStreamEncoder(req, meta),
  encodeResponse,
  encodeError,
};
