import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveImages, sniffImageType, decodeDataUrl } from '../src/cortex/images.js';
import { ProxyError } from '../src/core/errors.js';
import type { ChatRequest, ImagePart } from '../src/core/types.js';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
const GIF = Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1');
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x1a, 0, 0, 0]), Buffer.from('WEBPVP8 ')]);

let server: http.Server;
let base = '';
const hits = new Map<string, number>();

before(async () => {
  server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    hits.set(path, (hits.get(path) ?? 0) + 1);
    switch (path) {
      case '/a.png':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length });
        res.end(PNG);
        return;
      case '/octet':
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(JPEG);
        return;
      case '/b.jpg':
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.end(JPEG);
        return;
      case '/heic':
        res.writeHead(200, { 'content-type': 'image/heic' });
        res.end(Buffer.from('....ftypheic....'));
        return;
      case '/page':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>not an image</html>');
        return;
      case '/big-declared':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': 5000 });
        res.end(Buffer.alloc(5000));
        return;
      case '/big-chunked': {
        res.writeHead(200, { 'content-type': 'image/png' });
        for (let i = 0; i < 40; i++) res.write(Buffer.alloc(64));
        res.end();
        return;
      }
      case '/redirect':
        res.writeHead(302, { location: '/a.png' });
        res.end();
        return;
      case '/hang':
        return; // never answers: exercises the timeout
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('nope');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function reqWith(...images: ImagePart[]): ChatRequest {
  return {
    model: 'm',
    messages: [{ role: 'user', parts: [...images, { type: 'text', text: 'see' }] }],
    stream: false,
    includeUsage: false,
    unsupported: [],
  };
}

const img = (url: string): ImagePart => ({ type: 'image', mediaType: '', url });

async function failure(p: Promise<unknown>): Promise<ProxyError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ProxyError, String(e));
    return e;
  }
  assert.fail('expected a rejection');
}

// The server is on loopback: `any` lets these tests fetch from it (the `public` refusals: security-images.test.ts).
const opts = () => ({ maxBytes: 1024, policy: 'any' as const, timeoutMs: 2000 });

test('magic-byte sniffing: png, jpeg, gif, webp; unknown → undefined', () => {
  assert.equal(sniffImageType(PNG), 'image/png');
  assert.equal(sniffImageType(JPEG), 'image/jpeg');
  assert.equal(sniffImageType(GIF), 'image/gif');
  assert.equal(sniffImageType(WEBP), 'image/webp');
  assert.equal(sniffImageType(Buffer.from('hello')), undefined);
});

test('data: URLs are decoded in place; the bytes decide the type over a wrong declaration', async () => {
  const a = img(`data:image/png;base64,${PNG.toString('base64')}`);
  const b = img(`data:image/jpeg;base64,${PNG.toString('base64')}`);
  await resolveImages(reqWith(a, b), opts());
  assert.deepEqual(a, { type: 'image', mediaType: 'image/png', base64: PNG.toString('base64') });
  assert.equal(b.mediaType, 'image/png');
  assert.equal('url' in a, false);
});

test('data: URLs: non-image, malformed and oversized are invalid_request', () => {
  assert.equal(
    (() => {
      try {
        decodeDataUrl('data:text/plain;base64,aGVsbG8=', 1024);
      } catch (e) {
        return (e as ProxyError).kind;
      }
    })(),
    'invalid_request',
  );
  assert.throws(() => decodeDataUrl('data:image/png;base64', 1024), /no comma/);
  assert.throws(() => decodeDataUrl(`data:image/png;base64,${Buffer.alloc(2048).toString('base64')}`, 1024), /image too large/);
});

test('http(s) URLs are fetched; tool-result images too; one fetch per distinct URL', async () => {
  const a = img(`${base}/a.png`);
  const b = img(`${base}/a.png`);
  const inTool = img(`${base}/b.jpg`);
  const r = reqWith(a, b);
  r.messages.push({ role: 'user', parts: [{ type: 'tool_result', callId: 'c', name: 't', parts: [inTool] }] });
  hits.clear();
  await resolveImages(r, opts());
  assert.deepEqual(a, { type: 'image', mediaType: 'image/png', base64: PNG.toString('base64') });
  assert.equal(b.base64, PNG.toString('base64'));
  assert.equal(hits.get('/a.png'), 1);
  assert.equal(inTool.mediaType, 'image/jpeg');
  assert.equal(inTool.base64, JPEG.toString('base64'));
});

test('redirects are followed; a fetched image needs an image content type (png, jpeg, gif, webp) that its bytes confirm', async () => {
  const a = img(`${base}/redirect`);
  await resolveImages(reqWith(a), opts());
  assert.equal(a.mediaType, 'image/png');
  const octet = await failure(resolveImages(reqWith(img(`${base}/octet`)), opts()));
  assert.match(octet.message, /not a supported image \(content-type application\/octet-stream\)/);
  const heic = await failure(resolveImages(reqWith(img(`${base}/heic`)), opts()));
  assert.match(heic.message, /not a supported image \(content-type image\/heic\)/);
});

test('non-2xx → invalid_request naming the URL without its query string', async () => {
  const e = await failure(resolveImages(reqWith(img(`${base}/missing.png?sig=SECRET`)), opts()));
  assert.equal(e.kind, 'invalid_request');
  assert.match(e.message, new RegExp(`${base}/missing\\.png: HTTP 404`));
  assert.ok(!e.message.includes('SECRET'));
});

test('not an image → invalid_request', async () => {
  const e = await failure(resolveImages(reqWith(img(`${base}/page`)), opts()));
  assert.equal(e.kind, 'invalid_request');
  assert.match(e.message, /not a supported image \(content-type text\/html\)/);
});

test('size cap: by Content-Length, and while streaming a chunked body', async () => {
  for (const path of ['/big-declared', '/big-chunked']) {
    const e = await failure(resolveImages(reqWith(img(`${base}${path}`)), opts()));
    assert.equal(e.kind, 'invalid_request');
    assert.match(e.message, /image too large/);
  }
});

test('other schemes → invalid_request', async () => {
  const e = await failure(resolveImages(reqWith(img('ftp://example.com/a.png')), opts()));
  assert.equal(e.kind, 'invalid_request');
  assert.match(e.message, /"ftp:" is not supported/);
});

test('a server that never answers → invalid_request after the timeout', async () => {
  const e = await failure(resolveImages(reqWith(img(`${base}/hang`)), { ...opts(), timeoutMs: 150 }));
  assert.equal(e.kind, 'invalid_request');
  assert.match(e.message, /timed out/);
});

test('no remote images → nothing happens', async () => {
  const r = reqWith({ type: 'image', mediaType: 'image/png', base64: 'AAAA' });
  await resolveImages(r, opts());
  assert.deepEqual(r.messages[0].parts[0], { type: 'image', mediaType: 'image/png', base64: 'AAAA' });
});
