// The model catalogue (cortex/models.ts), its model_info overrides (config/model-info.ts via loadConfig), the
// preflight refusals (cortex/preflight.ts) and the complete wire's use of catalogue flags.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deploymentInfo, EMBEDDING_MODELS, KNOWN_MODELS, knownModelIds, modelInfo } from '../src/cortex/models.js';
import { preflightChat, preflightEmbedding, minimumPromptTokens } from '../src/cortex/preflight.js';
import { completeWire } from '../src/cortex/complete.js';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { ProxyError } from '../src/core/errors.js';
import type { Deployment } from '../src/config/types.js';
import type { ChatRequest } from '../src/core/types.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function load(modelList: string, settings = '') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-proxy-catalogue-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'c.yaml'), `model_list:\n${modelList}${settings}`);
  return loadConfig({ cwd: dir, configPath: 'c.yaml', env: { SNOWFLAKE_PAT: 'pat-' + 'x'.repeat(40) } });
}
const entry = (name: string, model: string, info = '') =>
  `  - model_name: ${name}\n    litellm_params:\n      model: snowflake/${model}\n      api_base: https://acct.snowflakecomputing.com/api/v2\n${info}`;

function dep(cortexModel: string, info?: Deployment['info']): Deployment {
  return { modelName: 'm', cortexModel, apiBase: 'https://x.snowflakecomputing.com/api/v2', auth: { type: 'pat', token: 't' }, wire: 'complete', ...(info ? { info } : {}) } as Deployment;
}
const chat = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'm',
  messages: [{ role: 'user', parts: [{ type: 'text', text }] }],
  stream: false,
  includeUsage: false,
  unsupported: [],
  ...extra,
});
function refusal(fn: () => void): ProxyError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProxyError, String(e));
    assert.equal(e.status, 400);
    return e;
  }
  assert.fail('expected a refusal');
}

describe('catalogue', () => {
  test('chat models carry §9.2 limits and capability flags; embedding models their dimensions', () => {
    const c = modelInfo('claude-sonnet-4-5');
    assert.deepEqual(
      { kind: c.kind, ctx: c.contextWindow, out: c.maxOutputTokens, tools: c.tools, vision: c.vision, images: c.maxImages, so: c.structuredOutput, r: c.reasoning },
      { kind: 'chat', ctx: 200_000, out: 64_000, tools: true, vision: true, images: 20, so: true, r: true },
    );
    assert.equal(modelInfo('claude-3-5-sonnet').reasoning, false, 'no extended thinking before 3.7');
    assert.equal(modelInfo('openai-gpt-4.1').reasoning, false);
    assert.equal(modelInfo('openai-gpt-5-chat').reasoning, false);
    assert.equal(modelInfo('openai-gpt-5').reasoning, true);
    assert.equal(modelInfo('openai-gpt-4.1').maxImages, 20, 'v1 endpoints: 20 images for every vision model (docs/images.md)');
    assert.equal(modelInfo('llama3.1-70b').tools, false);
    assert.equal(modelInfo('deepseek-r1').contextWindow, 32_768);
    assert.equal(modelInfo('snowflake-arctic-embed-m-v1.5').kind, 'embedding');
    assert.equal(modelInfo('snowflake-arctic-embed-m-v1.5').dimensions, 768);
    assert.equal(modelInfo('voyage-multilingual-2').dimensions, 1024);
    for (const id of EMBEDDING_MODELS.keys()) assert.ok(!KNOWN_MODELS.has(id), 'the emulator serves KNOWN_MODELS as chat models');
    assert.ok(knownModelIds().includes('e5-base-v2') && knownModelIds().includes('claude-4-sonnet'));
  });

  test('unknown ids get permissive defaults; embedding-looking ids are embedding models', () => {
    const u = modelInfo('claude-sonnet-9');
    assert.equal(u.known, false);
    assert.equal(u.tools && u.vision && u.reasoning, true);
    assert.equal(modelInfo('llama5-900b').tools, false);
    const e = modelInfo('snowflake-arctic-embed-xl-v3');
    assert.equal(e.kind, 'embedding');
    assert.equal(e.dimensions, undefined);
  });

  test('deploymentInfo applies overrides, base_model and kind switches', () => {
    const i = deploymentInfo(dep('claude-sonnet-9', { baseModel: 'claude-3-5-sonnet', maxOutputTokens: 4000 }));
    assert.equal(i.id, 'claude-sonnet-9');
    assert.equal(i.vision, false, 'from the base model');
    assert.equal(i.reasoning, false, 'from the base model');
    assert.equal(i.maxOutputTokens, 4000);
    assert.equal(deploymentInfo(dep('claude-4-sonnet', { vision: false })).maxImages, 0, 'no vision, no images');
    assert.equal(deploymentInfo(dep('llama3.1-70b', { vision: true })).maxImages, 20, 'vision switched on gets a default image limit');
    const e = deploymentInfo(dep('my-embedder', { kind: 'embedding', dimensions: 384 }));
    assert.equal(e.kind, 'embedding');
    assert.equal(e.dimensions, 384);
    assert.equal(e.tools, false);
  });
});

