// `cortex-proxy keys` end to end on one machine (the embedded store, no database): create prints the key once on
// stdout, a running `serve` accepts it at once, `keys list` shows its spend, rotate and revoke reach the running
// server within a second, and bad input is a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startEmulator } from '../src/emulator/index.js';
import { cleanEnv, modelEntry, runCli, startProxy, tempDir, writeFiles } from './helpers.js';

const PAT = 'team-cli-pat-' + 'p'.repeat(32);
const MASTER = 'sk-team-cli-master-' + 'm'.repeat(32);

const config = (apiBase: string) => `model_list:
${modelEntry('cortex-claude', 'snowflake/claude-sonnet-4-5', apiBase)}general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  database_path: ./team
`;

async function chat(url: string, key: string): Promise<{ status: number; tokens: number; message: string }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-claude', max_tokens: 30, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const body = (await res.json()) as { usage?: { total_tokens: number }; error?: { message: string } };
  return { status: res.status, tokens: body.usage?.total_tokens ?? 0, message: body.error?.message ?? '' };
}

/** Polls until `check` holds; returns the milliseconds it took. Bounded by `limitMs`. */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - t0;
}

test('keys create → serve accepts it → list shows spend → rotate → revoke reaches the running server within a second', { timeout: 60_000 }, async () => {
  const emu = await startEmulator({ pats: [PAT], quiet: true });
  const dir = tempDir();
  writeFiles(dir, { 'cortex-proxy.yaml': config(emu.apiBase) });
  const env = cleanEnv({ SNOWFLAKE_PAT: PAT, LITELLM_MASTER_KEY: MASTER });
  const proxy = await startProxy(['--config', 'cortex-proxy.yaml'], { cwd: dir, env });
  try {
    const created = await runCli(['keys', 'create', '--label', 'alice', '--owner', 'alice@example.com', '--rpm', '100', '--budget-tokens', '100000', '--period', 'day', '--expires', '30d'], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^sk-cp-[A-Za-z0-9_-]{43}$/, 'stdout holds the key alone');
    assert.match(created.stderr, /shown only this once/);
    assert.ok(!fs.readFileSync(path.join(dir, 'team', 'keys.json'), 'utf8').includes(key), 'only the hash is stored');

    const first = await chat(proxy.url, key);
    assert.equal(first.status, 200);
    await proxy.waitForLog('POST /v1/chat/completions status=200');

    const listed = await runCli(['keys', 'list', '--json'], { cwd: dir, env });
    assert.equal(listed.code, 0, listed.stderr);
    const [k] = (JSON.parse(listed.stdout) as { keys: Array<Record<string, unknown>> }).keys;
    assert.equal(k.label, 'alice');
    assert.equal(k.owner, 'alice@example.com');
    assert.equal(k.spent_tokens, first.tokens);
    assert.equal(k.budget_tokens, 100000);
    const table = await runCli(['keys', 'list'], { cwd: dir, env });
    assert.match(table.stdout, new RegExp(`alice \\(alice@example.com\\).*active.*100 rpm.*${first.tokens} / 100000 tokens per day`));

    const rotated = await runCli(['keys', 'rotate', 'alice', '--grace', '1h'], { cwd: dir, env });
    assert.equal(rotated.code, 0, rotated.stderr);
    const key2 = rotated.stdout.trim();
    assert.match(key2, /^sk-cp-/);
    assert.equal((await chat(proxy.url, key2)).status, 200, 'the new key works');
    assert.equal((await chat(proxy.url, key)).status, 200, 'the old one during the grace period');

    const revoked = await runCli(['keys', 'revoke', 'alice'], { cwd: dir, env });
    assert.equal(revoked.code, 0, revoked.stderr);
    const ms = await within(1000, async () => (await chat(proxy.url, key2)).status === 401);
    assert.ok(ms <= 1000, `refused after ${ms} ms`);
    assert.match((await chat(proxy.url, key2)).message, /revoked/);
    assert.equal((await chat(proxy.url, key)).status, 401, 'the grace-period key went with it');

    // Clear errors for bad input; nothing is half-created.
    const dup = await runCli(['keys', 'create', '--label', 'bob'], { cwd: dir, env });
    assert.equal(dup.code, 0);
    const again = await runCli(['keys', 'create', '--label', 'bob'], { cwd: dir, env });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /an active key is already labelled 'bob'/);
    const bad = await runCli(['keys', 'create', '--label', 'carol', '--rpm', 'lots'], { cwd: dir, env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /rpm must be a positive integer/);
    const none = await runCli(['keys', 'revoke', 'nobody'], { cwd: dir, env });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no key 'nobody'/);
    const all = JSON.parse((await runCli(['keys', 'list', '--all', '--json'], { cwd: dir, env })).stdout) as { keys: Array<{ label: string; status: string }> };
    assert.deepEqual(all.keys.map((x) => `${x.label}:${x.status}`), ['bob:active', 'alice:revoked']);
    assert.ok(!proxy.stderr().includes(key) && !proxy.stderr().includes(key2), 'keys never in the log');
  } finally {
    await proxy.stop();
    await emu.close();
  }
});
