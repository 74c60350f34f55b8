// `cortex-proxy init`: from an account name and a credential to a checked, commented config + a private .env.
//
//   1. where: --dir, --global (the platform config folder, where `serve` also looks), or the working directory;
//      existing files are refused without --force (with --force they are backed up first);
//   2. the account identifier (--account / SNOWFLAKE_ACCOUNT / prompt), checked for form;
//   3. the auth method and its secret (AUTH_METHODS: each collects its own inputs and says what goes into .env and
//      into litellm_params);
//   4. the credential is checked against Cortex (GET /api/v2/cortex/models with {}, else a 1-token request)
//      before anything is written; the answer also gives the models the account can use;
//   5. models (--models / SNOWFLAKE_MODELS / multiselect / a default set the account has);
//   6. writes cortex-proxy.yaml (LiteLLM-compatible, commented) and .env (mode 0600: the secret + a generated
//      master key of 256 bits). Neither secret is ever printed.
import { chooseGateway } from './init-gateway.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as p from '@clack/prompts';
import type { UpstreamAuth } from '../config/types.js';
import { AccountError, accountToApiBase, patFromKey } from '../config/account.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { jwtAccount } from '../snowflake/keypair.js';
import { platformConfigDir } from '../config/paths.js';
import { generateMasterKey } from '../config/master-key.js';
import { KNOWN_MODELS, modelInfo } from '../cortex/models.js';
import { completeWire } from '../cortex/complete.js';
import { classifyRefusal, listModels, nearestModel, patFix, probeModel, tokenFacts, type Refusal } from '../snowflake/diagnose.js';
import { NetworkFailure } from '../snowflake/http.js';
import { canPrompt, colorsFor, die } from './ui.js';

export interface InitOptions {
  yes?: boolean;
  account?: string;
  auth?: string;
  patFile?: string;
  models?: string;
  dir?: string;
  global?: boolean;
  force?: boolean;
  /** commander's --no-verify sets this to false. */
  verify?: boolean;
  /** key-pair: the private key file (PKCS#8 .p8, encrypted or not). */
  privateKey?: string;
  /** key-pair: the Snowflake login name. */
  user?: string;
  /** OAuth: a file holding the access token (re-read whenever it changes). */
  oauthTokenFile?: string;
  /** --gateway / --no-gateway: chat through the account's Cortex AI Gateway (init-gateway.ts); neither = ask on a terminal. */
  gateway?: boolean;
}

export const CONFIG_NAME = 'cortex-proxy.yaml';
export const MASTER_KEY_VAR = 'CORTEX_PROXY_MASTER_KEY';
/** Served when the user names none, if the account has them (agents need tool calling). */
export const DEFAULT_INIT_MODELS = ['claude-sonnet-4-5', 'claude-4-sonnet', 'openai-gpt-4.1', 'openai-gpt-5'];

/** What an auth method contributes: the credential to check now, the .env secrets, the litellm_params lines. */
export interface AuthSetup {
  /** Set by methods that build it themselves; otherwise it is what loading the written config yields (resolveAuth). */
  auth?: UpstreamAuth;
  env: Record<string, string>;
  params: Array<{ key: string; value: string; comment?: string }>;
  /** Shown after the check, e.g. "PAT, expires 2026-12-12". Never contains the secret. */
  describe: string;
}

interface AuthMethod {
  label: string;
  hint: string;
  /** false: listed, but this build cannot use it yet. */
  available: boolean;
  collect(ctx: { interactive: boolean; opts: InitOptions; env: NodeJS.ProcessEnv; account: string; apiBase: string }): Promise<AuthSetup>;
}

