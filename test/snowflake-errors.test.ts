import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snowflakeError, isRetryableStatus, scrubSnowflakeText } from '../src/cortex/snowflake-errors.js';

const RID = '80b66f5c-0000-4000-8000-000000000001';

test('isRetryableStatus: 429, 500, 502, 503, 504 only', () => {
  assert.deepEqual(
    [400, 401, 402, 403, 404, 422, 429, 500, 502, 503, 504].filter(isRetryableStatus),
    [429, 500, 502, 503, 504],
  );
});

test('every message ends with the Snowflake request id, which is also set on the error', () => {
  for (const status of [400, 401, 402, 403, 404, 422, 429, 500, 502, 503, 504]) {
    const e = snowflakeError(status, '{"message":"x"}', RID);
    assert.ok(e.message.endsWith(`(Snowflake request id: ${RID})`), `${status}: ${e.message}`);
    assert.equal(e.requestId, RID);
  }
  // falls back to the body's request_id
  const e = snowflakeError(400, { message: 'bad', request_id: 'body-rid' });
  assert.equal(e.requestId, 'body-rid');
  assert.match(e.message, /\(Snowflake request id: body-rid\)$/);
});

test('401 plain / PAT invalid → auth, tells the user how to make a new PAT', () => {
  const e = snowflakeError(401, '{"code":"PAT_INVALID","message":"Programmatic access token is invalid"}', RID);
  assert.equal(e.kind, 'auth');
  assert.equal(e.status, 401);
  assert.match(e.message, /PAT expired or invalid/);
  assert.match(e.message, /Programmatic access tokens/);
  assert.match(e.message, /SNOWFLAKE_PAT/);
  assert.equal(snowflakeError(401, '', RID).kind, 'auth');
});

test('390144 / 390198 / 390146 codes → auth with specific advice', () => {
  const invalid = snowflakeError(401, { code: '390144', message: 'JWT token is invalid. [abc]' }, RID);
  assert.equal(invalid.kind, 'auth');
  assert.equal(invalid.code, '390144');
  assert.match(invalid.message, /pat\//);
  const expired = snowflakeError(401, { code: '390198', message: 'Keypair access token expired.' }, RID);
  assert.match(expired.message, /expired/);
  const missing = snowflakeError(401, { code: '390146', message: 'Bearer token is missing' }, RID);
  assert.match(missing.message, /no bearer token/);
});

test('token-type mismatch mentions the pat/ prefix and the token type', () => {
  const e = snowflakeError(401, { message: 'Invalid token type KEYPAIR_JWT for this token' }, RID);
  assert.equal(e.kind, 'auth');
  assert.match(e.message, /PROGRAMMATIC_ACCESS_TOKEN/);
  assert.match(e.message, /`pat\/<token>`/);
});

test('a 200 body with 390112 (session expired) → auth', () => {
  const e = snowflakeError(200, { code: '390112', message: 'Your session has expired. Please login again.' }, RID);
  assert.equal(e.kind, 'auth');
  assert.match(e.message, /session token has expired/);
});

test('secrets never appear in messages', () => {
  const jwt = 'eyJhbGciOiJFUzI1NiIsImtpZCI6IjEyMyJ9.eyJwIjoiMzE0OTk4ODUxMzozMTQ5OTg4MTAxIiwiaXNzIjoiU0Y6MTAwMyJ9.c2lnbmF0dXJlc2lnbmF0dXJl';
  const e = snowflakeError(401, { message: `token ${jwt} rejected; Authorization: Bearer ${jwt}; key pat/${jwt}` }, RID);
  assert.ok(!e.message.includes(jwt), e.message);
  assert.ok(!e.message.includes('c2lnbmF0dXJl'), e.message);
  assert.equal(scrubSnowflakeText(`Bearer abcdefghijklmnop`), 'Bearer [redacted]');
});

test('403 → permission, naming SNOWFLAKE.CORTEX_USER, network policy and account enablement', () => {
  const e = snowflakeError(403, '{"message":"Not Authorized"}', RID);
  assert.equal(e.kind, 'permission');
  assert.match(e.message, /SNOWFLAKE\.CORTEX_USER/);
  assert.match(e.message, /network policy/);
  assert.match(e.message, /enabled/);
});

test('400 unknown model → invalid_request listing the configured models', () => {
  const e = snowflakeError(
    400,
    '{"message":"unknown model: \\"fake_model\\"","code":"300014","error_code":"300014","request_id":"x"}',
    RID,
    ['claude-sonnet-4-5', 'llama3.1-70b'],
  );
  assert.equal(e.kind, 'invalid_request');
  assert.equal(e.code, '300014');
  assert.match(e.message, /unknown model: "fake_model"/);
  assert.match(e.message, /Models configured in cortex-proxy: claude-sonnet-4-5, llama3\.1-70b/);
  assert.equal(e.requestId, RID);
});

test('region-unavailable → invalid_request with the cross-region command and models to try', () => {
  const e = snowflakeError(
    400,
    {
      message:
        'The model you requested is unavailable in your region. To access it, enable cross region inference with AWS_APJ, AWS_EU, AWS_US, AZURE_EU, AZURE_US, ANY_REGION. For more information, see https://docs.snowflake.com/en/user-guide/snowflake-cortex/cross-region-inference.',
    },
    RID,
  );
  assert.equal(e.kind, 'invalid_request');
  assert.match(e.message, /ALTER ACCOUNT SET CORTEX_ENABLED_CROSS_REGION = 'ANY_REGION'/);
  assert.match(e.message, /claude-4-sonnet/);
});

test('429 → rate_limit with Retry-After seconds when given', () => {
  const e = snowflakeError(429, '{"message":"too many requests"}', RID, undefined, 7);
  assert.equal(e.kind, 'rate_limit');
  assert.equal(e.retryAfter, 7);
  assert.match(e.message, /Retry after 7 s/);
  assert.equal(snowflakeError(429, 'too many requests', RID).retryAfter, undefined);
});

test('402 budget, 422 unprocessable, 503 timed out → timeout, other 503 → unavailable, 5xx → upstream', () => {
  assert.equal(snowflakeError(402, '{"message":"budget exceeded"}').kind, 'budget');
  const u = snowflakeError(422, '{"message":"json mode output validation error: missing field"}');
  assert.equal(u.kind, 'unprocessable');
  assert.match(u.message, /json mode output validation error/);
  assert.equal(snowflakeError(503, '{"message":"inference timed out"}').kind, 'timeout');
  assert.equal(snowflakeError(503, 'Service Unavailable').kind, 'unavailable');
  for (const s of [500, 502, 504]) assert.equal(snowflakeError(s, '<html>oops</html>').kind, 'upstream');
});

test('other 400s keep Snowflake\'s message and code; throttling 400 → rate_limit; 390142 payload → invalid_request', () => {
  const e = snowflakeError(400, { message: 'unknown role "tool"' }, RID);
  assert.equal(e.kind, 'invalid_request');
  assert.match(e.message, /unknown role "tool"/);
  assert.equal(snowflakeError(400, { message: 'all requests were throttled by remote service' }).kind, 'rate_limit');
  const p = snowflakeError(400, { code: '390142', message: 'Incoming request does not contain a valid payload.' });
  assert.equal(p.kind, 'invalid_request');
  assert.equal(p.code, '390142');
  assert.match(snowflakeError(400, { message: 'max tokens of count exceeded' }).message, /max_tokens/);
});
