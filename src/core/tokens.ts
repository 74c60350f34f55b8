// Input-token estimates (no tokenizer is shipped): chat requests (count_tokens, admission, usage when Cortex sends
// none) and embedding inputs. One rule, so the team gateway and every dialect count alike.
import type { ChatRequest } from './types.js';

/**
 * Token estimate (no tokenizer is shipped): UTF-8 bytes / 3.5 over every string the model reads (system,
 * text, tool arguments and results, thinking, tool names/descriptions/schemas), plus fixed costs:
 * 4 tokens per message, 1,600 per image (Anthropic's cost for an image at the ~1.15 MP it downsizes to,
 * i.e. the upper bound), and 350 for the tool-use preamble when tools are present. Claude's tokenizer
 * averages ~3.5 bytes/token on English and code, and CJK text (3 bytes/char, ~1 token/char) comes out close,
 * so this errs high rather than low: an estimate is used to decide compaction and cost, where low is worse.
 */
export const IMAGE_TOKENS = 1600;
export const BYTES_PER_TOKEN = 3.5;
const PER_MESSAGE = 4;
const TOOL_PREAMBLE = 350;

export function estimateInputTokens(req: ChatRequest): number {
  let bytes = 0;
  let fixed = 0;
  const add = (s: string | undefined) => {
    if (s) bytes += Buffer.byteLength(s, 'utf8');
  };
  add(req.system);
  for (const m of req.messages) {
    fixed += PER_MESSAGE;
    for (const p of m.parts) {
      switch (p.type) {
        case 'text':
          add(p.text);
          break;
        case 'image':
          fixed += IMAGE_TOKENS;
          break;
        case 'tool_call':
          add(p.name);
          add(p.argumentsJson);
          break;
        case 'tool_result':
          for (const q of p.parts) q.type === 'text' ? add(q.text) : (fixed += IMAGE_TOKENS);
          break;
        case 'thinking':
          add(p.text);
          break;
      }
    }
  }
  if (req.tools?.length) {
    fixed += TOOL_PREAMBLE;
    for (const t of req.tools) {
      add(t.name);
      add(t.description);
      add(JSON.stringify(t.jsonSchema));
    }
  }
  return Math.ceil(bytes / BYTES_PER_TOKEN) + fixed;
}

/** Input tokens of an embedding request, estimated like chat prompts (UTF-8 bytes / 3.5, plus one per text). */
export function estimateEmbedTokens(inputs: string[]): number {
  let bytes = 0;
  for (const s of inputs) bytes += Buffer.byteLength(s, 'utf8');
  return Math.ceil(bytes / BYTES_PER_TOKEN) + inputs.length;
}

