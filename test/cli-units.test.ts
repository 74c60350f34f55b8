// Small pure pieces behind the setup commands: colour rules, key strength, the platform config folder, token
// facts, refusal causes, the nearest model, TOML table removal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { colorsFor } from '../src/cli/ui.js';
import { generateMasterKey, keyStrength } from '../src/config/master-key.js';
import { platformConfigDir } from '../src/config/paths.js';
import { classifyRefusal, nearestModel, tokenFacts } from '../src/snowflake/diagnose.js';
import { removeTomlTable } from '../src/cli/connect.js';
import { jwtPat, rs256Jwt } from './setup-helpers.js';

const tty = { isTTY: true } as NodeJS.WriteStream;
const pipe = { isTTY: false } as NodeJS.WriteStream;

test('colour only on a terminal, never with NO_COLOR or TERM=dumb', () => {
  assert.notEqual(colorsFor(tty, {}).red('x'), 'x');
  assert.equal(colorsFor(pipe, {}).red('x'), 'x');
  assert.equal(colorsFor(tty, { NO_COLOR: '1' }).red('x'), 'x');
  assert.equal(colorsFor(tty, { TERM: 'dumb' }).red('x'), 'x');
});

test('master keys: generated ones are strong; short, repeated or predictable ones are not', () => {
  const k = generateMasterKey();
  assert.match(k, /^sk-[A-Za-z0-9_-]{43}$/);
  assert.equal(keyStrength(k).strong, true);
  assert.ok(keyStrength(k).bits >= 192);
  assert.equal(keyStrength('sk-1234').strong, false);
  assert.equal(keyStrength('sk-test-master-' + 'y'.repeat(32)).strong, false);
  assert.equal(keyStrength('sk-' + 'ab'.repeat(30)).strong, false);
});

test('platform config folder per OS', () => {
  assert.equal(platformConfigDir({}, 'linux', '/home/me'), '/home/me/.config/cortex-proxy');
  assert.equal(platformConfigDir({ XDG_CONFIG_HOME: '/x' }, 'linux', '/home/me'), '/x/cortex-proxy');
  assert.equal(platformConfigDir({ XDG_CONFIG_HOME: 'relative' }, 'linux', '/home/me'), '/home/me/.config/cortex-proxy');
  assert.equal(platformConfigDir({}, 'darwin', '/Users/me'), '/Users/me/Library/Application Support/cortex-proxy');
  assert.match(platformConfigDir({ APPDATA: 'C:\\Users\\me\\AppData\\Roaming' }, 'win32', 'C:\\Users\\me'), /AppData.Roaming.cortex-proxy$/);
});

test('token facts: PAT with expiry, key-pair JWT, master key, opaque', () => {
  const pat = tokenFacts(jwtPat(10));
  assert.equal(pat.kind, 'pat');
  assert.ok(pat.expiresAt! > new Date());
  assert.equal(tokenFacts(rs256Jwt()).kind, 'keypair-jwt');
  assert.equal(tokenFacts('sk-abc').kind, 'master-key');
  assert.equal(tokenFacts('opaque-token-value').kind, 'opaque');
});

test('refusal causes: network policy, token type, role, expired; secrets in Snowflake text are scrubbed', () => {
  const at = (status: number, body: unknown) => classifyRefusal({ status, body, text: JSON.stringify(body) });
  assert.equal(at(403, { message: 'Incoming request with IP/Token 1.2.3.4 is not allowed to access Snowflake.' }).cause, 'network-policy');
  assert.equal(at(401, { message: 'Invalid token type: KEYPAIR_JWT' }).cause, 'token-type');
  assert.equal(at(403, { message: 'Not Authorized' }).cause, 'no-cortex-role');
  assert.equal(at(403, { code: '003001', message: 'Forbidden: This account is not allowed to access this endpoint.' }).cause, 'not-enabled');
  const expired = at(401, { code: '390144', message: `JWT token is invalid. ${jwtPat(1)}` });
  assert.equal(expired.cause, 'expired-pat');
  assert.ok(!expired.detail.includes(jwtPat(1).split('.')[1]));
});

test('nearest model: same family, tools kept', () => {
  assert.match(nearestModel('claude-opus-4-5', ['llama3.1-70b', 'claude-sonnet-4-5', 'openai-gpt-5'])!, /^claude-/);
  assert.equal(nearestModel('openai-gpt-5', ['mistral-large2', 'openai-gpt-4.1']), 'openai-gpt-4.1');
  assert.equal(nearestModel('claude-4-sonnet', ['mistral-large2', 'openai-gpt-4.1']), 'openai-gpt-4.1', 'a tool-capable model over a closer name without tools');
});

test('removeTomlTable keeps everything but the table', () => {
  const text = 'a = 1\n\n[model_providers.cortex]\nx = 1\n# c\n\n[other]\ny = 2\n[model_providers . cortex ] # again\nz = 3\n';
  assert.equal(removeTomlTable(text, 'model_providers.cortex'), 'a = 1\n\n[other]\ny = 2\n');
});
