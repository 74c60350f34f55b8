// Bad input, through the real CLI: thousands of malformed and hostile bodies (seeded, reproducible: FUZZ_SEED=n)
// to every route — wrong types, missing and extra fields, prototype keys, huge strings, deep nesting, invalid
// UTF-8, broken JSON, wrong content types — and hostile connections (huge headers, slow headers, slow bodies,
// pipelining). Every answer is a 2xx or a 4xx with a message in the route's own error envelope: never a 5xx, a crash
// or a hang.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request, type Dispatcher } from 'undici';
import { modelEntry } from './helpers.js';
import { wireModels } from './proxy-rig.js';
import { agent, envelopeError, useReliabilityRig, type DialectName } from './reliability-helpers.js';

const PAT = 'fuzz-pat-' + 'p'.repeat(40);
const MASTER = 'sk-fuzz-master-' + 'k'.repeat(32);
const SEED = Number(process.env.FUZZ_SEED ?? 0xc0ffee);
const CASES = Number(process.env.FUZZ_CASES ?? 3000);

const rig = useReliabilityRig(PAT, MASTER, (apiBase) =>
  `model_list:\n${wireModels({ m: ['claude-sonnet-4-5', 'complete'] }, apiBase)}${modelEntry('e', 'snowflake/snowflake-arctic-embed-m-v1.5', apiBase)}` +
  'litellm_settings:\n  num_retries: 0\n  request_timeout: 10\n' +
  'general_settings:\n  master_key: os.environ/CORTEX_PROXY_MASTER_KEY\n  disable_spend_logs: true\n  client_header_timeout: 1\n  client_body_timeout: 2\n'
);
const dispatcher = agent(8);
after(() => dispatcher.close());

// ---- a seeded generator (mulberry32) ----
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const STRINGS = [
  '', 'x', 'm', 'e', 'user', 'assistant', 'system', 'developer', 'tool', 'function', 'text', 'image_url', 'image', 'tool_use',
  'tool_result', 'input_text', 'function_call', 'function_call_output', 'message', 'auto', 'none', 'required', 'json_schema',
  ...PROTO_KEYS, '\u0000', '\ud800', '\udfff', '😀😀😀', 'a'.repeat(10_000), '\r\nX-Injected: yes', '\u001b[31mred', '<script>alert(1)</script>',
  '../../../etc/passwd', '%s%s%n', 'data:image/png;base64,iVBORw0KGgo=', 'data:image/png;base64,!!!', 'data:,', 'http://127.0.0.1:9/x.png',
  'NaN', '-1', '1e999', 'null', 'true', '{}', '[]',
];
const NUMBERS = [0, -1, 1, 0.5, -0.5, 1e308, -1e308, 2 ** 53 + 1, 1e-300, 4096, 100_000_000, 3];

function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true }); // "__proto__" too, as an own key
}

function anyValue(depth = 0): unknown {
  const r = int(depth < 3 ? 12 : 8);
  if (r === 0) return null;
  if (r === 1) return rand() < 0.5;
  if (r < 4) return pick(NUMBERS);
  if (r < 8) return pick(STRINGS);
  if (r < 10) return Array.from({ length: int(4) }, () => anyValue(depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = int(4); i > 0; i--) setKey(o, pick([...PROTO_KEYS, 'type', 'role', 'content', 'text', 'name', 'id', 'x']), anyValue(depth + 1));
  return o;
}

// ---- a valid body per route, mutated ----
const IMG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const chatSeed = () => ({
  model: 'm',
  stream: rand() < 0.3,
  max_tokens: 50,
  temperature: 0.2,
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: IMG } }] },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get', arguments: '{"q":"x"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: 'result' },
    { role: 'user', content: 'and?' },
  ],
  tools: [{ type: 'function', function: { name: 'get', description: 'get', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } } }],
  tool_choice: 'auto',
  stream_options: { include_usage: true },
});
const messagesSeed = () => ({
  model: 'm',
  max_tokens: 50,
  stream: rand() < 0.3,
  system: [{ type: 'text', text: 'be brief', cache_control: { type: 'ephemeral' } }],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: IMG.split(',')[1] } }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get', input: { q: 'x' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'result' }] },
  ],
  tools: [{ name: 'get', description: 'get', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
  tool_choice: { type: 'auto' },
  thinking: { type: 'disabled' },
});
const responsesSeed = () => ({
  model: 'm',
  stream: rand() < 0.3,
  store: false,
  instructions: 'be brief',
  max_output_tokens: 50,
  input: [
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: IMG }] },
    { type: 'function_call', call_id: 'call_1', name: 'get', arguments: '{"q":"x"}' },
    { type: 'function_call_output', call_id: 'call_1', output: 'result' },
  ],
  tools: [{ type: 'function', name: 'get', parameters: { type: 'object', properties: { q: { type: 'string' } } } }, { type: 'custom', name: 'patch', description: 'apply a patch' }],
  reasoning: { effort: 'low' },
  text: { format: { type: 'text' } },
});
const embedSeed = () => ({ model: 'e', input: ['one', 'two'], encoding_format: 'float' });
const adminSeed = () => ({ label: `fuzz-${int(1e9)}`, models: ['m'], rpm: 10, id: 'nope' });

