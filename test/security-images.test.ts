// Attack suite, image URLs (issue 13 item 2, issue 14 image limits): server-side request forgery through image
// URLs (every loopback spelling, private and metadata ranges, a redirect to loopback), wrong content types and
// magic bytes, and requests whose image count or size is refused before anything is fetched. Every local server
// counts the TCP connections it accepts, so "refused" means "no connection reached it". Each attack sits next to
// its sanity twin. Loopback only: the `public` path's name → checked address → connection logic runs through the
// fetcher's test seam (a resolver for made-up names, and one loopback endpoint that counts as public).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { addressRisk } from '../src/cortex/addresses.js';
import { resolveImages, systemResolver, MAX_IMAGE_REQUEST_BASE64, type ResolveImagesOptions } from '../src/cortex/images.js';
import { ProxyError } from '../src/core/errors.js';
import type { ChatRequest, ImagePart } from '../src/core/types.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { createApp, type App } from '../src/server/app.js';
import { createLogger } from '../src/server/log.js';
import { DEFAULT_SETTINGS, type Config, type Settings } from '../src/config/types.js';
import { tempDir } from './helpers.js';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);

/** A local HTTP server that counts accepted connections and records the Host header of each request. */
interface Local {
  port: number;
  base: string;
  connections: number;
  hosts: string[];
  server: http.Server;
}
const servers: Local[] = [];

async function local(handler: (req: http.IncomingMessage, res: http.ServerResponse, self: Local) => void): Promise<Local> {
  const self = { port: 0, base: '', connections: 0, hosts: [] as string[] } as Local;
  self.server = http.createServer((req, res) => {
    self.hosts.push(req.headers.host ?? '');
    handler(req, res, self);
  });
  self.server.on('connection', () => self.connections++);
  await new Promise<void>((r) => self.server.listen(0, '127.0.0.1', r));
  self.port = (self.server.address() as AddressInfo).port;
  self.base = `http://127.0.0.1:${self.port}`;
  servers.push(self);
  return self;
}

after(async () => {
  for (const s of servers) {
    s.server.closeAllConnections();
    await new Promise((r) => s.server.close(r));
  }
});

const slow = { now: 0, max: 0 };

/** Serves images: /a.png, /b.jpg; /page (HTML), /liar.png (says PNG, is JPEG), /big (n bytes of PNG), /to?u=… (302). */
function imageHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const u = new URL(req.url ?? '/', 'http://x');
  switch (u.pathname) {
    case '/a.png':
      res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
      return;
    case '/b.jpg':
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(JPEG);
      return;
    case '/page':
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not an image</html>');
      return;
    case '/liar.png':
      res.writeHead(200, { 'content-type': 'image/png' }).end(JPEG);
      return;
    case '/noise.png':
      res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from('definitely not an image'));
      return;
    case '/big': {
      const n = Number(u.searchParams.get('n'));
      const body = Buffer.alloc(n);
      PNG.copy(body);
      res.writeHead(200, { 'content-type': 'image/png' }).end(body);
      return;
    }
    case '/slow.png': // held briefly, so the fetches of one request overlap
      slow.now++;
      slow.max = Math.max(slow.max, slow.now);
      setTimeout(() => {
        slow.now--;
        res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
      }, 30);
      return;
    case '/to':
      res.writeHead(302, { location: u.searchParams.get('u') ?? '/a.png' }).end();
      return;
    default:
      res.writeHead(404).end();
  }
}

const img = (url: string): ImagePart => ({ type: 'image', mediaType: '', url });
const reqWith = (...images: ImagePart[]): ChatRequest => ({
  model: 'm',
  messages: [{ role: 'user', parts: [...images, { type: 'text', text: 'see' }] }],
  stream: false,
  includeUsage: false,
  unsupported: [],
});

async function refusal(p: Promise<unknown>): Promise<ProxyError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ProxyError, String(e));
    assert.equal(e.kind, 'invalid_request');
    return e;
  }
  assert.fail('expected a refusal');
}

