// Upstream credentials → the headers Snowflake wants. The token-type header always matches the token
// (a PAT announced as KEYPAIR_JWT is rejected: LiteLLM #17346).
import type { UpstreamAuth } from '../config/types.js';

export type AuthHeaders = Record<string, string>;

const cache = new WeakMap<UpstreamAuth, AuthHeaders>();

/** Headers for one upstream call. Synchronous for static tokens; a Promise where a token must be minted or read. */
export function authHeaders(auth: UpstreamAuth): AuthHeaders | Promise<AuthHeaders> {
  let h = cache.get(auth);
  if (!h) {
    h = { authorization: `Bearer ${auth.token}`, 'x-snowflake-authorization-token-type': 'PROGRAMMATIC_ACCESS_TOKEN' };
    cache.set(auth, h);
  }
  return h;
}
