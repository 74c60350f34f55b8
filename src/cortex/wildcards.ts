// LiteLLM's wildcard model names (https://docs.litellm.ai/docs/wildcard_routing): a model_name with `*` serves
// every requested name it matches, and each `*` of litellm_params.model is filled, in order, with what the
// pattern's `*`s matched:
//   model_name: "*"         model: snowflake/*         claude-4-sonnet         → claude-4-sonnet
//   model_name: "cortex/*"  model: snowflake/*         cortex/openai-gpt-4.1   → openai-gpt-4.1
//   model_name: "claude-*"  model: snowflake/claude-4-sonnet   (any claude-… name → one fixed model)
// More specific patterns are tried first (more literal characters, then fewer `*`), so "*" is the last resort.

/** A Cortex model id as the config accepts it (the same rule as config/load.ts). */
export const CORTEX_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const MAX_ID = 128;

export interface NamePattern {
  /** The model_name as written, e.g. "cortex/*". */
  source: string;
  regex: RegExp;
  /** Literal characters (higher = tried earlier). */
  literal: number;
  stars: number;
}

export const isPattern = (name: string) => name.includes('*');

const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

export function compilePattern(source: string): NamePattern {
  const parts = source.split('*');
  return {
    source,
    regex: new RegExp(`^${parts.map(escape).join('(.*?)')}$`, 's'),
    literal: source.length - (parts.length - 1),
    stars: parts.length - 1,
  };
}

/** Most specific first (LiteLLM's order): more literal characters, then fewer wildcards. */
export function bySpecificity(a: NamePattern, b: NamePattern): number {
  return b.literal - a.literal || a.stars - b.stars;
}

/** The `*` captures of a requested name, or undefined when the pattern does not match it. */
export function matchPattern(p: NamePattern, name: string): string[] | undefined {
  const m = p.regex.exec(name);
  return m ? m.slice(1) : undefined;
}

/**
 * The Cortex model id a wildcard deployment serves for these captures: each `*` of the template takes the next
 * capture (the last capture repeats when the template has more `*`s). A leading `snowflake/` of the result is
 * dropped (a client asking the catch-all for `snowflake/claude-4-sonnet`). undefined when it is not a Cortex id.
 */
export function fillTemplate(template: string, captures: string[]): string | undefined {
  let i = 0;
  let id = template.replace(/\*/g, () => captures[Math.min(i++, captures.length - 1)] ?? '');
  if (id.toLowerCase().startsWith('snowflake/')) id = id.slice('snowflake/'.length);
  return id.length <= MAX_ID && CORTEX_ID.test(id) ? id : undefined;
}

/**
 * The name a client would ask a wildcard deployment for to reach this Cortex id (for /v1/models), or undefined when
 * the deployment cannot serve it. Each `*` of the template is matched in the id and put back into the model_name.
 */
export function nameFor(modelName: string, template: string, cortexId: string): string | undefined {
  if (!isPattern(template)) return undefined; // a fixed target: no finite list of names to show
  const m = compilePattern(template).regex.exec(cortexId);
  if (!m) return undefined;
  const caps = m.slice(1);
  let i = 0;
  return modelName.replace(/\*/g, () => caps[Math.min(i++, caps.length - 1)] ?? '');
}