export const AUTH_METHODS: Record<string, AuthMethod> = {
  pat: {
    label: 'Programmatic access token (PAT)',
    hint: 'Snowsight → your profile → Programmatic access tokens',
    available: true,
    async collect({ interactive, opts, env }) {
      let raw: string | undefined;
      if (opts.patFile) raw = readSecretFile(opts.patFile, '--pat-file');
      else if (env.SNOWFLAKE_PAT?.trim()) raw = env.SNOWFLAKE_PAT;
      else if (interactive) {
        raw = answer(
          await p.password({
            message: 'Programmatic access token (input hidden; `pat/` prefix optional)',
            validate: (v) => {
              try {
                patFromKey(v ?? '', 'the token');
                return undefined;
              } catch (e) {
                return (e as AccountError).message;
              }
            },
          }),
        );
      }
      if (!raw)
        die('no programmatic access token given', 'set SNOWFLAKE_PAT in the environment, or pass --pat-file FILE (- reads stdin); run without --yes on a terminal to be asked', 2);
      let token: string;
      try {
        token = patFromKey(raw, 'the token');
      } catch (e) {
        die((e as AccountError).message, (e as AccountError).hint, 2);
      }
      const facts = tokenFacts(token);
      if (facts.kind === 'master-key') die('that looks like a proxy master key (sk-…), not a Snowflake programmatic access token', AUTH_METHODS.pat.hint, 2);
      if (facts.kind === 'keypair-jwt') die('that is a key-pair JWT (RS256), not a programmatic access token', 'use --auth keypair with the private key, or create a PAT', 2);
      if (facts.expiresAt && facts.expiresAt.getTime() <= Date.now())
        die(`the programmatic access token expired on ${facts.expiresAt.toISOString().slice(0, 10)}`, `create a new one: ${AUTH_METHODS.pat.hint}`);
      return {
        auth: { type: 'pat', token },
        // pat/ keeps the file usable by LiteLLM too (its marker for PAT auth); cortex-proxy accepts both forms.
        env: { SNOWFLAKE_PAT: `pat/${token}` },
        params: [{ key: 'api_key', value: 'os.environ/SNOWFLAKE_PAT', comment: 'programmatic access token, from .env' }],
        describe: facts.expiresAt ? `programmatic access token, expires ${facts.expiresAt.toISOString().slice(0, 10)}` : 'programmatic access token',
      };
    },
  },
  keypair: {
    label: 'Key-pair (RSA private key)',
    hint: 'a .p8 key whose public key is set on your user (ALTER USER … SET RSA_PUBLIC_KEY)',
    available: true,
    async collect({ interactive, opts, env, account, apiBase }) {
      let keyPath = opts.privateKey ?? env.SNOWFLAKE_PRIVATE_KEY_PATH;
      if (!keyPath && interactive) keyPath = answer(await p.text({ message: 'Path to the private key (.p8)', placeholder: '~/.snowflake/rsa_key.p8', validate: (v) => (v && fs.existsSync(expandHome(v)) ? undefined : 'no such file') }));
      if (!keyPath) die('no private key given', 'pass --private-key FILE or set SNOWFLAKE_PRIVATE_KEY_PATH', 2);
      keyPath = path.resolve(expandHome(keyPath));
      let pem = '';
      try {
        pem = fs.readFileSync(keyPath, 'utf8');
      } catch (e) {
        die(`cannot read the private key ${keyPath}: ${(e as NodeJS.ErrnoException).code}`, undefined, 2);
      }
      let user = opts.user ?? env.SNOWFLAKE_USER;
      if (!user && interactive) user = answer(await p.text({ message: 'Snowflake login name (the user whose RSA_PUBLIC_KEY matches)', validate: (v) => (v?.trim() ? undefined : 'required') }));
      if (!user) die('no Snowflake user given', 'pass --user NAME or set SNOWFLAKE_USER', 2);
      let pass = env.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE;
      if (!pass && /ENCRYPTED/.test(pem)) {
        if (!interactive) die('the private key is encrypted and no passphrase is given', 'set SNOWFLAKE_PRIVATE_KEY_PASSPHRASE', 2);
        pass = answer(await p.password({ message: 'Passphrase of the private key (input hidden)' }));
      }
      return {
        env: pass ? { SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: pass } : ({} as Record<string, string>),
        params: [
          { key: 'auth', value: 'keypair' },
          { key: 'snowflake_user', value: user.trim() },
          { key: 'private_key_path', value: keyPath, comment: 'the key stays in its file; only its path is here' },
          ...(pass ? [{ key: 'private_key_passphrase', value: 'os.environ/SNOWFLAKE_PRIVATE_KEY_PASSPHRASE', comment: 'from .env' }] : []),
          // The JWT names the account; a non-Snowflake host (a gateway, the emulator) cannot tell it.
          ...(/\.snowflakecomputing\.(com|cn)$/i.test(new URL(apiBase).hostname) ? [] : [{ key: 'jwt_account', value: jwtAccount(account) }]),
        ],
        describe: `key-pair for user ${user.trim().toUpperCase()}`,
      };
    },
  },
  oauth: {
    label: 'OAuth access token',
    hint: 'a token file (re-read when it changes, e.g. in Snowpark Container Services) or a token',
    available: true,
    async collect({ interactive, opts, env }) {
      const file = opts.oauthTokenFile ?? env.SNOWFLAKE_OAUTH_TOKEN_PATH;
      if (file) {
        const abs = path.resolve(expandHome(file));
        if (!fs.existsSync(abs)) die(`the OAuth token file ${abs} does not exist`, undefined, 2);
        return { env: {} as Record<string, string>, params: [{ key: 'auth', value: 'oauth' }, { key: 'oauth_token_path', value: abs, comment: 're-read whenever it changes' }], describe: `OAuth token from ${abs}` };
      }
      let token = env.SNOWFLAKE_OAUTH_TOKEN;
      if (!token && interactive) token = answer(await p.password({ message: 'OAuth access token (input hidden)', validate: (v) => (v?.trim() ? undefined : 'required') }));
      if (!token) die('no OAuth token given', 'pass --oauth-token-file FILE, or set SNOWFLAKE_OAUTH_TOKEN', 2);
      return {
        env: { SNOWFLAKE_OAUTH_TOKEN: token.trim() },
        params: [{ key: 'auth', value: 'oauth' }, { key: 'oauth_token', value: 'os.environ/SNOWFLAKE_OAUTH_TOKEN', comment: 'from .env; access tokens expire: prefer oauth_token_path' }],
        describe: 'OAuth access token',
      };
    },
  },
};

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/**
 * The credential exactly as `serve` will build it: the config and .env are written to a private temporary folder
 * and loaded with the real loader (config/load.ts), so what init checks is what the proxy will send.
 */
