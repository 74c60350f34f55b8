// One naming rule for models, in every mode (demo, zero-config, `init`, the examples, `connect`): a model is served
// under its Cortex id (`claude-sonnet-4-5`, `openai-gpt-5`), and the names clients send for it are aliases that
// reach the same model when no model_name matches exactly:
//   - `cortex-<id>`: the quickstart's names (`cortex-claude-4-sonnet`) and the prefix Cursor needs, since Cursor
//     refuses custom names equal to its built-in ones;
//   - `snowflake/<id>`: the LiteLLM spelling of the model;
//   - Anthropic's ids, as Claude Code sends them: `claude-sonnet-4-5-20250929`, `claude-3-7-sonnet-latest`, and the
//     Claude 4 ids whose words Cortex orders differently (`claude-sonnet-4-20250514` → `claude-4-sonnet`).
// The Cortex ids (claude-sonnet-4-5, claude-4-sonnet, openai-gpt-5, …) are those of Snowflake's model availability
// table for the REST API: https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api (both v1
// endpoints share one catalogue); Anthropic names Claude 4 `claude-sonnet-4-<date>` where Cortex says claude-4-sonnet.
// A config that names a model otherwise (`model_name: cortex-claude-4-sonnet`) keeps that name, and the Cortex id
// (or any alias above) reaches it too, as long as only one model_name serves that Cortex model.

/** The Cortex ids a requested name may stand for, most specific first (the name itself excluded). */
export function aliasCandidates(requested: string): string[] {
  const out: string[] = [];
  const add = (s: string) => {
    if (s && s !== requested && !out.includes(s)) out.push(s);
  };
  let id = requested.trim();
  if (/^snowflake\//i.test(id)) id = id.slice('snowflake/'.length);
  if (/^cortex-/i.test(id)) id = id.slice('cortex-'.length);
  add(id);
  // Anthropic's dated and -latest ids.
  const undated = id.replace(/-(\d{8}|latest)$/i, '');
  add(undated);
  // Claude 4.0 ids: Anthropic says claude-sonnet-4 / claude-opus-4, Cortex claude-4-sonnet / claude-4-opus.
  const c4 = /^claude-(sonnet|opus)-4$/i.exec(undated);
  if (c4) add(`claude-4-${c4[1].toLowerCase()}`);
  return out;
}

/** The names a Cursor user adds as custom models: Cortex ids get the cortex- prefix (Cursor's own names are taken). */
export function cursorName(modelName: string): string {
  return /^cortex-/i.test(modelName) ? modelName : `cortex-${modelName}`;
}
