// bin/cortex-proxy.js: a plain `serve` starts from dist/serve.cjs with a V8 code cache in the user's cache folder
// (none → written after start-up; then used; a corrupt one rejected and written anew; an unusable folder changes
// nothing but the speed), and every other command line still goes through commander with its messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { cleanEnv, runCli, startProxy, tempDir, writeFiles } from './helpers.js';
import { waitUntil } from './reliability-helpers.js';
import { plainServe } from '../src/cli/serve-argv.js';

const PAT = 'fast-path-pat-' + 'f'.repeat(40);
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true });
});
after(() => emu.close());

function project(): string {
  const dir = tempDir();
  writeFiles(dir, {
    'cortex-proxy.yaml': `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-sonnet-4-5\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\ngeneral_settings:\n  usage_log_dir: ./usage\n  database_path: ./team\n`,
  });
  return dir;
}

async function chat(url: string): Promise<number> {
  const r = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.body.text();
  return r.statusCode;
}

/** Starts serve with --log-level debug and returns what the launcher said about the cache. */
async function serveOnce(dir: string, cacheHome: string, extra: Record<string, string> = {}) {
  const proxy = await startProxy(['--log-level', 'debug', '-q'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT, XDG_CACHE_HOME: cacheHome, ...extra }) });
  const line = proxy.stderr().split('\n').find((l) => l.includes('code cache:'));
  return { proxy, line };
}

const cacheFiles = (home: string) => (existsSync(path.join(home, 'cortex-proxy')) ? readdirSync(path.join(home, 'cortex-proxy')).filter((f) => f.endsWith('.v8')) : []);

test('a plain serve writes the code cache after start-up, the next start uses it, a corrupt one is rejected and replaced', { timeout: 60_000 }, async () => {
  const dir = project();
  const home = tempDir('cortex-proxy-cache-');
  const first = await serveOnce(dir, home);
  try {
    assert.match(first.line ?? '', /DEBUG code cache: none \(.*cortex-proxy\/serve-[0-9a-f]{32}-v\d+\.\d+\.\d+-\w+\.v8\)/);
    assert.equal(await chat(first.proxy.url), 200);
    await waitUntil(() => cacheFiles(home).length === 1, 10_000, 'the code cache file');
  } finally {
    await first.proxy.stop();
  }
  const file = path.join(home, 'cortex-proxy', cacheFiles(home)[0]);
  assert.equal(statSync(file).mode & 0o777, 0o600, 'only the user reads it');
  assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);

  const second = await serveOnce(dir, home);
  try {
    assert.match(second.line ?? '', /DEBUG code cache: used /);
    assert.equal(await chat(second.proxy.url), 200);
  } finally {
    await second.proxy.stop();
  }

  writeFileSync(file, 'not a code cache');
  const third = await serveOnce(dir, home);
  try {
    assert.match(third.line ?? '', /DEBUG code cache: rejected /);
    assert.equal(await chat(third.proxy.url), 200);
    await waitUntil(() => readFileSync(file).length > 10_000, 10_000, 'the cache written anew');
  } finally {
    await third.proxy.stop();
  }
});

test('a cache another user could have written is never run: a folder or file writable by others is not used', { timeout: 60_000 }, async () => {
  const dir = project();
  const home = tempDir('cortex-proxy-cache-');
  const first = await serveOnce(dir, home);
  try {
    await waitUntil(() => cacheFiles(home).length === 1, 10_000, 'the code cache file');
  } finally {
    await first.proxy.stop();
  }
  const folder = path.join(home, 'cortex-proxy');
  const file = path.join(folder, cacheFiles(home)[0]);
  chmodSync(file, 0o666); // a file anyone may replace
  const second = await serveOnce(dir, home);
  try {
    assert.match(second.line ?? '', /DEBUG code cache: not used \(another user owns or may write it\)/);
    assert.equal(await chat(second.proxy.url), 200);
    // Its own folder: the file is written anew, for this user only.
    await waitUntil(() => (statSync(file).mode & 0o777) === 0o600, 10_000, 'the cache written anew, 0600');
  } finally {
    await second.proxy.stop();
  }
  chmodSync(folder, 0o777); // a folder anyone may write into
  const third = await serveOnce(dir, home);
  try {
    assert.match(third.line ?? '', /DEBUG code cache: not used /);
    assert.equal(await chat(third.proxy.url), 200);
  } finally {
    await third.proxy.stop();
  }
  // Back to the user's own folder: the cache is trusted again.
  chmodSync(folder, 0o700);
  const fourth = await serveOnce(dir, home);
  try {
    assert.match(fourth.line ?? '', /DEBUG code cache: used /);
  } finally {
    await fourth.proxy.stop();
  }
});

test('an unusable cache folder or CORTEX_PROXY_CODE_CACHE=0 changes nothing but the speed', { timeout: 60_000 }, async () => {
  const dir = project();
  const notADir = path.join(tempDir(), 'a-file');
  writeFileSync(notADir, 'x'); // XDG_CACHE_HOME/cortex-proxy cannot be created under a file
  const { proxy, line } = await serveOnce(dir, notADir);
  try {
    assert.match(line ?? '', /DEBUG code cache: none /);
    // Past the cache write (1 s after listening), the server still answers.
    const until = Date.now() + 1500;
    while (Date.now() < until) assert.equal(await chat(proxy.url), 200);
    assert.equal(proxy.child.exitCode, null);
  } finally {
    await proxy.stop();
  }
  const off = await serveOnce(dir, tempDir('cortex-proxy-cache-'), { CORTEX_PROXY_CODE_CACHE: '0' });
  try {
    assert.equal(off.line, undefined, 'the commander path: no cache');
    assert.equal(await chat(off.proxy.url), 200);
  } finally {
    await off.proxy.stop();
  }
});

test('anything but a plain serve goes through commander: its errors, --help and --version are unchanged', { timeout: 60_000 }, async () => {
  const dir = project();
  const env = cleanEnv({ SNOWFLAKE_PAT: PAT });
  const bogus = await runCli(['serve', '--bogus'], { cwd: dir, env });
  assert.notEqual(bogus.code, 0);
  assert.match(bogus.stderr, /unknown option '--bogus'/);
  const level = await runCli(['--log-level', 'loud'], { cwd: dir, env });
  assert.notEqual(level.code, 0);
  assert.match(level.stderr, /Allowed choices are debug, info, warn, error, silent/);
  const missing = await runCli(['serve', '--port'], { cwd: dir, env });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /option '-p, --port <port>' argument missing/);
  const help = await runCli(['serve', '--help'], { cwd: dir, env });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--workers <n>/);
  const version = await runCli(['--version'], { cwd: dir, env });
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});

test('what a plain serve is (src/cli/serve-argv.ts, the one reading commander and the fast path share)', () => {
  assert.deepEqual(plainServe([], {}), { port: '4000', host: '127.0.0.1', logLevel: 'info' });
  assert.deepEqual(plainServe(['serve', '-c', 'x.yaml', '--port=8080', '-q', '--workers', 'auto'], { PORT: '9000' }), {
    port: '8080', host: '127.0.0.1', logLevel: 'info', config: 'x.yaml', quiet: true, workers: 'auto',
  });
  assert.equal(plainServe(['serve'], { PORT: '9000' })?.port, '9000', '$PORT, as commander takes it');
  for (const argv of [['doctor'], ['serve', '--tunnel'], ['--help'], ['serve', '--port'], ['--port', '-1'], ['--log-level', 'loud'], ['--log-level', 'toString'], ['-q=1']]) {
    assert.equal(plainServe(argv, {}), undefined, `${argv.join(' ')} goes to commander`);
  }
});
