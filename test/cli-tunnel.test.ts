// `serve --tunnel`: a fake cloudflared / ngrok on PATH (small node scripts printing the tool's URL line) stands in
// for the real tools. Checks: the child's arguments, the URL parsed and printed, refusal without a strong key and
// in demo mode, install help when no tool exists, failed-key limiting per forwarded address, the remote address in
// the log, and the child stopped with the proxy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { FailedAuthLimiter } from '../src/server/tunnel-guard.js';
import { parseTunnelUrl } from '../src/cli/tunnel.js';
import { cleanEnv, runCli, startProxy, tempDir } from './helpers.js';
import { STRONG_KEY, writeAccount } from './setup-helpers.js';

const PAT = 'tunnel-test-pat-' + 't'.repeat(30);
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true });
});
after(() => emu?.close());

/** A folder holding a fake tool that records its argv and pid, prints `line` and waits for SIGTERM. */
function fakeTool(name: 'cloudflared' | 'ngrok', line: string, stream: 'stdout' | 'stderr'): { bin: string; record: string } {
  const bin = tempDir('fake-bin-');
  const record = join(bin, 'record.json');
  const script = `#!${process.execPath}
require('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ argv: process.argv.slice(2), pid: process.pid }));
process.${stream}.write('starting...\\n');
process.${stream}.write(${JSON.stringify(line + '\n')});
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`;
  writeFileSync(join(bin, name), script);
  chmodSync(join(bin, name), 0o755);
  return { bin, record };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('cloudflared: spawned with `tunnel --url`, URL printed, failed keys limited per client address, stopped with the proxy', async () => {
  const dir = tempDir();
  writeAccount(dir, { apiBase: emu.apiBase, pat: PAT });
  const { bin, record } = fakeTool('cloudflared', '2026-11-28T00:00:00Z INF |  https://quiet-river-1234.trycloudflare.com                                  |', 'stderr');
  const p = await startProxy(['--tunnel'], { cwd: dir, env: cleanEnv({ PATH: bin }) });
  const port = new URL(p.url).port;
  let pid = 0;
  try {
    await p.waitForLog('Public URL: https://quiet-river-1234.trycloudflare.com');
    assert.match(p.stderr(), /Override OpenAI Base URL: +https:\/\/quiet-river-1234\.trycloudflare\.com\/v1/);
    const rec = JSON.parse(readFileSync(record, 'utf8'));
    pid = rec.pid;
    assert.deepEqual(rec.argv, ['tunnel', '--url', `http://127.0.0.1:${port}`]);
    // cloudflared passes the public Host through: it is allowed; another name (a rebinding page) is not.
    for (const [host, status] of [['quiet-river-1234.trycloudflare.com', 200], ['evil.example', 421]] as const) {
      const r = await request(`${p.url}/v1/models`, { headers: { authorization: `Bearer ${STRONG_KEY}`, host, 'cf-connecting-ip': '192.0.2.50' } });
      assert.equal(r.statusCode, status, host);
      await r.body.dump();
    }

    const attempt = (ip: string, key = 'sk-wrong', path = '/v1/models') =>
      request(`${p.url}${path}`, { headers: { authorization: `Bearer ${key}`, 'cf-connecting-ip': ip } }).then(async (r) => ({ status: r.statusCode, retryAfter: r.headers['retry-after'], body: (await r.body.json()) as any }));
    for (let i = 0; i < 10; i++) assert.equal((await attempt('203.0.113.7')).status, 401);
    const blocked = await attempt('203.0.113.7');
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.error.code, 'too_many_failed_auth');
    assert.ok(Number(blocked.retryAfter) > 0);
    assert.equal((await attempt('203.0.113.7', STRONG_KEY)).status, 200, 'the right key passes even from a throttled address');
    assert.equal((await attempt('203.0.113.7')).status, 429, 'and wrong keys from it are still throttled');
    const anthropic = await attempt('203.0.113.7', 'sk-wrong', '/v1/messages');
    assert.equal(anthropic.body.type, 'error', "in the Anthropic route's own error format");
    assert.equal(anthropic.body.error.type, 'rate_limit_error');
    assert.equal((await attempt('198.51.100.4')).status, 401, 'another address is not blocked');
    assert.equal((await attempt('198.51.100.4', STRONG_KEY)).status, 200);
    await p.waitForLog(/GET \/v1\/models status=401 .*remote=198\.51\.100\.4/);
    assert.ok(!p.stderr().includes(STRONG_KEY) && !p.stderr().includes(PAT));
  } finally {
    await p.stop();
  }
  assert.ok(pid > 0);
  assert.equal(alive(pid), false, 'the tunnel stopped with the proxy');
});

