// Ids the client sees. Random (128 bits) so they cannot be guessed from one another.
import { randomBytes } from 'node:crypto';

export function randomId(prefix: string, bytes = 16): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