describe('address classification', () => {
  test('attack: loopback, private, link-local/metadata, CGNAT, multicast, unspecified, benchmarking, reserved and the IPv6 forms that carry them → refused', () => {
    const refused: Array<[string, RegExp]> = [
      ['127.0.0.1', /loopback/],
      ['127.255.255.254', /loopback/],
      ['10.0.0.1', /private/],
      ['172.16.0.1', /private/],
      ['172.31.255.255', /private/],
      ['192.168.0.1', /private/],
      ['169.254.169.254', /link-local/],
      ['169.254.170.2', /link-local/],
      ['100.64.0.1', /CGNAT/],
      ['100.100.100.200', /CGNAT/],
      ['168.63.129.16', /metadata/],
      ['224.0.0.251', /multicast/],
      ['239.255.255.250', /multicast/],
      ['0.0.0.0', /unspecified/],
      ['255.255.255.255', /reserved/],
      ['240.0.0.1', /reserved/],
      ['198.18.0.1', /benchmarking/],
      ['192.0.2.1', /documentation/],
      ['192.0.0.192', /reserved/],
      ['::1', /loopback/],
      ['::', /unspecified/],
      ['::ffff:127.0.0.1', /loopback/],
      ['::ffff:7f00:1', /loopback/],
      ['0:0:0:0:0:ffff:7f00:0001', /loopback/],
      ['::ffff:169.254.169.254', /link-local/],
      ['::ffff:10.0.0.1', /private/],
      ['::127.0.0.1', /loopback/],
      ['64:ff9b::127.0.0.1', /loopback/],
      ['64:ff9b::a9fe:a9fe', /link-local/],
      ['64:ff9b:1::1', /NAT64/],
      ['2002:7f00:1::1', /loopback/],
      ['2002:c0a8:101::1', /private/],
      ['fd00:ec2::254', /unique-local/],
      ['fc00::1', /unique-local/],
      ['fe80::1', /link-local/],
      ['fe80::1%lo', /link-local/],
      ['fec0::1', /site-local/],
      ['ff02::1', /multicast/],
      ['2001:db8::1', /documentation/],
      ['2001::1', /reserved/], // Teredo
      ['100::1', /reserved/],
      ['not-an-ip', /not an IP/],
    ];
    for (const [a, re] of refused) assert.match(addressRisk(a) ?? 'PUBLIC', re, a);
  });

  test('twin: public addresses pass, in every form', () => {
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '192.169.0.1', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e'])
      assert.equal(addressRisk(a), undefined, a);
  });
});

describe('the fetcher under image_url_fetch: public', () => {
  let victim: Local;
  before(async () => {
    victim = await local(imageHandler);
  });

  test('attack: every spelling of a loopback or unspecified host is refused and no connection reaches the local server', async () => {
    const p = victim.port;
    const spellings = [
      `http://127.0.0.1:${p}/a.png`,
      `http://localhost:${p}/a.png`,
      `http://LOCALHOST.:${p}/a.png`,
      `http://127.1:${p}/a.png`,
      `http://127.0.1:${p}/a.png`,
      `http://2130706433:${p}/a.png`,
      `http://0x7f.0.0.1:${p}/a.png`,
      `http://0x7f000001:${p}/a.png`,
      `http://017700000001:${p}/a.png`,
      `http://0177.0.0.01:${p}/a.png`,
      `http://0:${p}/a.png`,
      `http://0.0.0.0:${p}/a.png`,
      `http://[::1]:${p}/a.png`,
      `http://[::ffff:127.0.0.1]:${p}/a.png`,
      `http://[::ffff:7f00:1]:${p}/a.png`,
      `http://[0:0:0:0:0:ffff:127.0.0.1]:${p}/a.png`,
      `http://[::127.0.0.1]:${p}/a.png`,
      `http://[64:ff9b::127.0.0.1]:${p}/a.png`,
      `https://127.0.0.1:${p}/a.png`,
      `http://user:pass@127.0.0.1:${p}/a.png`,
    ];
    for (const url of spellings) {
      const e = await refusal(resolveImages(reqWith(img(url)), { maxBytes: 1 << 20 }));
      // (`localhost.` may not resolve at all on a machine without a DNS server: refused as well.)
      assert.match(e.message, url.includes('LOCALHOST.') ? /refused: .*loopback|does not resolve/ : /refused: .*(loopback|unspecified)/, url);
      if (url.includes('localhost') || url.includes('LOCALHOST')) assert.ok(!/127\.0\.0\.1|::1/.test(e.message), `no resolved address in the message: ${e.message}`);
    }
    assert.equal(victim.connections, 0, 'no connection reached the local server');
  });

  test('attack: metadata and private addresses as literals are refused without a connection attempt', async () => {
    for (const host of ['169.254.169.254', '[fd00:ec2::254]', '10.0.0.1', '192.168.1.1', '100.100.100.200', '[::ffff:a9fe:a9fe]']) {
      const e = await refusal(resolveImages(reqWith(img(`http://${host}/latest/meta-data/`)), { maxBytes: 1 << 20, timeoutMs: 2000 }));
      assert.match(e.message, /refused: it is a (link-local|private|shared|private \(unique-local\))/, host);
    }
  });

  test('twin: the same local server answers under image_url_fetch: any (so the zero above is a refusal, not a dead server)', async () => {
    const before = victim.connections;
    const a = img(`http://127.0.0.1:${victim.port}/a.png`);
    await resolveImages(reqWith(a), { maxBytes: 1 << 20, policy: 'any' });
    assert.equal(a.base64, PNG.toString('base64'));
    assert.ok(victim.connections > before);
  });

  test('image_url_fetch: off refuses every URL without a connection; data: URLs still work', async () => {
    const before = victim.connections;
    const e = await refusal(resolveImages(reqWith(img(`http://127.0.0.1:${victim.port}/a.png`)), { maxBytes: 1 << 20, policy: 'off' }));
    assert.match(e.message, /image_url_fetch: off/);
    assert.equal(victim.connections, before);
    const d = img(`data:image/png;base64,${PNG.toString('base64')}`);
    await resolveImages(reqWith(d), { maxBytes: 1 << 20, policy: 'off' });
    assert.equal(d.mediaType, 'image/png');
  });
});

