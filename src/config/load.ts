// Configuration loading: a LiteLLM-style YAML file (the quickstart's litellm_config.yaml loads unchanged),
// or SNOWFLAKE_ACCOUNT + SNOWFLAKE_PAT from the environment (zero-config), or demo mode when nothing at all is
// configured. Every problem in a file is reported with its line; unknown keys are warnings, never crashes.
// Secret values (PAT, master key) never appear in an error message or a warning.
// YAML is read the way PyYAML reads LiteLLM's files (config/yaml.ts); `include:` merges other files (config/include.ts).
//
// Where the config comes from (first match wins):
//   1. opts.configPath (the --config flag), relative to opts.cwd;
//   2. CORTEX_PROXY_CONFIG in the environment, relative to opts.cwd;
//   3. in opts.cwd: cortex-proxy.yaml, cortex-proxy.yml, litellm_config.yaml, litellm_config.yml, and
//      config.yaml (only when it has a top-level model_list:, since the name is generic);
//   3b. in the platform config folder (config/paths.ts): cortex-proxy.yaml, cortex-proxy.yml;
//   4. no file: SNOWFLAKE_ACCOUNT (or SNOWFLAKE_ACCOUNT_ID) + SNOWFLAKE_PAT → zero-config;
//   5. none of those → demo mode.
// A path named by 1 or 2 must exist. `.env` files are read from the config file's folder, then from opts.cwd,
// into opts.env (process.env by default) without overwriting keys that are already set.

import fs from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import { DEFAULT_SETTINGS } from './types.js';
import { ConfigError } from './errors.js';
import { FileCtx, type Entry } from './file-ctx.js';
import { editDistance } from '../core/edit-distance.js';
import { parseConfigYaml } from './yaml.js';
import type { Config, CortexApi, Deployment, Settings, WireName } from './types.js';
import { suggestModelId } from '../cortex/models.js';
import { parseModelInfo } from './model-info.js';
import { finishRouting, parseFallbacks, parseRouterSettings, type PendingRouting } from './routing.js';
import { checkWildcard } from './litellm-routing.js';
import { CORTEX_API_VALUES, WIRES } from '../cortex/wires.js';
import { PROVIDER_HINT, PROVIDER_WIRES, checkProviderBase, endpointWire } from './api-base-forms.js';
import { applyIncludes } from './include.js';
import { displayPath, findConfigFile, isFile, loadDotEnv } from './discovery.js';
import { demoConfig, envAccountVar, envMasterKey, fromEnvironment } from './env-modes.js';
import { applyCredential, parseCredentialList } from './credentials.js';
import { DEPLOYMENT_PARAM_KEYS, readDeploymentParams } from './deployment-params.js';
import { isPattern } from '../cortex/wildcards.js';
import { deploymentInfo } from '../cortex/models.js';
import { accountToApiBase, normaliseApiBase } from './account.js';
import { AUTH_PARAM_KEYS, authKeyInfo, resolveAuth, type ParamSource } from './auth-config.js';
import { readUsageSetting, USAGE_SETTING_KEYS } from '../usage/config.js';
import { readTeamSetting, TEAM_SETTING_KEYS } from '../team/config.js';
import {
  BROWSER_SETTING_KEYS, CLIENT_ADDRESS_SETTING_KEYS, LIMIT_SETTING_KEYS, WORKER_SETTING_KEYS,
  readBrowserSetting, readClientAddressSetting, readLimitSetting, readWorkersSetting,
} from './server-settings.js';
import { GATEWAY_AUTH_HINT, gatewayAuthProblem, gatewayChosen, gatewayOf, isPathWarning, splitGatewayBase } from '../cortex/gateway.js';

export { ConfigError };
export { CONFIG_FILE_NAMES, findConfigFile } from './discovery.js';
export { DEFAULT_MODELS } from './env-modes.js';

export interface LoadOptions {
  /** --config; relative paths are resolved against cwd. */
  configPath?: string;
  /** Working directory for the config search and the second .env (default process.cwd()). */
  cwd?: string;
  /**
   * Environment for os.environ/ references, zero-config and master-key fallbacks (default process.env).
   * `.env` values and the config's environment_variables are written into this object, never overwriting a
   * key that is already set, the way run-proxy.sh's `set -a; source .env` feeds LiteLLM.
   */
  env?: NodeJS.ProcessEnv;
}

