// The loaded, validated configuration. config/load.ts builds it from a LiteLLM-style YAML file,
// from SNOWFLAKE_ACCOUNT + SNOWFLAKE_PAT, or (no config, no credentials) as demo mode.

import type { KeyObject } from 'node:crypto';

/**
 * The upstream wires by name (inference:complete, /v1/chat/completions, /v1/messages, /v1/responses): each
 * cortex/<wire>.ts adds its own name here (`declare module '../config/types.js' { interface WireNames { … } }`), and
 * cortex/wires.ts lists every wire once. Declared here, not there, so this file imports no wire.
 */
export interface WireNames {}
/** Which Cortex chat endpoint a deployment uses: a key of WireNames (the registry in cortex/wires.ts). */
export type WireName = keyof WireNames & string;
/** litellm_params.cortex_api: a wire, or `auto` (the wires' auto rules in cortex/wires.ts pick one per request). */
export type CortexApi = WireName | 'auto';

/**
 * How the proxy authenticates to Snowflake (reference/cortex-api.md §7; config/auth-config.ts builds it,
 * snowflake/auth.ts turns it into headers). The token-type header always matches the token.
 */
export type UpstreamAuth =
  /** Programmatic access token → PROGRAMMATIC_ACCESS_TOKEN. */
  | { type: 'pat'; token: string }
  /** Key-pair: a JWT minted from the private key, cached and renewed before it expires → KEYPAIR_JWT. */
  | KeyPairAuth
  /** A JWT minted elsewhere (LiteLLM's api_key / SNOWFLAKE_JWT), sent as is → KEYPAIR_JWT. Expires within the hour. */
  | { type: 'jwt'; token: string }
  /** OAuth access token, fixed → OAUTH. */
  | { type: 'oauth'; token: string }
  /** OAuth access token read from a file, re-read whenever the file changes (SPCS: /snowflake/session/token) → OAUTH. */
  | { type: 'oauth'; tokenPath: string };

export interface KeyPairAuth {
  type: 'keypair';
  /** Account part of iss/sub, normalised and upper-case (e.g. MYORG-MYACCOUNT, XY12345). */
  account: string;
  /** Login name, upper-case. */
  user: string;
  privateKey: KeyObject;
  /** SHA256:<base64> of the public key (DESCRIBE USER → RSA_PUBLIC_KEY_FP). */
  fingerprint: string;
}

export interface Deployment {
  /** The model name clients ask for (LiteLLM `model_name`). Several deployments may share one. */
  modelName: string;
  /** Cortex model id (LiteLLM `model: snowflake/<id>`). */
  cortexModel: string;
  /** e.g. https://myorg-myacct.snowflakecomputing.com/api/v2 (no trailing slash). */
  apiBase: string;
  auth: UpstreamAuth;
  wire: CortexApi;
  /**
   * The Cortex AI Gateway endpoint (…/api/v2/aigateways/SNOWFLAKE) when this deployment goes through it: the v1 chat
   * wires are sent there, everything else to apiBase (cortex/gateway.ts; litellm_params.cortex_gateway, a gateway api_base).
   */
  gateway?: string;
  /**
   * Set on the concrete deployment a wildcard model_name made for one requested name (cortex/router.ts): the
   * model_name pattern it came from. A configured wildcard deployment has `*` in modelName (and usually in cortexModel).
   */
  pattern?: string;
  /** litellm_params.timeout, ms: a non-streaming answer must be complete within it (config/deployment-params.ts). */
  timeoutMs?: number;
  /** litellm_params.stream_timeout, ms: a stream's longest wait for its first byte and between events. */
  streamTimeoutMs?: number;
  /** litellm_params.max_retries (num_retries): retries before any output, instead of the global num_retries. */
  maxRetries?: number;
  /** rpm/tpm: requests and tokens per minute this deployment takes (shared by the concrete copies of a wildcard). */
  limits?: { rpm?: number; tpm?: number; /** model_list[i]: the limiter key, the same in every worker. */ id: string };
  /** litellm_params.extra_headers (and headers), lower-case names: sent to Cortex; never the credential headers. */
  extraHeaders?: Record<string, string>;
  /** Per-deployment overrides from litellm_params. */
  maxTokens?: number;
  temperature?: number;
  /** model_info overrides of the model catalogue (config/model-info.ts; applied by cortex/models.ts deploymentInfo). */
  info?: import('../cortex/model-types.js').ModelInfoOverride;
}

