// End to end: the candidate loop. LiteLLM fallbacks (region-unavailable, rate-limited after retries, failing),
// load-balanced deployments of one model_name with the failed one tried last, and cortex_api auto moving to
// inference:complete when an account answers 403/404 on the v1 endpoints — remembered for that account.
// One proxy process; three emulators stand for three Snowflake accounts.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { cleanEnv, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';

const PAT = 'fallback-pat-' + 'f'.repeat(40);
let main: Emulator; // the usual account
let unentitled: Emulator; // v1 endpoints answer 403 003001
let legacy: Emulator; // v1 endpoints answer 404
let proxy: RunningProxy;
let client: OpenAI;

const entry = (name: string, id: string, base: string, api = 'auto') =>
  `  - model_name: ${name}\n    litellm_params:\n      model: snowflake/${id}\n      api_base: ${base}\n      api_key: os.environ/SNOWFLAKE_PAT\n      cortex_api: ${api}\n`;

before(async () => {
  main = await startEmulator({ pats: [PAT], quiet: true, unavailableInRegion: ['claude-opus-4-5'] });
  unentitled = await startEmulator({ pats: [PAT], quiet: true, knobs: { v1: 'forbidden' } });
  legacy = await startEmulator({ pats: [PAT], quiet: true, knobs: { v1: 'not_found' } });
  const dir = tempDir();
  writeFiles(dir, {
    'cortex-proxy.yaml':
      'model_list:\n' +
      entry('primary', 'claude-opus-4-5', main.apiBase) +
      entry('busy', 'claude-sonnet-4-5', main.apiBase, 'complete') +
      entry('backup', 'openai-gpt-4.1', main.apiBase) +
      entry('balanced', 'claude-4-sonnet', main.apiBase, 'complete') +
      entry('balanced', 'claude-3-7-sonnet', main.apiBase, 'complete') +
      entry('unentitled', 'claude-sonnet-4-5', unentitled.apiBase) +
      entry('unentitled-gpt', 'openai-gpt-4.1', unentitled.apiBase) +
      entry('legacy', 'openai-gpt-4.1', legacy.apiBase) +
      entry('pinned-v1', 'openai-gpt-4.1', unentitled.apiBase, 'openai') +
      'router_settings:\n  fallbacks:\n    - primary: [backup]\n    - busy: [backup]\n' +
      'litellm_settings:\n  num_retries: 1\n',
  });
  proxy = await startProxy([], { cwd: dir, env: cleanEnv({ SNOWFLAKE_PAT: PAT }) });
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'x', maxRetries: 0 });
});
after(async () => {
  await proxy?.stop();
  await Promise.all([main?.close(), unentitled?.close(), legacy?.close()]);
});
beforeEach(() => {
  main.reset();
  unentitled.reset();
  legacy.reset();
});

const ask = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
const askStream = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], stream: true });
const trail = (emu: Emulator) => emu.requests.map((r) => `${(r.body as { model?: string })?.model} ${r.path.replace('/api/v2/cortex/', '')} ${r.status}`);

test('a model unavailable in the region moves to its fallback before any output; the log names the fallback', async () => {
  main.script({ text: 'from the backup' });
  const r = await ask('primary');
  assert.equal(r.choices[0].message.content, 'from the backup');
  assert.equal(r.model, 'primary', 'the client still sees the name it asked for');
  assert.deepEqual(trail(main), ['claude-opus-4-5 v1/messages 400', 'openai-gpt-4.1 v1/chat/completions 200']);
  assert.match(await proxy.waitForLog(/POST \/v1\/chat\/completions status=200 .*model=primary.*fallback=backup/), /fallback=backup/);
});

test('rate-limited after num_retries → the fallback answers, streamed', async () => {
  main.inject({ status: 429, retryAfter: 0 }, { status: 429, retryAfter: 0 });
  main.script({ text: 'backup speaking' });
  let text = '';
  for await (const c of await askStream('busy')) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'backup speaking');
  assert.deepEqual(trail(main), ['claude-sonnet-4-5 inference:complete 429', 'claude-sonnet-4-5 inference:complete 429', 'openai-gpt-4.1 v1/chat/completions 200']);
});

