// Plumbing for the init / doctor / connect / models / tunnel tests.
import { writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { generateMasterKey } from '../src/config/master-key.js';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A PAT shaped like Snowflake's (an ES256 JWT with iss SF:…), expiring in `days`. */
export function jwtPat(days = 30): string {
  return `${b64({ alg: 'ES256', kid: 'k1' })}.${b64({ p: '1:2', iss: 'SF:1003', exp: Math.floor(Date.now() / 1000) + days * 86400 })}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk`;
}

/** A key-pair JWT (RS256) someone pasted where a PAT belongs. */
export function rs256Jwt(): string {
  return `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: 'ACCT.USER.SHA256:x', sub: 'ACCT.USER', iat: 1, exp: 2 })}.c2lnbmF0dXJl`;
}

export const STRONG_KEY = generateMasterKey();

/** A config in a folder the way init writes it: cortex-proxy.yaml + .env (0600). */
export function writeAccount(dir: string, o: { apiBase: string; pat: string; models?: string[]; masterKey?: string | null; envMode?: number; patPrefix?: boolean }): void {
  const models = o.models ?? ['claude-sonnet-4-5', 'openai-gpt-4.1'];
  const yaml = [
    'model_list:',
    ...models.flatMap((m) => [`  - model_name: ${m}`, '    litellm_params:', `      model: snowflake/${m}`, `      api_base: ${o.apiBase}`, '      api_key: os.environ/SNOWFLAKE_PAT']),
    ...(o.masterKey === null ? [] : ['general_settings:', '  master_key: os.environ/CORTEX_PROXY_MASTER_KEY']),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'cortex-proxy.yaml'), yaml);
  const env = `SNOWFLAKE_PAT=${o.patPrefix === false ? '' : 'pat/'}${o.pat}\n${o.masterKey === null ? '' : `CORTEX_PROXY_MASTER_KEY=${o.masterKey ?? STRONG_KEY}\n`}`;
  writeFileSync(join(dir, '.env'), env, { mode: o.envMode ?? 0o600 });
  chmodSync(join(dir, '.env'), o.envMode ?? 0o600);
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
