// Ids the client sees. Random (128 bits) so they cannot be guessed from one another.
import { randomBytes, randomFillSync } from 'node:crypto';

// Drawn from a CSPRNG pool refilled 4 KB at a time (each byte used once): randomBytes() per id cost about ten times
// more CPU on every request (bench/README.md).
const pool = Buffer.allocUnsafe(4096);
let used = pool.length;

function draw(bytes: number, encoding: 'base64url' | 'hex'): string {
  if (bytes > pool.length) return randomBytes(bytes).toString(encoding);
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const id = pool.toString(encoding, used, used + bytes);
  used += bytes;
  return id;
}

export function randomId(prefix: string, bytes = 16): string {
  return prefix + draw(bytes, 'base64url');
}

/** `bytes` random bytes as lower-case hex, never all zeros (W3C trace and span ids forbid that). */
export function randomHex(bytes: number): string {
  let id: string;
  do id = draw(bytes, 'hex');
  while (/^0+$/.test(id));
  return id;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
