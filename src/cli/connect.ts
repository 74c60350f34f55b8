// `cortex-proxy connect <client>`: the exact settings one client needs (base URL, key, model names) as the
// snippet or variables that client reads; `--write` puts them into the client's own config file (Codex
// config.toml, Continue config.yaml, Zed settings.json, opencode.json) after a timestamped backup. The master key
// is shown as where it lives (and a shell expression that reads it) unless --show-key is given.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { request } from 'undici';
import { applyEdits, modify, parse as parseJsonc, type ParseError } from 'jsonc-parser/lib/esm/main.js'; // the ESM build: the UMD one requires files at run time, which a bundle cannot
import { isMap, isSeq, parseDocument, YAMLMap, YAMLSeq } from 'yaml';
import { modelInfo } from '../cortex/models.js';
import { cursorName } from '../config/model-names.js';
import { loadContextOrExit, type ConfigContext } from './config-context.js';
import { backup, shellQuote } from './init.js';
import { CLIENTS, isClientName, type ClientName } from './clients.js';
import { colorsFor, die } from './ui.js';

export interface ConnectOptions {
  config?: string;
  port: string;
  baseUrl?: string;
  model?: string;
  showKey?: boolean;
  write?: boolean;
}

/** What every client's settings are made of. */
export interface Setup {
  /** e.g. http://127.0.0.1:4000 (no /v1). */
  root: string;
  /** root + /v1: what OpenAI-style clients call their base URL. */
  v1: string;
  models: Array<{ name: string; cortexModel: string }>;
  /** The model this client should use by default. */
  model: string;
  key: KeyRef;
  local: boolean;
}

export interface KeyRef {
  /** The variable that holds the master key (clients that read a variable name get this). */
  envName: string;
  /** A shell expression that evaluates to the key without printing it (or the quoted key with --show-key). */
  shell: string;
  /** The key, only with --show-key. */
  value?: string;
  /** In words: "CORTEX_PROXY_MASTER_KEY in /x/.env". */
  where: string;
  none: boolean;
  /** The .env file that holds it, when one does. */
  envFile?: string;
}

type Writer = { file: string; describe: string; apply(setup: Setup): string[] };

interface Client {
  title: string;
  /** Lines to print. */
  show(setup: Setup): string[];
  /** The client's config file and how to merge our settings into it (clients with a file only). */
  writer?(setup: Setup): Writer;
  /** Prefer a model of this family when --model is not given. */
  prefer?: 'openai' | 'claude';
}

export async function connect(clientName: string, opts: ConnectOptions): Promise<void> {
  const name = clientName.toLowerCase();
  const client = isClientName(name) ? CLIENT_TABLE[name] : undefined;
  if (!client) die(`unknown client '${clientName}'`, `use one of: ${CLIENTS.join(', ')}`, 2);
  const ctx = loadContextOrExit(opts.config);
  const setup = buildSetup(ctx, opts, client);
  const c = colorsFor(process.stdout);
  const out: string[] = [c.bold(`${client.title}: settings for cortex-proxy at ${setup.root}`), ''];
  if (ctx.config?.demo) out.push(c.yellow('No account is configured: the proxy runs in demo mode (run cortex-proxy init first).'), '');
  out.push(...client.show(setup));
  out.push('', `Master key: ${setup.key.where}${setup.key.none || opts.showKey ? '' : ' (print it with --show-key)'}`);
  if (setup.local) out.push(await runningNote(setup.root));
  if (opts.write) {
    if (!client.writer) die(`${client.title} keeps no config file cortex-proxy can write`, 'use the settings printed above', 2);
    const w = client.writer(setup);
    const notes = w.apply(setup);
    out.push('', c.green(`wrote ${w.describe}: ${w.file}`), ...notes);
  } else if (client.writer) out.push(`(cortex-proxy connect ${clientName} --write puts this into ${client.writer(setup).file}, keeping a backup)`);
  process.stdout.write(out.join('\n') + '\n');
}

