// Structured output for every wire: the canonical `responseFormat` ({type:'json', schema?, name?}, decoded from
// OpenAI response_format, Responses text.format and Anthropic output_config.format) → what each Cortex endpoint
// takes (reference/cortex-api.md §2.5.4, §8.2):
//   complete wire:   response_format: {type:"json", schema}                       → cortexResponseFormat
//   openai v1 wire:  response_format: {type:"json_schema", json_schema:{…}}      → openaiResponseFormat
//   anthropic wire:  output_config: {format: {type:"json_schema", schema}}        → anthropicOutputFormat
// Cortex's OpenAI models only take strict schemas (every object additionalProperties:false, every property in
// required [DOC AI_COMPLETE structured outputs]); strictSchema rewrites a schema that way without changing what
// it accepts beyond that: an optional property becomes required-but-nullable. `$schema` is always stripped.
import type { ChatRequest } from '../core/types.js';
import type { ModelInfo } from './models.js';
import { isObj, type Json } from '../core/json.js';

export type ResponseFormat = NonNullable<ChatRequest['responseFormat']>;

/** The schema json_object asks for: any JSON object. */
export const ANY_OBJECT_SCHEMA: Json = Object.freeze({ type: 'object' }) as Json;


/** The schema without its top-level `$schema` (Cortex rejects or ignores meta keys). Never mutates the input. */
export function stripDollarSchema(s: Json): Json {
  if (!('$schema' in s)) return s;
  const { $schema: _drop, ...rest } = s;
  return rest;
}

/** True for models that need strict (OpenAI-style) schemas on Cortex. */
export function needsStrictSchema(info: Pick<ModelInfo, 'family'>): boolean {
  return info.family === 'openai';
}

const SCHEMA_MAPS = ['properties', '$defs', 'definitions', 'patternProperties'] as const;
const SCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const;
const SCHEMA_ONE = ['items', 'not', 'if', 'then', 'else', 'contains'] as const;

/**
 * A deep copy of `schema` in OpenAI strict form: every object schema gets additionalProperties:false (unless the
 * client set it) and lists every property in `required`; a property that was optional becomes nullable
 * (`type` gains "null", or `anyOf [schema, {type:null}]`), so omitting it is still expressible.
 */
export function strictSchema(schema: Json): Json {
  return strictNode(stripDollarSchema(schema), 0, true) as Json;
}

/** A deep copy with additionalProperties:false on every object schema that does not set it (Anthropic's rule). */
export function closedSchema(schema: Json): Json {
  return strictNode(stripDollarSchema(schema), 0, false) as Json;
}

function strictNode(node: unknown, depth: number, requireAll: boolean): unknown {
  if (!isObj(node) || depth > 64) return node;
  const out: Json = { ...node };
  for (const k of SCHEMA_MAPS) {
    const m = out[k];
    if (isObj(m)) {
      const copy: Json = {};
      for (const [name, sub] of Object.entries(m)) copy[name] = strictNode(sub, depth + 1, requireAll);
      out[k] = copy;
    }
  }
  for (const k of SCHEMA_LISTS) {
    const a = out[k];
    if (Array.isArray(a)) out[k] = a.map((sub) => strictNode(sub, depth + 1, requireAll));
  }
  for (const k of SCHEMA_ONE) if (isObj(out[k])) out[k] = strictNode(out[k], depth + 1, requireAll);
  if (isObj(out.additionalProperties)) out.additionalProperties = strictNode(out.additionalProperties, depth + 1, requireAll);

  const isObject = out.type === 'object' || (Array.isArray(out.type) && out.type.includes('object')) || isObj(out.properties);
  if (isObject) {
    if (out.additionalProperties === undefined) out.additionalProperties = false;
    if (!requireAll) return out;
    const props = isObj(out.properties) ? (out.properties as Json) : {};
    if (!isObj(out.properties)) out.properties = props;
    const required = new Set(Array.isArray(out.required) ? (out.required as unknown[]).filter((r): r is string => typeof r === 'string') : []);
    for (const name of Object.keys(props)) {
      if (required.has(name)) continue;
      props[name] = nullable(props[name]);
      required.add(name);
    }
    out.required = Object.keys(props).filter((n) => required.has(n));
  }
  return out;
}

/** The schema, also accepting null. */
function nullable(s: unknown): unknown {
  if (!isObj(s)) return s;
  const t = s.type;
  if (typeof t === 'string') {
    if (t === 'null') return s;
    const out: Json = { ...s, type: [t, 'null'] };
    if (Array.isArray(s.enum) && !s.enum.includes(null)) out.enum = [...s.enum, null];
    return out;
  }
  if (Array.isArray(t)) {
    if (t.includes('null')) return s;
    const out: Json = { ...s, type: [...t, 'null'] };
    if (Array.isArray(s.enum) && !s.enum.includes(null)) out.enum = [...s.enum, null];
    return out;
  }
  if (Array.isArray(s.anyOf)) {
    if (s.anyOf.some((x) => isObj(x) && x.type === 'null')) return s;
    return { ...s, anyOf: [...s.anyOf, { type: 'null' }] };
  }
  // $ref, enum/const without type, or a bare {}: wrap.
  if (Object.keys(s).length === 0) return s; // {} already accepts null
  return { anyOf: [s, { type: 'null' }] };
}

/** The schema a wire sends for a json_schema request: `$schema` stripped; strict form for models that require it. */
export function wireSchema(schema: Json, info: Pick<ModelInfo, 'family'>): Json {
  return needsStrictSchema(info) ? strictSchema(schema) : stripDollarSchema(schema);
}

/*
 * json_object (no schema) cannot be expressed as a schema for models that only take closed schemas (OpenAI
 * strict, Anthropic): `{type:object, additionalProperties:false}` would only allow {}. There the format is left
 * out and the prompt carries the request for JSON (OpenAI's json_object mode already requires the prompt to
 * ask for JSON, so clients do).
 */

/** complete wire (inference:complete): `response_format`, or undefined when it is better left out. */
export function cortexResponseFormat(rf: ResponseFormat, info: Pick<ModelInfo, 'family'>): Json | undefined {
  if (!rf.schema) return needsStrictSchema(info) ? undefined : { type: 'json', schema: { ...ANY_OBJECT_SCHEMA } };
  return { type: 'json', schema: wireSchema(rf.schema, info) };
}

/** A json_schema name OpenAI accepts: [A-Za-z0-9_-]{1,64}. */
function schemaName(name: string | undefined): string {
  const n = (name ?? '').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  return n || 'response';
}

/**
 * openai v1 wire (/api/v2/cortex/v1/chat/completions): `response_format`, or undefined when it is better left
 * out. Claude takes only json_schema there (§8.2), with Anthropic's closed objects.
 */
export function openaiResponseFormat(rf: ResponseFormat, info: Pick<ModelInfo, 'family'>): Json | undefined {
  const claude = info.family === 'claude';
  if (!rf.schema) return claude ? undefined : { type: 'json_object' };
  const schema = claude ? closedSchema(rf.schema) : wireSchema(rf.schema, info);
  return { type: 'json_schema', json_schema: { name: schemaName(rf.name), schema, ...(needsStrictSchema(info) ? { strict: true } : {}) } };
}

/**
 * anthropic v1 wire (/api/v2/cortex/v1/messages): the `output_config.format` value, or undefined for json_object.
 * Anthropic's structured outputs want additionalProperties:false on objects; optional properties stay optional.
 */
export function anthropicOutputFormat(rf: ResponseFormat): Json | undefined {
  return rf.schema ? { type: 'json_schema', schema: closedSchema(rf.schema) } : undefined;
}
