// The environment-only modes: zero-config (SNOWFLAKE_ACCOUNT + SNOWFLAKE_PAT or another credential) and demo mode
// (nothing configured), plus the env fallbacks a config file also uses (master key, account variable).
import { DEFAULT_SETTINGS } from './types.js';
import type { Config, Deployment, Settings } from './types.js';
import { ConfigError } from './errors.js';
import { AccountError, accountToApiBase, normaliseApiBase } from './account.js';
import { NO_PARAMS, envCredentialVar, resolveAuth } from './auth-config.js';
import { SPCS_TOKEN_PATH } from '../snowflake/auth.js';
import { envGateway, gatewayAuthProblem, isPathWarning } from '../cortex/gateway.js';

/** Models served in zero-config and demo mode (model_name = Cortex id). SNOWFLAKE_MODELS overrides. */
export const DEFAULT_MODELS = [
  'claude-sonnet-4-5',
  'claude-4-sonnet',
  'claude-3-7-sonnet',
  'openai-gpt-4.1',
  'openai-gpt-5',
  'llama3.1-70b',
  'mistral-large2',
];

export function envAccountVar(env: NodeJS.ProcessEnv): 'SNOWFLAKE_ACCOUNT' | 'SNOWFLAKE_ACCOUNT_ID' | undefined {
  if (env.SNOWFLAKE_ACCOUNT?.trim()) return 'SNOWFLAKE_ACCOUNT';
  if (env.SNOWFLAKE_ACCOUNT_ID?.trim()) return 'SNOWFLAKE_ACCOUNT_ID';
  return undefined;
}

export function envMasterKey(env: NodeJS.ProcessEnv): string | undefined {
  for (const name of ['CORTEX_PROXY_MASTER_KEY', 'LITELLM_MASTER_KEY']) {
    const v = env[name]?.trim();
    if (!v) continue;
    if (/[\s\x00-\x1f\x7f]/.test(v))
      throw new ConfigError(`${name} contains spaces or control characters`, 'use a key made of printable characters without spaces, e.g. sk-…');
    return v;
  }
  return undefined;
}

function envModels(env: NodeJS.ProcessEnv): string[] {
  const raw = env.SNOWFLAKE_MODELS?.trim();
  if (!raw) return DEFAULT_MODELS;
  const ids = [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim().replace(/^snowflake\//i, ''))
        .filter(Boolean),
    ),
  ];
  const bad = ids.find((id) => !/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(id));
  if (bad !== undefined || ids.length === 0)
    throw new ConfigError(
      bad !== undefined ? `SNOWFLAKE_MODELS contains '${bad.slice(0, 60)}', which is not a Cortex model id` : 'SNOWFLAKE_MODELS lists no models',
      'set SNOWFLAKE_MODELS to a comma-separated list such as claude-4-sonnet,openai-gpt-4.1',
    );
  return ids;
}

/** Zero-config: SNOWFLAKE_ACCOUNT + SNOWFLAKE_PAT. undefined when neither is set. */
export function fromEnvironment(env: NodeJS.ProcessEnv, warnings: string[]): Config | undefined {
  const acctVar = envAccountVar(env);
  // The credential: SNOWFLAKE_PAT, a key pair, an OAuth token (config/auth-config.ts). The SPCS token file only
  // counts once an account is set, so a machine that merely has the file does not leave demo mode.
  const cred = envCredentialVar(env, acctVar ? undefined : '');
  if (!acctVar && !cred) return undefined;
  if (!acctVar)
    throw new ConfigError(`${cred} is set but SNOWFLAKE_ACCOUNT is not`, 'set SNOWFLAKE_ACCOUNT=<orgname>-<account_name> (in the environment or .env), or write a litellm_config.yaml');
  if (!cred)
    throw new ConfigError(
      `${acctVar} is set but SNOWFLAKE_PAT is not`,
      'set SNOWFLAKE_PAT=pat/<your_pat> (in the environment or .env), or use a key pair (SNOWFLAKE_USER + SNOWFLAKE_PRIVATE_KEY_PATH) or OAuth (SNOWFLAKE_OAUTH_TOKEN or SNOWFLAKE_OAUTH_TOKEN_PATH)',
    );
  let apiBase: string;
  let gateway: string | undefined;
  let auth: Deployment['auth'];
  try {
    const b = accountToApiBase(env[acctVar]!, acctVar);
    apiBase = b.url;
    // SNOWFLAKE_AI_GATEWAY=1 (or the gateway endpoint itself as the account URL): cortex/gateway.ts.
    const gw = envGateway(env, apiBase);
    apiBase = gw.apiBase;
    gateway = gw.gateway;
    warnings.push(...b.warnings.filter((w) => !gateway || !isPathWarning(w)));
    auth = resolveAuth({ ...NO_PARAMS, warn: (_n, t) => void warnings.push(t.replace('{at}', '')) }, {
      label: 'the environment', where: '', env, fileDir: process.cwd(), cwd: process.cwd(), apiBase,
    });
    // Inside Snowpark Container Services the session token is meant for SNOWFLAKE_HOST, the in-platform route.
    if (auth.type === 'oauth' && 'tokenPath' in auth && auth.tokenPath === SPCS_TOKEN_PATH && env.SNOWFLAKE_HOST?.trim())
      apiBase = normaliseApiBase(`https://${env.SNOWFLAKE_HOST.trim()}`).url;
    const problem = gateway ? gatewayAuthProblem(auth) : undefined;
    if (problem) throw new ConfigError(`SNOWFLAKE_AI_GATEWAY: ${problem}`, 'set SNOWFLAKE_PAT (or an OAuth token), or unset SNOWFLAKE_AI_GATEWAY to call the account\'s /api/v2/cortex with the key pair');
  } catch (err) {
    if (err instanceof AccountError) throw new ConfigError(err.message, err.hint);
    throw err;
  }
  const settings: Settings = { ...DEFAULT_SETTINGS };
  const masterKey = envMasterKey(env);
  if (masterKey) settings.masterKey = masterKey;
  const deployments = envModels(env).map(
    (id): Deployment => ({ modelName: id, cortexModel: id, apiBase, auth, wire: 'auto', ...(gateway ? { gateway } : {}) }),
  );
  return { deployments, settings, source: 'environment', demo: false, warnings };
}

/**
 * Demo mode: nothing is configured. The deployments carry apiBase '' and an empty PAT; the caller (the server)
 * MUST replace apiBase with the in-process emulator's base URL (and may set any token it likes) before use.
 */
export function demoConfig(env: NodeJS.ProcessEnv, warnings: string[]): Config {
  const settings: Settings = { ...DEFAULT_SETTINGS };
  const masterKey = envMasterKey(env);
  if (masterKey) settings.masterKey = masterKey;
  const deployments = envModels(env).map(
    (id): Deployment => ({ modelName: id, cortexModel: id, apiBase: '', auth: { type: 'pat', token: '' }, wire: 'auto' }),
  );
  return { deployments, settings, source: 'demo', demo: true, warnings };
}