export function buildSetup(ctx: ConfigContext, opts: ConnectOptions, client: Pick<Client, 'prefer'>): Setup {
  let root: string;
  if (opts.baseUrl) {
    let u: URL;
    try {
      u = new URL(opts.baseUrl);
    } catch {
      die(`--base-url '${opts.baseUrl}' is not a URL`, 'e.g. --base-url https://example.trycloudflare.com', 2);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') die('--base-url must be http(s)', undefined, 2);
    root = `${u.origin}${u.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}`;
  } else {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) die(`--port must be a number from 1 to 65535 (got '${opts.port}')`, undefined, 2);
    root = `http://127.0.0.1:${port}`;
  }
  const seen = new Set<string>();
  const models = (ctx.config?.deployments ?? []).filter((d) => !d.modelName.includes('*') && !seen.has(d.modelName) && seen.add(d.modelName)).map((d) => ({ name: d.modelName, cortexModel: d.cortexModel }));
  if (!models.length) die('the config has no models', 'run cortex-proxy init');
  let model: string;
  if (opts.model) {
    if (!models.some((m) => m.name === opts.model)) die(`model '${opts.model}' is not configured`, `configured: ${models.map((m) => m.name).join(', ')}`, 2);
    model = opts.model;
  } else {
    const tools = models.filter((m) => modelInfo(m.cortexModel).tools);
    const preferred = tools.find((m) => client.prefer && modelInfo(m.cortexModel).family === client.prefer);
    model = (preferred ?? tools[0] ?? models[0]).name;
  }
  const host = new URL(root).hostname;
  return { root, v1: `${root}/v1`, models, model, key: keyRef(ctx, opts.showKey), local: host === '127.0.0.1' || host === 'localhost' || host === '::1' };
}

function keyRef(ctx: ConfigContext, show?: boolean): KeyRef {
  const k = ctx.masterKey;
  if (!k) return { envName: 'CORTEX_PROXY_MASTER_KEY', shell: 'sk-no-key-needed', where: 'none configured: any value works (no master key)', none: true };
  const envName = k.envName ?? 'CORTEX_PROXY_MASTER_KEY';
  if (show) return { envName, shell: shellQuote(k.value), value: k.value, where: k.where, none: false };
  let shell: string;
  if (k.envFile) shell = `"$(sed -n 's/^${envName}=//p' ${shellQuote(k.envFile)})"`;
  else if (k.envName && process.env[k.envName] !== undefined) shell = `"$${k.envName}"`;
  else shell = `'<the master key: ${k.where.replace(/'/g, '')}>'`;
  return { envName, shell, where: k.where, none: false, envFile: k.envFile };
}

async function runningNote(root: string): Promise<string> {
  try {
    const r = await request(`${root}/health`, { headersTimeout: 1500, bodyTimeout: 1500 });
    const body = (await r.body.json().catch(() => ({}))) as { name?: string };
    if (r.statusCode === 200 && body.name === 'cortex-proxy') return `The proxy is running at ${root}.`;
  } catch {
    /* not running */
  }
  return `The proxy is not running at ${root} yet: start it with cortex-proxy serve${root.endsWith(':4000') ? '' : ` --port ${new URL(root).port}`}.`;
}

// ───────────────────────────── clients ─────────────────────────────

const home = () => os.homedir();
const xdgConfig = () => (process.env.XDG_CONFIG_HOME && path.isAbsolute(process.env.XDG_CONFIG_HOME) ? process.env.XDG_CONFIG_HOME : path.join(home(), '.config'));
const exportLine = (name: string, value: string) => `export ${name}=${value}`;

