// Graceful shutdown of the real CLI: SIGTERM (or SIGINT) stops accepting connections at once, lets in-flight
// streams finish up to general_settings.shutdown_timeout, writes their usage records and exits 0; past the deadline
// the remaining streams are cut (their upstream requests closed, their records still written); a second signal
// exits at once.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { listLogFiles } from '../src/usage/log.js';
import { cleanEnv, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';
import { PATHS, agent, bodyFor, readStream } from './reliability-helpers.js';

const PAT = 'shutdown-pat-' + 'p'.repeat(40);
const TEXT = 'an answer that takes about a second to stream';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true });
});
after(() => emu.close());
beforeEach(() => emu.reset());

async function start(extra = ''): Promise<{ proxy: RunningProxy; dir: string }> {
  const dir = tempDir();
  writeFiles(dir, {
    'cortex-proxy.yaml':
      `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/claude-sonnet-4-5\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\n      cortex_api: complete\n` +
      `litellm_settings:\n  request_timeout: 30\ngeneral_settings:\n  usage_log_dir: ./usage\n${extra}`,
  });
  return { proxy: await startProxy(['--quiet'], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) }), dir };
}

const records = (dir: string) =>
  listLogFiles(path.join(dir, 'usage')).flatMap((f) => readFileSync(f.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));

/** Starts a stream and resolves once its first bytes arrived, with a promise of the whole text. */
async function openStream(url: string, dispatcher = agent(2)) {
  const res = await request(url + PATHS.chat, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bodyFor('chat', 'm', 'go', true)), dispatcher });
  assert.equal(res.statusCode, 200);
  const it = res.body[Symbol.asyncIterator]();
  const first = await it.next();
  const rest = (async () => {
    let raw = Buffer.from(first.value as Buffer).toString('utf8');
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) raw += Buffer.from(r.value as Buffer).toString('utf8');
    } catch (err) {
      return { raw, error: err as Error };
    }
    return { raw, error: undefined };
  })();
  return { rest, dispatcher };
}

const exitOf = (p: RunningProxy) => once(p.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

test('SIGTERM: no new connections, the in-flight stream finishes, its usage record is written, exit 0 right after', { timeout: 20_000 }, async () => {
  const { proxy, dir } = await start();
  emu.setKnobs({ chunkChars: 4, chunkDelayMs: 80 });
  emu.script({ text: TEXT });
  const exited = exitOf(proxy);
  const { rest, dispatcher } = await openStream(proxy.url);
  proxy.child.kill('SIGTERM');
  await proxy.waitForLog('SIGTERM: finishing in-flight requests');
  await assert.rejects(request(`${proxy.url}/health`, { dispatcher: agent(1) }), /ECONNREFUSED/, 'no new connections after SIGTERM');
  const { raw, error } = await rest;
  const streamEnd = Date.now();
  assert.equal(error, undefined);
  const s = readStream('chat', raw);
  assert.equal(s.text, TEXT);
  assert.equal(s.clean, true, 'the in-flight stream finished normally');
  const [code] = await exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - streamEnd < 2000, `exited ${Date.now() - streamEnd} ms after the last stream ended (keep-alive connections do not hold it)`);
  const recs = records(dir);
  assert.equal(recs.length, 1, 'the stream has its usage record');
  assert.equal(recs[0].status, 200);
  assert.ok(recs[0].completion_tokens > 0);
  await dispatcher.close();
});

test('past shutdown_timeout the remaining streams are cut, their upstream requests closed and their records written; exit 0', { timeout: 20_000 }, async () => {
  const { proxy, dir } = await start('  shutdown_timeout: 1\n');
  emu.setKnobs({ chunkChars: 4 });
  emu.inject({ stallAfterChunks: 3 });
  emu.script({ text: TEXT });
  const exited = exitOf(proxy);
  const { rest, dispatcher } = await openStream(proxy.url);
  const aborted = emu.waitForAbort();
  const t0 = Date.now();
  proxy.child.kill('SIGINT');
  const [code] = await exited;
  const ms = Date.now() - t0;
  assert.equal(code, 0);
  assert.ok(ms >= 900 && ms < 4000, `stopped ${ms} ms after the signal (shutdown_timeout: 1)`);
  await aborted; // the upstream request was closed, not left hanging
  const { raw, error } = await rest;
  const s = readStream('chat', raw);
  assert.ok(error || !s.clean, 'the cut stream does not look complete');
  const recs = records(dir);
  assert.equal(recs.length, 1, 'the cut stream still has its usage record');
  assert.equal(recs[0].client_closed, true);
  await dispatcher.close();
});

test('a second signal exits at once', { timeout: 20_000 }, async () => {
  const { proxy } = await start('  shutdown_timeout: 30\n');
  emu.inject({ stallAfterChunks: 3 });
  emu.script({ text: TEXT });
  const exited = exitOf(proxy);
  const { rest, dispatcher } = await openStream(proxy.url);
  proxy.child.kill('SIGTERM');
  await proxy.waitForLog('SIGTERM: finishing in-flight requests');
  const t0 = Date.now();
  proxy.child.kill('SIGTERM');
  const [code] = await exited;
  assert.ok(Date.now() - t0 < 1000, `exited ${Date.now() - t0} ms after the second signal`);
  assert.notEqual(code, 0, 'an interrupted shutdown is not a clean exit');
  await rest;
  await dispatcher.close();
});
