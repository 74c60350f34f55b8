// The emulator's account surface: SQL API statements (ResultSet per cortex-api.md §10.3) and the credential
// failure classes doctor diagnoses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startEmulator } from '../src/emulator/index.js';
import { addStatementPattern, STATEMENT_PATTERNS } from '../src/emulator/statements.js';

const PAT = 'acct-test-pat-' + 'q'.repeat(30);
const auth = { authorization: `Bearer ${PAT}`, 'content-type': 'application/json', 'x-snowflake-authorization-token-type': 'PROGRAMMATIC_ACCESS_TOKEN' };

async function sql(url: string, statement: string, extra: Record<string, unknown> = {}) {
  const r = await request(`${url}/api/v2/statements`, { method: 'POST', headers: { ...auth, accept: 'application/json', 'user-agent': 't/1' }, body: JSON.stringify({ statement, timeout: 30, ...extra }) });
  return { status: r.statusCode, body: (await r.body.json()) as any };
}

test('SQL API: context functions and SHOW PARAMETERS answer a jsonv2 ResultSet of strings', async () => {
  const emu = await startEmulator({ pats: [PAT], quiet: true, account: { region: 'AWS_EU_CENTRAL_1', crossRegion: 'AWS_EU', role: 'DEV' } });
  try {
    const a = await sql(emu.url, 'SELECT CURRENT_REGION(), CURRENT_ACCOUNT(), CURRENT_ROLE();');
    assert.equal(a.status, 200);
    assert.equal(a.body.resultSetMetaData.format, 'jsonv2');
    assert.deepEqual(a.body.resultSetMetaData.rowType.map((c: any) => c.name), ['CURRENT_REGION()', 'CURRENT_ACCOUNT()', 'CURRENT_ROLE()']);
    assert.deepEqual(a.body.data, [['AWS_EU_CENTRAL_1', 'XY12345', 'DEV']]);
    assert.equal(typeof a.body.statementHandle, 'string');
    const p = await sql(emu.url, "SHOW PARAMETERS LIKE 'CORTEX_ENABLED_CROSS_REGION' IN ACCOUNT");
    assert.equal(p.status, 200);
    const cols = p.body.resultSetMetaData.rowType.map((c: any) => c.name);
    const row = p.body.data[0];
    assert.equal(row[cols.indexOf('value')], 'AWS_EU');
    const bad = await sql(emu.url, 'SELECT * FROM nowhere');
    assert.equal(bad.status, 422);
    assert.match(bad.body.message, /SQL compilation error/);
  } finally {
    await emu.close();
  }
});

test('SQL API: other features add statement patterns; sql modes fail every statement', async () => {
  const emu = await startEmulator({ pats: [PAT], quiet: true });
  const before = STATEMENT_PATTERNS.length;
  addStatementPattern({ pattern: /^SELECT 42 AS ANSWER$/i, run: () => ({ columns: [{ name: 'ANSWER', type: 'fixed' }], rows: [['42']] }) });
  try {
    // The context-function pattern does not swallow what another pattern serves (it refuses FROM, not this):
    const r = await sql(emu.url, 'select 42 as answer');
    assert.equal(r.status, 422, 'the generic SELECT pattern comes first and cannot evaluate 42 AS ANSWER');
    STATEMENT_PATTERNS.unshift(STATEMENT_PATTERNS.pop()!);
    assert.deepEqual((await sql(emu.url, 'select 42 as answer')).body.data, [['42']]);
    emu.setAccount({ sql: 'no-warehouse' });
    const w = await sql(emu.url, 'SELECT CURRENT_REGION()');
    assert.equal(w.status, 422);
    assert.equal(w.body.code, '000606');
    assert.equal((await sql(emu.url, 'SELECT CURRENT_REGION()', { warehouse: 'WH' })).status, 200);
    emu.setAccount({ sql: 'forbidden' });
    assert.equal((await sql(emu.url, 'SELECT CURRENT_REGION()')).status, 403);
    emu.reset();
    assert.equal((await sql(emu.url, 'SELECT CURRENT_REGION()')).status, 200);
  } finally {
    STATEMENT_PATTERNS.splice(before);
    await emu.close();
  }
});

test('credential failure classes: expired PAT 401, no CORTEX_USER 403 (SQL still works), network policy 401/403', async () => {
  const emu = await startEmulator({ pats: [PAT], quiet: true });
  const models = async () => {
    const r = await request(`${emu.url}/api/v2/cortex/models`, { method: 'GET', headers: auth, body: '{}' });
    return { status: r.statusCode, body: (await r.body.json()) as any };
  };
  try {
    assert.equal((await models()).status, 200);
    emu.setAccount({ credentialFailure: 'expired-pat' });
    assert.equal((await models()).status, 401);
    assert.equal((await sql(emu.url, 'SELECT CURRENT_ROLE()')).status, 401);
    emu.setAccount({ credentialFailure: 'no-cortex-role' });
    const m = await models();
    assert.equal(m.status, 403);
    assert.equal(m.body.message, 'Not Authorized');
    assert.equal((await sql(emu.url, 'SELECT CURRENT_ROLE()')).status, 200);
    emu.setAccount({ credentialFailure: 'network-policy' });
    const n = await models();
    assert.equal(n.status, 403);
    assert.match(n.body.message, /not allowed to access Snowflake/);
    emu.setAccount({ networkPolicyStatus: 401 });
    assert.equal((await models()).status, 401);
    // over HTTP too
    const r = await request(`${emu.url}/_emulator/account`, { method: 'POST', body: JSON.stringify({ credentialFailure: null, unavailableInRegion: ['claude-4-sonnet'] }) });
    assert.equal(r.statusCode, 200);
    await r.body.dump();
    const list = (await models()).body.models as string[];
    assert.ok(!list.includes('claude-4-sonnet'));
    const typo = await request(`${emu.url}/_emulator/account`, { method: 'POST', body: JSON.stringify({ credentialFailur: 'x' }) });
    assert.equal(typo.statusCode, 400);
    await typo.body.dump();
  } finally {
    await emu.close();
  }
});
