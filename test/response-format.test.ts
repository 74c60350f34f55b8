// cortex/response-format.ts: the canonical responseFormat → each wire's structured-output field.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  anthropicOutputFormat,
  closedSchema,
  cortexResponseFormat,
  openaiResponseFormat,
  strictSchema,
  stripDollarSchema,
} from '../src/cortex/response-format.js';

const openai = { family: 'openai' } as const;
const claude = { family: 'claude' } as const;
const llama = { family: 'llama' } as const;

const person = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    name: { type: 'string' },
    role: { type: 'string', enum: ['dev', 'ops'] },
    address: { type: 'object', properties: { city: { type: 'string' }, zip: { type: 'string' } }, required: ['city'] },
    tags: { type: 'array', items: { type: 'object', properties: { k: { type: 'string' } } } },
    ref: { $ref: '#/$defs/thing' },
    any: {},
  },
  required: ['name'],
  $defs: { thing: { type: 'object', properties: { id: { type: 'integer' } } } },
};

describe('strictSchema (OpenAI models on Cortex)', () => {
  test('every object closed, every property required, optional ones nullable; $schema gone; input untouched', () => {
    const before = JSON.stringify(person);
    const s = strictSchema(person) as any;
    assert.equal(JSON.stringify(person), before, 'not mutated');
    assert.equal(s.$schema, undefined);
    assert.equal(s.additionalProperties, false);
    assert.deepEqual(s.required, ['name', 'role', 'address', 'tags', 'ref', 'any']);
    assert.deepEqual(s.properties.name, { type: 'string' }, 'required stays as is');
    assert.deepEqual(s.properties.role, { type: ['string', 'null'], enum: ['dev', 'ops', null] });
    assert.deepEqual(s.properties.address, {
      type: ['object', 'null'],
      properties: { city: { type: 'string' }, zip: { type: ['string', 'null'] } },
      required: ['city', 'zip'],
      additionalProperties: false,
    });
    assert.deepEqual(s.properties.tags.items, { type: 'object', properties: { k: { type: ['string', 'null'] } }, required: ['k'], additionalProperties: false });
    assert.deepEqual(s.properties.ref, { anyOf: [{ $ref: '#/$defs/thing' }, { type: 'null' }] });
    assert.deepEqual(s.properties.any, {});
    assert.deepEqual(s.$defs.thing.required, ['id']);
    assert.equal(s.$defs.thing.additionalProperties, false);
  });

  test("a client's own additionalProperties is kept; already-strict schemas come back equal", () => {
    const open = strictSchema({ type: 'object', properties: { m: { type: 'object', additionalProperties: { type: 'string' } } }, required: ['m'] }) as any;
    assert.deepEqual(open.properties.m.additionalProperties, { type: 'string' });
    const done = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };
    assert.deepEqual(strictSchema(done), done);
  });

  test('closedSchema (Anthropic) closes objects but leaves optional properties optional', () => {
    const s = closedSchema(person) as any;
    assert.deepEqual(s.required, ['name']);
    assert.equal(s.additionalProperties, false);
    assert.equal(s.properties.address.additionalProperties, false);
    assert.deepEqual(s.properties.role, { type: 'string', enum: ['dev', 'ops'] });
  });
});

describe('per wire', () => {
  test('complete wire: {type:"json", schema}; strict for OpenAI; json_object only where a schema fits', () => {
    assert.deepEqual(cortexResponseFormat({ type: 'json', schema: person }, claude), { type: 'json', schema: stripDollarSchema(person) });
    assert.equal((cortexResponseFormat({ type: 'json', schema: person }, openai) as any).schema.additionalProperties, false);
    assert.deepEqual(cortexResponseFormat({ type: 'json' }, llama), { type: 'json', schema: { type: 'object' } });
    assert.equal(cortexResponseFormat({ type: 'json' }, openai), undefined);
  });

  test('openai v1 wire: json_schema with a valid name (strict for OpenAI models); json_object where allowed', () => {
    assert.deepEqual(openaiResponseFormat({ type: 'json', schema: { type: 'object', properties: {} }, name: 'my schema!' }, openai), {
      type: 'json_schema',
      json_schema: { name: 'my_schema_', schema: { type: 'object', properties: {}, required: [], additionalProperties: false }, strict: true },
    });
    const c = openaiResponseFormat({ type: 'json', schema: person }, claude) as any;
    assert.equal(c.json_schema.strict, undefined);
    assert.equal(c.json_schema.name, 'response');
    assert.deepEqual(c.json_schema.schema.required, ['name']);
    assert.deepEqual(openaiResponseFormat({ type: 'json' }, openai), { type: 'json_object' });
    assert.deepEqual(openaiResponseFormat({ type: 'json' }, llama), { type: 'json_object' });
    assert.equal(openaiResponseFormat({ type: 'json' }, claude), undefined, 'Claude takes only json_schema there');
  });

  test('anthropic v1 wire: output_config.format with closed objects; nothing for json_object', () => {
    const f = anthropicOutputFormat({ type: 'json', schema: person }) as any;
    assert.equal(f.type, 'json_schema');
    assert.equal(f.schema.$schema, undefined);
    assert.equal(f.schema.additionalProperties, false);
    assert.equal(anthropicOutputFormat({ type: 'json' }), undefined);
  });
});