function resolveAuth(setup: AuthSetup, apiBase: string, account: string): UpstreamAuth {
  if (setup.auth) return setup.auth;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-proxy-init-'));
  try {
    fs.writeFileSync(path.join(tmp, CONFIG_NAME), configText({ apiBase, account, models: ['probe'], setup }));
    fs.writeFileSync(path.join(tmp, '.env'), envText({ ...setup.env, [MASTER_KEY_VAR]: generateMasterKey() }), { mode: 0o600 });
    const cfg = loadConfig({ configPath: path.join(tmp, CONFIG_NAME), cwd: tmp, env: { ...process.env } });
    return cfg.deployments[0].auth;
  } catch (e) {
    if (e instanceof ConfigError) die(e.detail, e.hint, 2);
    throw e;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export async function init(opts: InitOptions): Promise<void> {
  const env = process.env;
  const interactive = canPrompt(opts.yes);
  const c = colorsFor(process.stdout);
  if (interactive) p.intro(c.bold('cortex-proxy init'));

  // 1. where
  let dir: string;
  if (opts.dir && opts.global) die('--dir and --global name two different folders', 'pass one of them', 2);
  if (opts.dir) dir = path.resolve(opts.dir);
  else if (opts.global) dir = platformConfigDir(env);
  else if (interactive) {
    const cwd = process.cwd();
    const home = platformConfigDir(env);
    dir = answer(
      await p.select({
        message: 'Where should the config live?',
        options: [
          { value: cwd, label: 'This folder', hint: cwd },
          { value: home, label: 'Your user config folder (found by cortex-proxy from any folder)', hint: home },
        ],
        initialValue: cwd,
      }),
    );
  } else dir = process.cwd();
  const configPath = path.join(dir, CONFIG_NAME);
  const envPath = path.join(dir, '.env');
  const existing = [configPath, envPath].filter((f) => fs.existsSync(f));
  if (existing.length && !opts.force)
    die(`${existing.map((f) => display(f)).join(' and ')} already exist${existing.length === 1 ? 's' : ''}; nothing was written`, 'pass --force to replace them (the old files are kept as backups), or --dir for another folder');

  // 2. account
  let account = opts.account ?? env.SNOWFLAKE_ACCOUNT ?? env.SNOWFLAKE_ACCOUNT_ID;
  if (!account && interactive) {
    account = answer(
      await p.text({
        message: 'Snowflake account identifier',
        placeholder: 'myorg-myaccount (Snowsight → account menu → account identifier)',
        validate: (v) => {
          try {
            accountToApiBase(v ?? '', 'the account identifier');
            return undefined;
          } catch (e) {
            return (e as AccountError).message;
          }
        },
      }),
    );
  }
  if (!account) die('no account identifier given', 'pass --account myorg-myaccount or set SNOWFLAKE_ACCOUNT', 2);
  let apiBase: string;
  try {
    apiBase = accountToApiBase(account, opts.account ? '--account' : 'SNOWFLAKE_ACCOUNT').url;
  } catch (e) {
    die((e as AccountError).message, (e as AccountError).hint, 2);
  }

  // 3. auth method + secret
  let method = opts.auth?.toLowerCase();
  if (method === undefined && interactive) {
    method = answer(
      await p.select({
        message: 'How should the proxy sign in to Snowflake?',
        options: Object.entries(AUTH_METHODS).map(([value, m]) => ({ value, label: m.label, hint: m.hint, disabled: !m.available })),
        initialValue: 'pat',
      }),
    );
  }
  method ??= 'pat';
  const auth = AUTH_METHODS[method];
  if (!auth) die(`unknown auth method '${method}'`, `use one of: ${Object.keys(AUTH_METHODS).join(', ')}`, 2);
  const setup = await auth.collect({ interactive, opts, env, account, apiBase });
  setup.auth = resolveAuth(setup, apiBase, account);
  const credential = setup.auth;

  // 4. check the credential against Cortex before writing anything
  let available: string[] | undefined;
  if (opts.verify !== false) {
    const spin = interactive ? p.spinner() : undefined;
    spin?.start(`Checking the credential with ${new URL(apiBase).host}`);
    try {
      const r = await listModels({ apiBase, auth: credential });
      if (r.ok) available = r.models;
      else if (r.answer.status === 401 || r.answer.status === 403) {
        const why = classifyRefusal(r.answer);
        spin?.error('The credential was refused');
        die(`Snowflake refused the credential: ${why.detail}`, initFix(why));
      } else {
        // The models list is not served here: a 1-token request decides.
        const probe = await probeModel(
          { modelName: 'probe', cortexModel: pickModels(opts, env, undefined)[0], apiBase, auth: credential, wire: 'complete' },
          completeWire,
        );
        if (!probe.ok && probe.reason === 'refused') {
          spin?.error('The credential was refused');
          die(`Snowflake refused the credential: ${probe.detail}`, probe.refusal && initFix(probe.refusal));
        }
        if (!probe.ok && probe.reason === 'network') die(`cannot reach Snowflake: ${probe.detail}`, 'check the account identifier and your network');
      }
    } catch (err) {
      spin?.error('Snowflake did not answer');
      if (err instanceof NetworkFailure)
        die(`cannot reach Snowflake: ${err.message}`, err.code === 'ENOTFOUND' ? 'check the account identifier (orgname-accountname)' : 'check your network, proxy settings or VPN');
      throw err;
    }
    spin?.stop(`Credential accepted (${setup.describe})${available ? `; ${available.length} models available` : ''}`);
  }

  // 4b. the Cortex AI Gateway, when the account has one (SHOW AI GATEWAYS): init-gateway.ts
  const gw = await chooseGateway({
    apiBase,
    auth: credential,
    want: opts.gateway,
    verify: opts.verify !== false,
    confirm: interactive
      ? async (endpoint) => answer(await p.confirm({ message: `This account has a Cortex AI Gateway (${endpoint}). Send chat through it (model allowlist, traces, budgets)?`, initialValue: true }))
      : undefined,
  });
  if (gw.error) die(gw.error.message, gw.error.hint);

  // 5. models
  let models: string[];
  const named = opts.models ?? env.SNOWFLAKE_MODELS;
  if (!named && interactive) {
    const choices = orderModels(available ?? [...KNOWN_MODELS.keys()]);
    const preselected = DEFAULT_INIT_MODELS.filter((m) => choices.includes(m));
    models = answer(
      await p.multiselect({
        message: 'Models to serve (space toggles, enter confirms)',
        options: choices.map((id) => ({ value: id, label: id, hint: describeModel(id) })),
        initialValues: preselected.length ? preselected : choices.slice(0, 1),
        required: true,
      }),
    );
  } else models = pickModels(opts, env, available);
  if (available) {
    const missing = models.filter((m) => !available!.includes(m));
    if (missing.length) {
      const hints = missing.map((m) => {
        const near = nearestModel(m, available!);
        return near ? `${m} → try ${near}` : m;
      });
      die(`not available to this account (region or catalogue): ${missing.join(', ')}`, `${hints.join('; ')}. Available: ${available.join(', ')}`);
    }
  }

  // 6. write
  const masterKey = generateMasterKey();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const backups: string[] = [];
  for (const f of existing) backups.push(backup(f));
  writePrivate(configPath, configText({ apiBase: gw.endpoint ?? apiBase, account, models, setup }), 0o644);
  const previousEnv = existing.includes(envPath) ? fs.readFileSync(envPath, 'utf8') : undefined;
  writePrivate(envPath, envText({ ...setup.env, [MASTER_KEY_VAR]: masterKey }, previousEnv), 0o600);

  const onSearchPath = dir === process.cwd() || dir === platformConfigDir(env);
  const configFlag = onSearchPath ? '' : ` --config ${shellQuote(configPath)}`;
  const lines = [
    `wrote ${display(configPath)} (${models.length} model${models.length === 1 ? '' : 's'}: ${models.join(', ')})`,
    `wrote ${display(envPath)} (mode 0600: the credential and a new master key in ${MASTER_KEY_VAR})`,
    ...backups.map((b) => `kept the previous file as ${display(b)}`),
    ...(opts.verify === false ? ['the credential was NOT checked (--no-verify): run cortex-proxy doctor'] : []),
    ...(gw.note ? [gw.note] : []),
    '',
    'next:',
    `  cortex-proxy doctor${configFlag}            # check everything`,
    `  cortex-proxy serve${configFlag}             # start the proxy on http://127.0.0.1:4000`,
    `  cortex-proxy connect claude-code${configFlag}  # settings for your agent (also: codex, cursor, continue, …)`,
  ];
  if (interactive) {
    p.note(lines.join('\n'), 'Done');
    p.outro('The master key and the credential stay in .env; nothing secret was printed.');
  } else process.stdout.write(lines.join('\n') + '\n');
}

// ───────────────────────────── pieces ─────────────────────────────

/** A refusal's fix as init's user needs it: no proxy runs yet, so a new PAT means running init again. */
function initFix(r: Refusal): string {
  return r.cause === 'expired-pat' ? patFix('then run cortex-proxy init again') : r.fix;
}

function answer<T>(v: T): Exclude<T, symbol> {
  if (p.isCancel(v)) {
    p.cancel('Cancelled: nothing was written.');
    process.exit(130);
  }
  return v as Exclude<T, symbol>;
}

function readSecretFile(file: string, flag: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8').trim();
  } catch (e) {
    die(`cannot read ${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, undefined, 2);
  }
}

/** --models / SNOWFLAKE_MODELS, else the default set (limited to what the account has, when known). */
function pickModels(opts: InitOptions, env: NodeJS.ProcessEnv, available: string[] | undefined): string[] {
  const named = opts.models ?? env.SNOWFLAKE_MODELS;
  if (named) {
    const ids = [...new Set(named.split(',').map((s) => s.trim().replace(/^snowflake\//i, '')).filter(Boolean))];
    const bad = ids.find((id) => !/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(id));
    if (bad !== undefined || ids.length === 0) die(`--models: '${bad ?? named}' is not a list of Cortex model ids`, 'e.g. --models claude-sonnet-4-5,openai-gpt-4.1', 2);
    return ids;
  }
  if (!available) return DEFAULT_INIT_MODELS;
  const picked = DEFAULT_INIT_MODELS.filter((m) => available.includes(m));
  if (picked.length) return picked;
  const tools = orderModels(available).filter((m) => modelInfo(m).tools);
  return (tools.length ? tools : orderModels(available)).slice(0, 3);
}

/** Tool-capable models first, then by the catalogue's order, unknown ids last. */
function orderModels(ids: string[]): string[] {
  const order = [...KNOWN_MODELS.keys()];
  const rank = (id: string) => (modelInfo(id).tools ? 0 : 1000) + (order.includes(id) ? order.indexOf(id) : 500);
  return [...new Set(ids)].sort((a, b) => rank(a) - rank(b));
}

export function describeModel(id: string): string {
  const i = modelInfo(id);
  const k = (n: number) => (n >= 1000 ? `${Math.round(n / 1000)}k` : String(n));
  return `context ${k(i.contextWindow)}, output ${k(i.maxOutputTokens)}${i.tools ? ', tools' : ''}${i.vision ? ', vision' : ''}`;
}

function configText(a: { apiBase: string; account: string; models: string[]; setup: AuthSetup }): string {
  const date = new Date().toISOString().slice(0, 10);
  const out = [
    `# cortex-proxy configuration, written by \`cortex-proxy init\` on ${date}.`,
    "# The format is LiteLLM's (litellm --config reads it too). Secrets are not in this file: values written",
    '# as os.environ/<VARIABLE> come from the environment or from .env next to this file (mode 0600, never commit it).',
    '#   check:   cortex-proxy doctor',
    '#   run:     cortex-proxy serve',
    '#   clients: cortex-proxy connect <claude-code|codex|cursor|continue|aider|open-webui|zed|cline>',
    '# Models are named after their Cortex ids; clients may also send cortex-<id> (Cursor) or Claude Code\'s dated ids.',
    '',
    'model_list:',
  ];
  for (const id of a.models) {
    out.push(`  # ${id}: ${describeModel(id)}`);
    out.push(`  - model_name: ${id}`);
    out.push('    litellm_params:');
    out.push(`      model: snowflake/${id}`);
    out.push(`      api_base: ${a.apiBase}`);
    for (const p of a.setup.params) out.push(`      ${p.key}: ${p.value}${p.comment ? `  # ${p.comment}` : ''}`);
  }
  out.push(
    '',
    'litellm_settings:',
    '  drop_params: true     # drop request parameters Cortex cannot honour instead of refusing the request',
    '  num_retries: 2        # retries on 429/5xx and connection failures, before any output was sent',
    '  request_timeout: 600  # seconds of silence before giving up (a long healthy stream is never cut)',
    '',
    'general_settings:',
    `  master_key: os.environ/${MASTER_KEY_VAR}  # the key clients must send (Authorization: Bearer …), from .env`,
    '',
  );
  return out.join('\n');
}

/** The .env text: `vars`, plus every other line of the previous file (its own variables are kept). */
function envText(vars: Record<string, string>, previous?: string): string {
  const header = '# Secrets for cortex-proxy (written by `cortex-proxy init`). Keep this file private (mode 0600); never commit it.';
  const kept = (previous ?? '')
    .split(/\r?\n/)
    .filter((l) => l !== header && !Object.keys(vars).some((k) => new RegExp(`^\\s*(export\\s+)?${k}\\s*=`).test(l)));
  while (kept.length && kept[kept.length - 1].trim() === '') kept.pop();
  const lines = [header, ...kept];
  for (const [k, v] of Object.entries(vars)) lines.push(`${k}=${v}`);
  return lines.join('\n') + '\n';
}

/** Writes through a temporary file in the same folder, then renames: never a half-written or briefly public file. */
function writePrivate(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.writeFileSync(tmp, text, { mode, flag: 'wx' });
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    die(`cannot write ${display(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Renames a file to <name>.bak-<timestamp> (keeping its mode) and returns the new path. */
export function backup(file: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  let target = `${file}.bak-${stamp}`;
  for (let i = 1; fs.existsSync(target); i++) target = `${file}.bak-${stamp}-${i}`;
  fs.copyFileSync(file, target);
  fs.chmodSync(target, fs.statSync(file).mode & 0o777);
  return target;
}

function display(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
