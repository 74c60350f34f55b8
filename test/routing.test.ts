// Routing: cortex_api and fallbacks in the config (line-numbered errors), and the router's candidate order,
// cooldown, auto wire selection with the per-account memory of refused wires, and which errors move on to a fallback.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config/load.js';
import type { Deployment, WireName } from '../src/config/types.js';
import { WIRES, WIRE_NAMES } from '../src/cortex/wires.js';
import { Router, shouldFallback } from '../src/cortex/router.js';
import { ProxyError } from '../src/core/errors.js';
import { snowflakeError } from '../src/cortex/snowflake-errors.js';
import { tempDir, writeFiles } from './helpers.js';

const PAT = 'test-pat-' + 'r'.repeat(40);

function load(yaml: string) {
  const dir = tempDir();
  writeFiles(dir, { 'cortex-proxy.yaml': yaml });
  return loadConfig({ cwd: dir, env: { SNOWFLAKE_PAT: PAT } });
}
function loadError(yaml: string): ConfigError {
  try {
    load(yaml);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail('expected a ConfigError');
}
const model = (name: string, id: string, extra = '') =>
  `  - model_name: ${name}\n    litellm_params:\n      model: snowflake/${id}\n      api_base: https://acme-main.snowflakecomputing.com/api/v2\n${extra}`;

describe('config: cortex_api and fallbacks', () => {
  test('cortex_api per model (default auto, case-insensitive); anthropic on a non-Claude model is refused with its line', () => {
    const cfg = load(`model_list:\n${model('a', 'claude-4-sonnet')}${model('b', 'claude-4-sonnet', '      cortex_api: Complete\n')}${model('c', 'openai-gpt-4.1', '      cortex_api: openai\n')}`);
    assert.deepEqual(cfg.deployments.map((d) => d.wire), ['auto', 'complete', 'openai']);
    const bad = loadError(`model_list:\n${model('c', 'openai-gpt-4.1', '      cortex_api: anthropic\n')}`);
    assert.equal(bad.line, 6);
    assert.match(bad.detail, /anthropic serves Claude models only/);
    assert.match(loadError(`model_list:\n${model('c', 'openai-gpt-4.1', '      cortex_api: v2\n')}`).detail, /must be auto, complete, openai, anthropic or responses/);
  });

  test("LiteLLM's fallbacks form under router_settings and litellm_settings; cooldown_time; other router keys warn", () => {
    const cfg = load(
      `model_list:\n${model('a', 'claude-4-sonnet')}${model('b', 'openai-gpt-4.1')}${model('c', 'llama3.1-70b')}` +
        `router_settings:\n  fallbacks: [{"a": ["b"]}]\n  cooldown_time: 5\n  routing_strategy: simple-shuffle\n` +
        `litellm_settings:\n  fallbacks:\n    - a: [c, b]\n    - b: c\n`,
    );
    assert.deepEqual(cfg.routing, { fallbacks: { a: ['b', 'c'], b: ['c'] }, cooldownMs: 5000 });
    assert.ok(cfg.warnings.some((w) => /router_settings.routing_strategy/.test(w)));
    assert.equal(load(`model_list:\n${model('a', 'claude-4-sonnet')}`).routing, undefined);
  });

  test('a fallback naming an unconfigured model fails with its line and the configured names', () => {
    const e = loadError(`model_list:\n${model('a', 'claude-4-sonnet')}router_settings:\n  fallbacks:\n    - a: [b]\n`);
    assert.equal(e.line, 8);
    assert.match(e.detail, /fallback 'b' is not a model_name/);
    assert.match(e.hint, /configured models: a/);
    assert.match(loadError(`model_list:\n${model('a', 'claude-4-sonnet')}router_settings:\n  fallbacks: 3\n`).detail, /must be a list/);
  });
});

const dep = (modelName: string, cortexModel: string, apiBase = 'https://acme-main.snowflakecomputing.com/api/v2', wire: Deployment['wire'] = 'auto'): Deployment => ({
  modelName, cortexModel, apiBase, auth: { type: 'pat', token: 't' }, wire,
});

describe('router', () => {
  test('candidates: round robin over a name, then each fallback model; a failed deployment waits behind its siblings for the cooldown', () => {
    let now = 1000;
    const a1 = dep('a', 'claude-4-sonnet', 'https://one.snowflakecomputing.com/api/v2');
    const a2 = dep('a', 'claude-4-sonnet', 'https://two.snowflakecomputing.com/api/v2');
    const b = dep('b', 'openai-gpt-4.1');
    const r = new Router([a1, a2, b], { fallbacks: { a: ['b'] }, cooldownMs: 30_000 }, () => now);
    const order = () => r.candidates('a').map((c) => [c.deployment === a1 ? 'a1' : c.deployment === a2 ? 'a2' : 'b', c.fallback]);
    assert.deepEqual(order(), [['a1', false], ['a2', false], ['b', true]]);
    assert.deepEqual(order(), [['a2', false], ['a1', false], ['b', true]], 'round robin');
    r.markFailed(a1);
    assert.deepEqual(order(), [['a2', false], ['a1', false], ['b', true]]);
    assert.deepEqual(order(), [['a2', false], ['a1', false], ['b', true]], 'a1 stays behind a2 while cooling down');
    now += 30_001;
    assert.deepEqual(order(), [['a1', false], ['a2', false], ['b', true]], 'after the cooldown the rotation resumes');
    r.markFailed(a2);
    r.markOk(a2);
    assert.deepEqual(order(), [['a2', false], ['a1', false], ['b', true]], 'an answer clears the failure');
    assert.deepEqual(r.candidates('b').map((c) => c.deployment), [b], 'fallbacks are not transitive in reverse');
    assert.throws(() => r.candidates('zzz'), (e: ProxyError) => e.status === 404 && /not configured/.test(e.message));
  });

  test('wireFor: auto picks anthropic for Claude, openai otherwise, complete once the account refused v1; explicit values stay', () => {
    const claude = dep('a', 'claude-sonnet-4-5');
    const other = dep('b', 'llama3.1-70b');
    const elsewhere = dep('c', 'claude-sonnet-4-5', 'https://other.snowflakecomputing.com/api/v2');
    const pinned = dep('d', 'claude-sonnet-4-5', undefined, 'openai');
    const r = new Router([claude, other, elsewhere, pinned]);
    assert.deepEqual([claude, other, elsewhere, pinned].map((d) => r.wireFor(d)), ['anthropic', 'openai', 'anthropic', 'openai']);
    r.rememberRefused(claude.apiBase, 'anthropic');
    assert.deepEqual([claude, other, elsewhere, pinned].map((d) => r.wireFor(d)), ['complete', 'complete', 'anthropic', 'openai'], 'per account, auto only');
    r.forgetRefused(claude.apiBase, 'anthropic');
    assert.equal(r.wireFor(claude), 'anthropic');
  });

  test('wireFor: a refused wire gives way to its whenRefused on that account; /v1/responses to chat completions, the v1 wires to complete', () => {
    const gpt5 = dep('g', 'openai-gpt-5');
    const toolsWithReasoning = { tools: [{ name: 't', jsonSchema: {} }], reasoning: { effort: 'low' as const } };
    const r = new Router([gpt5]);
    assert.equal(r.wireFor(gpt5, toolsWithReasoning), 'responses');
    r.rememberRefused(gpt5.apiBase, 'responses');
    assert.deepEqual([r.wireFor(gpt5, toolsWithReasoning), r.wireFor(gpt5)], ['openai', 'openai']);
    const v1Only = new Router([gpt5]);
    v1Only.rememberRefused(gpt5.apiBase, 'anthropic');
    assert.equal(v1Only.wireFor(gpt5, toolsWithReasoning), 'complete', 'where a v1 endpoint is refused, /v1/responses is not tried');
  });

  test('every whenRefused chain ends, at a wire that serves every model', () => {
    for (const start of WIRE_NAMES) {
      const seen: WireName[] = [];
      let w: WireName = start;
      for (let next = WIRES[w].whenRefused; next !== undefined; next = WIRES[w].whenRefused) {
        assert.ok(!seen.includes(w), `${start}: whenRefused loops at ${w}`);
        seen.push(w);
        w = next;
      }
      assert.equal(WIRES[w].serves, undefined, `${start} ends at ${w}, which serves every model`);
    }
  });

  test('shouldFallback: unavailable models, rate limits, Snowflake failures move on; client errors do not', () => {
    const region = snowflakeError(400, { message: 'The model you requested is unavailable in your region. To access it, enable cross region inference with ANY_REGION.' });
    const unknown = snowflakeError(400, { message: 'unknown model: "x"', code: '300014' });
    assert.equal(shouldFallback(region), true);
    assert.equal(shouldFallback(unknown), true);
    assert.equal(shouldFallback(snowflakeError(429, { message: 'too many requests' })), true);
    assert.equal(shouldFallback(snowflakeError(503, { message: 'inference timed out' })), true);
    assert.equal(shouldFallback(snowflakeError(500, 'boom')), true);
    assert.equal(shouldFallback(snowflakeError(400, { message: 'Incoming request does not contain a valid payload.', code: '390142' })), false);
    assert.equal(shouldFallback(snowflakeError(422, 'json mode output validation error')), false);
    assert.equal(shouldFallback(new ProxyError('invalid_request', 'bad tools')), false);
    assert.equal(shouldFallback(new ProxyError('upstream', 'client disconnected')), false);
  });
});
