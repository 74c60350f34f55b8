import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, findConfigFile, loadConfig } from '../src/config/load.js';
import { DEFAULT_SETTINGS } from '../src/config/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir holding the given files (.env files are written mode 0600, like the quickstart says). */
function tmp(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-proxy-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text, { mode: path.basename(name) === '.env' ? 0o600 : 0o644 });
    if (path.basename(name) === '.env') fs.chmodSync(p, 0o600);
  }
  return dir;
}

const PAT = 'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJTRjoxMDAzIn0.c2VjcmV0LXNpZw';
const MASTER = 'sk-cursor-Zx9SecretMasterKey_123';

// Section 4 of the quickstart, verbatim apart from the account placeholder.
const QUICKSTART = `model_list:
  - model_name: cortex-claude-4-sonnet
    litellm_params:
      model: snowflake/claude-4-sonnet
      api_base: https://myorg-myaccount.snowflakecomputing.com/api/v2
      api_key: os.environ/SNOWFLAKE_PAT # MUST be prefixed with \`pat/\` — see below
      stream: true

litellm_settings:
  drop_params: true
  num_retries: 2
  request_timeout: 120

general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  disable_spend_logs: true
`;

/** A minimal valid file; `extra` lands under the single model's litellm_params unless it starts at column 0. */
const minimal = (params = '', top = '') => `model_list:
  - model_name: m
    litellm_params:
      model: snowflake/claude-4-sonnet
      api_base: https://acct.snowflakecomputing.com/api/v2
      api_key: pat/${PAT}
${params}${top}`;

