// An OpenAI reasoning item (GPT-5 over Cortex's Responses API) has no place in Anthropic's content blocks, so it
// travels to Anthropic-dialect clients (Claude Code on a GPT model) as a thinking block whose `signature` is our own
// prefixed blob: the client replays the block unchanged and decode turns it back into ThinkingPart.openai, with no
// Anthropic signature, so it can never reach a Claude wire as one (Claude wires send signed thinking only).
import { isObj } from '../../core/json.js';
import type { OpenAIReasoning } from '../../core/types.js';

const PREFIX = 'cortex-proxy.openai-reasoning.v1:';

export function packReasoning(r: OpenAIReasoning): string {
  return PREFIX + Buffer.from(JSON.stringify({ i: r.id, e: r.encryptedContent, s: r.summary ?? [] })).toString('base64');
}

/** Whether a thinking signature is our blob (then it is never an Anthropic signature, intact or not). */
export const isPackedReasoning = (sig: string): boolean => sig.startsWith(PREFIX);

/** The reasoning item in our blob, or undefined when it is corrupted. */
export function unpackReasoning(sig: string): OpenAIReasoning | undefined {
  if (!isPackedReasoning(sig)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(sig.slice(PREFIX.length), 'base64').toString('utf8')) as unknown;
    if (!isObj(v) || typeof v.e !== 'string' || v.e === '' || !Array.isArray(v.s) || !v.s.every((x) => typeof x === 'string')) return undefined;
    const r: OpenAIReasoning = { encryptedContent: v.e, summary: v.s as string[] };
    if (typeof v.i === 'string' && v.i !== '') r.id = v.i;
    return r;
  } catch {
    return undefined;
  }
}
