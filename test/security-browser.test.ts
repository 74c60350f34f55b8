// Attacks from a web browser (issue 13 item 1; server/browser-guard.ts), each next to its legitimate twin. The proxy
// runs without a master key (zero-config's default: the case where a web page could otherwise spend the credits),
// with allowed_hosts and cors_origins set. "Nothing spent" = the emulator received no request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { request } from 'undici';
import { ROUTES } from '../src/server/app.js';
import { BrowserGuard } from '../src/server/browser-guard.js';
import { tempDir, writeFiles, cleanEnv, runCli } from './helpers.js';
import { useProxyRig } from './proxy-rig.js';
import { PATHS, bodyFor, envelopeError, type DialectName } from './reliability-helpers.js';

const PAT = 'browser-pat-' + 'b'.repeat(30);
const ALLOWED_ORIGIN = 'https://chat.example.com';
const rig = useProxyRig({
  pat: PAT,
  args: ['--quiet'],
  config: (apiBase) => `model_list:
  - model_name: m
    litellm_params:
      model: snowflake/claude-sonnet-4-5
      api_base: ${apiBase}
      api_key: os.environ/SNOWFLAKE_PAT
      cortex_api: complete
general_settings:
  disable_spend_logs: true
  allowed_hosts: [gateway.corp.example, "*.lan.example", "pinned.example:8443"]
  cors_origins: ["${ALLOWED_ORIGIN}"]
`,
});
const port = () => new URL(rig.proxy.url).port;

async function post(d: DialectName, headers: Record<string, string>, body: string = JSON.stringify(bodyFor(d, 'm', 'hi', false))) {
  const before = rig.emu.requests.length;
  const r = await request(rig.proxy.url + PATHS[d], { method: 'POST', headers, body });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, spent: rig.emu.requests.length - before, error: safeEnvelope(d, text) };
}
function safeEnvelope(d: DialectName, text: string) {
  try {
    return envelopeError(d, JSON.parse(text));
  } catch {
    return undefined;
  }
}
const corsHeaders = (h: Record<string, unknown>) => Object.keys(h).filter((k) => k.startsWith('access-control-'));