interface Route {
  path: string;
  method: string;
  envelope: DialectName;
  seed?: () => Record<string, unknown>;
}
const ROUTES: Route[] = [
  { path: '/v1/chat/completions', method: 'POST', envelope: 'chat', seed: chatSeed },
  { path: '/chat/completions', method: 'POST', envelope: 'chat', seed: chatSeed },
  { path: '/openai/deployments/m/chat/completions?api-version=2024-10-21', method: 'POST', envelope: 'chat', seed: chatSeed },
  { path: '/v1/messages', method: 'POST', envelope: 'messages', seed: messagesSeed },
  { path: '/v1/messages?beta=true', method: 'POST', envelope: 'messages', seed: messagesSeed },
  { path: '/v1/messages/count_tokens', method: 'POST', envelope: 'messages', seed: messagesSeed },
  { path: '/v1/responses', method: 'POST', envelope: 'responses', seed: responsesSeed },
  { path: '/responses', method: 'POST', envelope: 'responses', seed: responsesSeed },
  { path: '/v1/chat/completions', method: 'POST', envelope: 'chat', seed: responsesSeed }, // Cursor's Responses-shaped body
  { path: '/v1/chat/completions', method: 'POST', envelope: 'chat', seed: messagesSeed }, // Cursor's Anthropic-shaped body
  { path: '/v1/embeddings', method: 'POST', envelope: 'chat', seed: embedSeed },
  { path: '/embeddings', method: 'POST', envelope: 'chat', seed: embedSeed },
  { path: '/admin/keys/create', method: 'POST', envelope: 'chat', seed: adminSeed },
  { path: '/admin/keys/revoke', method: 'POST', envelope: 'chat', seed: adminSeed },
  { path: '/admin/keys/rotate', method: 'POST', envelope: 'chat', seed: adminSeed },
  { path: '/v1/models', method: 'GET', envelope: 'chat' },
  { path: '/v1/model/info', method: 'GET', envelope: 'chat' },
  { path: '/health', method: 'GET', envelope: 'chat' },
  { path: '/metrics', method: 'GET', envelope: 'chat' },
  { path: '/ui/api/stats', method: 'GET', envelope: 'chat' },
  { path: '/admin/keys', method: 'GET', envelope: 'chat' },
  { path: '/v1/nothing-here', method: 'POST', envelope: 'chat' },
];

/** Every path into a value: [] is the root. */
function paths(v: unknown, at: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) paths((v as Record<string, unknown>)[k], [...at, k], out);
  return out;
}

function mutate(body: Record<string, unknown>): unknown {
  let root: unknown = body;
  for (let n = 1 + int(3); n > 0; n--) {
    const all = paths(root);
    const p = pick(all);
    if (p.length === 0) {
      root = rand() < 0.5 ? anyValue() : [root];
      continue;
    }
    let parent = root as Record<string | number, unknown>;
    for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = p[p.length - 1];
    const op = int(6);
    if (op === 0) delete parent[last];
    else if (op === 1 && parent[last] && typeof parent[last] === 'object' && !Array.isArray(parent[last])) setKey(parent[last] as Record<string, unknown>, pick([...PROTO_KEYS, 'extra', 'type', 'role']), anyValue());
    else if (op === 2) parent[last] = [parent[last]];
    else if (op === 3) parent[last] = JSON.stringify(parent[last] ?? null);
    else parent[last] = anyValue();
  }
  return root;
}

