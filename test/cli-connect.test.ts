// `cortex-proxy connect <client>`: each client's settings checked the way that client reads them — shell
// variables evaluated by bash, TOML parsed (Codex), YAML parsed (Continue), JSON-with-comments parsed (Zed,
// opencode) — and --write merging into existing files with a backup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { parse as parseJsonc } from 'jsonc-parser';
import { cleanEnv, runCli, tempDir } from './helpers.js';
import { STRONG_KEY, writeAccount } from './setup-helpers.js';

const PAT = 'connect-test-pat-' + 'p'.repeat(30);

function setup() {
  const dir = tempDir();
  const home = tempDir();
  writeAccount(dir, { apiBase: 'http://127.0.0.1:9/api/v2', pat: PAT, models: ['claude-sonnet-4-5', 'claude-haiku-4-5', 'openai-gpt-5', 'llama3.1-70b'] });
  const env = cleanEnv({ HOME: home, XDG_CONFIG_HOME: join(home, '.config') });
  const run = async (args: string[]) => {
    const r = await runCli(['connect', ...args], { cwd: dir, env });
    assert.ok(!r.stdout.includes(PAT) && !r.stderr.includes(PAT), 'the Snowflake PAT is never printed');
    if (!args.includes('--show-key')) assert.ok(!r.stdout.includes(STRONG_KEY), 'the master key is printed only with --show-key');
    return r;
  };
  return { dir, home, env, run };
}

