// The checks that need no network: one place for each rule, used by `doctor` (next to its network checks) and by
// `serve` at start-up (printed as one block before listening; fatal only where the proxy could not work at all or
// would run open). Nothing here prints a secret.
//   - variables: every os.environ/NAME the config names that is not set, all at once;
//   - token: form and expiry read from the PAT (a JWT: exp claim) — an expired token, a key-pair JWT or the
//     proxy's own master key where the PAT belongs;
//   - models: the config loader's warnings, among them a Cortex id cortex-proxy does not know with the id it most
//     likely means (gpt-5 → openai-gpt-5: cortex/models.ts suggestModelId);
//   - master key: its strength; none, or a weak one, while listening beyond loopback.
import type { Deployment } from '../config/types.js';
import { keyStrength, NEW_KEY_COMMAND } from '../config/master-key.js';
import { patFix, staticToken, tokenFacts } from '../snowflake/diagnose.js';
import { mark, type CheckStatus, type Colors } from './ui.js';

export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

/** Addresses that only this machine reaches. */
export const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** The os.environ/NAME references of a config file's text (comments excluded). */
export function envRefs(text: string): string[] {
  const code = text.replace(/(^|\s)#.*$/gm, '$1'); // references in comments are not references
  return [...new Set([...code.matchAll(/os\.environ\/([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]))];
}

/** Every referenced variable that is not set, in one check (undefined when all are). */
export function missingVarsCheck(refs: string[], env: NodeJS.ProcessEnv, dotEnv: string): Check | undefined {
  const missing = refs.filter((n) => env[n] === undefined);
  if (!missing.length) return undefined;
  return {
    id: 'env',
    title: 'environment variables',
    status: 'fail',
    detail: `not set: ${missing.join(', ')}`,
    fix: `add ${missing.map((v) => `${v}=…`).join(' and ')} to ${dotEnv} (or export ${missing.length > 1 ? 'them' : 'it'})`,
  };
}

/** What a static PAT's own text says: its form and its expiry. `next` is what to do after replacing it. */
export function tokenCheck(token: string, title: string, next?: string): Check {
  const f = tokenFacts(token);
  const fix = patFix(next);
  const days = f.expiresAt ? Math.floor((f.expiresAt.getTime() - Date.now()) / 86_400_000) : undefined;
  const day = (d: Date) => d.toISOString().slice(0, 10);
  if (f.kind === 'master-key') return { id: 'token', title, status: 'fail', detail: 'the Snowflake credential holds a proxy master key (sk-…), not a PAT', fix };
  if (f.kind === 'keypair-jwt')
    return { id: 'token', title, status: 'fail', detail: 'a key-pair JWT (RS256) given as a PAT: Snowflake would reject it as PROGRAMMATIC_ACCESS_TOKEN', fix: 'put a programmatic access token in SNOWFLAKE_PAT, or configure key-pair auth' };
  if (f.expiresAt && f.expiresAt.getTime() <= Date.now()) return { id: 'token', title, status: 'fail', detail: `programmatic access token, expired on ${day(f.expiresAt)}`, fix };
  if (f.expiresAt && days !== undefined && days < 7) return { id: 'token', title, status: 'warn', detail: `programmatic access token, expires in ${days} day(s) (${day(f.expiresAt)})`, fix };
  return { id: 'token', title, status: 'ok', detail: f.kind === 'pat' ? `programmatic access token${f.expiresAt ? `, expires ${day(f.expiresAt)}` : ''}` : 'opaque token, sent as PROGRAMMATIC_ACCESS_TOKEN' };
}

/** The master key's strength; listening beyond loopback, none or a weak one fails (the proxy would run open). */
export function masterKeyCheck(key: { value: string; where: string } | undefined, host?: string): Check {
  const open = host !== undefined && !LOOPBACK.has(host);
  const set = `set general_settings.master_key: os.environ/CORTEX_PROXY_MASTER_KEY in the config (or CORTEX_PROXY_MASTER_KEY in the environment / .env) to ${NEW_KEY_COMMAND}`;
  if (!key)
    return open
      ? { id: 'master-key', title: 'master key', status: 'fail', detail: `none, while listening on ${host}: anyone who can reach this address could spend your Cortex credits`, fix: `${set}, or listen on loopback only (--host 127.0.0.1)` }
      : { id: 'master-key', title: 'master key', status: 'warn', detail: 'none: any program on this machine can use the proxy (and serve --tunnel refuses to start)', fix: set };
  const s = keyStrength(key.value);
  if (s.strong) return { id: 'master-key', title: 'master key', status: 'ok', detail: `strong (~${s.bits} bits), from ${key.where}` };
  return {
    id: 'master-key',
    title: 'master key',
    status: 'fail',
    detail: `weak: ${s.reason} (${key.where})${open ? `, while listening on ${host}` : ''}`,
    fix: `replace it with a random one: ${NEW_KEY_COMMAND}${open ? ' (or listen on loopback only: --host 127.0.0.1)' : ''}`,
  };
}

/** The distinct static PATs of the deployments, each with the model names that use it. */
export function patsOf(deployments: Deployment[]): Array<{ token: string; models: string[] }> {
  const out = new Map<string, string[]>();
  for (const d of deployments) {
    const t = d.auth.type === 'pat' ? staticToken(d.auth) : undefined;
    if (t === undefined || t === '') continue;
    out.set(t, [...new Set([...(out.get(t) ?? []), d.modelName])]);
  }
  return [...out].map(([token, models]) => ({ token, models }));
}

/** ✓/✗ lines with a fix under each ✗ and !: doctor's report and serve's start-up block. */
export function formatChecks(checks: Check[], c: Colors, indent = ''): string[] {
  const width = Math.min(28, Math.max(...checks.map((k) => k.title.length)));
  const out: string[] = [];
  for (const k of checks) {
    out.push(`${indent}${mark(k.status, c)} ${k.title.padEnd(width)}  ${k.status === 'skip' ? c.dim(k.detail) : k.detail}`);
    if (k.fix && (k.status === 'fail' || k.status === 'warn')) out.push(`${indent}  ${' '.repeat(width)}  ${c.cyan('fix:')} ${k.fix}`);
  }
  return out;
}
