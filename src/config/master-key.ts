// Master keys: generating one (init) and judging one (doctor, serve --tunnel). A tunnelled proxy is reachable by
// anyone who learns its URL, so the key is the only thing between the internet and the account's credits.
import { randomBytes } from 'node:crypto';

/** sk- + 32 random bytes in base64url: 256 bits. */
export function generateMasterKey(): string {
  return 'sk-' + randomBytes(32).toString('base64url');
}

export interface KeyStrength {
  strong: boolean;
  /** Estimated bits of randomness: length × observed entropy per character (a repeated or dictionary-like key scores low). */
  bits: number;
  /** Why it is weak, in words. */
  reason?: string;
}

export const MIN_KEY_BITS = 128;

export function keyStrength(key: string): KeyStrength {
  const body = key.replace(/^sk-/, '');
  const counts = new Map<string, number>();
  for (const ch of body) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / body.length;
    perChar -= p * Math.log2(p);
  }
  // Observed entropy under-counts short random strings; allow for it (a random hex key of 48 characters scores ~190).
  const bits = Math.round(body.length * Math.min(perChar + 0.25, 6));
  if (body.length < 24) return { strong: false, bits, reason: `only ${body.length} characters after the sk- prefix` };
  if (bits < MIN_KEY_BITS) return { strong: false, bits, reason: `about ${bits} bits of randomness (repeated or predictable characters)` };
  return { strong: true, bits };
}

export const NEW_KEY_COMMAND = `node -e "console.log('sk-'+require('crypto').randomBytes(32).toString('base64url'))"`;
