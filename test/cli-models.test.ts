// `cortex-proxy models` against the emulator: the models endpoint, the SQL fallback, a refused credential.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { cleanEnv, runCli, tempDir } from './helpers.js';
import { jwtPat, writeAccount } from './setup-helpers.js';

const PAT = jwtPat(60);
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ pats: [PAT], quiet: true });
});
after(() => emu?.close());

function account() {
  const dir = tempDir();
  writeAccount(dir, { apiBase: emu.apiBase, pat: PAT });
  return dir;
}

test('models: what the account can use, with context, tools and vision; SQL fallback when the models endpoint is refused', async () => {
  emu.setAccount({ unavailableInRegion: ['claude-opus-4-5'] });
  const dir = account();
  const r = await runCli(['models', '--json'], { cwd: dir, env: cleanEnv() });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.source, 'GET /api/v2/cortex/models');
  const sonnet = out.models.find((m: any) => m.id === 'claude-sonnet-4-5');
  assert.deepEqual({ ctx: sonnet.contextWindow, tools: sonnet.tools, vision: sonnet.vision, as: sonnet.configuredAs }, { ctx: 200000, tools: true, vision: true, as: ['claude-sonnet-4-5'] });
  assert.equal(out.models.find((m: any) => m.id === 'llama3.1-70b').tools, false);
  assert.ok(!out.models.some((m: any) => m.id === 'claude-opus-4-5'));
  const text = await runCli(['models'], { cwd: dir, env: cleanEnv() });
  assert.match(text.stdout, /^model +context +output +tools +vision +configured as$/m);
  assert.match(text.stdout, /^claude-sonnet-4-5 +200k +64k +yes +yes +claude-sonnet-4-5$/m);

  emu.setAccount({ credentialFailure: 'no-cortex-role' });
  const sql = JSON.parse((await runCli(['models', '--json'], { cwd: dir, env: cleanEnv() })).stdout);
  assert.equal(sql.source, 'SHOW CORTEX BASE MODELS (SQL API)');
  assert.ok(sql.models.some((m: any) => m.id === 'openai-gpt-4.1'));

  emu.setAccount({ credentialFailure: 'expired-pat' });
  const refused = await runCli(['models'], { cwd: dir, env: cleanEnv() });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /refused the credential/);
});