describe('model_info in the config', () => {
  test("LiteLLM's keys override the catalogue for that deployment only", () => {
    const cfg = load(
      entry('a', 'claude-sonnet-4-5', '    model_info:\n      max_input_tokens: 1000000\n      max_output_tokens: 128000\n      supports_vision: false\n      supports_reasoning: false\n      max_images_per_prompt: 3\n      id: my-id\n') +
        entry('b', 'claude-sonnet-4-5') +
        entry('c', 'llama3.1-8b', '    model_info:\n      max_tokens: 2048\n      supports_function_calling: yes\n      supports_response_schema: false\n') +
        entry('d', 'arctic-embed-next', '    model_info:\n      mode: embedding\n      output_vector_size: 256\n      base_model: snowflake/snowflake-arctic-embed-m-v1.5\n'),
    );
    const [a, b, c, d] = cfg.deployments.map((x) => deploymentInfo(x));
    assert.deepEqual([a.contextWindow, a.maxOutputTokens, a.vision, a.reasoning, a.maxImages, a.tools], [1_000_000, 128_000, false, false, 3, true]);
    assert.deepEqual([b.contextWindow, b.vision], [200_000, true], 'other deployments keep the catalogue');
    assert.deepEqual([c.maxOutputTokens, c.tools, c.structuredOutput], [2048, true, false], 'max_tokens is the legacy output limit');
    assert.deepEqual([d.kind, d.dimensions, d.contextWindow], ['embedding', 256, 512]);
    assert.deepEqual(cfg.warnings, []);
  });

  test('unknown keys warn with their line; LiteLLM-only keys are flagged; bad values stop with file:line and a fix', () => {
    const cfg = load(entry('a', 'claude-4-sonnet', '    model_info:\n      input_cost_per_token: 0.000003\n      max_input_tokes: 5\n'));
    assert.deepEqual(cfg.warnings, [
      "LiteLLM key 'model_list[0].model_info.input_cost_per_token' at line 7 is not implemented by cortex-proxy — ignored",
      "unknown key 'model_list[0].model_info.max_input_tokes' at line 8 — ignored (did you mean 'max_input_tokens'?)",
    ]);
    assert.throws(
      () => load(entry('a', 'claude-4-sonnet', '    model_info:\n      max_input_tokens: lots\n')),
      (e: unknown) => e instanceof ConfigError && /c\.yaml:7:\d+: model_list\[0\]\.model_info\.max_input_tokens must be a positive integer/.test(e.message) && /max_input_tokens: 200000/.test(e.hint),
    );
    assert.throws(
      () => load(entry('a', 'claude-4-sonnet', '    model_info:\n      mode: image_generation\n')),
      (e: unknown) => e instanceof ConfigError && /mode must be chat or embedding/.test(e.message),
    );
    assert.throws(
      () => load(entry('a', 'claude-4-sonnet', '    model_info:\n      supports_vision: maybe\n')),
      (e: unknown) => e instanceof ConfigError && /supports_vision must be true or false/.test(e.message),
    );
  });

  test('an embedding model id with a typo gets a did-you-mean warning', () => {
    const cfg = load(entry('e', 'snowflake-arctic-embed-m-v15'));
    assert.deepEqual(cfg.warnings, ["Cortex model 'snowflake-arctic-embed-m-v15' at line 4 is not one cortex-proxy knows — did you mean 'snowflake-arctic-embed-m-v1.5'?"]);
  });
});

