// The Responses dialect's encrypted_content for reasoning items: a Claude thinking signature travels in our own
// prefixed blob, so Codex's replay of the item restores the signed thinking (foreign blobs are dropped).
import { isObj } from '../../core/json.js';

const THINKING_BLOB = 'cortex-proxy.thinking.v1:';

export function packThinking(text: string, signature: string): string {
  return THINKING_BLOB + Buffer.from(JSON.stringify({ t: text, s: signature })).toString('base64');
}

export function unpackThinking(blob: unknown): { text: string; signature: string } | undefined {
  if (typeof blob !== 'string' || !blob.startsWith(THINKING_BLOB)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(blob.slice(THINKING_BLOB.length), 'base64').toString('utf8')) as unknown;
    if (isObj(v) && typeof v.t === 'string' && typeof v.s === 'string') return { text: v.t, signature: v.s };
  } catch {
    /* corrupted: drop it like any foreign encrypted reasoning */
  }
  return undefined;
}