/** Raw damage to the JSON text: truncation, a stray byte, invalid UTF-8, a BOM, JSON5-isms. */
function damage(text: string): Buffer {
  const b = Buffer.from(text);
  const at = int(b.length + 1);
  switch (int(6)) {
    case 0:
      return b.subarray(0, at);
    case 1:
      return Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xfe, 0xc3]), b.subarray(at)]);
    case 2:
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
    case 3:
      return Buffer.from(text.replace(/"max_tokens":\d+/, '"max_tokens":NaN').replace(/}$/, ',}'));
    case 4:
      return Buffer.from(text.replace(/"text":"[^"]*"/, '"text":"\\ud800\\u0000\\x"'));
    default:
      return Buffer.concat([b.subarray(0, at), Buffer.from(pick(['{', ']', '"', '\\', ',,', 'null'])), b.subarray(at)]);
  }
}

const CONTENT_TYPES = ['application/json', 'application/json', 'application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1'];

interface Outcome {
  status: number;
  body: string;
}

async function send(path: string, method: string, body: Buffer | string | undefined, headers: Record<string, string>): Promise<Outcome> {
  const r = await request(rig.proxy.url + path, { method: method as Dispatcher.HttpMethod, headers, body, dispatcher, headersTimeout: 20_000, bodyTimeout: 20_000 });
  return { status: r.statusCode, body: await r.body.text() };
}

/** A 2xx, or a 4xx whose body is the route's error envelope with a message; never a 5xx. */
function check(route: Route, o: Outcome, what: string): void {
  assert.ok(o.status < 500, `${what} → ${o.status}: ${o.body.slice(0, 300)}`);
  if (o.status < 400) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(o.body);
  } catch {
    assert.fail(`${what} → ${o.status} with a body that is not JSON: ${o.body.slice(0, 200)}`);
  }
  const e = envelopeError(route.envelope, parsed);
  assert.ok(e && e.message.length > 5, `${what} → ${o.status} not in the ${route.envelope} envelope: ${o.body.slice(0, 300)}`);
  assert.doesNotMatch(e!.message, /internal error/, what);
}