describe('preflight', () => {
  test('embedding models cannot chat; chat models cannot embed', () => {
    assert.match(refusal(() => preflightChat(chat('hi'), dep('e5-base-v2'))).message, /model "m" \(Cortex model e5-base-v2\) is an embedding model/);
    assert.match(refusal(() => preflightEmbedding('m', dep('claude-4-sonnet'))).message, /is a chat model, not an embedding model/);
    assert.equal(preflightEmbedding('m', dep('e5-base-v2')).dimensions, 768);
  });

  test('tools, images, structured output and the context window are checked against the deployment', () => {
    const tools = [{ name: 'f', jsonSchema: { type: 'object' } }];
    assert.equal(refusal(() => preflightChat(chat('x', { tools }), dep('mistral-large2'))).param, 'tools');
    preflightChat(chat('x', { tools, toolChoice: { type: 'none' } }), dep('mistral-large2')); // tools switched off: fine
    preflightChat(chat('x', { tools }), dep('mistral-large2', { tools: true })); // override says it can
    const img = { type: 'image' as const, mediaType: 'image/png', base64: 'AA==' };
    const withImages = (n: number): ChatRequest => ({ ...chat('x'), messages: [{ role: 'user', parts: [{ type: 'text', text: 'x' }, ...Array(n).fill(img)] }] });
    assert.match(refusal(() => preflightChat(withImages(1), dep('llama3.1-70b'))).message, /does not accept images/);
    preflightChat(withImages(20), dep('claude-4-sonnet')); // v1: 20 images for Claude and OpenAI models
    preflightChat(withImages(20), dep('openai-gpt-4.1'));
    assert.match(refusal(() => preflightChat(withImages(21), dep('openai-gpt-4.1'))).message, /at most 20 images per request; this request has 21/);
    assert.match(refusal(() => preflightChat(withImages(6), dep('claude-4-sonnet'), 'complete')).message, /at most 5 images per request on inference:complete; this request has 6/);
    assert.equal(refusal(() => preflightChat(chat('x', { responseFormat: { type: 'json' } }), dep('claude-4-sonnet', { structuredOutput: false }))).param, 'response_format');
    const big = 'x'.repeat(6 * 32_768 + 60);
    const e = refusal(() => preflightChat(chat(big), dep('deepseek-r1')));
    assert.equal(e.code, 'context_length_exceeded');
    assert.match(e.message, /^prompt is too long: at least 32778 tokens > 32768 maximum/);
    preflightChat(chat('x'.repeat(6 * 32_768)), dep('deepseek-r1')); // exactly at the bound: Cortex decides
  });

  test('the prompt estimate counts system, text, tool calls, results and tool schemas', () => {
    const r: ChatRequest = {
      ...chat('a'.repeat(60)),
      system: 's'.repeat(60),
      messages: [
        { role: 'user', parts: [{ type: 'text', text: 'a'.repeat(60) }] },
        { role: 'assistant', parts: [{ type: 'tool_call', id: '1', name: 'n', argumentsJson: 'b'.repeat(59) }] },
        { role: 'user', parts: [{ type: 'tool_result', callId: '1', name: 'n', parts: [{ type: 'text', text: 'c'.repeat(60) }] }] },
      ],
    };
    assert.equal(minimumPromptTokens(r), 40);
  });
});

describe('the complete wire reads catalogue flags', () => {
  const reasoning = { effort: 'high' as const };
  test('reasoning controls follow the flag, not the id', () => {
    assert.deepEqual(completeWire.encodeRequest(chat('x', { reasoning }), dep('openai-gpt-5')).body.openai, { reasoning: { effort: 'high' } });
    assert.equal(completeWire.encodeRequest(chat('x', { reasoning }), dep('openai-gpt-5', { reasoning: false })).body.openai, undefined);
    assert.equal(completeWire.encodeRequest(chat('x', { reasoning }), dep('claude-3-5-sonnet')).body.anthropic, undefined);
    assert.ok(completeWire.encodeRequest(chat('x', { reasoning }), dep('claude-3-5-sonnet', { reasoning: true })).body.anthropic);
  });

  test('max_tokens is clamped to the overridden output limit', () => {
    assert.equal(completeWire.encodeRequest(chat('x', { maxTokens: 9000 }), dep('claude-4-sonnet', { maxOutputTokens: 2000 })).body.max_tokens, 2000);
    assert.equal(completeWire.encodeRequest(chat('x'), dep('claude-4-sonnet', { maxOutputTokens: 2000 })).body.max_tokens, 2000);
  });
});
