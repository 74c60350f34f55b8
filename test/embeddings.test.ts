// Embeddings, unit level: OpenAI request decoding, batching, base64, Cortex response decoding, and the emulator's
// strict inference:embed (request shape, deterministic vectors, faults). End to end: test/e2e-catalogue.test.ts.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { batches, decodeEmbedResponse } from '../src/cortex/embed.js';
import { decodeEmbeddingRequest, floatsToBase64, MAX_EMBED_INPUTS } from '../src/server/embeddings.js';
import { fakeVector } from '../src/emulator/embed.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { ProxyError } from '../src/core/errors.js';

function bad(body: unknown): ProxyError {
  try {
    decodeEmbeddingRequest(body);
  } catch (e) {
    assert.ok(e instanceof ProxyError);
    assert.equal(e.status, 400);
    return e;
  }
  assert.fail('expected a 400');
}

describe('decodeEmbeddingRequest', () => {
  test('string and string[] inputs, encoding_format, dimensions; hints such as user are accepted', () => {
    assert.deepEqual(decodeEmbeddingRequest({ model: 'm', input: 'a' }), { model: 'm', inputs: ['a'], encodingFormat: 'float' });
    assert.deepEqual(decodeEmbeddingRequest({ model: 'm', input: ['a', 'b'], encoding_format: 'base64', dimensions: 768, user: 'u', input_type: 'query' }), {
      model: 'm',
      inputs: ['a', 'b'],
      encodingFormat: 'base64',
      dimensions: 768,
    });
  });

  test('everything else is a 400 naming the field', () => {
    assert.equal(bad({ input: 'a' }).param, 'model');
    assert.equal(bad({ model: 'm' }).param, 'input');
    assert.match(bad({ model: 'm', input: [1, 2] }).message, /token arrays/);
    assert.match(bad({ model: 'm', input: [[1], [2]] }).message, /token arrays/);
    assert.match(bad({ model: 'm', input: 5 }).message, /is a number/);
    assert.match(bad({ model: 'm', input: ['a', { t: 1 }] }).message, /input\[1\]' must be a string/);
    assert.match(bad({ model: 'm', input: '' }).message, /must not be an empty string/);
    assert.match(bad({ model: 'm', input: Array(MAX_EMBED_INPUTS + 1).fill('a') }).message, /at most 2048/);
    assert.equal(bad({ model: 'm', input: 'a', encoding_format: 'binary' }).param, 'encoding_format');
    assert.equal(bad({ model: 'm', input: 'a', dimensions: 0 }).param, 'dimensions');
    assert.equal(bad({ model: 'm', input: 'a', dimensions: 1.5 }).param, 'dimensions');
    bad([]);
  });
});

describe('batching and encoding', () => {
  test('batches close on count and on bytes, keep order and never leave a batch empty', () => {
    const inputs = Array.from({ length: 10 }, (_, i) => `t${i}`);
    assert.deepEqual(batches(inputs, 4, 1e6).map((b) => [b.start, b.texts.length]), [[0, 4], [4, 4], [8, 2]]);
    const long = ['aaaa', 'bbbb', 'cccc', 'dddddddddddd', 'e'];
    assert.deepEqual(batches(long, 100, 8).map((b) => b.texts), [['aaaa', 'bbbb'], ['cccc'], ['dddddddddddd'], ['e']]);
    assert.deepEqual(batches(long, 100, 8).flatMap((b) => b.texts), long);
  });

  test("base64 is OpenAI's float32 little-endian", () => {
    const v = [0.5, -1, 3.25, 1e-3];
    const buf = Buffer.from(floatsToBase64(v), 'base64');
    assert.equal(buf.length, 16);
    assert.deepEqual([0, 1, 2, 3].map((i) => buf.readFloatLE(i * 4)), v.map(Math.fround));
    assert.equal(buf.toString('hex').slice(0, 8), '0000003f'); // 0.5 little-endian
  });
});

describe('decodeEmbedResponse', () => {
  const body = (data: unknown, extra = {}) => JSON.stringify({ object: 'list', data, model: 'e5-base-v2', usage: { total_tokens: 7 }, ...extra });

  test("the SPEC's nested vectors and flat ones; entries placed by index", () => {
    const r = decodeEmbedResponse(body([{ object: 'embedding', embedding: [[0.3, 0.4]], index: 1 }, { object: 'embedding', embedding: [0.1, 0.2], index: 0 }]), 2);
    assert.deepEqual(r, { vectors: [[0.1, 0.2], [0.3, 0.4]], tokens: 7 });
  });

  test('wrong counts, bad indexes, non-numbers and errors dressed as 200 are upstream errors with the request id', () => {
    const up = (text: string, n: number, re: RegExp) =>
      assert.throws(() => decodeEmbedResponse(text, n, 'rid-1'), (e: unknown) => e instanceof ProxyError && re.test(e.message) && /rid-1/.test(e.message));
    up(body([{ embedding: [[1]], index: 0 }]), 2, /returned 1 embeddings for 2 texts/);
    up(body([{ embedding: [[1]], index: 0 }, { embedding: [[1]], index: 0 }]), 2, /bad or repeated index/);
    up(body([{ embedding: [['x']], index: 0 }]), 1, /not an array of numbers/);
    up('<html>', 1, /not JSON/);
    up(JSON.stringify({ error: { message: 'boom' } }), 1, /Cortex failed to embed: boom/);
    assert.throws(
      () => decodeEmbedResponse(JSON.stringify({ code: '390112', message: 'Your session has expired. Please login again.' }), 1, 'rid-2'),
      (e: unknown) => e instanceof ProxyError && e.kind === 'auth',
    );
  });
});

describe('emulator inference:embed', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ quiet: true, pats: ['pat-secret-value-123'], unavailableInRegion: ['voyage-multilingual-2'] });
  });
  after(() => emu.close());
  beforeEach(() => emu.reset());
  const call = async (body: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`${emu.apiBase}/cortex/inference:embed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer pat-secret-value-123', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  };

  test('answers in the SPEC shape with deterministic unit vectors of the model size', async () => {
    const r = await call({ model: 'snowflake-arctic-embed-l-v2.0', text: ['a', 'b'] });
    assert.equal(r.status, 200);
    assert.equal(r.body.object, 'list');
    assert.equal(r.body.model, 'snowflake-arctic-embed-l-v2.0');
    assert.deepEqual(r.body.data.map((d: any) => [d.object, d.index, d.embedding.length, d.embedding[0].length]), [
      ['embedding', 0, 1, 1024],
      ['embedding', 1, 1, 1024],
    ]);
    assert.deepEqual(r.body.data[1].embedding[0], fakeVector('snowflake-arctic-embed-l-v2.0', 'b', 1024));
    const norm = Math.hypot(...r.body.data[0].embedding[0]);
    assert.ok(Math.abs(norm - 1) < 1e-5);
    assert.notDeepEqual(fakeVector('e5-base-v2', 'a', 768), fakeVector('e5-base-v2', 'b', 768));
    assert.equal(r.body.usage.total_tokens, 2);
  });

  test('rejects what the SPEC does not allow, unknown and chat models, and region-unavailable models', async () => {
    assert.equal((await call({ model: 'e5-base-v2', text: [] })).status, 400);
    assert.equal((await call({ model: 'e5-base-v2', text: 'a' })).status, 400);
    assert.equal((await call({ model: 'e5-base-v2', text: ['a'], dimensions: 256 })).body.code, '390142');
    assert.equal((await call({ model: 'e5-base-v2', text: [1] })).status, 400);
    assert.equal((await call({ model: 'claude-4-sonnet', text: ['a'] })).body.code, '300014');
    assert.equal((await call({ model: 'nope', text: ['a'] })).body.code, '300014');
    assert.match((await call({ model: 'voyage-multilingual-2', text: ['a'] })).body.message, /unavailable in your region/);
    assert.equal((await call({ model: 'e5-base-v2', text: ['a'] }, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await call({ model: 'e5-base-v2', text: ['a'], provisioned_throughput_id: 'pt-1' })).status, 200);
  });

  test('injected faults apply to embed calls', async () => {
    emu.inject({ status: 429, retryAfter: 3 }, { json200Error: { code: '390112', message: 'expired' } });
    const a = await fetch(`${emu.apiBase}/cortex/inference:embed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer pat-secret-value-123' },
      body: JSON.stringify({ model: 'e5-base-v2', text: ['a'] }),
    });
    assert.equal(a.status, 429);
    assert.equal(a.headers.get('retry-after'), '3');
    const b = await call({ model: 'e5-base-v2', text: ['a'] });
    assert.deepEqual([b.status, b.body.code], [200, '390112']);
    assert.equal((await call({ model: 'e5-base-v2', text: ['a'] })).status, 200, 'faults are consumed');
    assert.deepEqual(emu.requests.map((r) => r.status), [429, 200, 200]);
  });
});