test('once output was sent there is no fallback: a mid-stream failure reaches the client as an error', async () => {
  main.inject({ midStreamError: 'model crashed', afterChunks: 2 });
  main.script({ text: 'This answer starts and then breaks off.' });
  let text = '';
  await assert.rejects(async () => {
    for await (const c of await askStream('busy')) text += c.choices[0]?.delta?.content ?? '';
  }, /model crashed/);
  assert.ok(text.length > 0);
  assert.equal(main.requests.length, 1, 'the fallback was not called');
});

test('when every candidate fails, the client gets the requested model\'s error', async () => {
  main.inject({ status: 500 }, { status: 500 });
  await assert.rejects(ask('primary'), (err: any) => {
    assert.equal(err.status, 400);
    assert.match(err.message, /not available in your Snowflake account's region/);
    return true;
  });
  assert.deepEqual(trail(main), ['claude-opus-4-5 v1/messages 400', 'openai-gpt-4.1 v1/chat/completions 500', 'openai-gpt-4.1 v1/chat/completions 500']);
});

test('deployments of one model_name are used in turn; a failing one gives way to the other and is then tried last', async () => {
  const served = async () => {
    main.reset();
    await ask('balanced');
    return trail(main);
  };
  const first = await served();
  const second = await served();
  assert.notDeepEqual(first, second, 'round robin');
  // The next in turn fails (500, retried once): its sibling answers the same request.
  const next = first[0].split(' ')[0];
  const other = second[0].split(' ')[0];
  main.reset();
  main.inject({ status: 500 }, { status: 500 });
  await ask('balanced');
  assert.deepEqual(trail(main), [`${next} inference:complete 500`, `${next} inference:complete 500`, `${other} inference:complete 200`]);
  // During its cooldown the failed deployment is tried after the healthy one, even when it is its turn.
  assert.deepEqual(await served(), [`${other} inference:complete 200`]);
  assert.deepEqual(await served(), [`${other} inference:complete 200`]);
});

test('cortex_api auto: an account answering 403 on v1 is served by inference:complete, and that is remembered for the account', async () => {
  unentitled.script({ text: 'via complete' }, { text: 'again' }, { text: 'gpt too' });
  assert.equal((await ask('unentitled')).choices[0].message.content, 'via complete');
  assert.deepEqual(trail(unentitled), ['claude-sonnet-4-5 v1/messages 403', 'claude-sonnet-4-5 inference:complete 200']);
  await proxy.waitForLog(/answered 403 on \/v1\/messages: cortex_api auto uses \/inference:complete for it from now on/);
  unentitled.reset();
  unentitled.script({ text: 'again' }, { text: 'gpt too' });
  assert.equal((await ask('unentitled')).choices[0].message.content, 'again');
  assert.equal((await ask('unentitled-gpt')).choices[0].message.content, 'gpt too');
  assert.deepEqual(trail(unentitled), ['claude-sonnet-4-5 inference:complete 200', 'openai-gpt-4.1 inference:complete 200'], 'no v1 call for this account any more');
  // Other accounts keep their v1 endpoints.
  main.script({ text: 'v1 still' });
  await ask('backup');
  assert.deepEqual(trail(main), ['openai-gpt-4.1 v1/chat/completions 200']);
});

test('cortex_api auto: a 404 on /v1/chat/completions (no v1 endpoints) falls back to complete the same way', async () => {
  legacy.script({ text: 'old school' });
  let text = '';
  for await (const c of await askStream('legacy')) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'old school');
  assert.deepEqual(trail(legacy), ['openai-gpt-4.1 v1/chat/completions 404', 'openai-gpt-4.1 inference:complete 200']);
});

test('an explicit cortex_api is never switched: a 403/404 on it is the client\'s error, with what to do', async () => {
  await assert.rejects(ask('pinned-v1'), (err: any) => {
    assert.equal(err.status, 403);
    assert.match(err.message, /does not let this account use this Cortex endpoint.*cortex_api to auto or complete/);
    return true;
  });
  assert.deepEqual(trail(unentitled), ['openai-gpt-4.1 v1/chat/completions 403']);
});