test('cross-site text/plain, form and multipart POSTs (what a page sends without a preflight) are refused and spend nothing; JSON works', async () => {
  for (const d of ['chat', 'messages', 'responses'] as const) {
    for (const ct of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      // As a page sends it: with its Origin and Sec-Fetch-Site → 403 before anything else.
      const cross = await post(d, { 'content-type': ct, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' });
      assert.equal(cross.status, 403, `${d} ${ct}: ${cross.text}`);
      assert.equal(cross.spent, 0);
      assert.match(cross.error!.message, /requests from web pages at 'https:\/\/evil\.example' are refused/);
      // Without the browser headers (a rebound or an odd client): the content type alone → 415.
      const bare = await post(d, { 'content-type': ct });
      assert.equal(bare.status, 415, `${d} ${ct}: ${bare.text}`);
      assert.equal(bare.spent, 0);
      assert.match(bare.error!.message, /must be JSON sent with content-type: application\/json/);
    }
    // Anthropic's envelope on /v1/messages.
    if (d === 'messages') assert.equal(JSON.parse((await post(d, { 'content-type': 'text/plain' })).text).type, 'error');
    // Twins: the content types real clients send, and none at all (curl --data-binary, some HTTP libraries).
    for (const headers of [{ 'content-type': 'application/json' }, { 'content-type': 'application/json; charset=utf-8' }, { 'content-type': 'Application/JSON' }, {} as Record<string, string>]) {
      const ok = await post(d, headers);
      assert.equal(ok.status, 200, `${d} ${JSON.stringify(headers)}: ${ok.text.slice(0, 200)}`);
      assert.equal(ok.spent, 1);
    }
  }
});

test('a foreign Origin with a JSON body is refused (403, route envelope, nothing spent); the same-origin page and no Origin work', async () => {
  for (const d of ['chat', 'messages', 'responses'] as const) {
    for (const origin of ['https://evil.example', 'http://localhost:3000', `http://127.0.0.1:${Number(port()) + 1}`, 'null', `http://127.0.0.1.evil.example:${port()}`]) {
      const r = await post(d, { 'content-type': 'application/json', origin });
      assert.equal(r.status, 403, `${d} ${origin}`);
      assert.equal(r.spent, 0);
      assert.ok(r.error, `${d}: in the route's own envelope: ${r.text}`);
      assert.deepEqual(corsHeaders(r.headers), []);
    }
    const same = await post(d, { 'content-type': 'application/json', origin: `http://127.0.0.1:${port()}`, 'sec-fetch-site': 'same-origin' });
    assert.equal(same.status, 200, same.text);
    assert.deepEqual(corsHeaders(same.headers), [], 'same origin needs no CORS grant');
  }
  // Sec-Fetch-Site cross-site without an Origin (an <img>, a no-cors GET) is refused too.
  const img = await request(`${rig.proxy.url}/v1/models`, { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' } });
  assert.equal(img.statusCode, 403);
  await img.body.dump();
  // Twin: following a link to the dashboard from elsewhere (a top-level navigation the page cannot read) works.
  const nav = await request(`${rig.proxy.url}/ui`, { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } });
  assert.equal(nav.statusCode, 200);
  await nav.body.dump();
  const dashboard = await request(`${rig.proxy.url}/ui/api/stats`, { headers: { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' } });
  assert.equal(dashboard.statusCode, 200, 'the dashboard fetches its statistics same-origin');
  await dashboard.body.dump();
});

test('DNS rebinding: a foreign Host is refused with 421 on every GET route (and POSTs); the proxy\'s own names pass', async () => {
  const gets = Object.entries(ROUTES).filter(([, r]) => r.method === 'GET').map(([p]) => p);
  assert.ok(gets.length >= 12, gets.join(' '));
  for (const p of gets) {
    for (const host of [`evil.example:${port()}`, 'evil.example', `localhost.evil.example:${port()}`, `2130706433:${port()}`]) {
      const r = await request(rig.proxy.url + p, { headers: { host } });
      const text = await r.body.text();
      assert.equal(r.statusCode, 421, `${p} Host ${host}: ${text.slice(0, 200)}`);
      assert.match(JSON.parse(text).error.message, /does not name this proxy.*general_settings\.allowed_hosts/);
      assert.ok(!text.includes('"models"') && !text.includes('cortex_proxy_'), 'nothing of the route leaks');
    }
  }
  const rebound = await post('messages', { 'content-type': 'application/json', host: `evil.example:${port()}` });
  assert.equal(rebound.status, 421);
  assert.equal(rebound.spent, 0);
  assert.equal(JSON.parse(rebound.text).type, 'error', "Anthropic's envelope on /v1/messages");
  // Twins: loopback names and addresses (any port: docker -p and ssh -L forward), IPs, allowed_hosts entries.
  const hosts = [`localhost:${port()}`, 'localhost', `LOCALHOST.:${port()}`, `127.0.0.1:${port()}`, `[::1]:${port()}`, '10.1.2.3:4000', `gateway.corp.example:${port()}`, 'gateway.corp.example', 'a.lan.example', 'b.c.lan.example:443', 'pinned.example:8443'];
  for (const host of hosts) {
    const r = await request(`${rig.proxy.url}/v1/models`, { headers: { host } });
    assert.equal(r.statusCode, 200, host);
    await r.body.dump();
  }
  for (const host of ['lan.example', 'pinned.example:8444', 'pinned.example', 'xgateway.corp.example']) {
    const r = await request(`${rig.proxy.url}/health`, { headers: { host } });
    assert.equal(r.statusCode, 421, host);
    await r.body.dump();
  }
});

test('CORS: a preflight from a foreign origin gets 403 and no grant; from a cors_origins origin, a proper grant, and the answer carries it', async () => {
  const preflight = (origin: string, path = PATHS.chat) =>
    request(rig.proxy.url + path, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' } });
  for (const p of Object.values(PATHS)) {
    const foreign = await preflight('https://evil.example', p);
    assert.equal(foreign.statusCode, 403);
    assert.deepEqual(corsHeaders(foreign.headers), []);
    await foreign.body.dump();
    const ok = await preflight(ALLOWED_ORIGIN, p);
    assert.equal(ok.statusCode, 204);
    assert.equal(ok.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
    assert.match(String(ok.headers['access-control-allow-methods']), /POST/);
    assert.equal(ok.headers['access-control-allow-headers'], 'authorization, content-type, x-stainless-os');
    assert.ok(Number(ok.headers['access-control-max-age']) > 0);
    assert.match(String(ok.headers.vary), /Origin/);
    await ok.body.dump();
  }
  const answer = await post('chat', { 'content-type': 'application/json', origin: ALLOWED_ORIGIN, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' });
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
  assert.equal(answer.spent, 1);
  // An allowed origin still cannot send a form body.
  const form = await post('chat', { 'content-type': 'application/x-www-form-urlencoded', origin: ALLOWED_ORIGIN });
  assert.equal(form.status, 415);
  assert.equal(form.spent, 0);
});

test('the guard: allowed_hosts "*" turns the Host check off; every interface adds the machine name; the tunnel host is added', () => {
  const g = new BrowserGuard({});
  assert.equal(g.hostAllowed('cortex.example.com'), false);
  g.allowHost('https://quiet-river-1234.trycloudflare.com');
  assert.equal(g.hostAllowed('quiet-river-1234.trycloudflare.com'), true);
  assert.equal(g.hostAllowed('other.trycloudflare.com'), false);
  g.allowHost('0.0.0.0');
  assert.equal(g.hostAllowed(`${os.hostname()}:4000`), true);
  assert.equal(new BrowserGuard({ allowedHosts: ['*'] }).hostAllowed('anything.example'), true);
  assert.equal(g.originGrant('https://quiet-river-1234.trycloudflare.com', 'quiet-river-1234.trycloudflare.com'), 'same');
  assert.equal(g.originGrant('http://quiet-river-1234.trycloudflare.com', 'quiet-river-1234.trycloudflare.com:443'), undefined);
});

test('config: allowed_hosts and cors_origins are checked at start-up with an example', async () => {
  const dir = tempDir();
  const base = `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-sonnet-4-5\n      api_base: ${rig.emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\ngeneral_settings:\n`;
  for (const [bad, want] of [
    ['  cors_origins: ["null"]', /cors_origins: 'null' is not an origin/],
    ['  cors_origins: ["chat.example.com"]', /is not an origin/],
    ['  allowed_hosts: ["a b"]', /allowed_hosts: 'a b' is not a host name/],
    ['  allowed_hosts: [{a: 1}]', /allowed_hosts must be a list of strings/],
  ] as const) {
    writeFiles(dir, { 'cortex-proxy.yaml': base + bad + '\n' });
    const r = await runCli(['serve', '--port', '0'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
    assert.equal(r.code, 2, bad);
    assert.match(r.stderr, want);
  }
});