const MAX_TIMEOUT_MS = 2_147_483_647; // setTimeout's limit; larger values fire at once
const MB = 1024 * 1024;

export function loadConfig(opts: LoadOptions = {}): Config {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? process.env;
  const warnings: string[] = [];

  let file: string | undefined;
  let named: string | undefined;
  if (opts.configPath) {
    file = path.resolve(cwd, opts.configPath);
    named = '--config';
  } else {
    file = findConfigFile(cwd, env);
    if (file && env.CORTEX_PROXY_CONFIG?.trim()) named = 'CORTEX_PROXY_CONFIG';
  }

  if (file) {
    const display = displayPath(file, cwd);
    if (!fs.existsSync(file))
      throw new ConfigError(`config file not found: ${display}`, `check the path given by ${named ?? 'the search'}`);
    if (!isFile(file))
      throw new ConfigError(`${display} is not a file`, 'point --config at a YAML file such as litellm_config.yaml');
    loadDotEnv(path.dirname(file), cwd, env, warnings);
    if (path.dirname(file) !== cwd) loadDotEnv(cwd, cwd, env, warnings);
    return loadFile(file, display, env, warnings, cwd);
  }

  loadDotEnv(cwd, cwd, env, warnings);
  return fromEnvironment(env, warnings) ?? demoConfig(env, warnings);
}

// ───────────────────────────── YAML file (config/file-ctx.ts reads it) ─────────────────────────────

const TOP_KEYS = ['model_list', 'litellm_settings', 'general_settings', 'environment_variables', 'router_settings', 'credential_list', 'include'];
const TOP_LITELLM = new Set([
  'guardrails', 'callback_settings', 'mcp_servers',
  'files_settings', 'assistant_settings', 'finetune_settings', 'vector_store_registry', 'search_tools',
  'prompts', 'model_group_settings', 'batch_settings',
]);
const MODEL_KEYS = ['model_name', 'litellm_params', 'model_info', 'rpm', 'tpm'];
const MODEL_LITELLM = new Set<string>();
const PARAM_KEYS = ['model', 'api_base', 'api_key', 'litellm_credential_name', 'stream', 'max_tokens', 'temperature', 'custom_llm_provider', 'cortex_api', 'cortex_gateway', ...AUTH_PARAM_KEYS, ...DEPLOYMENT_PARAM_KEYS];
const PARAM_LITELLM = new Set([
  'api_version', 'organization',
  'input_cost_per_token', 'output_cost_per_token', 'input_cost_per_second', 'output_cost_per_second',
  'drop_params', 'additional_drop_params', 'weight', 'order', 'tags', 'region_name', 'top_p', 'mock_response',
  'max_parallel_requests', 'use_in_pass_through', 'merge_reasoning_content_in_choices',
  'configurable_clientside_auth_params', 'cache_control_injection_points', 'seed', 'stop', 'model_info',
  'base_model', 'api_type', 'reasoning_effort', 'thinking', 'user',
]);
const LITELLM_KEYS = ['drop_params', 'num_retries', 'request_timeout', 'disable_spend_logs', 'fallbacks'];
const LITELLM_LITELLM = new Set([
  'set_verbose', 'json_logs', 'callbacks', 'success_callback', 'failure_callback', 'service_callback', 'cache',
  'cache_params', 'telemetry', 'max_budget', 'budget_duration', 'context_window_fallbacks',
  'content_policy_fallbacks', 'default_fallbacks', 'modify_params', 'turn_off_message_logging',
  'redact_user_api_key_info', 'redact_messages_in_exceptions', 'force_ipv4', 'enable_json_schema_validation',
  'default_team_settings', 'upperbound_key_generate_params', 'default_key_generate_params',
  'key_generation_settings', 'allowed_fails', 'cooldown_time', 'return_response_headers', 'ssl_verify',
  'ssl_certificate', 'disable_end_user_cost_tracking', 'enable_preview_features', 'mcp_aliases',
  'default_internal_user_params', 'default_max_internal_user_budget', 'max_internal_user_budget',
  'internal_user_budget_duration', 'global_disable_no_log_param', 'disable_add_transform_inline_image_block',
  'request_timeout_seconds', 'use_chat_completions_url_for_anthropic_messages', 'check_provider_endpoint',
]);
const GENERAL_KEYS = ['master_key', 'cortex_gateway', 'disable_spend_logs', 'max_request_body_mb', 'max_request_size_mb', 'max_image_mb', 'image_url_fetch', 'min_output_tokens', ...USAGE_SETTING_KEYS, ...TEAM_SETTING_KEYS, ...LIMIT_SETTING_KEYS, ...BROWSER_SETTING_KEYS, ...CLIENT_ADDRESS_SETTING_KEYS, ...WORKER_SETTING_KEYS];
const GENERAL_LITELLM = new Set([
  'store_model_in_db',
  'store_prompts_in_spend_logs', 'alerting', 'alerting_threshold', 'alert_types', 'alert_to_webhook_url',
  'proxy_batch_write_at', 'disable_master_key_return', 'max_response_size_mb', 'disable_reset_budget',
  'disable_adding_master_key_hash_to_db', 'disable_retry_on_max_parallel_request_limit_error', 'enable_jwt_auth',
  'litellm_jwtauth', 'allowed_routes', 'admin_only_routes', 'public_routes', 'enforce_user_param',
  'background_health_checks', 'health_check_interval', 'health_check_details', 'infer_model_from_keys',
  'custom_auth', 'custom_key_generate', 'allowed_ips', 'use_x_forwarded_for', 'forward_client_headers_to_llm_api',
  'user_header_name', 'disable_prisma_schema_update', 'pass_through_endpoints', 'key_management_system',
  'key_management_settings', 'use_redis_transaction_buffer', 'maximum_spend_logs_retention_period',
  'disable_error_logs', 'ui_access_mode', 'service_account_settings', 'global_max_parallel_requests',
  'allow_requests_on_db_unavailable', 'spend_report_frequency', 'proxy_budget_rescheduler_min_time',
  'proxy_budget_rescheduler_max_time', 'disable_spend_updates', 'store_audit_logs', 'embedding_model',
]);