describe('the public path: resolve once, connect to the checked address, re-check every redirect', () => {
  let origin: Local; // stands in for a public image host (its endpoint counts as public through the test seam)
  let victim: Local; // an internal service on loopback
  let seam: NonNullable<ResolveImagesOptions['testSeam']>;
  let resolved: string[];
  before(async () => {
    origin = await local(imageHandler);
    victim = await local(imageHandler);
    resolved = [];
    seam = {
      resolver: async (name) => {
        resolved.push(name);
        if (name === 'images.example') return [{ address: '127.0.0.1', family: 4 }];
        if (name === 'victim.example') return [{ address: '127.0.0.1', family: 4 }];
        if (name === 'mixed.example') return [{ address: '127.0.0.1', family: 4 }, { address: '10.0.0.7', family: 4 }];
        return systemResolver(name); // localhost: /etc/hosts
      },
      publicEndpoints: new Set([`127.0.0.1:${0}`]),
    };
  });
  const opts = (): ResolveImagesOptions => ({ maxBytes: 1 << 20, testSeam: { ...seam, publicEndpoints: new Set([`127.0.0.1:${origin.port}`]) } });

  test('twin: a name is resolved once and the connection goes to the checked address, with the name as Host', async () => {
    const a = img(`http://images.example:${origin.port}/a.png`);
    resolved.length = 0;
    origin.hosts.length = 0;
    await resolveImages(reqWith(a), opts());
    assert.equal(a.base64, PNG.toString('base64'));
    assert.deepEqual(resolved, ['images.example'], 'one resolution; no second lookup at connect time');
    assert.deepEqual(origin.hosts, [`images.example:${origin.port}`]);
  });

  test('attack: a name with one private address among its answers is refused', async () => {
    const before = origin.connections;
    const e = await refusal(resolveImages(reqWith(img(`http://mixed.example:${origin.port}/a.png`)), opts()));
    assert.match(e.message, /its host name resolves to a private address/);
    assert.ok(!e.message.includes('10.0.0.7'), 'the internal address is not shown');
    assert.equal(origin.connections, before);
  });

  test('attack: an allowed server redirects to loopback (literal, localhost, a name, IPv4-mapped) → refused, the internal service gets no connection', async () => {
    const q = victim.port;
    for (const target of [`http://127.0.0.1:${q}/a.png`, `http://localhost:${q}/a.png`, `http://victim.example:${q}/a.png`, `http://[::ffff:127.0.0.1]:${q}/a.png`, `http://2130706433:${q}/a.png`]) {
      const e = await refusal(resolveImages(reqWith(img(`http://images.example:${origin.port}/to?u=${encodeURIComponent(target)}`)), opts()));
      assert.match(e.message, /refused: .*loopback/, target);
    }
    assert.equal(victim.connections, 0, 'no connection reached the internal service');
  });

  test('attack: redirects to other schemes and redirect chains longer than 3 are refused', async () => {
    const e1 = await refusal(resolveImages(reqWith(img(`http://images.example:${origin.port}/to?u=${encodeURIComponent('file:///etc/passwd')}`)), opts()));
    assert.match(e1.message, /redirects to a file: URL/);
    let chain = '/a.png';
    for (let i = 0; i < 4; i++) chain = `/to?u=${encodeURIComponent(chain)}`;
    const e2 = await refusal(resolveImages(reqWith(img(`http://images.example:${origin.port}${chain}`)), opts()));
    assert.match(e2.message, /more than 3 redirects/);
  });

  test('twin: a redirect within the allowed server is followed (3 hops)', async () => {
    let chain = '/a.png';
    for (let i = 0; i < 3; i++) chain = `/to?u=${encodeURIComponent(chain)}`;
    const a = img(`http://images.example:${origin.port}${chain}`);
    await resolveImages(reqWith(a), opts());
    assert.equal(a.mediaType, 'image/png');
  });
});