export interface Settings {
  /** LiteLLM drop_params: silently drop parameters Cortex cannot honour (else answer 400). */
  dropParams: boolean;
  /** Retries on 429/5xx/connection failures before any output was sent. */
  numRetries: number;
  /** First retry waits about this long (ms); each further retry doubles it, with jitter. */
  retryBaseMs: number;
  /** Time-to-first-byte and idle-gap limit for upstream calls, in ms. */
  requestTimeoutMs: number;
  /** router_settings.timeout, ms: the default of every deployment's litellm_params.timeout. */
  routerTimeoutMs?: number;
  /** router_settings.stream_timeout, ms: the default of every deployment's litellm_params.stream_timeout. */
  streamTimeoutMs?: number;
  /** Client key; when set every /v1 route requires it. */
  masterKey?: string;
  disableSpendLogs: boolean;
  /** Largest accepted request body in bytes. */
  maxBodyBytes: number;
  /** Largest remote image the proxy fetches for a client, in bytes. */
  maxImageBytes: number;
  /** general_settings.image_url_fetch: which image URLs the proxy fetches (cortex/images.ts; default public). */
  imageUrlFetch?: 'public' | 'off' | 'any';
  /** general_settings.min_output_tokens: a client's (or model default's) max_tokens below this is raised to it; unset = respect the client. */
  minOutputTokens?: number;
  /** general_settings.usage_log_dir: folder of the usage log (default: usage/log.ts defaultUsageDir). */
  usageLogDir?: string;
  /** general_settings.usage_log_max_mb, in bytes: the usage log rolls over to a new file at this size. */
  usageLogMaxBytes?: number;
  /** general_settings.public_metrics: GET /metrics without the master key. */
  publicMetrics?: boolean;
  /** general_settings.credit_rates: AI credits per million tokens by Cortex model, over usage/rates.ts defaults. */
  creditRates?: Record<string, { input: number; output: number; cachedInput?: number }>;
  /** general_settings.client_header_timeout, ms: time a client has to send a request's headers (server/limits.ts). */
  clientHeaderTimeoutMs?: number;
  /** general_settings.client_body_timeout, ms: time a client has to send a whole request (server/limits.ts). */
  clientBodyTimeoutMs?: number;
  /** general_settings.workers: processes serving requests (server/cluster.ts); "auto" = one per core; default 1. */
  workers?: number | 'auto';
  /** general_settings.shutdown_timeout, ms: how long in-flight answers may finish after SIGTERM/SIGINT. */
  shutdownTimeoutMs?: number;
  /** general_settings.database_url: PostgreSQL for the team gateway's keys, usage and budgets (team/pg-store.ts). */
  databaseUrl?: string;
  /** general_settings.database_path: folder of the embedded team store (team/file-store.ts); default: the platform data folder. */
  databasePath?: string;
  /** general_settings.database_connection_pool_limit: PostgreSQL connections per replica (default 10). */
  databasePoolLimit?: number;
  /** general_settings.database_connection_timeout, in ms (the config says seconds; default 5 s). */
  databaseTimeoutMs?: number;
  /** general_settings.allowed_hosts: more Host names clients may use (server/browser-guard.ts); "*" = any. */
  allowedHosts?: string[];
  /** general_settings.trusted_proxies: IPs/CIDRs whose forwarded headers name the client (server/client-address.ts). */
  trustedProxies?: string[];
  /** general_settings.cors_origins: web origins granted CORS (server/browser-guard.ts). */
  corsOrigins?: string[];
  /** general_settings.cortex_gateway: every model without its own litellm_params.cortex_gateway goes through the Cortex AI Gateway. */
  cortexGateway?: boolean;
  /** general_settings.redis_url: Redis for limits shared by every replica (team/redis-limits.ts). */
  redisUrl?: string;
}

export interface Config {
  deployments: Deployment[];
  settings: Settings;
  /** Where the config came from: a file path, 'environment', or 'demo'. */
  source: string;
  /** True when no account is configured and the built-in emulator answers. */
  demo: boolean;
  /** Non-fatal problems (unknown keys, …) to print at start-up. */
  warnings: string[];
  /** Fallbacks and deployment cooldown (LiteLLM router_settings / litellm_settings); absent = none, defaults. */
  routing?: Routing;
}

export interface Routing {
  /** LiteLLM `fallbacks`: model_name → model_names tried in order when it fails before any output was sent. */
  fallbacks: Record<string, string[]>;
  /** How long a deployment that failed is tried only after its healthy siblings (router_settings.cooldown_time). */
  cooldownMs: number;
  /** router_settings.model_group_alias: requested name → the model_name that serves it; hidden ones stay out of /v1/models. */
  aliases?: Record<string, { model: string; hidden: boolean }>;
}

export const DEFAULT_SETTINGS: Settings = {
  dropParams: true,
  numRetries: 2,
  retryBaseMs: 500,
  requestTimeoutMs: 600_000,
  disableSpendLogs: false,
  maxBodyBytes: 32 * 1024 * 1024,
  maxImageBytes: 10 * 1024 * 1024,
};