const EXAMPLE_MODEL =
  'model_list:\n    - model_name: claude-4-sonnet\n      litellm_params:\n        model: snowflake/claude-4-sonnet\n' +
  '        api_base: https://<account>.snowflakecomputing.com/api/v2\n        api_key: os.environ/SNOWFLAKE_PAT';

function loadFile(file: string, display: string, env: NodeJS.ProcessEnv, warnings: string[], cwd: string): Config {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${display} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'check the file permissions', { file, display });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const { doc, lc } = parseConfigYaml(text, file, display, warnings);

  const ctx: FileCtx = new FileCtx(file, display, lc, doc, env, warnings);
  const root = ctx.deref(doc.contents as Node | null);
  if (root === null || (isScalar(root) && (root.value === null || root.value === '')))
    throw new ConfigError(`${display} is empty`, `start with\n  ${EXAMPLE_MODEL}`, { file, display });
  if (!isMap(root))
    ctx.fail(root, 'the top level of the config must be a mapping (model_list:, litellm_settings:, general_settings:)', `start with\n  ${EXAMPLE_MODEL}`);

  const top = new Map(ctx.entries(root, 'the config').map((e) => [e.key, e]));
  ctx.files.push(file);
  applyIncludes(ctx, top, (p) => displayPath(p, cwd)); // include: other files merged in (config/include.ts)
  for (const e of top.values()) if (!TOP_KEYS.includes(e.key)) ctx.unknown(e, '', TOP_KEYS, TOP_LITELLM);
  refuseStrayMasterKey(ctx, top);

  // environment_variables first: LiteLLM sets them before resolving os.environ/ references.
  const ev = top.get('environment_variables');
  if (ev?.value) {
    for (const e of ctx.entries(ev.value, 'environment_variables')) {
      const n = e.value;
      if (n === null || (isScalar(n) && n.value === null)) continue;
      if (!isScalar(n) || typeof n.value === 'object')
        ctx.fail(n, `environment_variables.${e.key} must be a plain value`, `write ${e.key}: "value"`);
      if (env[e.key] === undefined) env[e.key] = String(n.value);
    }
  }

  const settings: Settings = { ...DEFAULT_SETTINGS };
  const routing: PendingRouting = { rules: [] }; // fallbacks are checked once model_list is read (config/routing.ts)
  const rs = top.get('router_settings');
  if (rs) parseRouterSettings(ctx, rs, routing);
  const ls = top.get('litellm_settings');
  if (ls?.value && !(isScalar(ls.value) && ls.value.value === null)) {
    for (const e of ctx.entries(ls.value, 'litellm_settings')) {
      const name = `litellm_settings.${e.key}`;
      switch (e.key) {
        case 'drop_params':
          settings.dropParams = ctx.bool(e, name) ?? settings.dropParams;
          break;
        case 'num_retries':
          settings.numRetries = ctx.number(e, name, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer', '2') ?? settings.numRetries;
          break;
        case 'request_timeout': {
          const s = ctx.number(e, name, (n) => n > 0 && n * 1000 <= MAX_TIMEOUT_MS, `a positive number of seconds (at most ${Math.floor(MAX_TIMEOUT_MS / 1000)})`, '120');
          if (s !== undefined) settings.requestTimeoutMs = Math.max(1, Math.round(s * 1000));
          break;
        }
        case 'disable_spend_logs':
          settings.disableSpendLogs = ctx.bool(e, name) ?? settings.disableSpendLogs;
          break;
        case 'fallbacks':
          parseFallbacks(ctx, e, name, routing);
          break;
        default:
          ctx.unknown(e, 'litellm_settings', LITELLM_KEYS, LITELLM_LITELLM);
      }
    }
  }

  // router_settings apply to the router, over litellm_settings (LiteLLM's Router reads its own settings first).
  if (routing.numRetries !== undefined) settings.numRetries = routing.numRetries;
  if (routing.timeoutMs !== undefined) settings.routerTimeoutMs = routing.timeoutMs;
  if (routing.streamTimeoutMs !== undefined) settings.streamTimeoutMs = routing.streamTimeoutMs;

  const gs = top.get('general_settings');
  let gatewayEntry: Entry | undefined;
  if (gs?.value && !(isScalar(gs.value) && gs.value.value === null)) {
    const gEntries = ctx.entries(gs.value, 'general_settings');
    const hasBody = gEntries.some((e) => e.key === 'max_request_body_mb');
    for (const e of gEntries) {
      const name = `general_settings.${e.key}`;
      switch (e.key) {
        case 'master_key': {
          const s = ctx.secret(e, name, 'os.environ/LITELLM_MASTER_KEY');
          if (!s) break;
          const key = s.value.trim();
          if (key === '')
            ctx.fail(e.value, `${name} is empty${s.envName ? ` (${s.envName} is set to an empty string)` : ''}`, `set ${s.envName ?? 'it'} to a key such as sk-…, or delete master_key to run without client authentication`);
          if (/[\s\x00-\x1f\x7f]/.test(key))
            ctx.fail(e.value, `${name} contains spaces or control characters`, 'use a key made of printable characters without spaces, e.g. sk-…');
          settings.masterKey = key;
          break;
        }
        case 'disable_spend_logs':
          settings.disableSpendLogs = ctx.bool(e, name) ?? settings.disableSpendLogs;
          break;
        case 'max_request_body_mb':
        case 'max_request_size_mb': {
          const mb = ctx.number(e, name, (n) => n > 0 && n <= 4096, 'a positive number of megabytes (at most 4096)', '32');
          if (e.key === 'max_request_size_mb' && hasBody) {
            ctx.warn(e.keyNode, `${name}{at} is overridden by general_settings.max_request_body_mb`);
            break;
          }
          if (mb !== undefined) settings.maxBodyBytes = Math.round(mb * MB);
          break;
        }
        case 'max_image_mb': {
          const mb = ctx.number(e, name, (n) => n >= 0 && n <= 1024, 'a number of megabytes from 0 to 1024', '10');
          if (mb !== undefined) settings.maxImageBytes = Math.round(mb * MB);
          break;
        }
        case 'image_url_fetch': {
          // docs/images.md: public (default) fetches from public addresses only; off never fetches; any also
          // fetches from loopback and private networks (an intranet's images — and anything else there).
          const sc = ctx.scalar(e, name, 'public, off or any');
          if (!sc || sc.value === null || sc.value === undefined) break;
          // YAML 1.1 (PyYAML) reads a bare `off` as false: take it as meant.
          const mode = sc.value === false ? 'off' : String(sc.value).trim().toLowerCase();
          if (mode !== 'public' && mode !== 'off' && mode !== 'any') ctx.fail(e.value, `${name} must be public, off or any`, `write e.g. ${e.key}: public`);
          settings.imageUrlFetch = mode as 'public' | 'off' | 'any';
          break;
        }
        case 'min_output_tokens': {
          const n = ctx.number(e, name, (v) => Number.isInteger(v) && v > 0, 'a positive integer (tokens)', '8192');
          if (n !== undefined) settings.minOutputTokens = n;
          break;
        }
        case 'usage_log_dir':
        case 'usage_log_max_mb':
        case 'public_metrics':
        case 'credit_rates':
          readUsageSetting(ctx, e, name, settings);
          break;
        case 'client_header_timeout':
        case 'client_body_timeout':
        case 'shutdown_timeout':
          readLimitSetting(ctx, e, name, settings);
          break;
        case 'database_url':
        case 'database_path':
        case 'database_connection_pool_limit':
        case 'database_connection_timeout':
        case 'redis_url':
          readTeamSetting(ctx, e, name, settings);
          break;
        case 'allowed_hosts':
        case 'cors_origins':
          readBrowserSetting(ctx, e, name, settings);
          break;
        case 'trusted_proxies':
          readClientAddressSetting(ctx, e, name, settings);
          break;
        case 'cortex_gateway': // cortex/gateway.ts: applied below to every model without its own cortex_gateway
          settings.cortexGateway = ctx.bool(e, name);
          gatewayEntry = e;
          break;
        case 'workers':
          readWorkersSetting(ctx, e, settings);
          break;
        default:
          ctx.unknown(e, 'general_settings', GENERAL_KEYS, GENERAL_LITELLM);
      }
    }
  }
  if (settings.masterKey === undefined) {
    const k = envMasterKey(env);
    if (k) settings.masterKey = k;
  }

  const ml = top.get('model_list');
  if (!ml) ctx.fail(root, 'the config has no model_list', `add\n  ${EXAMPLE_MODEL}`);
  const list = ml.value;
  if (list === null || (isScalar(list) && list.value === null) || (isSeq(list) && list.items.length === 0))
    ctx.fail(ml.keyNode, 'model_list is empty', `add at least one model:\n  ${EXAMPLE_MODEL}`);
  if (!isSeq(list)) ctx.fail(list, 'model_list must be a list of models (lines starting with "- ")', `write\n  ${EXAMPLE_MODEL}`);
  const ce = top.get('credential_list');
  if (ce) ctx.credentials = parseCredentialList(ctx, ce, (v, section) => {
    if (!PARAM_KEYS.includes(v.key)) ctx.unknown(v as Entry, section, PARAM_KEYS, PARAM_LITELLM);
  });
  const deployments = list.items.map((item, i) => deploymentFrom(ctx, ctx.deref(item as Node), i));
  if (settings.cortexGateway)
    for (const d of deployments) {
      if (gatewayChosen.has(d)) continue; // its own litellm_params.cortex_gateway or gateway api_base decides
      d.gateway = gatewayOf(d.apiBase);
      const problem = gatewayAuthProblem(d.auth);
      if (problem) ctx.fail(gatewayEntry!.value, `general_settings.cortex_gateway: model '${d.modelName}': ${problem}`, GATEWAY_AUTH_HINT);
    }
  const routes = finishRouting(ctx, routing, deployments);

  if (ctx.literalSecret && process.platform !== 'win32')
    for (const f of ctx.files) {
      const d = displayPath(f, cwd);
      if ((fs.statSync(f).mode & 0o077) !== 0) warnings.push(`${d} holds a secret and is readable by other users — run: chmod 600 ${d}`);
    }
  return { deployments, settings, source: file, demo: false, warnings, ...(routes ? { routing: routes } : {}) };
}