function loadErr(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

function assertNoSecrets(text: string) {
  assert.ok(!text.includes(PAT), `PAT leaked: ${text}`);
  assert.ok(!text.includes(PAT.slice(0, 20)), `PAT prefix leaked: ${text}`);
  assert.ok(!text.includes(MASTER), `master key leaked: ${text}`);
}

describe('quickstart compatibility', () => {
  test('litellm_config.yaml + .env from the quickstart load unchanged', () => {
    const dir = tmp({
      'litellm_config.yaml': QUICKSTART,
      '.env': `SNOWFLAKE_PAT=pat/${PAT}\nLITELLM_MASTER_KEY=${MASTER}\n`,
    });
    const env: NodeJS.ProcessEnv = {};
    const cfg = loadConfig({ cwd: dir, env });
    assert.deepEqual(cfg, {
      deployments: [
        {
          modelName: 'cortex-claude-4-sonnet',
          cortexModel: 'claude-4-sonnet',
          apiBase: 'https://myorg-myaccount.snowflakecomputing.com/api/v2',
          auth: { type: 'pat', token: PAT },
          wire: 'auto',
        },
      ],
      settings: {
        ...DEFAULT_SETTINGS,
        dropParams: true,
        numRetries: 2,
        requestTimeoutMs: 120_000,
        masterKey: MASTER,
        disableSpendLogs: true,
      },
      source: path.join(dir, 'litellm_config.yaml'),
      demo: false,
      warnings: [],
    });
    assert.equal(env.SNOWFLAKE_PAT, `pat/${PAT}`, '.env values are loaded into the env object');
  });

  test('the placeholder <youraccount> left in api_base is a clear error', () => {
    const dir = tmp({ 'litellm_config.yaml': QUICKSTART.replace('myorg-myaccount', '<youraccount>') });
    const e = loadErr(() => loadConfig({ cwd: dir, env: { SNOWFLAKE_PAT: PAT, LITELLM_MASTER_KEY: MASTER } }));
    assert.equal(e.line, 5);
    assert.match(e.message, /litellm_config\.yaml:5:17: .*placeholder/);
    assert.match(e.hint, /account identifier/);
  });

  test('a bare PAT (no pat/ prefix) works, and a literal api_key too', () => {
    const dir = tmp({ 'litellm_config.yaml': QUICKSTART });
    const cfg = loadConfig({ cwd: dir, env: { SNOWFLAKE_PAT: PAT, LITELLM_MASTER_KEY: MASTER } });
    assert.deepEqual(cfg.deployments[0].auth, { type: 'pat', token: PAT });

    const dir2 = tmp({ 'cortex-proxy.yaml': minimal() });
    const cfg2 = loadConfig({ cwd: dir2, env: {} });
    assert.deepEqual(cfg2.deployments[0].auth, { type: 'pat', token: PAT });
    assert.equal(cfg2.warnings.length, process.platform === 'win32' ? 1 : 2);
    assert.match(cfg2.warnings[0], /api_key at line 6 is written literally/);
    if (process.platform !== 'win32') assert.match(cfg2.warnings[1], /holds a secret and is readable by other users — run: chmod 600/); // written 0644
    assertNoSecrets(cfg2.warnings.join('\n'));
  });

  test('both example files load without warnings', () => {
    const env = { SNOWFLAKE_PAT: `pat/${PAT}`, LITELLM_MASTER_KEY: MASTER };
    const cwd = tmp();
    for (const name of ['litellm_config.yaml', 'cortex-proxy.yaml']) {
      const cfg = loadConfig({ cwd, configPath: path.join(ROOT, 'examples', name), env: { ...env } });
      assert.deepEqual(cfg.warnings, [], name);
      assert.ok(cfg.deployments.length >= 1);
      for (const d of cfg.deployments) assert.equal(d.apiBase, 'https://myorg-myaccount.snowflakecomputing.com/api/v2');
    }
    const full = loadConfig({ cwd, configPath: path.join(ROOT, 'examples', 'cortex-proxy.yaml'), env: { ...env } });
    assert.equal(full.deployments[0].maxTokens, 8192);
    assert.equal(full.deployments[0].temperature, 0.2);
    assert.equal(full.settings.maxBodyBytes, 32 * 1024 * 1024);
    assert.equal(full.settings.maxImageBytes, 10 * 1024 * 1024);
  });
});

describe('.env loading', () => {
  test('environment variables win over .env', () => {
    const dir = tmp({ 'litellm_config.yaml': QUICKSTART, '.env': `SNOWFLAKE_PAT=pat/from-dotenv\nLITELLM_MASTER_KEY=sk-dotenv\n` });
    const env = { SNOWFLAKE_PAT: PAT, LITELLM_MASTER_KEY: MASTER };
    const cfg = loadConfig({ cwd: dir, env });
    assert.deepEqual(cfg.deployments[0].auth, { type: 'pat', token: PAT });
    assert.equal(cfg.settings.masterKey, MASTER);
    assert.equal(env.SNOWFLAKE_PAT, PAT);
  });

  test('.env in the working directory is read; the config folder .env wins over it', () => {
    const cwd = tmp({ '.env': `# comment\nexport SNOWFLAKE_PAT="pat/${PAT}"\nLITELLM_MASTER_KEY='sk-from-cwd'\n` });
    const confDir = tmp({ 'litellm_config.yaml': QUICKSTART, '.env': `LITELLM_MASTER_KEY=${MASTER} # trailing comment\n` });
    const cfg = loadConfig({ cwd, configPath: path.join(confDir, 'litellm_config.yaml'), env: {} });
    assert.deepEqual(cfg.deployments[0].auth, { type: 'pat', token: PAT });
    assert.equal(cfg.settings.masterKey, MASTER);
    assert.deepEqual(cfg.warnings, []);
  });

  test('a .env readable by others gives a chmod warning (POSIX)', { skip: process.platform === 'win32' }, () => {
    const dir = tmp({ 'litellm_config.yaml': QUICKSTART, '.env': `SNOWFLAKE_PAT=${PAT}\nLITELLM_MASTER_KEY=${MASTER}\n` });
    fs.chmodSync(path.join(dir, '.env'), 0o644);
    const cfg = loadConfig({ cwd: dir, env: {} });
    assert.equal(cfg.warnings.length, 1);
    assert.match(cfg.warnings[0], /chmod 600 \.env/);
    assertNoSecrets(cfg.warnings[0]);
  });

  test('environment_variables in the file fill gaps but never override', () => {
    const dir = tmp({
      'c.yaml': `environment_variables:\n  SNOWFLAKE_ACCOUNT: from_file\n  EXTRA: "1"\n${minimal().replace('      api_base: https://acct.snowflakecomputing.com/api/v2\n', '')}`,
    });
    const env: NodeJS.ProcessEnv = {};
    const cfg = loadConfig({ cwd: dir, configPath: 'c.yaml', env });
    assert.equal(cfg.deployments[0].apiBase, 'https://from-file.snowflakecomputing.com/api/v2');
    assert.equal(env.EXTRA, '1');
    const env2: NodeJS.ProcessEnv = { SNOWFLAKE_ACCOUNT: 'mine' };
    assert.equal(loadConfig({ cwd: dir, configPath: 'c.yaml', env: env2 }).deployments[0].apiBase, 'https://mine.snowflakecomputing.com/api/v2');
  });
});

describe('warnings for unknown and unimplemented keys', () => {
  test('unknown keys are named with their line; LiteLLM-only keys are flagged as not implemented', () => {
    const text = `model_list:
  - model_name: m
    model_info:
      id: x
    litellm_params:
      model: snowflake/claude-4-sonnet
      api_base: https://acct.snowflakecomputing.com/api/v2
      api_key: os.environ/SNOWFLAKE_PAT
      weight: 10
      foo: 1
litellm_settings:
  num_retrys: 3
  callbacks: ["langfuse"]
router_settings:
  routing_strategy: simple-shuffle
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  store_model_in_db: true
wat: 1
`;
    const dir = tmp({ 'litellm_config.yaml': text });
    const cfg = loadConfig({ cwd: dir, env: { SNOWFLAKE_PAT: PAT, LITELLM_MASTER_KEY: MASTER } });
    assert.deepEqual([...cfg.warnings].sort(), [
      "LiteLLM key 'router_settings.routing_strategy' at line 15 is not implemented by cortex-proxy — ignored",
      "unknown key 'wat' at line 19 — ignored",
      "LiteLLM key 'litellm_settings.callbacks' at line 13 is not implemented by cortex-proxy — ignored",
      "unknown key 'litellm_settings.num_retrys' at line 12 — ignored (did you mean 'num_retries'?)",
      "LiteLLM key 'general_settings.store_model_in_db' at line 18 is not implemented by cortex-proxy — ignored",
      "LiteLLM key 'model_list[0].litellm_params.weight' at line 9 is not implemented by cortex-proxy — ignored",
      "unknown key 'model_list[0].litellm_params.foo' at line 10 — ignored",
    ].sort());
    assert.equal(cfg.settings.numRetries, 2, 'misspelt key does not apply');
  });

  test('a misspelt Cortex model id gets a did-you-mean warning', () => {
    const dir = tmp({ 'c.yaml': minimal().replace('claude-4-sonnet', 'claude-4-sonet').replace(`pat/${PAT}`, 'os.environ/SNOWFLAKE_PAT') });
    const cfg = loadConfig({ cwd: dir, configPath: 'c.yaml', env: { SNOWFLAKE_PAT: PAT } });
    assert.equal(cfg.deployments[0].cortexModel, 'claude-4-sonet');
    assert.deepEqual(cfg.warnings, ["Cortex model 'claude-4-sonet' at line 4 is not one cortex-proxy knows — did you mean 'claude-4-sonnet'?"]);
  });
});

describe('errors point at the line and say how to fix it', () => {
  const env = () => ({ SNOWFLAKE_PAT: PAT, LITELLM_MASTER_KEY: MASTER });
  const cases: Array<[string, string, number, RegExp, RegExp]> = [
    // name, file text, line, message, hint
    ['os.environ/NAME unset', minimal().replace(`pat/${PAT}`, 'os.environ/MY_PAT'), 6, /MY_PAT is not set/, /set MY_PAT in your environment or in \.env next to the config/],
    ['model_list not a list', 'model_list:\n  model_name: x\n', 2, /model_list must be a list/, /model_name/],
    ['empty model_list', 'model_list: []\n', 1, /model_list is empty/, /at least one model/],
    ['model_list with no value', 'general_settings:\n  disable_spend_logs: true\nmodel_list:\n', 3, /model_list is empty/, /model_name/],
    ['no model_list', 'general_settings:\n  disable_spend_logs: true\n', 1, /no model_list/, /model_list:/],
    ['model_name missing', minimal().replace('  - model_name: m\n    litellm_params:', '  - litellm_params:'), 2, /has no model_name/, /model_name:/],
    ['litellm_params missing', 'model_list:\n  - model_name: m\n', 2, /has no litellm_params/, /snowflake\//],
    ['other provider', minimal().replace('snowflake/claude-4-sonnet', 'azure/gpt-4o'), 4, /only snowflake\/ models are supported/, /snowflake\/<cortex model>/],
    ['no provider prefix', minimal().replace('snowflake/claude-4-sonnet', 'claude-4-sonnet'), 4, /no provider prefix/, /model: snowflake\/claude-4-sonnet/],
    ['wildcard model without a wildcard model_name', minimal().replace('snowflake/claude-4-sonnet', 'snowflake/*'), 4, /needs a wildcard model_name/, /model_name: "\*"/],
    ['num_retries negative', minimal('', 'litellm_settings:\n  num_retries: -1\n'), 8, /num_retries must be a non-negative integer \(got -1\)/, /num_retries: 2/],
    ['num_retries fractional', minimal('', 'litellm_settings:\n  num_retries: 1.5\n'), 8, /non-negative integer/, /num_retries: 2/],
    ['request_timeout zero', minimal('', 'litellm_settings:\n  request_timeout: 0\n'), 8, /request_timeout must be a positive number of seconds/, /request_timeout: 120/],
    ['request_timeout beyond setTimeout', minimal('', 'litellm_settings:\n  request_timeout: 1e9\n'), 8, /at most 2147483/, /120/],
    ['drop_params not boolean', minimal('', 'litellm_settings:\n  drop_params: maybe\n'), 8, /must be true or false \(got "maybe"\)/, /drop_params: true/],
    ['litellm_settings a list', minimal('', 'litellm_settings:\n  - a\n'), 8, /litellm_settings must be a mapping/, /indent/],
    ['temperature out of range', minimal('      temperature: 5\n'), 7, /temperature must be a number from 0 to 2/, /temperature: 0.2/],
    ['max_tokens zero', minimal('      max_tokens: 0\n'), 7, /max_tokens must be a positive integer/, /max_tokens: 4096/],
    ['max_request_body_mb negative', minimal('', 'general_settings:\n  max_request_body_mb: -3\n'), 8, /positive number of megabytes/, /32/],
    ['api_base ftp', minimal().replace('https://acct', 'ftp://acct'), 5, /must use https:\/\//, /api_base:/],
    ['api_base http to Snowflake', minimal().replace('https://acct', 'http://acct'), 5, /unencrypted/, /https/],
    ['api_base without scheme', minimal().replace('https://acct', 'acct'), 5, /must be a URL/, /https:\/\//],
    ['api_base with query', minimal().replace('/api/v2', '/api/v2?x=1'), 5, /query string/, /api_base:/],
    ['api_key pat/ only', minimal().replace(`pat/${PAT}`, 'pat/'), 6, /api_key is empty/, /programmatic access token/],
    ['api_key wrong type', minimal().replace(`pat/${PAT}`, '12345'), 6, /api_key must be a string/, /quote/],
    ['master_key env empty', minimal('', 'general_settings:\n  master_key: os.environ/EMPTY_KEY\n'), 8, /EMPTY_KEY is set to an empty string/, /sk-/],
    ['tabs', 'model_list:\n\t- model_name: x\n', 2, /invalid YAML: Tabs are not allowed/, /tabs/],
    ['bad indentation', 'model_list:\n  - model_name: x\n   litellm_params:\n', 3, /invalid YAML/, /"- "|indent/],
    ['unclosed quote', 'model_list:\n  - model_name: "x\n', 3, /invalid YAML/, /quote/],
    ['top level a list', '- a\n- b\n', 1, /top level of the config must be a mapping/, /model_list:/],
  ];
  for (const [name, text, line, message, hint] of cases) {
    test(name, () => {
      const dir = tmp({ 'litellm_config.yaml': text });
      const e = loadErr(() => loadConfig({ cwd: dir, env: { ...env(), EMPTY_KEY: '' } }));
      assert.equal(e.line, line, `${name}: ${e.message}`);
      assert.equal(e.file, path.join(dir, 'litellm_config.yaml'));
      assert.ok(e.column && e.column >= 1);
      assert.match(e.detail, message);
      assert.match(e.hint, hint);
      assert.ok(e.message.startsWith(`litellm_config.yaml:${line}:${e.column}: `), e.message);
      assert.ok(e.message.includes(`hint: ${e.hint}`));
      assertNoSecrets(e.message);
    });
  }

  test('an empty file', () => {
    const dir = tmp({ 'litellm_config.yaml': '# nothing yet\n' });
    const e = loadErr(() => loadConfig({ cwd: dir, env: env() }));
    assert.match(e.message, /litellm_config\.yaml is empty/);
  });

  test('a config file with an account but no PAT value is an error, not demo mode', () => {
    const dir = tmp({ 'litellm_config.yaml': QUICKSTART });
    const e = loadErr(() => loadConfig({ cwd: dir, env: { LITELLM_MASTER_KEY: MASTER } }));
    assert.equal(e.line, 6);
    assert.match(e.detail, /SNOWFLAKE_PAT is not set/);
    const dir2 = tmp({ 'c.yaml': minimal().replace(`      api_key: pat/${PAT}\n`, '') });
    const e2 = loadErr(() => loadConfig({ cwd: dir2, configPath: 'c.yaml', env: {} }));
    assert.match(e2.detail, /has no api_key/);
    assert.match(e2.hint, /SNOWFLAKE_PAT=pat\/<your_pat>/);
  });

  test('a missing --config or CORTEX_PROXY_CONFIG file is an error', () => {
    const dir = tmp();
    assert.match(loadErr(() => loadConfig({ cwd: dir, configPath: 'nope.yaml', env: {} })).message, /config file not found: nope\.yaml[\s\S]*--config/);
    assert.match(loadErr(() => loadConfig({ cwd: dir, env: { CORTEX_PROXY_CONFIG: 'gone.yaml' } })).message, /CORTEX_PROXY_CONFIG/);
  });
});

describe('secrets never reach messages', () => {
  test('literal secrets on a line with a YAML error or a malformed value', () => {
    const bad = [
      minimal().replace(`api_key: pat/${PAT}`, `api_key: "pat/${PAT}`), // unclosed quote on the secret's line
      minimal().replace(`pat/${PAT}`, `"pat/${PAT.slice(0, 20)} ${PAT.slice(20)}"`), // whitespace inside
      minimal('', `general_settings:\n  master_key: "${MASTER} x"\n`),
      minimal('', `general_settings:\n  master_key: [${MASTER}]\n`),
      minimal().replace(`pat/${PAT}`, `os.environ/${PAT.slice(0, 30)}.x`),
    ];
    for (const text of bad) {
      const dir = tmp({ 'litellm_config.yaml': text });
      const e = loadErr(() => loadConfig({ cwd: dir, env: {} }));
      assertNoSecrets(e.message);
    }
  });

  test('a PAT or master key with spaces in the environment', () => {
    const dir = tmp({ 'litellm_config.yaml': QUICKSTART });
    assertNoSecrets(loadErr(() => loadConfig({ cwd: dir, env: { SNOWFLAKE_PAT: `pat/${PAT}\nX`, LITELLM_MASTER_KEY: MASTER } })).message);
    assertNoSecrets(loadErr(() => loadConfig({ cwd: tmp(), env: { SNOWFLAKE_ACCOUNT: 'a', SNOWFLAKE_PAT: PAT, CORTEX_PROXY_MASTER_KEY: `${MASTER} y` } })).message);
    assertNoSecrets(loadErr(() => loadConfig({ cwd: tmp(), env: { SNOWFLAKE_ACCOUNT: PAT, SNOWFLAKE_PAT: PAT } })).message);
  });
});

describe('api_base normalisation', () => {
  const base = (b: string, env: NodeJS.ProcessEnv = {}) => {
    const dir = tmp({ 'c.yaml': minimal().replace('https://acct.snowflakecomputing.com/api/v2', b) });
    return loadConfig({ cwd: dir, configPath: 'c.yaml', env });
  };
  test('accepted forms', () => {
    const want = 'https://my-org-acct.snowflakecomputing.com/api/v2';
    for (const b of [
      'https://my-org-acct.snowflakecomputing.com/api/v2/',
      'https://my-org-acct.snowflakecomputing.com/api/v2/cortex',
      'https://my-org-acct.snowflakecomputing.com/api/v2/cortex/inference:complete',
      'https://MY_ORG-ACCT.snowflakecomputing.com',
      'https://my-org-acct.snowflakecomputing.com/',
    ])
      assert.equal(base(b).deployments[0].apiBase, want, b);
    assert.equal(base('os.environ/BASE', { BASE: 'https://x.snowflakecomputing.com/api/v2' }).deployments[0].apiBase, 'https://x.snowflakecomputing.com/api/v2');
  });
  test('http:// for local emulators; remote plain http warns', () => {
    const local = base('http://127.0.0.1:8787/api/v2/');
    assert.equal(local.deployments[0].apiBase, 'http://127.0.0.1:8787/api/v2');
    assert.equal(local.warnings.filter((w) => /http/.test(w)).length, 0);
    const remote = base('http://emulator:8787');
    assert.equal(remote.deployments[0].apiBase, 'http://emulator:8787/api/v2');
    assert.ok(remote.warnings.some((w) => /api_base at line 5: .*unencrypted/.test(w)), remote.warnings.join('\n'));
  });
  test('credentials in the URL are refused without being echoed', () => {
    const dir = tmp({ 'c.yaml': minimal().replace('https://acct', `https://user:${MASTER}@acct`) });
    const e = loadErr(() => loadConfig({ cwd: dir, configPath: 'c.yaml', env: {} }));
    assert.match(e.detail, /user name or password/);
    assertNoSecrets(e.message);
  });
  test('api_base omitted → built from SNOWFLAKE_ACCOUNT', () => {
    const dir = tmp({ 'c.yaml': minimal().replace('      api_base: https://acct.snowflakecomputing.com/api/v2\n', '') });
    assert.equal(loadConfig({ cwd: dir, configPath: 'c.yaml', env: { SNOWFLAKE_ACCOUNT: 'Org_Acct' } }).deployments[0].apiBase, 'https://org-acct.snowflakecomputing.com/api/v2');
    const e = loadErr(() => loadConfig({ cwd: dir, configPath: 'c.yaml', env: {} }));
    assert.equal(e.line, 3);
    assert.match(e.detail, /has no api_base/);
  });
});

describe('settings', () => {
  test('defaults, fractions, aliases, merge keys, master key from the environment', () => {
    const text = `defaults: &sf
  api_base: https://acct.snowflakecomputing.com/api/v2
  api_key: os.environ/SNOWFLAKE_PAT
model_list:
  - model_name: a
    litellm_params:
      <<: *sf
      model: snowflake/claude-4-sonnet
  - model_name: a
    litellm_params:
      <<: *sf
      model: snowflake/claude-3-7-sonnet
      max_tokens: 1000
litellm_settings:
  request_timeout: 0.5
  drop_params: false
  disable_spend_logs: "yes"
general_settings:
  max_request_size_mb: 5
  max_image_mb: 0
`;
    const dir = tmp({ 'c.yaml': text });
    const cfg = loadConfig({ cwd: dir, configPath: 'c.yaml', env: { SNOWFLAKE_PAT: PAT, LITELLM_MASTER_KEY: MASTER } });
    assert.deepEqual(cfg.warnings, [], 'a key holding only an anchor is not reported');
    assert.deepEqual(
      cfg.deployments.map((d) => [d.modelName, d.cortexModel, d.maxTokens]),
      [['a', 'claude-4-sonnet', undefined], ['a', 'claude-3-7-sonnet', 1000]],
    );
    assert.deepEqual(cfg.settings, {
      ...DEFAULT_SETTINGS,
      requestTimeoutMs: 500,
      dropParams: false,
      disableSpendLogs: true,
      maxBodyBytes: 5 * 1024 * 1024,
      maxImageBytes: 0,
      masterKey: MASTER,
    });
    const plain = loadConfig({ cwd: dir, configPath: 'c.yaml', env: { SNOWFLAKE_PAT: PAT } });
    assert.equal(plain.settings.masterKey, undefined);
  });
});

describe('config file search', () => {
  test('order: CORTEX_PROXY_CONFIG, cortex-proxy.yaml, litellm_config.yaml, config.yaml with model_list', () => {
    const dir = tmp({ 'config.yaml': 'model_list: []\n' });
    assert.equal(findConfigFile(dir, {}), path.join(dir, 'config.yaml'));
    fs.writeFileSync(path.join(dir, 'litellm_config.yaml'), QUICKSTART);
    assert.equal(findConfigFile(dir, {}), path.join(dir, 'litellm_config.yaml'));
    fs.writeFileSync(path.join(dir, 'cortex-proxy.yaml'), QUICKSTART);
    assert.equal(findConfigFile(dir, {}), path.join(dir, 'cortex-proxy.yaml'));
    assert.equal(findConfigFile(dir, { CORTEX_PROXY_CONFIG: 'x/y.yaml' }), path.join(dir, 'x/y.yaml'));
    const other = tmp({ 'config.yaml': 'server:\n  port: 1\n' });
    assert.equal(findConfigFile(other, {}), undefined, 'an unrelated config.yaml is ignored');
  });
});

describe('zero-config from the environment', () => {
  test('SNOWFLAKE_ACCOUNT + SNOWFLAKE_PAT give the default model list', () => {
    const cfg = loadConfig({ cwd: tmp(), env: { SNOWFLAKE_ACCOUNT: 'MyOrg_MyAcct', SNOWFLAKE_PAT: `pat/${PAT}`, LITELLM_MASTER_KEY: MASTER } });
    assert.equal(cfg.source, 'environment');
    assert.equal(cfg.demo, false);
    assert.deepEqual(cfg.warnings, []);
    assert.deepEqual(cfg.settings, { ...DEFAULT_SETTINGS, masterKey: MASTER });
    assert.ok(cfg.deployments.length >= 5);
    for (const d of cfg.deployments) {
      assert.equal(d.modelName, d.cortexModel);
      assert.equal(d.apiBase, 'https://myorg-myacct.snowflakecomputing.com/api/v2');
      assert.deepEqual(d.auth, { type: 'pat', token: PAT });
      assert.equal(d.wire, 'auto');
    }
    assert.ok(cfg.deployments.some((d) => d.cortexModel === 'claude-4-sonnet'));
  });

  test('credentials from .env in the working directory; SNOWFLAKE_MODELS; CORTEX_PROXY_MASTER_KEY first', () => {
    const cwd = tmp({ '.env': `SNOWFLAKE_ACCOUNT=xy12345.us-east-2.aws\nSNOWFLAKE_PAT=${PAT}\nSNOWFLAKE_MODELS= snowflake/claude-4-sonnet , llama3.1-70b,\n` });
    const cfg = loadConfig({ cwd, env: { CORTEX_PROXY_MASTER_KEY: 'sk-a', LITELLM_MASTER_KEY: 'sk-b' } });
    assert.deepEqual(cfg.deployments.map((d) => d.modelName), ['claude-4-sonnet', 'llama3.1-70b']);
    assert.equal(cfg.deployments[0].apiBase, 'https://xy12345.us-east-2.aws.snowflakecomputing.com/api/v2');
    assert.equal(cfg.settings.masterKey, 'sk-a');
  });

  test('account forms: full host, URL, privatelink', () => {
    const b = (a: string) => loadConfig({ cwd: tmp(), env: { SNOWFLAKE_ACCOUNT: a, SNOWFLAKE_PAT: PAT } }).deployments[0].apiBase;
    assert.equal(b('myorg-myacct.snowflakecomputing.com'), 'https://myorg-myacct.snowflakecomputing.com/api/v2');
    assert.equal(b('https://myorg-myacct.snowflakecomputing.com/api/v2/'), 'https://myorg-myacct.snowflakecomputing.com/api/v2');
    assert.equal(b('myorg-myacct.privatelink'), 'https://myorg-myacct.privatelink.snowflakecomputing.com/api/v2');
  });

  test('bad account identifiers are refused (SSRF guard)', () => {
    for (const a of ['evil.com/x', 'user@evil.com', 'acct#frag', 'my acct', 'acct:8080', 'acct..x', '-acct', 'a?b=c']) {
      const e = loadErr(() => loadConfig({ cwd: tmp(), env: { SNOWFLAKE_ACCOUNT: a, SNOWFLAKE_PAT: PAT } }));
      assert.match(e.detail, /SNOWFLAKE_ACCOUNT/, a);
      assert.match(e.hint, /myorg-myaccount/);
      assertNoSecrets(e.message);
    }
  });

  test('half-configured environments are errors, not demo mode', () => {
    assert.match(loadErr(() => loadConfig({ cwd: tmp(), env: { SNOWFLAKE_ACCOUNT: 'a' } })).message, /SNOWFLAKE_PAT is not\n[\s\S]*hint: set SNOWFLAKE_PAT=pat\//);
    assert.match(loadErr(() => loadConfig({ cwd: tmp(), env: { SNOWFLAKE_PAT: PAT } })).message, /SNOWFLAKE_ACCOUNT is not/);
    assert.match(loadErr(() => loadConfig({ cwd: tmp(), env: { SNOWFLAKE_ACCOUNT: 'a', SNOWFLAKE_PAT: 'pat/' } })).message, /SNOWFLAKE_PAT is empty/);
    assert.match(loadErr(() => loadConfig({ cwd: tmp(), env: { SNOWFLAKE_ACCOUNT: 'a', SNOWFLAKE_PAT: PAT, SNOWFLAKE_MODELS: 'a b' } })).message, /SNOWFLAKE_MODELS/);
  });
});

describe('demo mode', () => {
  test('nothing configured → demo deployments with empty apiBase and token', () => {
    const cfg = loadConfig({ cwd: tmp(), env: { LITELLM_MASTER_KEY: MASTER } });
    assert.equal(cfg.demo, true);
    assert.equal(cfg.source, 'demo');
    assert.deepEqual(cfg.warnings, []);
    assert.deepEqual(cfg.settings, { ...DEFAULT_SETTINGS, masterKey: MASTER });
    assert.ok(cfg.deployments.length >= 3);
    for (const d of cfg.deployments) {
      assert.equal(d.apiBase, '');
      assert.deepEqual(d.auth, { type: 'pat', token: '' });
      assert.equal(d.wire, 'auto');
    }
  });
});

describe('general_settings.image_url_fetch (docs/images.md)', () => {
  const load = (value: string) => loadConfig({ cwd: tmp({ 'c.yaml': minimal('', `general_settings:\n  image_url_fetch: ${value}\n`) }), configPath: 'c.yaml', env: {} });
  test('public, off (also the bare YAML 1.1 boolean), any; absent = public at the fetcher', () => {
    assert.equal(load('public').settings.imageUrlFetch, 'public');
    assert.equal(load('off').settings.imageUrlFetch, 'off');
    assert.equal(load('"off"').settings.imageUrlFetch, 'off');
    assert.equal(load('ANY').settings.imageUrlFetch, 'any');
    assert.equal(loadConfig({ cwd: tmp({ 'c.yaml': minimal() }), configPath: 'c.yaml', env: {} }).settings.imageUrlFetch, undefined);
  });
  test('anything else is refused with the values it may take', () => {
    assert.match(loadErr(() => load('everything')).message, /image_url_fetch must be public, off or any/);
    assert.match(loadErr(() => load('true')).message, /image_url_fetch must be public, off or any/);
  });
});
