// Client addresses and the failed-key limiter (issue 13 item 4; server/client-address.ts, server/tunnel-guard.ts),
// each attack next to its legitimate twin: forwarded headers (X-Forwarded-For, Forwarded, CF-Connecting-IP) count
// only from trusted_proxies (and, under serve --tunnel, from the tunnel process on this machine), so a client cannot
// pick the address it is throttled under; a throttled address — shared by an attacker and honest clients behind
// one NAT or load balancer — still gets through with a right key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { createApp, type App } from '../src/server/app.js';
import { createLogger } from '../src/server/log.js';
import { DEFAULT_SETTINGS, type Config } from '../src/config/types.js';
import { installFailedAuthLimit } from '../src/server/tunnel-guard.js';
import { TrustedProxies, clientAddressOf } from '../src/server/client-address.js';
import { cleanEnv, runCli, startProxy, tempDir, writeFiles } from './helpers.js';
import { STRONG_KEY, writeAccount } from './setup-helpers.js';

const PAT = 'clients-pat-' + 'c'.repeat(30);
const MASTER = 'sk-clients-master-' + 'k'.repeat(24);
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true });
});
after(() => emu?.close());

/** The app as serve builds it, with every connection treated as coming from another machine (tests only have loopback). */
async function serveApp(trustedProxies?: string[]): Promise<{ app: App; url: string; lines: string[] }> {
  const cfg: Config = {
    deployments: [{ modelName: 'm', cortexModel: 'claude-sonnet-4-5', apiBase: emu.apiBase, auth: { type: 'pat', token: PAT }, wire: 'complete' }],
    settings: { ...DEFAULT_SETTINGS, masterKey: MASTER, disableSpendLogs: true, trustedProxies },
    source: 'test',
    demo: false,
    warnings: [],
  };
  const lines: string[] = [];
  const log = createLogger('info', (l) => lines.push(l));
  const app = createApp(cfg, log);
  installFailedAuthLimit(app, log, undefined, () => false);
  await new Promise<void>((ok) => app.server.listen(0, '127.0.0.1', ok));
  return { app, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, lines };
}