test('ngrok: `http PORT --log stdout`, URL parsed from its logfmt line', async () => {
  const dir = tempDir();
  writeAccount(dir, { apiBase: emu.apiBase, pat: PAT });
  const { bin, record } = fakeTool('ngrok', 't=2026-11-28T00:00:00+0000 lvl=info msg="started tunnel" obj=tunnels name=command_line addr=http://localhost:4000 url=https://ab12-cd34.ngrok-free.app', 'stdout');
  const p = await startProxy(['--tunnel', 'ngrok'], { cwd: dir, env: cleanEnv({ PATH: bin }) });
  try {
    await p.waitForLog('Public URL: https://ab12-cd34.ngrok-free.app');
    assert.deepEqual(JSON.parse(readFileSync(record, 'utf8')).argv, ['http', new URL(p.url).port, '--log', 'stdout']);
  } finally {
    await p.stop();
  }
});

test('--tunnel is refused without a strong master key, in demo mode, and says how to get a tool when none is installed', async () => {
  const { bin } = fakeTool('cloudflared', 'https://x-y.trycloudflare.com', 'stderr');
  const weakDir = tempDir();
  writeAccount(weakDir, { apiBase: emu.apiBase, pat: PAT, masterKey: 'sk-12345678' });
  const weak = await runCli(['serve', '--port', '0', '--tunnel'], { cwd: weakDir, env: cleanEnv({ PATH: bin }) });
  assert.equal(weak.code, 2);
  assert.match(weak.stderr, /refusing --tunnel with a weak master key/);
  const noKeyDir = tempDir();
  writeAccount(noKeyDir, { apiBase: emu.apiBase, pat: PAT, masterKey: null });
  const noKey = await runCli(['serve', '--port', '0', '--tunnel'], { cwd: noKeyDir, env: cleanEnv({ PATH: bin }) });
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /refusing --tunnel without a master key/);
  const demo = await runCli(['serve', '--port', '0', '--tunnel'], { cwd: tempDir(), env: cleanEnv({ PATH: bin, CORTEX_PROXY_MASTER_KEY: STRONG_KEY }) });
  assert.equal(demo.code, 2);
  assert.match(demo.stderr, /refusing --tunnel in demo mode/);
  const okDir = tempDir();
  writeAccount(okDir, { apiBase: emu.apiBase, pat: PAT });
  const none = await runCli(['serve', '--port', '0', '--tunnel'], { cwd: okDir, env: cleanEnv({ PATH: tempDir() }) });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no tunnel tool found/);
  assert.match(none.stderr, /brew install cloudflared/);
  assert.match(none.stderr, /ngrok/);
  const wrong = await runCli(['serve', '--port', '0', '--tunnel', 'frp'], { cwd: okDir, env: cleanEnv({ PATH: bin }) });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /unknown tool/);
});

test('a tunnel that dies takes the proxy down with it', async () => {
  const dir = tempDir();
  writeAccount(dir, { apiBase: emu.apiBase, pat: PAT });
  const { bin, record } = fakeTool('cloudflared', 'https://short-lived.trycloudflare.com', 'stderr');
  const p = await startProxy(['--tunnel', 'cloudflared'], { cwd: dir, env: cleanEnv({ PATH: bin }) });
  await p.waitForLog('Public URL');
  const exited = once(p.child, 'exit');
  process.kill(JSON.parse(readFileSync(record, 'utf8')).pid, 'SIGTERM');
  await exited;
  assert.match(p.stderr(), /cloudflared exited .*the public URL is gone; stopping the proxy/);
  assert.ok(existsSync(record));
});

test('the failed-key limiter forgets failures after its window', () => {
  let now = 1_000_000;
  const l = new FailedAuthLimiter(3, 60_000, () => now);
  for (let i = 0; i < 3; i++) l.fail('a');
  assert.ok(l.retryAfter('a') > 0);
  assert.equal(l.retryAfter('b'), 0);
  now += 60_001;
  assert.equal(l.retryAfter('a'), 0);
  assert.equal(parseTunnelUrl('cloudflared', 'INF +---+\nINF |  https://a-b-c.trycloudflare.com  |'), 'https://a-b-c.trycloudflare.com');
  assert.equal(parseTunnelUrl('ngrok', 'lvl=info msg="started tunnel" url=https://x.ngrok.app'), 'https://x.ngrok.app');
  assert.equal(parseTunnelUrl('cloudflared', 'INF Requesting new quick Tunnel on trycloudflare.com...'), undefined);
});
