// Transport failures through the real CLI, for each client dialect: connection refused, a name that does not
// resolve, a TLS handshake that fails (a local self-signed HTTPS upstream). Each is a 502 in the dialect's envelope
// that names the host and the cause; refused and unresolvable hosts are retried (num_retries), a refused certificate
// is not. Nothing leaves the machine: the .invalid name fails inside the proxy (test/dns-trap.mjs), because the
// system resolver here would ask a DNS server on another host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { ROOT, cleanEnv, hasOpenssl, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';
import { DIALECTS, call, gauges, waitUntil } from './reliability-helpers.js';

const PAT = 'transport-pat-' + 'p'.repeat(40);
const MASTER = 'sk-transport-master-' + 'k'.repeat(32);

let proxy: RunningProxy;
let tls: Server | undefined;
let tlsConnections = 0;
let tlsRequests = 0;
let closedPort = 0;

const model = (name: string, cortex: string, base: string) =>
  `  - model_name: ${name}\n    litellm_params:\n      model: snowflake/${cortex}\n      api_base: ${base}\n      api_key: os.environ/SNOWFLAKE_PAT\n      cortex_api: complete\n`;

before(async () => {
  const dir = tempDir();
  // A port nobody listens on: bound, then closed.
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));

  let tlsBase = 'https://127.0.0.1:9/api/v2';
  if (hasOpenssl()) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=127.0.0.1'], { cwd: dir, stdio: 'ignore' });
    tls = createHttpsServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (_req, res) => {
      tlsRequests++;
      res.end('{}');
    });
    tls.on('connection', () => tlsConnections++);
    tls.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => tls!.listen(0, '127.0.0.1', () => r()));
    tlsBase = `https://127.0.0.1:${(tls.address() as { port: number }).port}/api/v2`;
  }
  writeFiles(dir, {
    'cortex-proxy.yaml':
      'model_list:\n' +
      model('refused', 'claude-4-sonnet', `http://127.0.0.1:${closedPort}/api/v2`) +
      model('nowhere', 'claude-3-7-sonnet', 'https://cortex-proxy-test.invalid/api/v2') +
      model('selfsigned', 'openai-gpt-4.1', tlsBase) +
      'litellm_settings:\n  num_retries: 1\n  request_timeout: 5\n' +
      'general_settings:\n  master_key: os.environ/CORTEX_PROXY_MASTER_KEY\n  disable_spend_logs: true\n',
  });
  proxy = await startProxy(['--quiet'], {
    cwd: dir,
    env: cleanEnv({
      SNOWFLAKE_PAT: PAT,
      CORTEX_PROXY_MASTER_KEY: MASTER,
      NODE_OPTIONS: `--import=${pathToFileURL(path.join(ROOT, 'test', 'dns-trap.mjs')).href}`,
    }),
  });
});
after(async () => {
  await proxy?.stop();
  await new Promise<void>((r) => (tls ? tls.close(() => r()) : r()));
});

/** Upstream attempts without an answer (connection failures) for one Cortex model, from /metrics. */
async function failedAttempts(cortexModel: string): Promise<number> {
  const r = await request(`${proxy.url}/metrics`, { headers: { authorization: `Bearer ${MASTER}` } });
  const text = await r.body.text();
  const m = new RegExp(`^cortex_proxy_upstream_responses_total\\{cortex_model="${cortexModel.replace(/\./g, '\\.')}",code="none"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function settled(): Promise<void> {
  await waitUntil(async () => {
    const g = await gauges(proxy.url, MASTER);
    return g.inFlight === 0 && g.upstreamBusy === 0 && g.upstreamQueued === 0;
  }, 3000, 'nothing in flight, no busy upstream connection');
}

test('connection refused: a 502 naming the host, after num_retries, in every dialect', { timeout: 20_000 }, async () => {
  for (const d of DIALECTS) {
    const before = await failedAttempts('claude-4-sonnet');
    const t0 = Date.now();
    const a = await call(proxy.url, d, { key: MASTER, model: 'refused', stream: d !== 'responses' });
    assert.equal(a.status, 502, `${d}: ${a.raw.slice(0, 300)}`);
    assert.ok(a.httpError, `${d}: the ${d} envelope`);
    assert.match(a.httpError!, new RegExp(`127\\.0\\.0\\.1:${closedPort} refused`));
    assert.equal((await failedAttempts('claude-4-sonnet')) - before, 2, 'one retry');
    assert.ok(Date.now() - t0 < 5000);
  }
  await settled();
});

test('a host that does not resolve (.invalid): a 502 that says to check the account identifier, in every dialect', { timeout: 20_000 }, async () => {
  for (const d of DIALECTS) {
    const a = await call(proxy.url, d, { key: MASTER, model: 'nowhere', stream: d === 'chat' });
    assert.equal(a.status, 502, `${d}: ${a.raw.slice(0, 300)}`);
    assert.ok(a.httpError, `${d}: the ${d} envelope`);
    assert.match(a.httpError!, /cannot resolve cortex-proxy-test\.invalid.*account identifier/);
  }
  await settled();
});

test('a TLS handshake that fails (self-signed upstream): a 502 naming the certificate problem, not retried, in every dialect', { timeout: 20_000, skip: !hasOpenssl() && 'openssl is not installed' }, async () => {
  for (const d of DIALECTS) {
    const before = tlsConnections;
    const a = await call(proxy.url, d, { key: MASTER, model: 'selfsigned', stream: d !== 'messages' });
    assert.equal(a.status, 502, `${d}: ${a.raw.slice(0, 300)}`);
    assert.ok(a.httpError, `${d}: the ${d} envelope`);
    assert.match(a.httpError!, /TLS handshake with 127\.0\.0\.1:\d+ failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)/);
    assert.equal(tlsConnections - before, 1, 'a refused certificate is not retried');
  }
  assert.equal(tlsRequests, 0, 'no request was sent over an untrusted connection');
  await settled();
});