const CLIENT_TABLE: Record<ClientName, Client> = {
  'claude-code': {
    title: 'Claude Code',
    prefer: 'claude',
    show: (s) => {
      const pick = (re: RegExp) => s.models.find((m) => re.test(m.cortexModel))?.name ?? s.model;
      return [
        'Claude Code speaks the Anthropic Messages API to ANTHROPIC_BASE_URL; set these in the shell that runs `claude`:',
        '',
        exportLine('ANTHROPIC_BASE_URL', s.root),
        exportLine('ANTHROPIC_AUTH_TOKEN', s.key.shell),
        exportLine('ANTHROPIC_MODEL', s.model),
        exportLine('ANTHROPIC_DEFAULT_SONNET_MODEL', pick(/sonnet/)),
        exportLine('ANTHROPIC_DEFAULT_OPUS_MODEL', pick(/opus/)),
        exportLine('ANTHROPIC_DEFAULT_HAIKU_MODEL', pick(/haiku/)),
        exportLine('CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC', '1'),
        'claude',
        '',
        `Models: ${s.models.map((m) => m.name).join(', ')} (switch with /model inside Claude Code).`,
      ];
    },
  },
  codex: {
    title: 'Codex CLI',
    prefer: 'openai',
    show: (s) => [
      `Codex speaks the Responses API; add this provider to ${codexConfig()}:`,
      '',
      ...codexToml(s).split('\n'),
      '# Without these, Codex posts metrics to an OpenAI host and contacts others for plugins and apps:',
      ...Object.entries(CODEX_OFFLINE).flatMap(([table, keys]) => [`[${table}]`, ...Object.entries(keys).map(([k, v]) => `${k} = ${v}`), '']),
      'Then run it with the key in the variable the provider names:',
      '',
      exportLine(s.key.envName, s.key.shell),
      `codex -c model_provider=cortex -m ${s.model}`,
    ],
    writer: (s) => ({
      file: codexConfig(),
      describe: 'the [model_providers.cortex] table',
      apply() {
        const file = codexConfig();
        const before = readOr(file, '');
        let kept = removeTomlTable(before, 'model_providers.cortex').replace(/\s*$/, '');
        for (const [table, keys] of Object.entries(CODEX_OFFLINE)) kept = setTomlKeys(kept, table, keys).replace(/\s*$/, '');
        writeWithBackup(file, `${kept ? kept + '\n\n' : ''}${codexToml(s)}`);
        return [`run: ${exportLine(s.key.envName, s.key.shell)}; codex -c model_provider=cortex -m ${s.model}`];
      },
    }),
  },
  continue: {
    title: 'Continue',
    show: (s) => [
      `Add these models to ${continueConfig()} (Continue's config.yaml):`,
      '',
      ...continueModelsYaml(s).split('\n'),
      `and the key to ${path.join(path.dirname(continueConfig()), '.env')} (Continue's secrets file):`,
      '',
      `${s.key.envName}=${s.key.value ?? `<the master key: ${s.key.where}>`}`,
    ],
    writer: (s) => ({
      file: continueConfig(),
      describe: `${s.models.length} model(s) (provider: openai, apiBase ${s.v1})`,
      apply() {
        const file = continueConfig();
        const doc = parseDocument(readOr(file, 'name: Local Config\nversion: 1.0.0\nschema: v1\nmodels: []\n'));
        if (doc.errors.length) die(`${file} is not valid YAML (${doc.errors[0].message.split('\n')[0]}); nothing was written`);
        let seq = doc.get('models', true);
        if (!isSeq(seq)) {
          seq = new YAMLSeq();
          doc.set('models', seq);
        }
        const list = seq as YAMLSeq;
        list.items = list.items.filter((it) => !(isMap(it) && (it as YAMLMap).get('apiBase') === s.v1));
        for (const m of continueModels(s)) list.items.push(doc.createNode(m));
        writeWithBackup(file, doc.toString());
        const envFile = path.join(path.dirname(file), '.env');
        if (s.key.none) return [];
        const value = s.key.value ?? readKey(s.key);
        if (!value) return [`add ${s.key.envName}=<the master key> to ${envFile}`];
        const previous = readOr(envFile, '');
        const lines = previous.split(/\r?\n/).filter((l) => l && !l.startsWith(`${s.key.envName}=`));
        writeWithBackup(envFile, [...lines, `${s.key.envName}=${value}`].join('\n') + '\n', 0o600);
        return [`wrote ${s.key.envName} to ${envFile} (mode 0600), where Continue reads \${{ secrets.${s.key.envName} }}`];
      },
    }),
  },
  aider: {
    title: 'Aider',
    show: (s) => [
      'Aider talks to OpenAI-compatible servers through OPENAI_API_BASE; model names take the openai/ prefix:',
      '',
      exportLine('OPENAI_API_BASE', s.v1),
      exportLine('OPENAI_API_KEY', s.key.shell),
      `aider --model openai/${s.model}`,
      '',
      `Other models: ${s.models.map((m) => `openai/${m.name}`).join(', ')}.`,
    ],
  },
  'open-webui': {
    title: 'Open WebUI',
    show: (s) => [
      "Open WebUI's server (not your browser) calls the proxy. In Admin Settings → Connections → OpenAI API:",
      `  URL:  ${s.v1}   (as seen from the Open WebUI server)`,
      `  Key:  the master key`,
      '',
      'Or when starting it in Docker (the container reaches the host as host.docker.internal; the proxy must then',
      'listen beyond loopback: cortex-proxy serve --host 0.0.0.0, which needs the master key):',
      '',
      exportLine('OPENAI_API_BASE_URL', s.local ? s.v1.replace(/127\.0\.0\.1|localhost/, 'host.docker.internal') : s.v1),
      exportLine('OPENAI_API_KEY', s.key.shell),
      'docker run -d -p 3000:8080 --add-host=host.docker.internal:host-gateway -e OPENAI_API_BASE_URL -e OPENAI_API_KEY ghcr.io/open-webui/open-webui:main',
      '',
      `Models appear from GET /v1/models: ${s.models.map((m) => m.name).join(', ')}.`,
    ],
  },
  zed: {
    title: 'Zed',
    show: (s) => [
      `Add this to ${zedSettings()} (an OpenAI-compatible provider named cortex-proxy):`,
      '',
      ...JSON.stringify({ language_models: { openai_compatible: { 'cortex-proxy': zedProvider(s) } } }, null, 2).split('\n'),
      '',
      'Zed reads the key from its Agent settings (stored in the keychain) or from this variable in the environment Zed starts in:',
      '',
      exportLine('CORTEX_PROXY_API_KEY', s.key.shell),
    ],
    writer: (s) => ({
      file: zedSettings(),
      describe: 'language_models.openai_compatible["cortex-proxy"]',
      apply() {
        const file = zedSettings();
        const text = readOr(file, '{\n}\n');
        const errors: ParseError[] = [];
        parseJsonc(text, errors, { allowTrailingComma: true });
        if (errors.length) die(`${file} is not valid JSON (with comments); nothing was written`, 'fix it in Zed first');
        const edits = modify(text, ['language_models', 'openai_compatible', 'cortex-proxy'], zedProvider(s), { formattingOptions: { insertSpaces: true, tabSize: 2 } });
        writeWithBackup(file, applyEdits(text, edits));
        return ['set CORTEX_PROXY_API_KEY in the environment Zed starts in, or paste the key in Zed → Agent settings → cortex-proxy'];
      },
    }),
  },
  cline: {
    title: 'Cline',
    show: (s) => [
      'In Cline → Settings (the gear) → API Configuration:',
      '  API Provider:  OpenAI Compatible',
      `  Base URL:      ${s.v1}`,
      `  API Key:       the master key${s.key.value ? ` (${s.key.value})` : ''}`,
      `  Model ID:      ${s.model}`,
      `  Model info:    context window ${modelInfo(cortexOf(s)).contextWindow}, max output ${Math.min(16384, modelInfo(cortexOf(s)).maxOutputTokens)}, supports images ${modelInfo(cortexOf(s)).vision ? 'yes' : 'no'}`,
      '',
      `Other models: ${s.models.map((m) => m.name).join(', ')}. Roo Code takes the same settings.`,
    ],
  },
  cursor: {
    title: 'Cursor',
    prefer: 'claude',
    show: (s) => [
      ...(s.local
        ? [
            'Cursor calls a custom base URL from Cursor\'s own servers, not from your machine: it refuses 127.0.0.1',
            '(ssrf_blocked). The proxy needs a public HTTPS URL, and then a strong master key is mandatory:',
            '',
            '  cortex-proxy serve --tunnel        # starts cloudflared or ngrok and prints the https URL',
            '  cortex-proxy connect cursor --base-url https://<the printed host>',
            '',
          ]
        : []),
      'Cursor → Settings → Models:',
      `  OpenAI API Key:            the master key${s.key.value ? ` (${s.key.value})` : ''}`,
      `  Override OpenAI Base URL:  ${s.local ? 'https://<public tunnel host>/v1' : s.v1}`,
      `  + Add Custom Model:        ${s.models.map((m) => cursorName(m.name)).join(', ')}`,
      '',
      'Limits of Cursor with your own key (BYOK):',
      "  - the override is global: Cursor's built-in OpenAI models also go to the proxy while it is on;",
      '  - Tab completion always uses Cursor\'s own models; chat and agent modes use yours (a paid Cursor plan is needed);',
      "  - a team admin can disable custom API keys (\"Your team has disabled OpenAI API keys\");",
      "  - custom names must differ from Cursor's built-in ones: add them as cortex-<model> (cortex-proxy accepts the",
      '    cortex- prefix on every model name);',
      "  - prompts pass through Cursor's servers, and Cursor's zero data retention does not cover BYOK requests.",
    ],
  },
  opencode: {
    title: 'opencode',
    show: (s) => [
      `Add this provider to ${opencodeConfig()}:`,
      '',
      ...JSON.stringify({ $schema: 'https://opencode.ai/config.json', provider: { 'cortex-proxy': opencodeProvider(s) } }, null, 2).split('\n'),
      '',
      exportLine(s.key.envName, s.key.shell),
      `opencode -m cortex-proxy/${s.model}`,
    ],
    writer: (s) => ({
      file: opencodeConfig(),
      describe: 'provider["cortex-proxy"]',
      apply() {
        const file = opencodeConfig();
        const text = readOr(file, '{\n  "$schema": "https://opencode.ai/config.json"\n}\n');
        const errors: ParseError[] = [];
        parseJsonc(text, errors, { allowTrailingComma: true });
        if (errors.length) die(`${file} is not valid JSON; nothing was written`);
        writeWithBackup(file, applyEdits(text, modify(text, ['provider', 'cortex-proxy'], opencodeProvider(s), { formattingOptions: { insertSpaces: true, tabSize: 2 } })));
        return [`run: ${exportLine(s.key.envName, s.key.shell)}; opencode -m cortex-proxy/${s.model}`];
      },
    }),
  },
};