test(`${CASES} malformed and hostile bodies to every route: 2xx or a 4xx in the route's envelope, never a 5xx (seed ${SEED})`, { timeout: 55_000 }, async (t) => {
  let i = 0;
  const statuses = new Map<number, number>();
  const one = async () => {
    const n = i++;
    const route = pick(ROUTES);
    let body: Buffer | string | undefined;
    const shape = int(10);
    if (route.seed && shape < 7) body = JSON.stringify(mutate(route.seed()));
    else if (route.seed && shape < 9) body = damage(JSON.stringify(route.seed()));
    else body = JSON.stringify(anyValue());
    const method = rand() < 0.05 ? pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST']) : route.method;
    if (method === 'GET') body = undefined;
    const headers: Record<string, string> = { 'content-type': pick(CONTENT_TYPES) };
    const auth = int(20);
    if (auth > 0) headers.authorization = `Bearer ${MASTER}`;
    if (auth === 1) headers.authorization = `Bearer ${MASTER}x`;
    if (auth === 2) headers['x-api-key'] = 'sk-' + 'z'.repeat(int(200));
    const o = await send(route.path, method, body, headers);
    statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
    check(route, o, `case ${n}: ${method} ${route.path} ${typeof body === 'string' ? body.slice(0, 200) : body ? `<${body.length} bytes>` : ''}`);
  };
  const worker = async () => {
    while (i < CASES) await one();
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  t.diagnostic(`statuses: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
  assert.ok((statuses.get(200) ?? 0) > 50, 'some mutated bodies are still valid and are answered');
  assert.ok([...statuses.keys()].some((s) => s >= 400), 'and many are refused');
});

test('huge and deep bodies: nesting past the stack, 10,000 tools, a 20 MB image, a 30 MB string, a body over the limit, bare JSON values', { timeout: 40_000 }, async () => {
  const chat = ROUTES[0];
  const msg = (content: unknown, extra: object = {}) => JSON.stringify({ model: 'm', messages: [{ role: 'user', content }], ...extra });
  const deepObj = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const deepArr = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const cases: Array<[Route, string | Buffer, RegExp | number]> = [
    [chat, `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${deepObj(50_000)}}}]}`, /nested too deeply/],
    [ROUTES[3], `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":${deepObj(50_000)}}]}`, /nested too deeply/],
    [ROUTES[5], `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":${deepObj(50_000)}}]}`, /nested too deeply/],
    [ROUTES[6], `{"model":"m","input":"hi","tools":[{"type":"function","name":"f","parameters":${deepObj(50_000)}}]}`, /nested too deeply/],
    [chat, `{"model":"m","messages":${deepArr(200_000)}}`, 400],
    [chat, `{"model":"m","messages":[{"role":"user","content":${deepArr(200_000)}}]}`, 400],
    [chat, msg('hi', { tools: Array.from({ length: 10_000 }, (_, k) => ({ type: 'function', function: { name: `t${k}`, parameters: { type: 'object' } } })) }), /./],
    [chat, msg([{ type: 'image_url', image_url: { url: 'data:image/png;base64,' + 'A'.repeat(20 * 1024 * 1024) } }]), /./],
    [chat, msg('x'.repeat(30 * 1024 * 1024)), /./],
    [chat, msg('x'.repeat(33 * 1024 * 1024)), 413],
    [chat, Buffer.concat([Buffer.from('{"model":"m","messages":[{"role":"user","content":"'), Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xf0, 0x28, 0x8c, 0xbc]), Buffer.from('"}]}')]), /./],
    ...ROUTES.filter((r) => r.seed).flatMap((r): Array<[Route, string, RegExp]> => ['', 'null', '[]', '"str"', '1e999', '{}', '{"model":null}'].map((b) => [r, b, /./])),
  ];
  for (const [route, body, want] of cases) {
    const o = await send(route.path, 'POST', body, { 'content-type': 'application/json', authorization: `Bearer ${MASTER}` });
    const what = `${route.path} ${typeof body === 'string' ? body.slice(0, 80) : '<bytes>'}…`;
    check(route, o, what);
    if (typeof want === 'number') assert.equal(o.status, want, what);
    else if (o.status >= 400) assert.match(o.body, want, what);
  }
});

test('a model name with a newline or terminal escapes cannot forge or colour a request log line', { timeout: 15_000 }, async () => {
  const model = 'nope\n2026-01-01T00:00:00.000Z INFO  POST /v1/chat/completions status=200 forged=yes \u001b[2J';
  const o = await send('/v1/chat/completions', 'POST', JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }), { 'content-type': 'application/json', authorization: `Bearer ${MASTER}` });
  assert.equal(o.status, 404);
  await rig.proxy.waitForLog('model=nope');
  assert.ok(!rig.proxy.stderr().split('\n').some((l) => l.startsWith('2026-01-01T00:00:00.000Z')), 'no forged line');
  assert.ok(!rig.proxy.stderr().includes('\u001b[2J'), 'no terminal escape from a client reaches the log');
});

