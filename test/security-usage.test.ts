// `cortex-proxy usage` prints fields clients chose (model names) to a terminal and into spreadsheets (issue 13 item
// 5): hostile names sent through the real proxy end up in the usage log; the table, the CSV and the JSON then show
// control characters and bidi overrides escaped, and no CSV cell starts a formula. The twin: ordinary names print as
// they are, and the JSON still carries every name exactly (escaped, not altered).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startEmulator } from '../src/emulator/index.js';
import { cleanEnv, runCli, startProxy, tempDir, writeFiles } from './helpers.js';
import { PATHS, bodyFor } from './reliability-helpers.js';

const PAT = 'usage-pat-' + 'u'.repeat(30);
const HOSTILE = [
  '=HYPERLINK("http://evil.example","click")',
  '+cmd|\' /C calc\'!A0',
  '-2+3+cmd',
  '@SUM(1+9)*cmd',
  'evil\u202etxt.exe',
  'clear\u001b[2Jscreen',
  'c1\u009b31mred',
  'iso\u2066late\u2069',
  'nl\nforged,row',
];
// Raw C0/C1 controls (but the line breaks of the output itself) and bidi characters.
const UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

test('usage table, CSV and JSON neutralise control characters, bidi overrides and spreadsheet formulas from stored names', { timeout: 40_000 }, async () => {
  const emu = await startEmulator({ pats: [PAT], quiet: true });
  const dir = tempDir();
  writeFiles(dir, {
    'cortex-proxy.yaml': `model_list:\n  - model_name: plain-model\n    litellm_params:\n      model: snowflake/claude-sonnet-4-5\n      api_base: ${emu.apiBase}\n      api_key: os.environ/SNOWFLAKE_PAT\ngeneral_settings:\n  usage_log_dir: ./usage\n`,
  });
  const env = cleanEnv({ SNOWFLAKE_PAT: PAT });
  const proxy = await startProxy(['--quiet'], { cwd: dir, env });
  try {
    for (const model of [...HOSTILE, 'plain-model']) {
      const r = await request(proxy.url + PATHS.chat, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bodyFor('chat', model, 'hi', false)) });
      await r.body.dump();
      assert.equal(r.statusCode, model === 'plain-model' ? 200 : 404, JSON.stringify(model));
    }
  } finally {
    await proxy.stop(); // flushes the usage log
    await emu.close();
  }
  const run = async (...args: string[]) => {
    const r = await runCli(['usage', '--by', 'model', ...args], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  const text = await run();
  assert.doesNotMatch(text, UNSAFE, 'no raw control or bidi character in the table');
  assert.match(text, /clear\\x1b\[2Jscreen/);
  assert.match(text, /evil\\u202etxt\.exe/);
  assert.match(text, /c1\\x9b31mred/);
  assert.match(text, /^plain-model +1 /m, 'an ordinary name prints as it is');

  const csv = await run('--csv');
  assert.doesNotMatch(csv, UNSAFE);
  const lines = csv.trimEnd().split('\n');
  assert.equal(lines.length, 1 + HOSTILE.length + 1 + 1, 'header, one row per name, TOTAL: no forged row');
  for (const line of lines) assert.doesNotMatch(line, /^"?[=+\-@]/, `a formula cell: ${line}`);
  assert.ok(lines.some((l) => l.startsWith(`"'=HYPERLINK(""http://evil.example"",""click"")"`)), csv);
  assert.ok(lines.some((l) => l.startsWith('plain-model,1,')));

  const json = await run('--json');
  assert.doesNotMatch(json, UNSAFE);
  const keys = (JSON.parse(json) as { groups: Array<{ key: string }> }).groups.map((g) => g.key);
  for (const m of [...HOSTILE, 'plain-model']) assert.ok(keys.includes(m), `the JSON keeps ${JSON.stringify(m)} exactly`);
});