function cortexOf(s: Setup): string {
  return s.models.find((m) => m.name === s.model)!.cortexModel;
}

function codexConfig(): string {
  return path.join(process.env.CODEX_HOME?.trim() || path.join(home(), '.codex'), 'config.toml');
}

export function codexToml(s: Setup): string {
  return [
    '[model_providers.cortex]',
    'name = "cortex-proxy (Snowflake Cortex)"',
    `base_url = ${JSON.stringify(s.v1)}`,
    'wire_api = "responses"',
    `env_key = ${JSON.stringify(s.key.envName)}`,
    '',
  ].join('\n');
}

/** The Codex settings that keep it from calling OpenAI hosts (docs/clients.md "Tested agents"; the e2e agent tests use them). */
export const CODEX_OFFLINE: Record<string, Record<string, string>> = {
  features: { plugins: 'false', remote_plugin: 'false', apps: 'false' },
  analytics: { enabled: 'false' },
};

/** Sets keys inside a [table] of TOML text (added when absent), keeping the table's other keys and everything else. */
export function setTomlKeys(text: string, table: string, keys: Record<string, string>): string {
  const lines = text.split('\n');
  const header = new RegExp(`^\\s*\\[\\s*${table.replace(/\./g, '\\s*\\.\\s*')}\\s*\\]\\s*(#.*)?$`);
  const at = lines.findIndex((l) => header.test(l));
  const set = Object.entries(keys).map(([k, v]) => `${k} = ${v}`);
  if (at === -1) return `${text.replace(/\s*$/, '')}${text.trim() ? '\n\n' : ''}[${table}]\n${set.join('\n')}\n`;
  let end = lines.findIndex((l, i) => i > at && /^\s*\[/.test(l));
  if (end === -1) end = lines.length;
  const body = lines.slice(at + 1, end).filter((l) => !Object.keys(keys).some((k) => new RegExp(`^\\s*${k}\\s*=`).test(l)));
  return [...lines.slice(0, at + 1), ...set, ...body, ...lines.slice(end)].join('\n');
}

/** Removes a [table] and its keys (up to the next table header) from TOML text, keeping everything else. */
export function removeTomlTable(text: string, table: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let skipping = false;
  const header = new RegExp(`^\\s*\\[\\s*${table.replace(/\./g, '\\s*\\.\\s*')}\\s*\\]\\s*(#.*)?$`);
  for (const line of lines) {
    if (/^\s*\[/.test(line)) skipping = header.test(line);
    if (!skipping) out.push(line);
  }
  const result = out.join('\n');
  return text.endsWith('\n') && !result.endsWith('\n') ? result + '\n' : result;
}

function continueConfig(): string {
  return path.join(home(), '.continue', 'config.yaml');
}

function continueModels(s: Setup): Array<Record<string, unknown>> {
  return s.models.map((m) => {
    const info = modelInfo(m.cortexModel);
    const caps = [...(info.tools ? ['tool_use'] : []), ...(info.vision ? ['image_input'] : [])];
    return {
      name: `${m.name} (cortex-proxy)`,
      provider: 'openai',
      model: m.name,
      apiBase: s.v1,
      apiKey: `\${{ secrets.${s.key.envName} }}`,
      ...(caps.length ? { capabilities: caps } : {}),
      roles: ['chat', 'edit', 'apply'],
      defaultCompletionOptions: { contextLength: info.contextWindow, maxTokens: Math.min(16384, info.maxOutputTokens) },
    };
  });
}

function continueModelsYaml(s: Setup): string {
  const doc = parseDocument('models: []\n');
  doc.set('models', doc.createNode(continueModels(s)));
  return doc.toString();
}

function zedSettings(): string {
  if (process.platform === 'win32') return path.join(process.env.APPDATA || path.join(home(), 'AppData', 'Roaming'), 'Zed', 'settings.json');
  return path.join(xdgConfig(), 'zed', 'settings.json');
}

function zedProvider(s: Setup): Record<string, unknown> {
  return {
    api_url: s.v1,
    available_models: s.models.map((m) => {
      const info = modelInfo(m.cortexModel);
      return {
        name: m.name,
        display_name: `${m.cortexModel} (Cortex)`,
        max_tokens: info.contextWindow,
        max_output_tokens: Math.min(16384, info.maxOutputTokens),
        capabilities: { tools: info.tools, images: info.vision, parallel_tool_calls: false, prompt_cache_key: false },
      };
    }),
  };
}

function opencodeConfig(): string {
  return path.join(xdgConfig(), 'opencode', 'opencode.json');
}

function opencodeProvider(s: Setup): Record<string, unknown> {
  return {
    npm: '@ai-sdk/openai-compatible',
    name: 'cortex-proxy (Snowflake Cortex)',
    options: { baseURL: s.v1, apiKey: `{env:${s.key.envName}}` },
    models: Object.fromEntries(
      s.models.map((m) => {
        const info = modelInfo(m.cortexModel);
        return [m.name, { name: `${m.cortexModel} (Cortex)`, tool_call: info.tools, attachment: info.vision, limit: { context: info.contextWindow, output: Math.min(16384, info.maxOutputTokens) } }];
      }),
    ),
  };
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    die(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code}`);
  }
}

/** The key from its .env file or the environment (for --write into a client's secrets file); never printed. */
function readKey(k: KeyRef): string | undefined {
  if (k.envFile) {
    try {
      return parseEnv(fs.readFileSync(k.envFile, 'utf8'))[k.envName];
    } catch {
      return undefined;
    }
  }
  return process.env[k.envName];
}

function writeWithBackup(file: string, text: string, mode?: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (fs.existsSync(file)) backup(file);
  fs.writeFileSync(file, text, mode !== undefined ? { mode } : undefined);
  if (mode !== undefined) fs.chmodSync(file, mode);
}