// ---- hostile connections ----
function raw(): Promise<Socket> {
  const u = new URL(rig.proxy.url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => resolve(s));
    s.once('error', reject);
  });
}
/** Everything the server sends until it closes the connection, and how long that took. */
function untilClosed(s: Socket, limitMs: number): Promise<{ data: string; ms: number }> {
  const t0 = Date.now();
  let data = '';
  s.on('data', (d) => (data += d.toString('latin1')));
  s.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the proxy kept the connection open for ${limitMs} ms`)), limitMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve({ data, ms: Date.now() - t0 });
    });
  });
}

test('headers over 16 KB get 431; a huge or odd Authorization header is a 401; the proxy keeps serving', { timeout: 15_000 }, async () => {
  const big = await request(`${rig.proxy.url}/v1/models`, { headers: { authorization: `Bearer ${MASTER}`, 'x-junk': 'j'.repeat(20 * 1024) }, dispatcher: agent(1) }).catch((e: Error) => e);
  if (big instanceof Error) assert.match(big.message, /closed|reset|socket/i);
  else assert.equal(big.statusCode, 431);
  for (const authorization of ['Bearer ' + 'x'.repeat(8000), 'Bearer', 'Basic Zm9vOmJhcg==', 'bearer  ' + MASTER + ' ', 'Bearer ' + MASTER.slice(0, -1) + '\u00e9']) {
    const r = await request(`${rig.proxy.url}/v1/models`, { headers: { authorization }, dispatcher }).catch((e: Error) => e);
    if (r instanceof Error) continue; // a header the client itself refuses to send
    const body = await r.body.text();
    assert.ok(r.statusCode === 401 || r.statusCode === 200, `${authorization.slice(0, 30)}: ${r.statusCode} ${body.slice(0, 100)}`);
    if (r.statusCode === 401) assert.match(JSON.parse(body).error.message, /API key/);
  }
  const many: Record<string, string> = { authorization: `Bearer ${MASTER}` };
  for (let k = 0; k < 90; k++) many[`x-h${k}`] = String(k);
  const r = await request(`${rig.proxy.url}/v1/models`, { headers: many, dispatcher });
  assert.equal(r.statusCode, 200);
  await r.body.dump();
});

test('slow headers (slowloris), a silent connection and a stalled body are closed after client_header_timeout / client_body_timeout', { timeout: 20_000 }, async () => {
  // Headers one byte every 150 ms: never complete within client_header_timeout (1 s).
  const slow = await raw();
  const closedSlow = untilClosed(slow, 5000);
  const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: ';
  slow.write(head);
  const drip = setInterval(() => !slow.destroyed && slow.write('a'), 150);
  const a = await closedSlow;
  clearInterval(drip);
  assert.ok(a.ms < 3000, `slow headers closed after ${a.ms} ms`);
  // A connection that sends nothing at all.
  const silent = await raw();
  const b = await untilClosed(silent, 5000);
  assert.ok(b.ms < 3000, `silent connection closed after ${b.ms} ms`);
  // Headers complete, body promised but stalled: closed after client_body_timeout (2 s) with 408.
  const stalled = await raw();
  const closedStalled = untilClosed(stalled, 6000);
  stalled.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${MASTER}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":`);
  const c = await closedStalled;
  assert.ok(c.ms < 4500, `stalled body closed after ${c.ms} ms`);
  assert.match(c.data, /^HTTP\/1\.1 408/);
  const ok = await request(`${rig.proxy.url}/health`, { dispatcher });
  assert.equal(ok.statusCode, 200, 'still serving');
  await ok.body.dump();
});

test('500 pipelined requests on one connection are all answered, in order', { timeout: 20_000 }, async () => {
  const s = await raw();
  let data = '';
  s.on('data', (d) => (data += d.toString('latin1')));
  const N = 500;
  let reqs = '';
  for (let k = 0; k < N; k++) reqs += `GET /health?n=${k} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  s.write(reqs);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${(data.match(/HTTP\/1\.1 200/g) ?? []).length} of ${N} answers`)), 15_000);
    const look = () => {
      if ((data.match(/HTTP\/1\.1 200/g) ?? []).length === N) {
        clearTimeout(timer);
        resolve();
      }
    };
    s.on('data', look);
  });
  s.destroy();
});

test('after all of that the proxy is alive, logged no internal error and no crash', async () => {
  const r = await request(`${rig.proxy.url}/health`, { dispatcher });
  assert.equal(r.statusCode, 200);
  await r.body.dump();
  assert.equal(rig.proxy.child.exitCode, null);
  const errors = rig.proxy.stderr().split('\n').filter((l) => / ERROR /.test(l) || /Unhandled|uncaught/i.test(l));
  assert.deepEqual(errors, []);
});