/** Runs the printed `export` lines in bash (in the config folder) and returns the variables they set. */
function evalExports(stdout: string, cwd: string, names: string[]): Record<string, string> {
  const exports = stdout.split('\n').filter((l) => l.startsWith('export '));
  const script = `${exports.join('\n')}\n${names.map((n) => `printf '%s\\n' "$${n}"`).join('\n')}`;
  const values = execFileSync('bash', ['-c', script], { cwd, encoding: 'utf8' }).split('\n');
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

test('claude-code: the variables Claude Code reads, with the key read from .env by the shell', async () => {
  const { dir, run } = setup();
  const r = await run(['claude-code']);
  assert.equal(r.code, 0, r.stderr);
  const v = evalExports(r.stdout, dir, ['ANTHROPIC_BASE_URL', 'ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_MODEL', 'ANTHROPIC_DEFAULT_HAIKU_MODEL', 'ANTHROPIC_DEFAULT_SONNET_MODEL']);
  assert.equal(v.ANTHROPIC_BASE_URL, 'http://127.0.0.1:4000');
  assert.equal(v.ANTHROPIC_AUTH_TOKEN, STRONG_KEY, 'the shell expression yields the master key');
  assert.equal(v.ANTHROPIC_MODEL, 'claude-sonnet-4-5');
  assert.equal(v.ANTHROPIC_DEFAULT_HAIKU_MODEL, 'claude-haiku-4-5');
  assert.match(r.stdout, /Master key: CORTEX_PROXY_MASTER_KEY in .*\.env \(print it with --show-key\)/);
  assert.match(r.stdout, /not running at http:\/\/127\.0\.0\.1:4000/);
  const shown = await run(['claude-code', '--show-key', '--port', '4100']);
  assert.ok(shown.stdout.includes(STRONG_KEY));
  assert.match(shown.stdout, /ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:4100/);
});

test('aider and open-webui: OpenAI-compatible variables', async () => {
  const { dir, run } = setup();
  const a = await run(['aider', '--model', 'openai-gpt-5']);
  const v = evalExports(a.stdout, dir, ['OPENAI_API_BASE', 'OPENAI_API_KEY']);
  assert.deepEqual(v, { OPENAI_API_BASE: 'http://127.0.0.1:4000/v1', OPENAI_API_KEY: STRONG_KEY });
  assert.match(a.stdout, /^aider --model openai\/openai-gpt-5$/m);
  const w = await run(['open-webui']);
  const wv = evalExports(w.stdout, dir, ['OPENAI_API_BASE_URL', 'OPENAI_API_KEY']);
  assert.equal(wv.OPENAI_API_BASE_URL, 'http://host.docker.internal:4000/v1');
  assert.equal(wv.OPENAI_API_KEY, STRONG_KEY);
  const bad = await run(['aider', '--model', 'nope']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not configured/);
});

test('codex: a [model_providers.cortex] table Codex parses; --write merges it into config.toml with a backup', async () => {
  const { home, run } = setup();
  const r = await run(['codex']);
  const snippet = r.stdout.slice(r.stdout.indexOf('[model_providers.cortex]')).split('\n\n')[0];
  const parsed = parseToml(snippet) as any;
  assert.deepEqual({ ...parsed.model_providers.cortex }, {
    name: 'cortex-proxy (Snowflake Cortex)',
    base_url: 'http://127.0.0.1:4000/v1',
    wire_api: 'responses',
    env_key: 'CORTEX_PROXY_MASTER_KEY',
  });
  assert.match(r.stdout, /codex -c model_provider=cortex -m openai-gpt-5/, 'an OpenAI model for Codex');
  // the lines docs/clients.md says keep Codex from calling OpenAI hosts
  const printed = parseToml(r.stdout.slice(r.stdout.indexOf('[model_providers.cortex]'), r.stdout.indexOf('Then run it'))) as any;
  assert.deepEqual({ ...printed.features }, { plugins: false, remote_plugin: false, apps: false });
  assert.deepEqual({ ...printed.analytics }, { enabled: false });

  mkdirSync(join(home, '.codex'));
  const file = join(home, '.codex', 'config.toml');
  writeFileSync(file, 'model = "gpt-5"  # mine\n\n[model_providers.cortex]\nbase_url = "http://old"\nwire_api = "responses"\n\n[mcp_servers.docs]\ncommand = "docs-server"\n\n[features]\nweb_search_request = true\nplugins = true\n');
  const w = await run(['codex', '--write']);
  assert.equal(w.code, 0, w.stderr);
  const after = parseToml(readFileSync(file, 'utf8')) as any;
  assert.equal(after.model, 'gpt-5');
  assert.equal(after.mcp_servers.docs.command, 'docs-server');
  assert.equal(after.model_providers.cortex.base_url, 'http://127.0.0.1:4000/v1');
  assert.deepEqual({ ...after.features }, { plugins: false, remote_plugin: false, apps: false, web_search_request: true }, 'our keys set, the user\'s kept');
  assert.deepEqual({ ...after.analytics }, { enabled: false });
  assert.match(readFileSync(file, 'utf8'), /# mine/);
  const backups = readdirSync(join(home, '.codex')).filter((f) => f.startsWith('config.toml.bak-'));
  assert.equal(backups.length, 1);
  assert.match(readFileSync(join(home, '.codex', backups[0]), 'utf8'), /http:\/\/old/);
});

test('continue: models Continue parses from config.yaml, the key in its secrets file (0600); comments kept', async () => {
  const { home, run } = setup();
  mkdirSync(join(home, '.continue'));
  const file = join(home, '.continue', 'config.yaml');
  writeFileSync(file, '# my continue config\nname: Mine\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: Other\n    provider: ollama\n    model: llama3\n');
  const w = await run(['continue', '--write']);
  assert.equal(w.code, 0, w.stderr);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^# my continue config/);
  const cfg = parseYaml(text);
  assert.equal(cfg.models[0].name, 'Other');
  const ours = cfg.models.filter((m: any) => m.provider === 'openai');
  assert.equal(ours.length, 4);
  const sonnet = ours.find((m: any) => m.model === 'claude-sonnet-4-5');
  assert.equal(sonnet.apiBase, 'http://127.0.0.1:4000/v1');
  assert.equal(sonnet.apiKey, '${{ secrets.CORTEX_PROXY_MASTER_KEY }}');
  assert.deepEqual(sonnet.capabilities, ['tool_use', 'image_input']);
  assert.equal(ours.find((m: any) => m.model === 'llama3.1-70b').capabilities, undefined, 'no tool_use for models without tools');
  const envFile = join(home, '.continue', '.env');
  assert.equal(statSync(envFile).mode & 0o777, 0o600);
  assert.equal(readFileSync(envFile, 'utf8'), `CORTEX_PROXY_MASTER_KEY=${STRONG_KEY}\n`);
  // Writing again replaces our entries instead of adding more.
  await run(['continue', '--write']);
  assert.equal(parseYaml(readFileSync(file, 'utf8')).models.filter((m: any) => m.provider === 'openai').length, 4);
});

test('zed and opencode: JSON(C) settings those clients parse; --write keeps the comments of settings.json', async () => {
  const { home, run } = setup();
  const zedFile = join(home, '.config', 'zed', 'settings.json');
  mkdirSync(join(home, '.config', 'zed'), { recursive: true });
  writeFileSync(zedFile, '// my settings\n{\n  "theme": "One Dark", // dark\n  "language_models": { "anthropic": { "version": "1" } },\n}\n');
  const z = await run(['zed', '--write']);
  assert.equal(z.code, 0, z.stderr);
  const text = readFileSync(zedFile, 'utf8');
  assert.match(text, /\/\/ my settings/);
  assert.match(text, /\/\/ dark/);
  const s = parseJsonc(text, [], { allowTrailingComma: true });
  assert.equal(s.theme, 'One Dark');
  assert.equal(s.language_models.anthropic.version, '1');
  const p = s.language_models.openai_compatible['cortex-proxy'];
  assert.equal(p.api_url, 'http://127.0.0.1:4000/v1');
  assert.deepEqual(p.available_models.map((m: any) => m.name), ['claude-sonnet-4-5', 'claude-haiku-4-5', 'openai-gpt-5', 'llama3.1-70b']);
  assert.equal(p.available_models[3].capabilities.tools, false);
  assert.match(z.stdout, /CORTEX_PROXY_API_KEY/);
  // The printed snippet parses too.
  const printed = (await run(['zed'])).stdout;
  const json = printed.slice(printed.indexOf('{'), printed.indexOf('\n}\n') + 2);
  assert.equal(JSON.parse(json).language_models.openai_compatible['cortex-proxy'].api_url, 'http://127.0.0.1:4000/v1');

  const o = await run(['opencode', '--write']);
  assert.equal(o.code, 0, o.stderr);
  const oc = JSON.parse(readFileSync(join(home, '.config', 'opencode', 'opencode.json'), 'utf8'));
  const prov = oc.provider['cortex-proxy'];
  assert.equal(prov.npm, '@ai-sdk/openai-compatible');
  assert.equal(prov.options.baseURL, 'http://127.0.0.1:4000/v1');
  assert.equal(prov.options.apiKey, '{env:CORTEX_PROXY_MASTER_KEY}');
  assert.equal(prov.models['claude-sonnet-4-5'].tool_call, true);
});

test('cursor: explains the public-URL requirement and the BYOK limits; with --base-url gives the https settings', async () => {
  const { run } = setup();
  const local = await run(['cursor']);
  assert.match(local.stdout, /refuses 127\.0\.0\.1/);
  assert.match(local.stdout, /ssrf_blocked/);
  assert.match(local.stdout, /cortex-proxy serve --tunnel/);
  assert.match(local.stdout, /Tab completion always uses Cursor's own models/);
  assert.match(local.stdout, /zero data retention/);
  const pub = await run(['cursor', '--base-url', 'https://abc-def.trycloudflare.com/v1/']);
  assert.match(pub.stdout, /Override OpenAI Base URL: +https:\/\/abc-def\.trycloudflare\.com\/v1$/m);
  assert.match(pub.stdout, /\+ Add Custom Model: +cortex-claude-sonnet-4-5, cortex-claude-haiku-4-5, cortex-openai-gpt-5, cortex-llama3\.1-70b$/m);
  const noWrite = await run(['cursor', '--write']);
  assert.equal(noWrite.code, 2);
  const cline = await run(['cline']);
  assert.match(cline.stdout, /API Provider: +OpenAI Compatible/);
  assert.match(cline.stdout, /Base URL: +http:\/\/127\.0\.0\.1:4000\/v1/);
  const unknown = await run(['vim']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown client 'vim'.*claude-code/s);
});