describe('content type and magic bytes', () => {
  let s: Local;
  before(async () => {
    s = await local(imageHandler);
  });
  const any = { maxBytes: 1 << 20, policy: 'any' as const };

  test('attack: HTML, a JPEG that says PNG, and noise that says PNG are refused', async () => {
    assert.match((await refusal(resolveImages(reqWith(img(`${s.base}/page`)), any))).message, /content-type text\/html/);
    assert.match((await refusal(resolveImages(reqWith(img(`${s.base}/liar.png`)), any))).message, /declares image\/png but its bytes are a JPEG image/);
    assert.match((await refusal(resolveImages(reqWith(img(`${s.base}/noise.png`)), any))).message, /declares image\/png but its bytes are not a PNG, JPEG, GIF or WebP image/);
  });

  test('twin: a PNG and a JPEG that say so are accepted', async () => {
    const a = img(`${s.base}/a.png`);
    const b = img(`${s.base}/b.jpg`);
    await resolveImages(reqWith(a, b), any);
    assert.equal(a.mediaType, 'image/png');
    assert.equal(b.mediaType, 'image/jpeg');
  });

  test('a request’s URLs are fetched at most 4 at a time', async () => {
    slow.max = 0;
    const parts = Array.from({ length: 10 }, (_, i) => img(`${s.base}/slow.png?i=${i}`));
    await resolveImages(reqWith(...parts), any);
    assert.ok(parts.every((p) => p.mediaType === 'image/png'));
    assert.ok(slow.max <= 4 && slow.max >= 2, `at most 4 in flight (saw ${slow.max})`);
  });

  test('per-request cap: images totalling over 20 MiB of base64 are refused while streaming', async () => {
    const n = 6 * 1024 * 1024; // 8 MiB of base64 each: the third passes 20 MiB
    const e = await refusal(resolveImages(reqWith(img(`${s.base}/big?n=${n}&i=1`), img(`${s.base}/big?n=${n}&i=2`), img(`${s.base}/big?n=${n}&i=3`)), { ...any, maxBytes: 10 << 20 }));
    assert.match(e.message, /exceed 20 MiB \(base64\)/);
    const ok = [img(`${s.base}/big?n=${n}&i=4`), img(`${s.base}/big?n=${n}&i=5`)];
    await resolveImages(reqWith(...ok), { ...any, maxBytes: 10 << 20 });
    assert.ok(ok[0].base64!.length + ok[1].base64!.length <= MAX_IMAGE_REQUEST_BASE64, 'twin: two of them fit');
  });
});

// ───────────────────────────── through the HTTP app ─────────────────────────────