async function models(url: string, key: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await request(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}`, ...headers } });
  await r.body.dump();
  return r.statusCode;
}

let n = 0;
const spoof = (): Record<string, string> => {
  n++;
  const ip = `198.18.${n % 250}.${(n * 7) % 250}`;
  return { 'x-forwarded-for': ip, forwarded: `for=${ip}`, 'cf-connecting-ip': ip, 'x-real-ip': ip };
};

test('without trusted_proxies, forwarded headers are ignored: a new spoofed address per try does not escape the limit', async () => {
  const { app, url, lines } = await serveApp();
  try {
    for (let k = 0; k < 10; k++) assert.equal(await models(url, `wrong-${k}`, spoof()), 401);
    for (let k = 0; k < 5; k++) assert.equal(await models(url, `wrong-again-${k}`, spoof()), 429, 'throttled under its socket address, whatever it claims');
    assert.ok(lines.some((l) => /127\.0\.0\.1 sent 10 wrong API keys/.test(l)), lines.join(''));
    assert.ok(!lines.join('').includes('198.18.'), 'no spoofed address reaches the log');
    // Twin: honest clients behind the same address (a NAT) still get in with their right key.
    assert.equal(await models(url, MASTER), 200);
    assert.equal(await models(url, MASTER, spoof()), 200);
  } finally {
    await app.close();
  }
});

test('behind a trusted proxy: the address it appended counts, what the client put to its left does not; other clients unaffected', async () => {
  const { app, url, lines } = await serveApp(['127.0.0.1/32', '10.0.0.0/8']);
  try {
    const via = (client: string, claimed = `203.0.113.${++n % 250}`) => ({ 'x-forwarded-for': `${claimed}, ${client}, 10.1.2.3` });
    for (let k = 0; k < 10; k++) assert.equal(await models(url, `wrong-${k}`, via('192.0.2.66')), 401);
    assert.equal(await models(url, 'wrong-10', via('192.0.2.66')), 429, 'spoofing the left part does not help');
    assert.equal(await models(url, 'wrong-11', { forwarded: 'for=192.0.2.66;proto=https' }), 429, 'Forwarded: for= is read the same way');
    assert.equal(await models(url, 'wrong-12', { 'cf-connecting-ip': '192.0.2.66' }), 429, 'CF-Connecting-IP from a trusted proxy, when it is the only one');
    assert.equal(await models(url, MASTER, via('192.0.2.66')), 200, 'the right key passes from the throttled address');
    assert.equal(await models(url, 'wrong-x', via('192.0.2.77')), 401, 'another client behind the proxy is not throttled');
    assert.equal(await models(url, 'wrong-y', { 'x-forwarded-for': '192.0.2.66', 'cf-connecting-ip': '192.0.2.99' }), 429, 'X-Forwarded-For wins over a CF-Connecting-IP the client added');
    assert.ok(lines.some((l) => /status=401 .*remote=192\.0\.2\.77/.test(l)), 'the request log shows the real client');
  } finally {
    await app.close();
  }
});

test('clientAddressOf: right-to-left walk, IPv6 and IPv4-mapped forms, garbage stops the walk', () => {
  const trusted = new TrustedProxies(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
  const of = clientAddressOf(trusted);
  const req = (remote: string, headers: Record<string, string>) => ({ socket: { remoteAddress: remote }, headers }) as unknown as IncomingMessage;
  assert.equal(of(req('192.0.2.1', { 'x-forwarded-for': '1.1.1.1' })), '192.0.2.1', 'untrusted socket: headers ignored');
  assert.equal(of(req('::ffff:127.0.0.1', { 'x-forwarded-for': '1.1.1.1, 2.2.2.2' })), '2.2.2.2');
  assert.equal(of(req('127.0.0.1', { 'x-forwarded-for': '1.1.1.1, 10.0.0.5, 10.0.0.6' })), '1.1.1.1', 'trusted hops skipped');
  assert.equal(of(req('127.0.0.1', { 'x-forwarded-for': '10.0.0.5' })), '10.0.0.5', 'all trusted: the leftmost');
  assert.equal(of(req('127.0.0.1', { 'x-forwarded-for': '1.1.1.1, unknown, 10.0.0.6' })), '10.0.0.6', 'garbage: the nearest known hop');
  assert.equal(of(req('fd00::1', { forwarded: 'for="[2001:db8::17]:4711", for=10.0.0.1' })), '2001:db8::17');
  assert.equal(of(req('127.0.0.1', {})), '127.0.0.1');
  const cf = clientAddressOf(trusted, { preferCfConnectingIp: true });
  assert.equal(cf(req('127.0.0.1', { 'cf-connecting-ip': '3.3.3.3', 'x-forwarded-for': '4.4.4.4' })), '3.3.3.3', 'cloudflared: Cloudflare sets CF-Connecting-IP');
});

test('serve --tunnel ngrok: a CF-Connecting-IP the client adds is not believed (ngrok passes it through); the X-Forwarded-For hop ngrok added counts', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  writeAccount(dir, { apiBase: emu.apiBase, pat: PAT });
  const bin = tempDir('fake-bin-');
  writeFileSync(join(bin, 'ngrok'), `#!${process.execPath}\nprocess.stdout.write('t=0 lvl=info msg="started tunnel" url=https://ab12-cd34.ngrok-free.app\\n');\nprocess.on('SIGTERM', () => process.exit(0));\nsetInterval(() => {}, 1000);\n`);
  chmodSync(join(bin, 'ngrok'), 0o755);
  const p = await startProxy(['--tunnel', 'ngrok'], { cwd: dir, env: cleanEnv({ PATH: bin }) });
  try {
    await p.waitForLog('Public URL: https://ab12-cd34.ngrok-free.app');
    const host = { host: 'ab12-cd34.ngrok-free.app' };
    for (let k = 0; k < 10; k++) assert.equal(await models(p.url, `wrong-${k}`, { ...host, 'cf-connecting-ip': `198.18.0.${k}`, 'x-forwarded-for': `198.18.1.${k}, 203.0.113.7` }), 401);
    assert.equal(await models(p.url, 'wrong', { ...host, 'cf-connecting-ip': '198.18.9.9', 'x-forwarded-for': '203.0.113.7' }), 429);
    assert.equal(await models(p.url, STRONG_KEY, { ...host, 'x-forwarded-for': '203.0.113.7' }), 200, 'the right key passes');
    assert.equal(await models(p.url, 'wrong', { ...host, 'x-forwarded-for': '203.0.113.8' }), 401, 'another client is not throttled');
    await p.waitForLog(/status=401 .*remote=203\.0\.113\.8/);
  } finally {
    await p.stop();
  }
});

test('config: trusted_proxies takes IPs and CIDRs; anything else stops start-up with an example', async () => {
  const dir = tempDir();
  const base = `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-sonnet-4-5\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\ngeneral_settings:\n`;
  for (const bad of ['10.0.0.0/33', 'proxy.example', '10.0.0.0/8/1', '1.2.3']) {
    writeFiles(dir, { 'cortex-proxy.yaml': `${base}  trusted_proxies: ["${bad}"]\n` });
    const r = await runCli(['serve', '--port', '0'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
    assert.equal(r.code, 2, bad);
    assert.match(r.stderr, /trusted_proxies: .* is not an IP address or CIDR range/);
    assert.match(r.stderr, /trusted_proxies: \[127\.0\.0\.1, 10\.0\.0\.0\/8\]/);
  }
  writeFiles(dir, { 'cortex-proxy.yaml': `${base}  trusted_proxies: [127.0.0.1, "10.0.0.0/8", "::1", "fd00::/8"]\n` });
  const ok = await startProxy(['--quiet'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
  await ok.stop();
});
