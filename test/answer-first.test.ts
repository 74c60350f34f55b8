// A JSON answer leaves the proxy before the exchange's bookkeeping (usage record, metrics, log line) runs: sendJson
// ends the response in one call, and node:http's end() uncorks at once. An answer written in pieces, or ended later,
// would sit in the corked socket (node:http uncorks on the next tick, after every pending promise job).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { createApp, type App } from '../src/server/app.js';
import { createLogger } from '../src/server/log.js';
import { DEFAULT_SETTINGS, type Config } from '../src/config/types.js';

const PAT = 'answer-first-pat-' + 'a'.repeat(40);
let emu: Emulator;
let app: App;
let url: string;
/** For each finished exchange: was the answer still held in the corked socket when the bookkeeping ran? */
const heldAtBookkeeping: Array<{ status?: number; corked: number }> = [];

before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true });
  const config: Config = {
    deployments: [{ modelName: 'm', cortexModel: 'claude-sonnet-4-5', apiBase: emu.apiBase, auth: { type: 'pat', token: PAT }, wire: 'complete' }],
    settings: { ...DEFAULT_SETTINGS, disableSpendLogs: true },
    source: 'test',
    demo: false,
    warnings: [],
  };
  app = createApp(config, createLogger('silent'));
  app.context.onExchange.push((x, req) => heldAtBookkeeping.push({ status: x.status, corked: req.socket.writableCorked }));
  await new Promise<void>((ok) => app.server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
after(async () => {
  await app.close();
  await emu.close();
});

test('a JSON answer, and a JSON error, are on the socket before the bookkeeping runs', async () => {
  const ok = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(ok.statusCode, 200);
  await ok.body.text();
  const bad = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(bad.statusCode, 404);
  await bad.body.text();
  assert.deepEqual(heldAtBookkeeping, [
    { status: 200, corked: 0 },
    { status: 404, corked: 0 },
  ]);
});