describe('through the proxy: counts and sizes before any fetch, errors in the dialect’s format', () => {
  let emu: Emulator;
  let apps: App[] = [];
  let images: Local;
  before(async () => {
    emu = await startEmulator({ quiet: true });
    images = await local(imageHandler);
  });
  after(async () => {
    for (const a of apps) await a.close();
    await emu.close();
  });

  async function start(settings: Partial<Settings> = {}): Promise<string> {
    const dep = (modelName: string, cortexModel: string, wire: 'auto' | 'complete' = 'auto') => ({ modelName, cortexModel, apiBase: emu.apiBase, auth: { type: 'pat' as const, token: 'pat-x' }, wire });
    const config: Config = {
      deployments: [dep('cortex-claude', 'claude-sonnet-4-5'), dep('cortex-gpt', 'openai-gpt-4.1'), dep('claude-complete', 'claude-sonnet-4-5', 'complete')],
      settings: { ...DEFAULT_SETTINGS, databasePath: path.join(tempDir(), 'team'), ...settings },
      source: 'test',
      demo: false,
      warnings: [],
    };
    const app = createApp(config, createLogger('silent'));
    apps.push(app);
    await new Promise<void>((r) => app.server.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }

  const chatBody = (model: string, urls: string[]) => ({
    model,
    max_tokens: 20,
    messages: [{ role: 'user', content: [...urls.map((url) => ({ type: 'image_url', image_url: { url } })), { type: 'text', text: 'what is this?' }] }],
  });
  const messagesBody = (urls: string[]) => ({
    model: 'cortex-claude',
    max_tokens: 20,
    messages: [{ role: 'user', content: [...urls.map((url) => ({ type: 'image', source: { type: 'url', url } })), { type: 'text', text: 'what is this?' }] }],
  });
  async function post(url: string, p: string, body: unknown) {
    const res = await fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  test('attack: a loopback image URL in Chat Completions and in Messages → 400 in each format, no connection; Cortex is not called', async () => {
    const url = await start();
    emu.reset();
    const before = images.connections;
    const c = await post(url, '/v1/chat/completions', chatBody('cortex-claude', [`http://localhost:${images.port}/a.png`]));
    assert.equal(c.status, 400);
    assert.equal(c.body.error.type, 'invalid_request_error');
    assert.match(c.body.error.message, /refused: its host name resolves to a loopback address/);
    const m = await post(url, '/v1/messages', messagesBody([`http://2130706433:${images.port}/a.png`]));
    assert.equal(m.status, 400);
    assert.equal(m.body.type, 'error');
    assert.equal(m.body.error.type, 'invalid_request_error');
    assert.match(m.body.error.message, /refused: it is a loopback address/);
    assert.equal(images.connections, before);
    assert.equal(emu.requests.length, 0);
  });

  test('twin: with image_url_fetch: any the local image reaches Cortex as base64', async () => {
    const url = await start({ imageUrlFetch: 'any' });
    emu.reset();
    const c = await post(url, '/v1/chat/completions', chatBody('cortex-gpt', [`${images.base}/a.png`, `${images.base}/b.jpg`]));
    assert.equal(c.status, 200, JSON.stringify(c.body));
    const sent = JSON.stringify(emu.requests[0].body);
    assert.ok(sent.includes(PNG.toString('base64')) && sent.includes(JPEG.toString('base64')), 'both images were sent inline');
    const m = await post(url, '/v1/messages', messagesBody([`${images.base}/a.png`]));
    assert.equal(m.status, 200, JSON.stringify(m.body));
  });

  test('attack: 21 image URLs (25 in the issue) → 400 too many images before any fetch; 6 on inference:complete too', async () => {
    const url = await start({ imageUrlFetch: 'any', maxImageBytes: 20 << 20 });
    const before = images.connections;
    const many = (n: number) => Array.from({ length: n }, (_, i) => `${images.base}/big?n=${10_000_000}&i=${i}`);
    for (const [model, n, max] of [['cortex-claude', 25, 20], ['cortex-claude', 21, 20], ['cortex-gpt', 21, 20], ['claude-complete', 6, 5]] as const) {
      const r = await post(url, '/v1/chat/completions', chatBody(model, many(n)));
      assert.equal(r.status, 400, `${model} ${n}`);
      assert.equal(r.body.error.code, 'too_many_images');
      assert.match(r.body.error.message, new RegExp(`at most ${max} images per request.*has ${n}`));
    }
    const m = await post(url, '/v1/messages', messagesBody(many(21)));
    assert.equal(m.status, 400);
    assert.equal(m.body.type, 'error');
    assert.equal(images.connections, before, 'nothing was fetched');
  });

  test('attack: inline images already over 20 MiB → 400 before the URL is fetched; twin: 20 images in one request are served', async () => {
    const url = await start({ imageUrlFetch: 'any', maxImageBytes: 20 << 20 });
    const big = Buffer.alloc(16 * 1024 * 1024);
    PNG.copy(big);
    const before = images.connections;
    const r = await post(url, '/v1/chat/completions', chatBody('cortex-claude', [`data:image/png;base64,${big.toString('base64')}`, `${images.base}/a.png`]));
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /exceed 20 MiB \(base64\)/);
    assert.equal(images.connections, before, 'the URL was not fetched');

    emu.reset();
    const twenty = Array.from({ length: 20 }, (_, i) => `${images.base}/a.png?i=${i}`);
    const ok = await post(url, '/v1/chat/completions', chatBody('cortex-claude', twenty));
    assert.equal(ok.status, 200, JSON.stringify(ok.body).slice(0, 300));
  });

  test('image_url_fetch: off → 400 naming the setting, no connection; a data: URL still works', async () => {
    const url = await start({ imageUrlFetch: 'off' });
    const before = images.connections;
    const r = await post(url, '/v1/chat/completions', chatBody('cortex-claude', [`${images.base}/a.png`]));
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /image_url_fetch: off/);
    assert.equal(images.connections, before);
    const d = await post(url, '/v1/chat/completions', chatBody('cortex-claude', [`data:image/png;base64,${PNG.toString('base64')}`]));
    assert.equal(d.status, 200);
  });
});
