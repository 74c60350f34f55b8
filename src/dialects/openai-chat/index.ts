// OpenAI Chat Completions client dialect (Cursor ask mode, Continue, Cline/Roo, Zed, the openai SDK, AI SDK…).
// decodeRequest validates a hostile body field by field (never spreads it) into a ChatRequest;
// the stream encoder writes exactly the chunk sequence strict clients need (clients-and-peers.md §3–4).
// Files: decode.ts (request), encode.ts (JSON answer), stream.ts (SSE chunks), errors.ts (envelope).
import type { Dialect } from '../dialect.js';
import { decodeRequest } from './decode.js';
import { encodeResponse } from './encode.js';
import { errorBody } from './errors.js';
import { ChatStreamEncoder } from './stream.js';

export const openaiChat: Dialect = {
  name: 'openai-chat',
  idPrefix: 'chatcmpl-',
  decodeRequest,
  createStreamEncoder: (req, meta) => new ChatStreamEncoder(req, meta),
  encodeResponse,
  encodeError: errorBody,
};
