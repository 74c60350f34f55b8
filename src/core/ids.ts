// Ids the client sees. Random (128 bits) so they cannot be guessed from one another.
import { randomBytes, randomFillSync } from 'node:crypto';

// Drawn from a CSPRNG pool refilled 4 KB at a time (each byte used once): randomBytes() per id cost about ten times
// more CPU on every request (bench/README.md).
const pool = Buffer.allocUnsafe(4096);
let used = pool.length;

export function randomId(prefix: string, bytes = 16): string {
  if (bytes > pool.length) return prefix + randomBytes(bytes).toString('base64url');
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const id = pool.toString('base64url', used, used + bytes);
  used += bytes;
  return prefix + id;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
