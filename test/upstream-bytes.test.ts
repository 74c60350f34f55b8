// What the proxy does with the bytes of a 200 answer as they come off the socket, from a bare upstream server:
// a character whose UTF-8 bytes arrive in two TCP reads reaches the client whole, in every dialect (the decoder keeps
// a split character for the next read); a JSON answer cut off after its headers, or a 200 that is not JSON, is the client's 502, not a 500.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { cleanEnv, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';
import { DIALECTS, PATHS, bodyFor, envelopeError, readStream } from './reliability-helpers.js';

const frame = (content: string, last = false) =>
  `data: ${JSON.stringify({ id: 'split-1', model: 'claude-sonnet-4-5', choices: [{ delta: { content }, ...(last ? { finish_reason: 'stop' } : {}) }], usage: last ? { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } : {} })}\n\n`;

// The second frame's bytes are cut inside "🙂" (4 bytes: F0 9F 99 82), after its first two bytes.
const second = Buffer.from(frame('🙂 é', true));
const cut = second.indexOf(Buffer.from('🙂')) + 2;

let upstream: Server;
let proxy: RunningProxy;
/** Resolved by the test once the client has the first frame's text: then the rest of the character goes out. */
let firstSeen: () => void = () => undefined;
/** What the upstream answers next. */
let scenario: 'split' | 'json-cut' | 'html-200' = 'split';

before(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (scenario === 'html-200') {
        // A proxy in front of Snowflake that answers 200 with its own page.
        res.writeHead(200, { 'content-type': 'text/html', 'x-snowflake-request-id': 'html-1' }).end('<html>maintenance</html>');
        return;
      }
      if (scenario === 'json-cut') {
        // A stream:false answer that promises 400 bytes and stops after 40: the connection is reset mid-body.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
        res.write('{"id":"cut-1","model":"claude-sonnet-4-5",', () => res.destroy());
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(Buffer.concat([Buffer.from(frame('A')), second.subarray(0, cut)]));
      new Promise<void>((resolve) => (firstSeen = resolve)).then(() => res.end(second.subarray(cut)));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/api/v2`;
  const dir = tempDir();
  writeFiles(dir, {
    'cortex-proxy.yaml': `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-sonnet-4-5\n      api_base: ${base}\n      api_key: os.environ/SNOWFLAKE_PAT\n      cortex_api: complete\n`,
  });
  proxy = await startProxy(['--quiet'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: 'split-pat-' + 'x'.repeat(40) }) });
});
after(async () => {
  await proxy?.stop();
  upstream?.close();
});

for (const d of DIALECTS) {
  test(`${d}: a JSON answer cut off after its headers is a 502 that says so, in the ${d} envelope`, { timeout: 20_000 }, async () => {
    scenario = 'json-cut';
    try {
      const res = await request(proxy.url + PATHS[d], {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify(bodyFor(d, 'm', 'say hi', false)),
      });
      const text = await res.body.text();
      assert.equal(res.statusCode, 502, text);
      assert.match(text, /the Cortex answer broke off: connection to 127\.0\.0\.1:\d+ failed/);
      assert.match(envelopeError(d, JSON.parse(text))?.message ?? '', /broke off/, 'in the dialect\'s own error envelope');
    } finally {
      scenario = 'split';
    }
  });

  test(`${d}: a 200 whose body is not JSON is a 502 naming Snowflake's request id, for a streaming client too`, { timeout: 20_000 }, async () => {
    scenario = 'html-200';
    try {
      for (const stream of [false, true]) {
        const res = await request(proxy.url + PATHS[d], {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
          body: JSON.stringify(bodyFor(d, 'm', 'say hi', stream)),
        });
        const text = await res.body.text();
        assert.equal(res.statusCode, 502, text);
        assert.match(envelopeError(d, JSON.parse(text))?.message ?? '', /Cortex answered 200 with a body that is not JSON \(Snowflake request id: html-1\)/);
      }
    } finally {
      scenario = 'split';
    }
  });

  test(`${d}: a character split between two upstream reads arrives whole`, { timeout: 20_000 }, async () => {
    const res = await request(proxy.url + PATHS[d], {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(bodyFor(d, 'm', 'say hi', true)),
    });
    assert.equal(res.statusCode, 200);
    let raw = '';
    for await (const chunk of res.body) {
      raw += chunk.toString('utf8');
      if (readStream(d, raw).text.includes('A')) firstSeen();
    }
    const { text, streamError } = readStream(d, raw);
    assert.equal(streamError, undefined);
    assert.equal(text, 'A🙂 é');
    assert.ok(!raw.includes('\ufffd'), 'no replacement character');
  });
}