function deploymentFrom(ctx: FileCtx, item: Node | null, i: number): Deployment {
  const where = `model_list[${i}]`;
  if (!item || !isMap(item))
    ctx.fail(item, `${where} must be a mapping with model_name and litellm_params`, `write\n  ${EXAMPLE_MODEL}`);
  const fields = new Map(ctx.entries(item, where).map((e) => [e.key, e]));
  for (const e of fields.values()) if (!MODEL_KEYS.includes(e.key)) ctx.unknown(e, where, MODEL_KEYS, MODEL_LITELLM);

  const mn = fields.get('model_name');
  const modelName = mn ? ctx.string(mn, `${where}.model_name`, 'claude-4-sonnet') : undefined;
  if (!modelName) ctx.fail(mn?.value ?? item, `${where} has no model_name`, 'add model_name: <the name clients ask for>, e.g. model_name: claude-4-sonnet');

  const lp = fields.get('litellm_params');
  if (!lp || lp.value === null || (isScalar(lp.value) && lp.value.value === null))
    ctx.fail(lp?.keyNode ?? item, `model '${modelName}' has no litellm_params`, 'add litellm_params: with model: snowflake/<cortex model>, api_base and api_key');
  const params = new Map(ctx.entries(lp.value, `${where}.litellm_params`).map((e) => [e.key, e]));
  const pw = `${where}.litellm_params`;
  for (const e of params.values()) if (!PARAM_KEYS.includes(e.key)) ctx.unknown(e, pw, PARAM_KEYS, PARAM_LITELLM);
  applyCredential(ctx, params, ctx.credentials, pw); // litellm_credential_name: credential_list values (config/credentials.ts)

  // model: snowflake/<cortex id>
  const me = params.get('model');
  const model = me ? ctx.string(me, `${pw}.model`, 'snowflake/claude-4-sonnet') : undefined;
  if (!model) ctx.fail(me?.value ?? lp.keyNode, `model '${modelName}' has no litellm_params.model`, 'add model: snowflake/<cortex model>, e.g. model: snowflake/claude-4-sonnet');
  const cp = params.get('custom_llm_provider');
  const provider = cp ? ctx.string(cp, `${pw}.custom_llm_provider`, 'snowflake') : undefined;
  if (provider && provider.toLowerCase() !== 'snowflake')
    ctx.fail(cp!.value, `only snowflake/ models are supported (custom_llm_provider is '${provider}')`, 'cortex-proxy talks only to Snowflake Cortex; remove custom_llm_provider or set it to snowflake');
  let cortexModel: string;
  const slash = model.indexOf('/');
  // openai/<id> and anthropic/<id> pointed at Cortex's v1 endpoints: that wire (config/api-base-forms.ts).
  const providerWire = slash > 0 ? PROVIDER_WIRES[model.slice(0, slash).toLowerCase()] : undefined;
  if (model.toLowerCase().startsWith('snowflake/')) cortexModel = model.slice('snowflake/'.length).trim();
  else if (providerWire) cortexModel = model.slice(slash + 1).trim();
  else if (slash > 0)
    ctx.fail(me!.value, `only snowflake/ models are supported (got provider '${model.slice(0, slash)}')`, 'cortex-proxy talks only to Snowflake Cortex; write model: snowflake/<cortex model>, e.g. snowflake/claude-4-sonnet');
  else if (provider) cortexModel = model;
  else ctx.fail(me!.value, `model '${model}' has no provider prefix`, `write model: snowflake/${model}`);
  checkWildcard(ctx, modelName, cortexModel, mn!.value, me!.value);
  if (!isPattern(cortexModel)) {
    const guess = suggestModelId(cortexModel); // one rule (cortex/models.ts): gpt-5 → openai-gpt-5, typos, aliases
    if (guess) ctx.warn(me!.value, `Cortex model '${cortexModel}'{at} is not one cortex-proxy knows — did you mean '${guess}'?`);
  }

  // api_base, or SNOWFLAKE_ACCOUNT when absent (LiteLLM builds the base from the account id the same way).
  let apiBase: string;
  let endpoint: WireName | undefined; // the endpoint a full api_base names (…/inference:complete, …/v1/messages)
  let gateway: string | undefined;
  const be = params.get('api_base');
  const rawBase = be ? ctx.string(be, `${pw}.api_base`, 'https://<account>.snowflakecomputing.com/api/v2') : undefined;
  if (rawBase) {
    try {
      const b = normaliseApiBase(rawBase);
      apiBase = b.url;
        endpoint = b.endpoint;
        // The Cortex AI Gateway endpoint (…/api/v2/aigateways/SNOWFLAKE, any host): cortex/gateway.ts.
        const gw = splitGatewayBase(b.url);
        if (gw) [apiBase, gateway] = [gw.apiBase, gw.gateway];
        for (const w of b.warnings) if (!gw || !isPathWarning(w)) ctx.warn(be!.value, `${pw}.api_base{at}: ${w}`);
    } catch (err) {
      ctx.failAccount(be!.value, err);
    }
    if (providerWire) checkProviderBase(ctx, model, providerWire, rawBase, be!.value);
  } else {
    if (providerWire) ctx.fail(me!.value, `model '${modelName}': ${model.slice(0, slash)}/ models need an api_base that is a Cortex v1 URL`, PROVIDER_HINT);
    // litellm_params.snowflake_account (or LiteLLM's account_id) names the account too.
    const ae = ['snowflake_account', 'snowflake_account_id', 'account_id'].map((k) => params.get(k)).find((e) => e);
    const acct = ae ? ctx.string(ae, `${pw}.${ae.key}`, 'myorg-myaccount') : undefined;
    const acctVar = envAccountVar(ctx.env);
    if (!acct && !acctVar)
      ctx.fail(be?.value ?? lp.keyNode, `model '${modelName}' has no api_base`, 'add api_base: https://<account>.snowflakecomputing.com/api/v2 (or set SNOWFLAKE_ACCOUNT)');
    try {
      apiBase = acct ? accountToApiBase(acct, `${pw}.${ae!.key}`).url : accountToApiBase(ctx.env[acctVar!]!, acctVar).url;
    } catch (err) {
      ctx.failAccount(ae?.value ?? be?.value ?? lp.keyNode, err);
    }
  }

  // Credentials: api_key (PAT, pat/ prefix optional), a key pair or OAuth — config/auth-config.ts.
  const auth = resolveAuth(authParams(ctx, params, lp, pw), {
    label: `model '${modelName}'`, where: pw, env: ctx.env, fileDir: path.dirname(ctx.file), cwd: process.cwd(), apiBase,
  });

  const d: Deployment = { modelName, cortexModel, apiBase, auth, wire: 'auto' };
  // litellm_params.cortex_gateway: true sends this model through the account's Cortex AI Gateway, false keeps it on
  // /api/v2/cortex even under general_settings.cortex_gateway (cortex/gateway.ts).
  const ge = params.get('cortex_gateway');
  const viaGateway = ge ? ctx.bool(ge, `${pw}.cortex_gateway`) : undefined;
  if (viaGateway === false && gateway) ctx.fail(ge!.value, `${pw}.cortex_gateway is false but api_base is the Cortex AI Gateway endpoint`, 'remove cortex_gateway: false, or set api_base to the account (https://<account>.snowflakecomputing.com/api/v2)');
  if (viaGateway === true) gateway ??= gatewayOf(apiBase);
  if (gateway) d.gateway = gateway;
  if (ge || gateway) gatewayChosen.add(d);
  const gwProblem = gateway ? gatewayAuthProblem(auth) : undefined;
  if (gwProblem) ctx.fail((ge ?? be)!.value, `model '${modelName}': ${gwProblem}`, GATEWAY_AUTH_HINT);
  const se = params.get('stream');
  if (se) ctx.bool(se, `${pw}.stream`); // informational: each client request says whether it streams
  const mt = params.get('max_tokens');
  const maxTokens = mt ? ctx.number(mt, `${pw}.max_tokens`, (n) => Number.isInteger(n) && n > 0, 'a positive integer', '4096') : undefined;
  if (maxTokens !== undefined) d.maxTokens = maxTokens;
  const te = params.get('temperature');
  const temperature = te ? ctx.number(te, `${pw}.temperature`, (n) => n >= 0 && n <= 2, 'a number from 0 to 2', '0.2') : undefined;
  if (temperature !== undefined) d.temperature = temperature;
  if (fields.has('model_info')) d.info = parseModelInfo(ctx, fields.get('model_info')!, where);
  const ae = params.get('cortex_api');
  const named = providerWire ?? endpoint;
  if (ae) d.wire = cortexApi(ctx, ae, `${pw}.cortex_api`, d);
  else if (named) d.wire = endpointWire(ctx, named, d, (providerWire ? me : be)!.value, `${pw}.${providerWire ? 'model' : 'api_base'}`);
  if (ae && named && d.wire !== named)
    ctx.warn(ae.value, `${pw}.cortex_api{at} (${d.wire}) overrides the endpoint ${providerWire ? 'litellm_params.model' : 'api_base'} names (${named})`);
  readDeploymentParams(ctx, params, fields, pw, where, d);
  return d;
}

