// The loaded, validated configuration. config/load.ts builds it from a LiteLLM-style YAML file,
// from SNOWFLAKE_ACCOUNT + SNOWFLAKE_PAT, or (no config, no credentials) as demo mode.

export type WireName = 'complete';

export type UpstreamAuth = { type: 'pat'; token: string };

export interface Deployment {
  /** The model name clients ask for (LiteLLM `model_name`). Several deployments may share one. */
  modelName: string;
  /** Cortex model id (LiteLLM `model: snowflake/<id>`). */
  cortexModel: string;
  /** e.g. https://myorg-myacct.snowflakecomputing.com/api/v2 (no trailing slash). */
  apiBase: string;
  auth: UpstreamAuth;
  wire: WireName;
  /** Per-deployment overrides from litellm_params. */
  maxTokens?: number;
  temperature?: number;
  /** model_info overrides of the model catalogue (config/model-info.ts; applied by cortex/models.ts deploymentInfo). */
  info?: import('../cortex/models.js').ModelInfoOverride;
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
  /** Client key; when set every /v1 route requires it. */
  masterKey?: string;
  disableSpendLogs: boolean;
  /** Largest accepted request body in bytes. */
  maxBodyBytes: number;
  /** Largest remote image the proxy fetches for a client, in bytes. */
  maxImageBytes: number;
  /** general_settings.min_output_tokens: a client's (or model default's) max_tokens below this is raised to it; unset = respect the client. */
  minOutputTokens?: number;
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