/** litellm_params.cortex_api: which Cortex chat endpoint this deployment uses (the wires of cortex/wires.ts, or auto). */
function cortexApi(ctx: FileCtx, e: Entry, name: string, d: Deployment): CortexApi {
  const v = ctx.string(e, name, 'auto');
  if (v === undefined || v === '') return 'auto';
  const api = v.toLowerCase() as CortexApi;
  if (!CORTEX_API_VALUES.includes(api))
    ctx.fail(e.value, `${name} must be ${CORTEX_API_VALUES.slice(0, -1).join(', ')} or ${CORTEX_API_VALUES.at(-1)} (got ${JSON.stringify(v.slice(0, 40))})`, 'write cortex_api: auto (Claude → /v1/messages, others → /v1/chat/completions, inference:complete when the account refuses them)');
  const serves = api === 'auto' ? undefined : WIRES[api].serves; // e.g. /v1/messages: Claude only, /v1/responses: OpenAI only
  if (serves && !isPattern(d.cortexModel) && !serves.test(deploymentInfo(d)))
    ctx.fail(e.value, `${name}: ${api} serves ${serves.label} only, and '${d.cortexModel}' is not one`, 'use cortex_api: auto for this model');
  return api;
}

/** One model's litellm_params as config/auth-config.ts reads them: os.environ/ resolved, errors at their line. */
function authParams(ctx: FileCtx, params: Map<string, Entry>, lp: Entry, pw: string): ParamSource {
  return {
    get(name, secret) {
      const e = params.get(name);
      if (!e) return undefined;
      const example = authKeyInfo(name)?.example ?? '…';
      if (secret) return ctx.secret(e, `${pw}.${name}`, example);
      const v = ctx.string(e, `${pw}.${name}`, example);
      return v ? { value: v } : undefined;
    },
    fail: (name, detail, hint) => ctx.fail((name && params.get(name)?.value) || lp.keyNode, detail, hint),
    warn(name, text) {
      const e = name ? params.get(name) : undefined;
      if (e) ctx.warn(e.value ?? e.keyNode, text);
      else if (!ctx.warnings.includes(text.replace('{at}', ''))) ctx.warnings.push(text.replace('{at}', ''));
    },
  };
}

/**
 * A master key written where cortex-proxy does not read it (a misspelt section such as `general_setting:`, or a
 * misspelt key such as `master-key:`) would start the proxy with no client authentication: an error, never a
 * warning (never fail open).
 */
function refuseStrayMasterKey(ctx: FileCtx, top: Map<string, Entry>): void {
  const isKey = (k: string) => /^master[-_ ]?keys?$/i.test(k) || (k.toLowerCase() !== 'master_key' && editDistance(k.toLowerCase(), 'master_key', 3) <= 2);
  for (const e of top.values()) {
    if (!e.value || !isMap(e.value) || e.key === 'environment_variables') continue;
    for (const pair of e.value.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!isKey(k) || (e.key === 'general_settings' && k === 'master_key')) continue;
      const where = e.key === 'general_settings' ? `general_settings.${k}` : `${e.key}.${k}`;
      ctx.fail(pair.key as Node, `${where} looks like a master key that cortex-proxy would not read: the proxy would start without client authentication`, `write it as general_settings.master_key (e.g. master_key: os.environ/CORTEX_PROXY_MASTER_KEY under general_settings:)`);
    }
  }
}
